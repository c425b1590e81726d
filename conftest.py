"""Shared pytest fixtures: real servers, started and stopped by the tests themselves."""

import pytest

pytest_plugins = ["casework.testing.postgres", "casework.testing.nats"]


@pytest.fixture(autouse=True)
def _master_key_file(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test's personal data is sealed under a master key of its own, in a file of its own
    (ADR 011), never in a `var/master.key` of the folder the tests run from; a test about where
    the key file goes unsets this."""
    folder = tmp_path_factory.mktemp("master-key")
    monkeypatch.setenv("CASEWORK_MASTER_KEY_FILE", str(folder / "master.key"))
