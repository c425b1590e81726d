"""Dispatch's settings: one `Settings` object, read from the environment once at start-up.

The store, NATS, the var directory and the shared tokens file are named by the variables every
Casework process reads (`CASEWORK_STORE`, `NATS_URL`, `CASEWORK_VAR_DIR`,
`CASEWORK_TOKENS_FILE`); settings only dispatch has carry the `DISPATCH_` prefix.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from casework import ValidationError
from casework.settings import CLOCK_SKEW_ENV, DEFAULT_MAX_CLOCK_SKEW, clock_skew, store_url, var_dir
from casework_web.auth import TOKENS_ENV, TOKENS_FILE_NAME
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")

    store: str = Field(
        default_factory=store_url,
        validation_alias=AliasChoices("CASEWORK_STORE", "DISPATCH_STORE"),
        description="Where case files (and the roster) live: sqlite:///path or postgresql://…",
    )
    nats_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NATS_URL", "DISPATCH_NATS_URL"),
        description="JetStream carrying the case events; unset: no automatic assignment.",
    )
    var_dir: Path = Field(
        default_factory=var_dir,
        validation_alias=AliasChoices("CASEWORK_VAR_DIR", "DISPATCH_VAR_DIR"),
    )
    max_clock_skew: timedelta = Field(
        default=DEFAULT_MAX_CLOCK_SKEW,
        validation_alias=AliasChoices(CLOCK_SKEW_ENV, "DISPATCH_MAX_CLOCK_SKEW"),
        description="Seconds a writer's clock may be behind a case's latest event (default 5).",
    )
    tokens_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(TOKENS_ENV, "DISPATCH_TOKENS_FILE"),
        description="Hashed access tokens, shared by every service; default var/tokens.json.",
    )
    host: str = "127.0.0.1"
    port: int = 8001
    durable: str = Field(
        default="dispatch", description="The durable consumer every replica binds to."
    )
    scheduled_kinds: list[str] = Field(
        default=["repair", "leak"],
        description="Kinds of case whose passed deadlines this scheduler escalates; disputes "
        "are the mediation service's scheduler's (both deciding on fresh state, adding "
        "'dispute' here would be safe, only redundant).",
    )
    tick_seconds: float = Field(default=1.0, gt=0, description="How often deadlines are checked.")
    drain_seconds: float = Field(
        default=15.0, gt=0, description="How often the queue is offered to the roster again."
    )
    ack_wait: float = Field(default=30.0, gt=0)
    log_level: str = "INFO"

    @property
    def tokens_path(self) -> Path:
        return self.tokens_file or self.var_dir / TOKENS_FILE_NAME

    @field_validator("max_clock_skew", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> timedelta:
        """Seconds as `Casework` reads them (a bad value stops the service, saying why)."""
        try:
            return clock_skew(value, f"{CLOCK_SKEW_ENV} (or DISPATCH_MAX_CLOCK_SKEW)")
        except ValidationError as error:
            raise ValueError(str(error)) from None
