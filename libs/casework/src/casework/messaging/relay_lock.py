"""The relay's lock, where it was first kept: the same objects as `casework.locks` (the lock is
core, so the notary can run without casework[nats]; this name stays for code that imported it)."""

from casework.locks import (
    LOCK_GONE,
    UNREACHABLE,
    AdvisoryLock,
    FileLock,
    Lock,
    NoLock,
    advisory_key,
    hold,
    lock_for,
)

__all__ = [
    "LOCK_GONE",
    "UNREACHABLE",
    "AdvisoryLock",
    "FileLock",
    "Lock",
    "NoLock",
    "advisory_key",
    "hold",
    "lock_for",
]
