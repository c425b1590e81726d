"""Data keys beside the events, on SQLite and PostgreSQL: made once, destroyed for good."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from casework import Casework
from casework.privacy import Destroyed, MasterKey, MasterKeyError, SqlKeyStore, sql_keys
from casework.privacy.envelope import new_key_id
from casework.privacy.master import MASTER_KEY_ENV, load_or_create_key_file, master_key


@pytest.fixture
def app(store_url: str) -> Iterator[Casework]:
    application = Casework(store_url)
    yield application
    application.close()


AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LATER = AT + timedelta(days=30)
MASTER = MasterKey(os.urandom(32), "test")


def keys_of(app: Casework, master: MasterKey = MASTER, **kwargs: float) -> SqlKeyStore:
    return SqlKeyStore(app.recorder.datastore, master, **kwargs)  # type: ignore[attr-defined]


def test_a_person_has_one_key_until_erased_then_a_new_one(app: Casework) -> None:
    keys = keys_of(app)
    first = keys.key_for("resident-0302")
    assert keys.key_for("resident-0302") == first
    assert keys_of(app, cache_seconds=0).key_for("resident-0302") == first  # read back
    assert keys.key_for("resident-0402") != first
    assert keys.erased_at("resident-0302") is None

    erased = keys.destroy("resident-0302", AT)
    fresh = keys_of(app, cache_seconds=0)  # another process, no cache
    assert fresh.key(first.key_id) == Destroyed(first.key_id, "resident-0302", erased)
    assert fresh.erased_at("resident-0302") == erased
    assert keys.destroy("resident-0302", LATER) == erased  # nothing live: the first time stands
    again = fresh.key_for("resident-0302")
    assert again.key_id != first.key_id
    assert again.secret != first.secret
    assert fresh.erased_at("resident-0302") == erased
    assert fresh.destroy("resident-0302", LATER) == LATER  # heard from again, erased again
    assert fresh.erased_at("resident-0302") == LATER
    assert fresh.key("never-made-by-this-store") is None
    assert fresh.key_for("resident-0402").secret != first.secret


def test_a_key_found_missing_is_asked_for_again_not_remembered_as_missing(
    app: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys found are trusted for `cache_seconds`; "no such key" is not: asked again, a key
    stored since is found at once."""
    reader = keys_of(app)
    made_id = new_key_id()
    assert reader.key(made_id) is None
    monkeypatch.setattr(sql_keys, "new_key_id", lambda: made_id)
    made = keys_of(app).key_for("resident-0302")
    assert made.key_id == made_id
    assert reader.key(made_id) == made


def test_erasing_someone_never_heard_of_is_recorded(app: Casework) -> None:
    keys = keys_of(app)
    assert keys.destroy("resident-nobody", AT) == AT
    assert keys.erased_at("resident-nobody") == AT


def test_another_master_key_is_refused_loudly_not_read_as_erased(app: Casework) -> None:
    made = keys_of(app).key_for("resident-0302")
    stranger = keys_of(app, MasterKey(os.urandom(32), "the wrong one"), cache_seconds=0)
    with pytest.raises(MasterKeyError, match="does not unwrap"):
        stranger.key(made.key_id)
    with pytest.raises(MasterKeyError, match="does not unwrap"):
        stranger.key_for("resident-0302")


def test_a_destroyed_key_leaves_no_copy_in_the_sqlite_files(tmp_path: Path) -> None:
    """Read while the store is open (a copy of the var dir taken at any moment after)."""
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}")
    try:
        keys = keys_of(app)
        doomed = keys.key_for("resident-0302")
        keys.key_for("resident-0402")
        datastore = app.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT wrapped FROM casework_person_keys WHERE key_id = ?", (doomed.key_id,)
            )
            stored = bytes(cursor.fetchone()["wrapped"])
        assert any(stored in path.read_bytes() for path in tmp_path.iterdir())
        keys.destroy("resident-0302", AT)
        for path in tmp_path.iterdir():
            content = path.read_bytes()
            assert stored not in content, path.name
            assert doomed.secret not in content, path.name
    finally:
        app.close()


def test_the_master_key_comes_from_the_environment_or_a_private_key_file(tmp_path: Path) -> None:
    secret = os.urandom(32)
    assert master_key({MASTER_KEY_ENV: base64.b64encode(secret).decode()}).secret == secret
    with pytest.raises(MasterKeyError, match="base64"):
        master_key({MASTER_KEY_ENV: "not a key!"})
    with pytest.raises(MasterKeyError, match="holds 3 bytes"):
        master_key({MASTER_KEY_ENV: base64.b64encode(b"abc").decode()})

    path = tmp_path / "var" / "master.key"
    made = load_or_create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key_file(path) == made  # read back, not made again
    assert master_key({"CASEWORK_MASTER_KEY_FILE": str(path)}) == made


def test_a_key_is_made_while_another_process_writes_to_the_store(
    app: Casework, store_url: str
) -> None:
    """Another writer committing while a new person's key is made does not fail the making.

    Under the e2e bench one report in ten got 503 `store_unavailable` ("database is locked",
    in 25 ms, well inside the lock timeout): the key was made by a SQLite transaction that read
    and then wrote, and such a transaction fails at once when another connection commits in
    between. Here the other writer (another process's key store, its own connection) commits
    exactly then: from inside the making of the key, when its random bytes are drawn.
    """
    other = Casework(store_url)
    try:
        others = keys_of(other)
        others.key_for("resident-warm-up")  # the table exists before the race

        def bytes_while_another_writes(n: int) -> bytes:
            others.key_for(f"resident-elsewhere-{os.urandom(4).hex()}")  # a committed write
            return os.urandom(n)

        keys = keys_of(app, random_bytes=bytes_while_another_writes)
        made = keys.key_for("resident-0302")
        assert keys_of(app, cache_seconds=0).key_for("resident-0302") == made
    finally:
        other.close()
