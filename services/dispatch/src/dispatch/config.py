"""Dispatch's settings: one `Settings` object, read from the environment once at start-up.

The fields every service shares (store, NATS, var directory, clock skew, tokens file, host, port,
log level, how often the store's log is polled) come from
`casework_web.service_settings.ServiceSettings`; only dispatch's own are here,
read with the `DISPATCH_` prefix.
"""

from __future__ import annotations

from casework_web.service_settings import Port, ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")

    port: Port = 8001
    durable: str = Field(
        default="dispatch", description="The durable consumer every replica binds to."
    )
    scheduled_kinds: list[str] | None = Field(
        default=None,
        description="Kinds of case whose passed deadlines this scheduler escalates; by default "
        "every kind dispatch assigns (repair, leak, and any installed kind that names skills). "
        "Disputes are the mediation service's scheduler's (both deciding on fresh state, adding "
        "'dispute' here would be safe, only redundant).",
    )
    tick_seconds: float = Field(default=1.0, gt=0, description="How often deadlines are checked.")
    drain_seconds: float = Field(
        default=15.0, gt=0, description="How often the queue is offered to the roster again."
    )
    ack_wait: float = Field(default=30.0, gt=0)
    fetch_linger_seconds: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="After a fetch that was not a full batch, how long the consumer waits "
        "before fetching again, so that messages arriving meanwhile are handled together (one "
        "fetch, one hop to the worker thread, one commit of the positions that change nothing); "
        "`casework.messaging.consumer.SubscriptionSettings.linger`.",
    )
