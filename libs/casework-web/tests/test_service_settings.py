"""`ServiceSettings`: the shared fields read once, each also under the service's own prefix."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from casework_web.service_settings import Port, ServiceSettings
from pydantic_settings import SettingsConfigDict


class Example(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EXAMPLE_", extra="ignore")

    port: Port = 8009
    own: int = 1


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for field, shared in ServiceSettings.SHARED.items():
        monkeypatch.delenv(shared, raising=False)
        monkeypatch.delenv(Example.prefixed(field), raising=False)
    monkeypatch.delenv("EXAMPLE_PORT", raising=False)


def test_each_shared_field_is_read_from_the_shared_name_or_the_prefixed_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EXAMPLE_STORE", "sqlite:///own.db")
    monkeypatch.setenv("EXAMPLE_NATS_URL", "nats://own:4222")
    monkeypatch.setenv("EXAMPLE_VAR_DIR", str(tmp_path))
    settings = Example()
    assert (settings.store, settings.nats_url) == ("sqlite:///own.db", "nats://own:4222")
    assert settings.tokens_path == tmp_path / "tokens.json"
    monkeypatch.setenv("CASEWORK_STORE", "sqlite:///shared.db")  # the shared name wins
    monkeypatch.setenv("CASEWORK_TOKENS_FILE", str(tmp_path / "t.json"))
    settings = Example()
    assert settings.store == "sqlite:///shared.db"
    assert settings.tokens_path == tmp_path / "t.json"


def test_the_base_keeps_only_the_shared_names() -> None:
    aliases = {name: field.validation_alias for name, field in ServiceSettings.model_fields.items()}
    assert aliases["store"] == pydantic.AliasChoices("CASEWORK_STORE")
    assert Example.model_fields["store"].validation_alias == pydantic.AliasChoices(
        "CASEWORK_STORE", "EXAMPLE_STORE"
    )


def test_port_zero_means_any_free_port_and_out_of_range_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Example().port == 8009
    monkeypatch.setenv("EXAMPLE_PORT", "0")
    assert Example().port == 0
    monkeypatch.setenv("EXAMPLE_PORT", "70000")
    with pytest.raises(pydantic.ValidationError, match="port"):
        Example()
