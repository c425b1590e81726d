"""Personal data, encrypted per person (crypto-shredding), with the hash chain intact.

Every personal field of an event is stored sealed (AES-256-GCM) under the data key of the
person it is about; erasing the person destroys their keys, and every copy of those fields
(store, backups without the master key, NATS, read models that kept the sealed form) becomes
unreadable at once. The chain hashes what is stored, the sealed strings, so it verifies after
an erasure as before it (docs/adr/011-personal-data.md).

- `envelope`: the sealed token `sealed:v1:<key id>:<nonce>:<ciphertext>`, `[erased]`,
  `[personal]`;
- `keys`: the `KeyStore` interface (four methods: a KMS backend is one class);
- `sql_keys`: `SqlKeyStore`, keys in a table beside the events (SQLite or PostgreSQL);
- `master`: the master key that wraps data keys (`CASEWORK_MASTER_KEY` or a 0600 key file);
- `numbers`: phone and ID-card numbers found in free text;
- `sealing`: sealing an aggregate's new events and re-chaining them (`seal_pending`);
- `reveal`: reading sealed values back for a reader (`Opener.open`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from casework.domain.personal import ACTOR, EACH_KEY, REPORTER
from casework.per_app import once_per_app
from casework.privacy.envelope import ERASED, PERSONAL, SealError, is_sealed
from casework.privacy.keys import DataKey, Destroyed, KeyStore
from casework.privacy.master import (
    MASTER_KEY_ENV,
    MASTER_KEY_FILE_ENV,
    MasterKey,
    MasterKeyError,
    load_or_create_key_file,
    master_key,
)
from casework.privacy.reveal import Opened, Opener
from casework.privacy.sealing import Sealer, seal_pending
from casework.privacy.sql_keys import SqlKeyStore

__all__ = [
    "ACTOR",
    "EACH_KEY",
    "ERASED",
    "PERSONAL",
    "REPORTER",
    "DataKey",
    "Destroyed",
    "KeyStore",
    "MasterKey",
    "MasterKeyError",
    "Opened",
    "Opener",
    "Privacy",
    "SealError",
    "Sealer",
    "SqlKeyStore",
    "is_sealed",
    "master_key",
    "privacy_for",
    "seal_pending",
]


class Privacy:
    """One store's personal data: its key store, a sealer and an opener over it."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self.opener = Opener(keys)
        self.sealer = Sealer(keys, sealed=self.opener.keep)

    @classmethod
    def in_store(
        cls,
        datastore: Any,
        *,
        env: Mapping[str, str] | None = None,
        read_only: bool = False,
        key_file: Path | None = None,
    ) -> Privacy:
        """Keys in the store's own database (`SqlKeyStore`), the master key loaded when first
        needed: from `env`'s `CASEWORK_MASTER_KEY`, else `key_file` (made if missing), else
        the default key file (`casework.privacy.master.key_file_path`)."""

        def load() -> MasterKey:
            environ = {**os.environ, **(env or {})}
            if environ.get(MASTER_KEY_ENV) or key_file is None:
                return master_key(environ)
            return load_or_create_key_file(key_file, create=not read_only)

        source: Callable[[], MasterKey] = load
        return cls(SqlKeyStore(datastore, source, read_only=read_only))


def _in_memory(datastore: Any, master: MasterKey) -> Privacy:
    return Privacy(SqlKeyStore(datastore, master))


def privacy_for(app: Any) -> Privacy:
    """The personal data of `app`'s store (an eventsourcing application: `Casework`), made on
    first use and kept on the application.

    The master key: `CASEWORK_MASTER_KEY`, else `CASEWORK_MASTER_KEY_FILE`, else `master.key`
    beside a SQLite store's file (its var dir) or in the var dir for PostgreSQL; a key file is
    made 0600 the first time a personal value is sealed. An in-memory SQLite store gets a random
    key of its own, gone with it.
    """
    return once_per_app(app, "_casework_privacy", Privacy, lambda: _made_for(app))


def _made_for(app: Any) -> Privacy:
    """A new `Privacy` for `app` (see `privacy_for`)."""
    env: Mapping[str, str] = app.env
    database = env.get("SQLITE_DBNAME", "")
    key_file: Path | None = None
    if database.startswith(":memory:") or "mode=memory" in database:
        # The store lives and dies with this process: so does its master key (no file).
        in_memory = MasterKey(os.urandom(32), "an in-memory store's own key")
        privacy = _in_memory(app.recorder.datastore, in_memory)
    else:
        if database and not env.get(MASTER_KEY_ENV) and not env.get(MASTER_KEY_FILE_ENV):
            stored = unquote(database.removeprefix("file:").split("?", 1)[0])
            key_file = Path(stored).parent / "master.key"
        privacy = Privacy.in_store(
            app.recorder.datastore, env=env, read_only="mode=ro" in database, key_file=key_file
        )
    return privacy
