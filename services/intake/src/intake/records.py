"""The intake's own records, beside the case files: reporters' contacts and duplicate keys.

Contacts (phone numbers) are personal data: they stay here and never enter a case file, so they
never reach NATS or another resident's view. Duplicate keys name "the same matter" (one leaking
flat, one blocked road) so a second report finds the open case it belongs to; they are written
when the case is opened, so they do not wait for the index to catch up.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path

from casework.files import private_file
from casework.settings import sqlite_lock_timeout

_SCHEMA = """
create table if not exists contacts (
    case_id text not null,
    reporter_id text not null,
    contact text not null,
    recorded_at text not null,
    primary key (case_id, reporter_id)
);
create table if not exists duplicate_keys (
    key text not null,
    case_id text not null,
    recorded_at text not null,
    primary key (key, case_id)
);
"""


class Records:
    def __init__(self, path: Path) -> None:
        private_file(path)  # contacts: 0600, and so its -wal/-shm
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute(f"pragma busy_timeout={sqlite_lock_timeout() * 1000}")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def keep_contact(self, case_id: str, reporter_id: str, contact: str, at: datetime) -> None:
        with self._lock:
            self._db.execute(
                "insert into contacts values (?, ?, ?, ?) on conflict (case_id, reporter_id) "
                "do update set contact = excluded.contact, recorded_at = excluded.recorded_at",
                (case_id, reporter_id, contact, at.isoformat()),
            )

    def contacts(self, case_id: str) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute(
                "select reporter_id, contact from contacts where case_id = ? order by recorded_at",
                (case_id,),
            ).fetchall()
        return {str(r): str(c) for r, c in rows}

    def remember_key(self, key: str, case_id: str, at: datetime) -> None:
        with self._lock:
            self._db.execute(
                "insert or ignore into duplicate_keys values (?, ?, ?)",
                (key, case_id, at.isoformat()),
            )

    def cases_with_key(self, key: str) -> list[str]:
        """Newest first: the most recent open case of the matter is the one to join."""
        with self._lock:
            rows = self._db.execute(
                "select case_id from duplicate_keys where key = ? order by recorded_at desc",
                (key,),
            ).fetchall()
        return [str(r[0]) for r in rows]
