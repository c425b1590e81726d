"""The mediation service's settings: one `Settings` object, read from the environment at start-up.

The store, NATS, the var directory and the tokens file are named by the variables every Casework
process reads (`CASEWORK_STORE`, `NATS_URL`, `CASEWORK_VAR_DIR`, `CASEWORK_TOKENS_FILE`);
settings only this service has carry the `MEDIATION_` prefix.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from casework import ValidationError
from casework.settings import CLOCK_SKEW_ENV, DEFAULT_MAX_CLOCK_SKEW, clock_skew, store_url, var_dir
from casework_web import TOKENS_ENV
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TOKENS_FILE_NAME = "tokens.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_", extra="ignore")

    store: str = Field(
        default_factory=store_url,
        validation_alias=AliasChoices("CASEWORK_STORE", "MEDIATION_STORE"),
        description="Where case files live: sqlite:///path or postgresql://…",
    )
    nats_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NATS_URL", "MEDIATION_NATS_URL"),
        description="JetStream to take dispute events from; unset: follow the store directly.",
    )
    var_dir: Path = Field(
        default_factory=var_dir,
        validation_alias=AliasChoices("CASEWORK_VAR_DIR", "MEDIATION_VAR_DIR"),
    )
    max_clock_skew: timedelta = Field(
        default=DEFAULT_MAX_CLOCK_SKEW,
        validation_alias=AliasChoices(CLOCK_SKEW_ENV, "MEDIATION_MAX_CLOCK_SKEW"),
        description="Seconds a writer's clock may be behind a case's latest event (default 5).",
    )
    db: Path | None = Field(
        default=None, description="The worklist's own SQLite file; default var/mediation.db."
    )
    tokens_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(TOKENS_ENV, "MEDIATION_TOKENS_FILE"),
        description="Hashed access tokens, shared by every service; default var/tokens.json.",
    )
    host: str = "127.0.0.1"
    port: int = 8002
    durable: str = Field(default="mediation", description="The durable consumer's name.")
    feed_poll_seconds: float = Field(default=0.5, gt=0)
    scheduler_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How often the scheduler looks for escalations and commitments due; 0: off.",
    )
    log_level: str = "INFO"

    @property
    def db_path(self) -> Path:
        return self.db or self.var_dir / "mediation.db"

    @property
    def tokens_path(self) -> Path:
        return self.tokens_file or self.var_dir / TOKENS_FILE_NAME

    @field_validator("max_clock_skew", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> timedelta:
        """Seconds as `Casework` reads them (a bad value stops the service, saying why)."""
        try:
            return clock_skew(value, f"{CLOCK_SKEW_ENV} (or MEDIATION_MAX_CLOCK_SKEW)")
        except ValidationError as error:
            raise ValueError(str(error)) from None
