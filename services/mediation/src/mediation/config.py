"""The mediation service's settings: one `Settings` object, read from the environment at start-up.

The fields every service shares (store, NATS, var directory, clock skew, tokens file, host, port,
log level, how often the store's log is polled) come from
`casework_web.service_settings.ServiceSettings`; only this service's own are here,
read with the `MEDIATION_` prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from casework_web.service_settings import Port, ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_", extra="ignore")

    port: Port = 8002
    db: Path | None = Field(
        default=None, description="The worklist's own SQLite file; default var/mediation.db."
    )
    durable: str = Field(default="mediation", description="The durable consumer's name.")
    read_models: Literal["consumer", "store"] = Field(
        default="consumer",
        description=(
            "Where the worklist hears of disputes when NATS_URL is set: `consumer`, with the "
            "reactions (one replica); `store`, the store's log, each replica in full, while the "
            "reactions stay on the shared durable consumer (docs/adr/013; `casework up "
            "--replicas` sets it)."
        ),
    )
    scheduler_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How often the scheduler looks for escalations and commitments due; 0: off.",
    )

    @property
    def db_path(self) -> Path:
        return self.db or self.var_dir / "mediation.db"
