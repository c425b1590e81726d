"""The intake's settings: one `Settings` object, read from the environment once at start-up.

The store and NATS are named by the variables every Casework process reads (`CASEWORK_STORE`,
`NATS_URL`, `CASEWORK_VAR_DIR`); settings only the intake has carry the `INTAKE_` prefix.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path

from casework import ValidationError
from casework.settings import CLOCK_SKEW_ENV, DEFAULT_MAX_CLOCK_SKEW, clock_skew, store_url, var_dir
from casework_web.auth import TOKENS_ENV, TOKENS_FILE_NAME
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def packaged(name: str) -> Path:
    """A data file shipped inside the package (the sample places registry, the triage rules)."""
    return Path(str(resources.files("intake") / name))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    store: str = Field(
        default_factory=store_url,
        validation_alias=AliasChoices("CASEWORK_STORE", "INTAKE_STORE"),
        description="Where case files live: sqlite:///path or postgresql://…",
    )
    nats_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NATS_URL", "INTAKE_NATS_URL"),
        description="JetStream to feed the case index from; unset: follow the store directly.",
    )
    var_dir: Path = Field(
        default_factory=var_dir,
        validation_alias=AliasChoices("CASEWORK_VAR_DIR", "INTAKE_VAR_DIR"),
    )
    max_clock_skew: timedelta = Field(
        default=DEFAULT_MAX_CLOCK_SKEW,
        validation_alias=AliasChoices(CLOCK_SKEW_ENV, "INTAKE_MAX_CLOCK_SKEW"),
        description="Seconds a writer's clock may be behind a case's latest event (default 5).",
    )
    db: Path | None = Field(
        default=None,
        description="The intake's own SQLite file (contacts, case index); default var/intake.db.",
    )
    tokens_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(TOKENS_ENV, "INTAKE_TOKENS_FILE"),
        description="Hashed access tokens, shared by every service; default var/tokens.json.",
    )
    places_file: Path = Field(default_factory=lambda: packaged("places.toml"))
    triage_file: Path = Field(default_factory=lambda: packaged("triage_rules.toml"))
    host: str = "127.0.0.1"
    port: int = 8000
    feed_poll_seconds: float = Field(default=0.5, gt=0)
    durable: str = "intake-case-index"
    log_level: str = "INFO"

    @property
    def db_path(self) -> Path:
        return self.db or self.var_dir / "intake.db"

    @property
    def tokens_path(self) -> Path:
        return self.tokens_file or self.var_dir / TOKENS_FILE_NAME

    @field_validator("max_clock_skew", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> timedelta:
        """Seconds as `Casework` reads them (a bad value stops the service, saying why)."""
        try:
            return clock_skew(value, f"{CLOCK_SKEW_ENV} (or INTAKE_MAX_CLOCK_SKEW)")
        except ValidationError as error:
            raise ValueError(str(error)) from None
