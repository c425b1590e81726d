"""Many hands on one case file at once, on a real PostgreSQL.

eventsourcing refuses a save whose versions another writer took first (`IntegrityError`); the
application reloads and decides again, a bounded number of times. What must hold whatever the
interleaving: every command that returned is in the file exactly once, every command that raised
`ConcurrencyConflictError` is not in it at all, versions run 1..n without a gap, and the chain
verifies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import SYSTEM, Actor, Role, Tier
from casework.domain.errors import ConcurrencyConflictError

pytestmark = pytest.mark.postgres

THREADS = 20
NOTES_PER_THREAD = 5
START = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
RESIDENT = Actor("resident-0302", Role.RESIDENT)
LEADER = Actor("leader-b12", Role.BUILDING_LEADER)
FLAT = "jiayu-xx/wanxin-intl/b12/0302"


def _pooled(url: str, pool_size: int) -> str:
    """One connection per thread, so threads wait on the case, not on the pool."""
    return f"{url}?pool_size={pool_size}&max_overflow=2"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def apps(postgres_url: str, clock: FakeClock) -> Iterator[Callable[..., Casework]]:
    """Opens applications on the test's database; closes them all afterwards."""
    opened: list[Casework] = []

    def open_app(pool_size: int = 2, max_attempts: int | None = None) -> Casework:
        extra = {} if max_attempts is None else {"max_attempts": max_attempts}
        opened.append(Casework(_pooled(postgres_url, pool_size), clock=clock, **extra))
        return opened[-1]

    yield open_app
    for app in opened:
        app.close()


def _race(commands: list[Callable[[], None]]) -> list[BaseException | None]:
    """Run the commands on THREADS threads released together; what each one raised, or None."""
    barrier = threading.Barrier(THREADS)
    per_thread = [commands[i::THREADS] for i in range(THREADS)]

    def run(mine: list[Callable[[], None]]) -> list[BaseException | None]:
        barrier.wait()
        outcomes: list[BaseException | None] = []
        for command in mine:
            try:
                command()
            except ConcurrencyConflictError as error:
                outcomes.append(error)
            else:
                outcomes.append(None)
        return outcomes

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(run, per_thread))
    # Back into the order of `commands`.
    ordered: list[BaseException | None] = [None] * len(commands)
    for i, outcomes in enumerate(results):
        for j, outcome in enumerate(outcomes):
            ordered[i + j * THREADS] = outcome
    return ordered


def _check_file(app: Casework, case_id: UUID, first_version: int, notes: list[str]) -> list[str]:
    """The notes the file holds after `first_version`, having checked versions and the chain."""
    history = app.history(case_id)
    assert [e.version for e in history] == list(range(1, len(history) + 1))
    assert len(history) == first_version + len(notes)
    result = app.verify(case_id)
    assert result.ok, result.describe()
    assert result.events == len(history)
    recorded = [e.details["text"] for e in history[first_version:]]
    assert all(e.event == "NoteAdded" for e in history[first_version:])
    return recorded


def test_twenty_threads_on_one_shared_application_lose_no_note_and_leave_no_gap(
    apps: Callable[..., Casework],
) -> None:
    app = apps(pool_size=THREADS)
    case_id = app.report_repair(RESIDENT, FLAT, "tap drips", "plumbing")
    first = len(app.history(case_id))
    texts = [f"note {n}" for n in range(THREADS * NOTES_PER_THREAD)]

    outcomes = _race([lambda t=t: app.add_note(case_id, LEADER, t) for t in texts])

    accepted = [t for t, o in zip(texts, outcomes, strict=True) if o is None]
    assert accepted, "no command got through at all"
    recorded = _check_file(apps(), case_id, first, accepted)
    assert sorted(recorded) == sorted(accepted)  # each accepted note once; no refused one


def test_twenty_applications_racing_on_one_case_each_record_their_notes_exactly_once(
    apps: Callable[..., Casework],
) -> None:
    # Made one after another: each one creates the tables if missing, which must not race.
    writers = [apps(pool_size=1, max_attempts=50) for _ in range(THREADS)]
    case_id = writers[0].report_repair(RESIDENT, FLAT, "corridor light dead", "lighting")
    first = len(writers[0].history(case_id))
    texts = [f"note {n}" for n in range(THREADS * NOTES_PER_THREAD)]

    outcomes = _race(
        [
            lambda i=i, t=t: writers[i % THREADS].add_note(case_id, LEADER, t)
            for i, t in enumerate(texts)
        ]
    )

    # Fifty attempts with back-off are plenty for twenty writers: none may give up.
    assert outcomes == [None] * len(texts)
    recorded = _check_file(apps(), case_id, first, texts)
    assert sorted(recorded) == sorted(texts)


class _RacingClock:
    """A clock that, the first time the command asks it the time, lets a rival write first.

    The application reads the clock after loading the case and before saving it, so the rival's
    save lands exactly in that window: a real race, forced, on the real database.
    """

    def __init__(self, clock: FakeClock, rival: Callable[[], None]) -> None:
        self.clock = clock
        self.rivals = [rival]

    def __call__(self) -> datetime:
        if self.rivals:
            self.rivals.pop()()
        return self.clock()


def test_a_command_that_loses_the_race_on_its_last_attempt_raises_and_records_nothing(
    postgres_url: str, apps: Callable[..., Casework], clock: FakeClock
) -> None:
    rival = apps()
    case_id = rival.report_repair(RESIDENT, FLAT, "door access card fails", "door_access")
    racing = _RacingClock(clock, lambda: rival.add_note(case_id, LEADER, "rival's note"))
    loser = Casework(_pooled(postgres_url, 1), clock=racing, max_attempts=1)
    try:
        with pytest.raises(ConcurrencyConflictError, match="1 attempts"):
            loser.add_note(case_id, LEADER, "loser's note")
    finally:
        loser.close()

    notes = [e.details.get("text") for e in apps().history(case_id) if e.event == "NoteAdded"]
    assert notes == ["rival's note"]
    assert apps().verify(case_id).ok


def test_a_command_that_loses_the_race_once_reloads_and_records_after_the_winner(
    postgres_url: str, apps: Callable[..., Casework], clock: FakeClock
) -> None:
    rival = apps()
    case_id = rival.report_repair(RESIDENT, FLAT, "door access card fails", "door_access")
    racing = _RacingClock(clock, lambda: rival.add_note(case_id, LEADER, "rival's note"))
    retrier = Casework(_pooled(postgres_url, 1), clock=racing, max_attempts=2)
    try:
        retrier.add_note(case_id, LEADER, "retried note")
    finally:
        retrier.close()

    notes = [e.details.get("text") for e in apps().history(case_id) if e.event == "NoteAdded"]
    assert notes == ["rival's note", "retried note"]
    assert apps().verify(case_id).ok


def test_twenty_schedulers_racing_on_an_overdue_case_record_one_escalation(
    apps: Callable[..., Casework], clock: FakeClock
) -> None:
    app = apps(pool_size=THREADS)
    case_id = app.report_repair(RESIDENT, FLAT, "lift stuck", "lift")
    clock.advance(timedelta(hours=5))  # past the building's four hours to respond
    reasons: list[str | None] = []
    lock = threading.Lock()

    def tick() -> None:
        reason = app.escalate_if_due(case_id, SYSTEM)
        with lock:
            reasons.append(reason)

    outcomes = _race([tick] * THREADS)

    assert outcomes == [None] * THREADS
    assert [r for r in reasons if r is not None] == ["deadline passed: no response"]
    history = apps().history(case_id)
    escalations = [e for e in history if e.event == "Escalated"]
    assert len(escalations) == 1
    assert escalations[0].details["automatic"] is True
    assert app.get_case(case_id).tier is Tier.COMPOUND
    assert apps().verify(case_id).ok


def test_processes_starting_at_once_on_a_fresh_database_all_create_the_store(
    postgres_url: str, clock: FakeClock
) -> None:
    """As when `casework up` starts the relay and three services on a new PostgreSQL database."""
    starters = 8
    barrier = threading.Barrier(starters)
    opened: list[Casework] = []
    lock = threading.Lock()

    def start() -> None:
        barrier.wait()
        app = Casework(postgres_url, clock=clock)
        with lock:
            opened.append(app)

    try:
        errors = _race([start] * starters)
        assert errors == [None] * starters
        case_id = opened[0].report_repair(
            Actor("resident-0302", Role.RESIDENT),
            "jiayu-xx/wanxin-intl/b12/0302",
            "tap",
            "plumbing",
        )
        assert all(app.get_case(case_id).version == 2 for app in opened)
    finally:
        for app in opened:
            app.close()
