"""The relays' PostgreSQL advisory-lock key names one store: its database and schema."""

from __future__ import annotations

from casework.messaging.relay_lock import AdvisoryLock, advisory_key, lock_for
from hypothesis import given
from hypothesis import strategies as st

NAMES = st.text(min_size=1, max_size=30)


@given(database=NAMES, schema=NAMES, other=NAMES)
def test_stores_in_different_schemas_have_different_keys(
    database: str, schema: str, other: str
) -> None:
    key = advisory_key(database, schema)
    assert 0 <= key < 2**63  # a PostgreSQL bigint
    assert key == advisory_key(database, schema)
    if other != schema:
        assert advisory_key(database, other) != key
    if other != database:
        assert advisory_key(other, schema) != key


def test_the_store_url_gives_the_key_of_its_database_and_schema() -> None:
    def key(url: str) -> int:
        lock = lock_for(url)
        assert isinstance(lock, AdvisoryLock)
        assert "schema" not in lock.conninfo  # casework's own query keys are not libpq's
        return lock.key

    audit = key("postgresql://u:p@db:5432/casework?schema=audit&pool_size=5")
    assert audit == advisory_key("casework", "audit")
    assert audit == key("postgresql://other:secret@db2/casework?schema=audit")
    assert key("postgresql://u:p@db/casework") == advisory_key("casework", "public")
    assert key("postgresql://u:p@db/casework?schema=intake") != audit
    assert key("postgresql://u:p@db/other?schema=audit") != audit


def test_the_notaries_lock_is_not_the_relays() -> None:
    url = "postgresql://u:p@db/casework?schema=audit"
    relay, notary = lock_for(url), lock_for(url, "notary")
    assert isinstance(relay, AdvisoryLock)
    assert isinstance(notary, AdvisoryLock)
    assert notary.key == advisory_key("casework", "audit", "notary") != relay.key
    files = [lock_for("sqlite:////srv/c.db", p).describe() for p in ("relay", "notary")]
    assert files == ["file lock /srv/c.db.relay-lock", "file lock /srv/c.db.notary-lock"]
