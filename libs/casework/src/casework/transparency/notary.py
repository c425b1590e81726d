"""The notary: follows the store's notification log, appends a leaf per case event, and signs a
checkpoint every `CASEWORK_NOTARY_EVERY` events or `CASEWORK_NOTARY_SECONDS` seconds.

Modelled on the relay's reading and `casework.projections.polling`: it resumes from the head it
recorded (the last notification read and the frontier), reads a page, and records the page's
leaves and the new head in one transaction, so a crash between pages loses nothing and repeats
nothing. The frontier makes each new root O(log n): a checkpoint over 100k events rehashes
nothing. Two notaries on one store cannot both append: the leaves' positions are a primary key,
so the loser's transaction fails and it rereads the head (the Poller calls `forget`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from casework.domain.errors import ValidationError
from casework.projections.polling import Poller
from casework.topics import is_case_topic
from casework.transparency.checkpoints import Checkpoint, origin_setting, sign
from casework.transparency.leaves import Leaf, leaf_of
from casework.transparency.tables import Head, LogTables, tables_for

log = logging.getLogger("casework.notary")

EVERY_ENV = "CASEWORK_NOTARY_EVERY"
SECONDS_ENV = "CASEWORK_NOTARY_SECONDS"
DEFAULT_EVERY = 1000
DEFAULT_SECONDS = 60.0
PAGE = 500


def cadence(env: Mapping[str, str] | None = None) -> tuple[int, float]:
    """(events, seconds) between checkpoints, from the settings; a bad value stops the start."""
    settings = os.environ if env is None else env
    every, seconds = settings.get(EVERY_ENV, str(DEFAULT_EVERY)), settings.get(SECONDS_ENV, "")
    if not (every.isascii() and every.isdigit()) or int(every) < 1:
        raise ValidationError(f"{EVERY_ENV} must be a whole number >= 1; got {every!r}")
    try:
        pause = float(seconds) if seconds else DEFAULT_SECONDS
    except ValueError:
        raise ValidationError(f"{SECONDS_ENV} must be seconds (> 0); got {seconds!r}") from None
    if not pause > 0:
        raise ValidationError(f"{SECONDS_ENV} must be seconds (> 0); got {seconds!r}")
    return int(every), pause


class Notary(Poller):
    """Appends the store's case events to the log and signs checkpoints of it."""

    thread_name = "casework-notary"

    def __init__(
        self,
        app: Any,
        key: Ed25519PrivateKey,
        *,
        every: int = DEFAULT_EVERY,
        seconds: float = DEFAULT_SECONDS,
        now: Callable[[], float] = time.monotonic,
        origin: str | None = None,
    ) -> None:
        """`origin`: the log's name if it has none yet (default `CASEWORK_LOG_ORIGIN`, else a
        new `casework/<uuid>`); a log keeps the name it was first given."""
        super().__init__()
        self.wanted = origin
        self.origin = ""
        self.app = app
        self.key = key
        self.every = every
        self.seconds = seconds
        self.now = now
        self.tables: LogTables = tables_for(app)
        self._head: Head | None = None
        self._signed_size = -1
        self._signed_at = now()

    def name_log(self) -> str:
        """The log's origin, named on first use (`LogTables.name_log`)."""
        if not self.origin:
            wanted = self.wanted if self.wanted is not None else origin_setting()
            self.origin = self.tables.name_log(wanted)
        return self.origin

    def forget(self) -> None:
        self._head = None
        self._signed_size = -1

    def catch_up(self) -> int:
        """Append every case event stored since the head; sign when due. Leaves appended."""
        appended = 0
        while True:
            added = self.append_page()
            self.checkpoint_if_due()
            if added < 0:
                break
            appended += added
        return appended

    def append_page(self) -> int:
        """Read one page of notifications; -1 when there was none (caught up), else leaves added."""
        self.tables.make()
        head = self._head or self.tables.head()
        page = self.app.recorder.select_notifications(start=head.notification_id + 1, limit=PAGE)
        if not page:
            self._head = head
            return -1
        rows: list[tuple[int, Leaf]] = []
        frontier = type(head.frontier)(head.frontier.size, head.frontier.hashes)
        for notification in page:
            if not is_case_topic(notification.topic):
                continue
            leaf = leaf_of(self.app.mapper, notification)
            frontier.append_hash(leaf.digest())
            rows.append((notification.id, leaf))
        self.tables.append(rows, page[-1].id, head.frontier.size, frontier)
        self._head = Head(page[-1].id, frontier)
        return len(rows)

    def checkpoint_if_due(self) -> Checkpoint | None:
        head = self._head or self.tables.head()
        if self._signed_size < 0:
            latest = self.tables.latest()
            self._signed_size = latest.size if latest else 0
        grown = head.frontier.size - self._signed_size
        if grown <= 0:
            return None
        if grown < self.every and self.now() - self._signed_at < self.seconds:
            return None
        return self.checkpoint(head)

    def checkpoint(self, head: Head | None = None) -> Checkpoint:
        """Sign the log as it stands now (after catching up) and keep the checkpoint.

        What is returned is the checkpoint the store keeps at that size: another notary (the
        running one, while this is a one-shot `sign now`) may have signed the same size first,
        and then its checkpoint is the one kept, published and returned."""
        if head is None:
            while self.append_page() >= 0:
                pass
            head = self._head or self.tables.head()
        self.name_log()
        at = self.app.clock() if hasattr(self.app, "clock") else datetime.now().astimezone()
        signed = sign(self.key, head.frontier.size, head.frontier.root(), at, self.origin)
        self.tables.add_checkpoint(signed)
        signed = self.tables.checkpoint_at(signed.size) or signed
        self._signed_size = signed.size
        self._signed_at = self.now()
        log.info("checkpoint: %d events, root %s", signed.size, signed.root.hex()[:16])
        return signed

    def sign_now(self, attempts: int = 10) -> Checkpoint:
        """`checkpoint()` beside a running notary: when the other appended first (this one's
        insert or head write fails), reread the head and try again."""
        for attempt in range(attempts):
            try:
                return self.checkpoint()
            except Exception:
                self.forget()
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")
