"""Where a person's data keys live: one small interface, so a KMS or an HSM is one class.

A person (a data subject, named by the same id events name actors by) has one live data key at
a time, made the first time something personal about them is sealed. Erasing the person
destroys every key they ever had; what was sealed under those keys stays in the store,
unreadable, and reads as `[erased]`. A person heard from again after their erasure gets a new
key (two processes racing to make one may make two: both are theirs, both work, an erasure
destroys both), so an erasure covers exactly what was recorded before it.

`casework.privacy.sql_keys.SqlKeyStore` keeps the keys in the store's own database, wrapped by
the master key; a KMS backend would keep them (or the wrapping) in the KMS and answer the same
four questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


@dataclass(frozen=True)
class DataKey:
    """A person's data key, unwrapped: its id (named by every token sealed under it), whose it
    is, and the 32 secret bytes (with the cipher made from them once, for speed)."""

    key_id: str
    subject: str
    secret: bytes = field(repr=False)
    cipher: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cipher", AESGCM(self.secret))


@dataclass(frozen=True)
class Destroyed:
    """A key that existed and was destroyed (its person erased) at `at`."""

    key_id: str
    subject: str
    at: datetime


@runtime_checkable
class KeyStore(Protocol):
    """The four things the library asks of a key store."""

    def key_for(self, subject: str) -> DataKey:
        """The person's live data key, made now if they have none (first personal value, or
        first after an erasure). Used to seal."""
        ...

    def key(self, key_id: str) -> DataKey | Destroyed | None:
        """The key a token names: usable, destroyed (and when), or None if this store never
        made it (a string that only looks like a token, or a token from another store)."""
        ...

    def destroy(self, subject: str, at: datetime) -> datetime:
        """Destroy every live key of the person, recording `at` (the erasure's time, on the
        application's clock) as when; answers the time of the latest destruction. Idempotent:
        a call that finds no live key destroys nothing and answers the previous time."""
        ...

    def erased_at(self, subject: str) -> datetime | None:
        """When the person's keys were last destroyed, or None if never; a person heard from
        again after it has a live key, and still this erasure on record."""
        ...
