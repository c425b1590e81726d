"""The settings every Casework service reads, declared once: `ServiceSettings`.

A service's `config.Settings` subclasses it, names its prefix and adds only its own fields:

    class Settings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")
        port: Port = 8001
        durable: str = "dispatch"
        tick_seconds: float = 1.0

The shared fields are read from the variables every Casework process reads (`CASEWORK_STORE`,
`NATS_URL`, `CASEWORK_VAR_DIR`, `CASEWORK_MAX_CLOCK_SKEW`, `CASEWORK_TOKENS_FILE`); each also
answers to the service's own prefixed name (`DISPATCH_STORE`, `INTAKE_MAX_CLOCK_SKEW`, …), added
when the subclass is made, so the aliases cannot drift from the prefix. The shared name wins when
both are set. `host`, `port`, `log_level` and `feed_poll_seconds` are per-service by nature and
read only with the prefix (`DISPATCH_PORT`, `MEDIATION_FEED_POLL_SECONDS`).
`CASEWORK_STORE_TIMEOUT` is not a field: the library reads it where it opens the store
(`casework.settings.store_timeout`), for every process alike. Nor are the NATS credentials,
`NATS_USER` and `NATS_PASSWORD_FILE` (a 0600 file holding the password): the library reads them
where it connects (`casework.messaging.nats_users.client_options`), for the relay and the
one-shot commands as for the services. `NATS_URL` may name several servers, comma-separated
(every node of a cluster).

Port 0 means "any free port" in every service (the operating system picks one; uvicorn logs it).
"""

from __future__ import annotations

from copy import copy
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar

from casework import ValidationError
from casework.settings import CLOCK_SKEW_ENV, DEFAULT_MAX_CLOCK_SKEW, clock_skew, store_url, var_dir
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from casework_web.auth import TOKENS_ENV, TOKENS_FILE_NAME

Port = Annotated[
    int,
    Field(ge=0, le=65535, description="TCP port to listen on; 0: any free port (the OS picks)."),
]
"""A service's listening port; each service gives its own default (`port: Port = 8001`)."""


class ServiceSettings(BaseSettings):
    """The fields every service has; subclass it with the service's `env_prefix` on top."""

    model_config = SettingsConfigDict(extra="ignore")

    SHARED: ClassVar[dict[str, str]] = {
        "store": "CASEWORK_STORE",
        "nats_url": "NATS_URL",
        "var_dir": "CASEWORK_VAR_DIR",
        "max_clock_skew": CLOCK_SKEW_ENV,
        "tokens_file": TOKENS_ENV,
    }
    """Field → the variable every Casework process reads; the prefixed name is also accepted."""

    store: str = Field(
        default_factory=store_url,
        validation_alias=AliasChoices("CASEWORK_STORE"),
        description="Where case files live: sqlite:///path or postgresql://…",
    )
    nats_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NATS_URL"),
        description="JetStream carrying the case events; unset: the service follows the store.",
    )
    var_dir: Path = Field(
        default_factory=var_dir,
        validation_alias=AliasChoices("CASEWORK_VAR_DIR"),
        description="The working folder for data files (default ./var).",
    )
    max_clock_skew: timedelta = Field(
        default=DEFAULT_MAX_CLOCK_SKEW,
        validation_alias=AliasChoices(CLOCK_SKEW_ENV),
        description="Seconds a writer's clock may be behind a case's latest event (default 5).",
    )
    tokens_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(TOKENS_ENV),
        description="Hashed access tokens, shared by every service; default var/tokens.json.",
    )
    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: Port = 0
    log_level: str = Field(default="INFO", description="The level of the JSON logs on stderr.")
    feed_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        description="How often the case feed reads the store's log, when there is no NATS.",
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Each shared field also answers to the subclass's prefixed name (`DISPATCH_STORE`)."""
        super().__pydantic_init_subclass__(**kwargs)
        prefix = cls.model_config.get("env_prefix", "")
        if not prefix:
            return
        for name, shared in cls.SHARED.items():
            field = copy(cls.__pydantic_fields__[name])  # the parent's stays as it is
            field.validation_alias = AliasChoices(shared, f"{prefix}{name}".upper())
            cls.__pydantic_fields__[name] = field
        cls.model_rebuild(force=True)

    @classmethod
    def prefixed(cls, name: str) -> str:
        """The service's own variable for a field, e.g. `DISPATCH_MAX_CLOCK_SKEW`."""
        return f"{cls.model_config.get('env_prefix', '')}{name}".upper()

    @property
    def tokens_path(self) -> Path:
        return self.tokens_file or self.var_dir / TOKENS_FILE_NAME

    @field_validator("max_clock_skew", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> timedelta:
        """Seconds as `Casework` reads them (a bad value stops the service, saying why)."""
        prefixed = cls.model_config.get("env_prefix", "")
        named = (
            f"{CLOCK_SKEW_ENV} (or {cls.prefixed('max_clock_skew')})"
            if prefixed
            else CLOCK_SKEW_ENV
        )
        try:
            return clock_skew(value, named)
        except ValidationError as error:
            raise ValueError(str(error)) from None
