"""`UnreachableError` on its own, so the `casework` script can catch it without importing
`casework.outages` (and with it nats, psycopg and eventsourcing) before a command needs them."""

from __future__ import annotations


class UnreachableError(RuntimeError):
    """A one-shot command could not reach the store or NATS; the message names host:port."""
