"""The intake's settings: one `Settings` object, read from the environment once at start-up.

The fields every service shares (store, NATS, var directory, clock skew, tokens file, host, port,
log level, how often the store's log is polled) come from
`casework_web.service_settings.ServiceSettings`; only the intake's own are here,
read with the `INTAKE_` prefix.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from casework import CaseworkError
from casework.transparency.exports import read_public_key
from casework_web.service_settings import Port, ServiceSettings
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from intake.report_thread import MOST_WAITING


def packaged(name: str) -> Path:
    """A data file shipped inside the package (the sample places registry, the triage rules)."""
    return Path(str(resources.files("intake") / name))


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    port: Port = 8000
    db: Path | None = Field(
        default=None,
        description="The intake's own SQLite file (contacts, case index); default var/intake.db.",
    )
    places_file: Path = Field(default_factory=lambda: packaged("places.toml"))
    triage_file: Path = Field(default_factory=lambda: packaged("triage_rules.toml"))
    durable: str = "intake-case-index"
    read_models: Literal["consumer", "store"] = Field(
        default="consumer",
        description=(
            "Where the read models hear of case events when NATS_URL is set: `consumer`, the "
            "durable consumer (one replica); `store`, the store's log, each replica in full "
            "(docs/adr/013; `casework up --replicas` sets it). Without NATS: always the store."
        ),
    )

    reports_waiting: int = Field(
        default=MOST_WAITING,
        ge=1,
        description=(
            "On a SQLite store: how many reports may wait for the replica's report thread at "
            "once; the next is answered 503 `busy` with Retry-After, nothing stored "
            "(`intake.report_thread`). A report that waited longer than "
            "CASEWORK_SQLITE_LOCK_TIMEOUT is refused the same way when its turn comes."
        ),
    )

    notary_pubkey: str | None = Field(
        default=None,
        description=(
            "The notary's public key (base64, as `casework notary pubkey` prints it, or a file "
            "holding it): with it the case-file page also checks the checkpoint's signature."
        ),
    )

    @field_validator("notary_pubkey")
    @classmethod
    def _a_public_key(cls, value: str | None) -> str | None:
        if value:
            try:
                read_public_key(value)
            except CaseworkError as error:
                raise ValueError(str(error)) from None
        return value or None

    @property
    def db_path(self) -> Path:
        return self.db or self.var_dir / "intake.db"
