"""On a SQLite file, the relay and the store feeds wake on a commit, not on their poll interval.

Not timings: the poll intervals here are a minute, so an event that arrives at all within the
test's few seconds arrived because the change signal (`casework.sqlite_changes`) woke its reader.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from casework import Actor, Casework, Role, sqlite_changes
from casework.contracts import CaseEvent
from casework.messaging.nats_server import NatsServer
from casework.messaging.relay import WOKEN_POLL, Relay
from casework.messaging.store_feed import StoreFeed
from casework.messaging.subjects import STREAM
from casework.sqlite_changes import SqliteChanges
from casework.testing.nats import jetstream

RESIDENT = Actor("resident-0302", Role.RESIDENT)
FLAT = "jiayu-xx/wanxin-intl/b12/0302"
MINUTE = 60.0


def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'casework.db'}"


def test_a_commit_by_another_connection_shows_once(tmp_path: Path) -> None:
    with Casework(store(tmp_path)) as writer, Casework(store(tmp_path)) as reader:
        changes = SqliteChanges.of(reader)
        assert changes is not None
        try:
            assert not changes.changed()
            writer.report_repair(RESIDENT, FLAT, "light out", "lighting")
            assert changes.changed()
            assert not changes.changed()  # asked again, nothing new
        finally:
            changes.close()


def test_there_is_no_signal_for_an_in_memory_store() -> None:
    with Casework("sqlite:///:memory:") as app:
        assert SqliteChanges.of(app) is None


@pytest.mark.nats
@pytest.mark.anyio
async def test_the_relay_publishes_a_new_event_long_before_its_poll_interval(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    writer = Casework(store(tmp_path))
    relay = Relay(Casework(store(tmp_path)), nats_server.url, poll_interval=MINUTE)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        async with jetstream(nats_server.url) as (_, js):
            for expected in (2, 4):  # the second one after the relay went idle
                await asyncio.to_thread(writer.report_repair, RESIDENT, FLAT, "leak", "plumbing")
                deadline = time.monotonic() + 10
                while (await _held(js)) < expected:
                    assert time.monotonic() < deadline, "the relay did not wake on the commit"
                    await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
        writer.close()
    assert relay.published == 4


@pytest.mark.nats
@pytest.mark.anyio
@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "no-inotify"])
async def test_an_idle_relay_reads_a_watched_store_once_a_second_and_an_unwatched_one_as_before(
    nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inotify: bool
) -> None:
    """Where inotify says when the file was written, the relay's poll only covers a missed
    wake-up: it reads the idle store once a second (`WOKEN_POLL`), not ten times. Without
    inotify (its refusal made here, as above) it polls as before."""
    if not inotify:

        def refused(*args: object, **kwargs: object) -> None:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

        monkeypatch.setattr(sqlite_changes, "INotify", refused)
        monkeypatch.setattr(sqlite_changes, "_warned", threading.Event())
    following = Casework(store(tmp_path))
    with Casework(store(tmp_path)) as writer:
        writer.report_repair(RESIDENT, FLAT, "light out", "lighting")
    probe = SqliteChanges.of(following)
    assert probe is not None
    watching = probe.watching
    probe.close()
    if inotify and not watching:
        following.close()
        pytest.skip("this host's inotify instances are used up: nothing watches the file")
    reads = 0
    select = following.recorder.select_notifications

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        return select(*args, **kwargs)

    monkeypatch.setattr(following.recorder, "select_notifications", counted)
    relay = Relay(following, nats_server.url)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        async with jetstream(nats_server.url) as (_, js):
            deadline = time.monotonic() + 10
            while (await _held(js)) < 2:  # the report's two events: then idle
                assert time.monotonic() < deadline, "the relay did not publish"
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        before = reads
        await asyncio.sleep(3)
        idle_reads = reads - before
    finally:
        stop.set()
        await running
        following.close()
    if inotify:
        assert relay.poll_interval == WOKEN_POLL
        assert idle_reads <= 5  # 3 s at one a second (with a read-ahead each); it was 30
    else:
        assert relay.poll_interval == 0.1
        assert idle_reads >= 10  # ten a second, as before (a third of that, on a loaded box)


async def _held(js: object) -> int:
    try:
        info = await js.stream_info(STREAM)  # type: ignore[attr-defined]
    except Exception:  # not created yet
        return 0
    return int(info.state.messages)


class _Noted(SqliteChanges):
    """The real signal, noting when its follower starts to wait on it."""

    waiting: threading.Event

    def wait_sync(self, timeout: float, stop: threading.Event) -> bool:
        self.waiting.set()
        return super().wait_sync(timeout, stop)


class _NotedFeed(StoreFeed):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting = threading.Event()

    def change_signal(self) -> SqliteChanges | None:
        signal = _Noted.of(self.app)
        assert signal is not None
        signal.waiting = self.waiting
        return signal


def test_a_store_feed_catches_up_long_before_its_poll_interval(tmp_path: Path) -> None:
    seen = threading.Event()

    def handler(event: CaseEvent, app: Casework) -> None:
        seen.set()

    with Casework(store(tmp_path)) as writer, Casework(store(tmp_path)) as following:
        feed = _NotedFeed(following, handler, name="wake-test", concerns=lambda model: True)
        feed.start(MINUTE)
        try:
            # written only once the first round is over and the feed waits: only a wake can
            # bring the event to it within the test
            assert feed.waiting.wait(10), "the feed never waited on its signal"
            writer.report_repair(RESIDENT, FLAT, "light out", "lighting")
            assert seen.wait(10), "the feed did not wake on the commit"
        finally:
            feed.stop()


def test_a_signal_without_inotify_says_once_which_limit_to_raise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The per-user inotify instance limit reached (EMFILE, as inotify_init1 says it): the signal
    asks on its timer, and the first one in the process says so. Reaching the real limit would
    take every instance this user may have, the other processes' too, so inotify's refusal is
    made here."""

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(sqlite_changes, "INotify", refused)
    monkeypatch.setattr(sqlite_changes, "_warned", threading.Event())
    with Casework(store(tmp_path)) as writer, Casework(store(tmp_path)) as reader:
        writer.report_repair(RESIDENT, FLAT, "light out", "lighting")
        signals = [SqliteChanges.of(reader), SqliteChanges.of(reader)]
        try:
            assert all(s is not None and not s.watching for s in signals)
            writer.report_repair(RESIDENT, FLAT, "leak", "plumbing")
            assert all(s is not None and s.changed() for s in signals)  # the timer still works
        finally:
            for signal in signals:
                if signal is not None:
                    signal.close()
    warnings = [r for r in caplog.records if r.name == "casework.sqlite_changes"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "/proc/sys/fs/inotify/max_user_instances" in warnings[0].getMessage()


class _Slow(StoreFeed):
    """A feed whose round is still running when `stop` gives up waiting for it."""

    stop_timeout = 0.05

    def __init__(self, app: Casework) -> None:
        super().__init__(app, lambda event, app: None, name="slow", concerns=lambda model: True)
        self.in_round = threading.Event()
        self.may_end = threading.Event()

    def catch_up(self) -> int:
        self.in_round.set()
        self.may_end.wait(10)
        return 0


def test_a_feed_that_outlives_stop_closes_its_signal_when_its_thread_ends(
    tmp_path: Path,
) -> None:
    with Casework(store(tmp_path)) as following:
        feed = _Slow(following)
        feed.start(MINUTE)
        assert feed.in_round.wait(10)
        signal = feed._changes
        assert signal is not None
        feed.stop()  # gives up: the round is still running
        assert feed._thread is not None
        assert feed._thread.is_alive()
        feed.may_end.set()
        feed._thread.join(10)
        with pytest.raises(sqlite3.ProgrammingError):  # closed by the thread as it ended
            signal._conn.execute("PRAGMA data_version")
        if signal._watch is not None:
            with pytest.raises(ValueError, match="closed file"):  # the inotify fd too
                signal._watch.fileno()


class _Failing(StoreFeed):
    """A follower whose every round fails with a bug (not an outage)."""

    def __init__(self, app: Casework) -> None:
        super().__init__(app, lambda event, app: None, name="failing", concerns=lambda model: True)
        self.rounds = 0
        self.failed_once = threading.Event()

    def catch_up(self) -> int:
        self.rounds += 1
        self.failed_once.set()
        raise RuntimeError("a bug in the follower")


def test_a_failing_follower_tries_again_after_its_interval_not_on_every_commit(
    tmp_path: Path,
) -> None:
    with Casework(store(tmp_path)) as writer, Casework(store(tmp_path)) as following:
        feed = _Failing(following)
        feed.start(MINUTE)
        try:
            assert feed.failed_once.wait(10)
            for _ in range(3):  # each commit would wake a follower between good rounds
                writer.report_repair(RESIDENT, FLAT, "light out", "lighting")
                time.sleep(0.1)
            time.sleep(0.3)
            assert feed.rounds == 1  # the next try is a minute away
        finally:
            feed.stop()


def test_threads_asking_at_once_while_commits_land_never_raise(tmp_path: Path) -> None:
    """The intake's request threads ask beside its feed's thread: two drains of one inotify
    descriptor must not race (one read what FIONREAD promised the other: BlockingIOError)."""
    path = tmp_path / "s.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (n INTEGER)")
    changes = SqliteChanges(str(path))
    errors: list[BaseException] = []
    done = threading.Event()

    def ask() -> None:
        while not done.is_set():
            try:
                changes.changed()
            except BaseException as error:  # any error is the finding
                errors.append(error)
                return

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for asker in askers:
        asker.start()
    try:
        for n in range(300):
            writer.execute("INSERT INTO t VALUES (?)", (n,))
    finally:
        done.set()
        for asker in askers:
            asker.join()
        changes.close()
        writer.close()
    assert not errors, errors[0]


def test_an_idle_follower_asks_sqlite_only_when_the_file_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocked on inotify, `wait_sync` wakes every `SLICE` to look at its stop event; it asks
    SQLite again only after inotify said the file was written (asking at every wake-up was
    most of an idle intake's store-feed CPU), and still sees a commit at once."""
    monkeypatch.setattr(sqlite_changes, "SETTLING", 0.0)  # no write here to settle after
    with Casework(store(tmp_path)) as writer, Casework(store(tmp_path)) as reader:
        changes = SqliteChanges.of(reader)
        assert changes is not None
        assert changes.watching
        asked: list[float] = []
        ask = changes._ask
        monkeypatch.setattr(changes, "_ask", lambda: asked.append(time.monotonic()) or ask())
        stop = threading.Event()
        writing: threading.Timer | None = None
        try:
            assert not changes.wait_sync(5 * sqlite_changes.SLICE, stop)
            assert len(asked) == 1  # once on entering, none at the four wake-ups after
            asked.clear()
            writing = threading.Timer(
                sqlite_changes.SLICE,
                writer.report_repair,
                (RESIDENT, FLAT, "light out", "lighting"),
            )
            writing.start()
            began = time.monotonic()
            assert changes.wait_sync(MINUTE, stop)
            assert time.monotonic() - began < MINUTE / 2
            assert 2 <= len(asked) <= 10  # on entering, then as the commit's writes showed
        finally:
            if writing is not None:  # its commit shows before it hands its connection back
                writing.join(10)
            changes.close()
