"""The PostgreSQL process recorder every Casework process uses: eventsourcing's, failing fast.

eventsourcing tries each store operation 10 times when PostgreSQL cannot be reached, and each try
waits up to the pool timeout for a connection: with PostgreSQL down, one HTTP request hung for
minutes. Here an operation is tried once more only when its failure was quick (a connection that
broke under it); when the pool could not hand out a connection within `CASEWORK_STORE_TIMEOUT`,
the store is down, and waiting longer helps nobody: the error goes up at once, and a service
answers 503 + Retry-After (a long-running part backs off and tries again on its own).

(Noticing PostgreSQL back soon after a long outage is `casework.outages.quick_reconnects`.)

Selected by `casework.settings.persistence_env` through eventsourcing's `PROCESS_RECORDER_TOPIC`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast
from uuid import UUID

from casework._extras import require

require("psycopg", __name__)  # before the imports below: a missing extra is named, not guessed

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent  # noqa: E402
from eventsourcing.postgres import PostgresProcessRecorder  # noqa: E402
from psycopg import Cursor  # noqa: E402
from psycopg.rows import DictRow  # noqa: E402
from psycopg.sql import SQL, Composed  # noqa: E402
from psycopg_pool import PoolTimeout  # noqa: E402

from casework.side_tables import SIDE_WRITES, WritesBeside, run_side_writes  # noqa: E402

F = TypeVar("F", bound=Callable[..., Any])

QUICK_RETRY_WAIT = 0.1
"""Seconds before the one retry of a quick failure (a broken connection is replaced by then)."""


def _pool_timed_out(error: BaseException) -> bool:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, PoolTimeout):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def fail_fast(method: F) -> F:
    """eventsourcing's `method` without its retry loop, tried again once unless the pool timed
    out (then the store is down, and the error is raised after one timeout, not ten)."""
    inner = getattr(method, "__wrapped__", method)

    @functools.wraps(inner)
    def attempt(*args: Any, **kwargs: Any) -> Any:
        try:
            return inner(*args, **kwargs)
        except (InterfaceError, OperationalError) as error:
            if _pool_timed_out(error):
                raise
        time.sleep(QUICK_RETRY_WAIT)
        return inner(*args, **kwargs)

    return cast(F, attempt)


class FailFastProcessRecorder(WritesBeside, PostgresProcessRecorder):
    """eventsourcing's PostgreSQL process recorder; its retried operations fail fast, and a
    save may carry side writes (`casework.side_tables.WritesBeside`)."""

    insert_events = fail_fast(PostgresProcessRecorder.insert_events)
    select_notifications = fail_fast(PostgresProcessRecorder.select_notifications)
    max_notification_id = fail_fast(PostgresProcessRecorder.max_notification_id)
    insert_tracking = fail_fast(PostgresProcessRecorder.insert_tracking)
    max_tracking_id = fail_fast(PostgresProcessRecorder.max_tracking_id)
    has_tracking_id = fail_fast(PostgresProcessRecorder.has_tracking_id)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._select_statements: dict[tuple[bool, bool, bool, bool], bytes] = {}

    @fail_fast
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """eventsourcing's `select_events` (the same statement, the same rows), its statement
        composed once for each shape of the question, not on every call: composing and
        encoding it was a twentieth of a command's CPU with 20 writers (issue 16)."""
        shape = (gt is not None, lte is not None, desc is not False, limit is not None)
        params = [originator_id, *(p for p in (gt, lte, limit) if p is not None)]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            statement = self._select_statements.get(shape)
            if statement is None:
                statement = self._select_statement(*shape).as_bytes(conn)
                self._select_statements[shape] = statement
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    def _select_statement(self, gt: bool, lte: bool, desc: bool, limit: bool) -> Composed:
        """The statement eventsourcing's `select_events` composes for that shape."""
        statement = self.select_events_statement
        if gt:
            statement += SQL(" AND originator_version > %s")
        if lte:
            statement += SQL(" AND originator_version <= %s")
        statement += SQL(" ORDER BY originator_version")
        statement += SQL(" DESC" if desc else " ASC")
        if limit:
            statement += SQL(" LIMIT %s")
        return statement

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        if kwargs.get(SIDE_WRITES):
            # eventsourcing pipelines the transaction's statements: a nested pipeline block
            # syncs as it closes, so a unique key a side write meets fails here, as itself
            # (`IntegrityError`), not as the next statement's "pipeline aborted" (an outage).
            with curs.connection.pipeline():
                run_side_writes(curs, kwargs)
