"""Snapshots of long case files: a load from snapshot + tail equals a load from every event, a
snapshot holds no personal value in plaintext (and follows an erasure), `verify` ignores them.

Snapshots are taken here at every 1 to 4 events (`CASEWORK_SNAPSHOT_EVERY`) so that the
stories, short beside a real long case file, are snapshotted many times over.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from casework.application import Casework
from casework.application.snapshots import decode, encode
from casework.clock import FakeClock
from casework.domain.actors import Actor, Role
from casework.domain.errors import ValidationError
from casework.domain.repair import Repair
from casework.privacy.people import erase, export
from casework.settings import snapshot_every
from casework.stories import EVERY_STORY, Story
from casework.stories.in_process import InProcess
from casework.stories.steps import At
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DPO = Actor("dpo-sun", Role.DATA_PROTECTION_OFFICER)


def tell(story: Story, path: Path, every: int) -> tuple[Casework, Casework]:
    """The story told into a store snapshotted every `every` events, and the same store opened
    with snapshots off."""
    first = next((step.when for step in story.steps if isinstance(step, At)), None)
    clock = FakeClock(first or datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    url = f"sqlite:///{path}"
    app = Casework(url, clock=clock, env={"CASEWORK_SNAPSHOT_EVERY": str(every)})
    InProcess(app, clock).tell(story)
    return app, Casework(url, clock=clock, env={"CASEWORK_SNAPSHOT_EVERY": "0"})


def snapshot_rows(path: Path) -> list[bytes]:
    with closing(sqlite3.connect(path)) as db:
        return [bytes(row[0]) for row in db.execute("SELECT state FROM stored_snapshots")]


def loads_alike(app: Casework, plain: Casework) -> None:
    for case_id in app.case_ids():
        if len(app.recorder.select_events(case_id)) >= app.snapshot_every:
            assert case_id in app.long_cases  # so its loads below start from a snapshot
        for personal in (True, False):
            with_snapshots = app.get_case(case_id, personal=personal)
            replayed = plain.get_case(case_id, personal=personal)
            assert vars(with_snapshots) == vars(replayed), (case_id, personal)


def personal_values(app: Casework, person: str) -> list[str]:
    return sorted({f.value for f in export(app, app.privacy, person).facts if len(f.value) >= 4})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(story=st.sampled_from(EVERY_STORY), every=st.integers(1, 4), data=st.data())
def test_a_snapshotted_case_loads_as_replayed_and_its_snapshots_hold_no_plaintext(
    tmp_path_factory: pytest.TempPathFactory, story: Story, every: int, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("snap") / "casework.db"
    app, plain = tell(story, path, every)
    with app, plain:
        rows = snapshot_rows(path)
        assert rows, "no snapshot was taken"
        loads_alike(app, plain)
        assert all(r.ok for r in app.verify_all())

        people = {e.actor_id for c in app.case_ids() for e in app.history(c)}
        with_values = {p: v for p in sorted(people) if (v := personal_values(app, p))}
        assert with_values, f"{story.title}: nobody's personal data was recorded"
        everything = b"".join(rows)
        for person, values in with_values.items():
            leaked = [
                v
                for v in values
                if v.encode() in everything or json.dumps(v)[1:-1].encode() in everything
            ]
            assert not leaked, (person, leaked)

        person = data.draw(st.sampled_from(sorted(with_values)), label="erased")
        erase(app, app.privacy, person, DPO, "PIPL art. 47 request")
        # A fresh process's view (another one may keep a key live for its cache's 5 s).
        with Casework(f"sqlite:///{path}", env={"CASEWORK_SNAPSHOT_EVERY": "0"}) as after:
            loads_alike(app, after)
        shown = json.dumps([vars(app.get_case(c)) for c in app.case_ids()], default=str)
        assert "[erased]" in shown
        assert not [v for v in with_values[person] if v in shown]


def test_verify_walks_every_event_and_never_reads_snapshots(tmp_path: Path) -> None:
    app, plain = tell(EVERY_STORY[0], tmp_path / "casework.db", 1)
    with app, plain:
        case_id = next(iter(app.case_ids()))
        with closing(sqlite3.connect(tmp_path / "casework.db")) as db, db:
            db.execute("UPDATE stored_snapshots SET state = CAST('garbage' AS BLOB)")
        assert all(r.ok for r in app.verify_all())
        with closing(sqlite3.connect(tmp_path / "casework.db")) as db, db:
            db.execute(
                "UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), "
                '\'"actor_role":"\', \'"actor_role":"x\') AS BLOB) '
                "WHERE originator_id = ? AND originator_version = 2",
                (case_id.hex,),
            )
        result = app.verify(case_id)
        assert (result.ok, result.position) == (False, 2)
        assert [r for r in app.verify_all() if not r.ok] == [result]


def test_the_setting_turns_snapshots_off_and_refuses_a_bad_value(tmp_path: Path) -> None:
    app, plain = tell(EVERY_STORY[0], tmp_path / "casework.db", 0)
    with app, plain:
        assert app.snapshots is None
        assert snapshot_every({}) == 100 or snapshot_every({}) >= 0
    for bad in ("-1", "ten", "1.5"):
        with pytest.raises(ValidationError, match="CASEWORK_SNAPSHOT_EVERY"):
            snapshot_every({"CASEWORK_SNAPSHOT_EVERY": bad})
    assert snapshot_every({"CASEWORK_SNAPSHOT_EVERY": "250"}) == 250


@given(
    value=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text()
        | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.replace(fold=0)),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.tuples(inner, inner)
            | st.frozensets(st.integers() | st.text(), max_size=3)
            | st.dictionaries(st.text() | st.integers(), inner, max_size=3)
        ),
        max_leaves=12,
    )
)
def test_the_tagged_form_gives_back_equal_values_of_the_same_types(value: object) -> None:
    back = decode(json.loads(json.dumps(encode(value))))
    assert back == value
    assert same_types(back, value)


def same_types(a: object, b: object) -> bool:
    """Equal values of the same types all the way down (a tuple is not a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return all(same_types(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return all(same_types(k, k) and same_types(v, b[k]) for k, v in a.items())
    return True


def test_another_process_replays_a_long_case_once_then_loads_it_from_its_snapshot(
    tmp_path: Path,
) -> None:
    path = tmp_path / "casework.db"
    app, plain = tell(EVERY_STORY[0], path, 3)
    with app, plain:
        long_case = max(app.case_ids(), key=lambda c: len(app.recorder.select_events(c)))
        replayed = vars(plain.get_case(long_case))
    env = {"CASEWORK_SNAPSHOT_EVERY": "3"}
    with Casework(f"sqlite:///{path}", env=env) as other:
        assert long_case not in other.long_cases
        assert vars(other.get_case(long_case)) == replayed  # replayed: not known to be long
        assert long_case in other.long_cases
        assert vars(other.get_case(long_case)) == replayed  # from its latest snapshot


def test_a_snapshot_made_by_another_version_of_the_kinds_package_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.application import snapshots

    path = tmp_path / "casework.db"
    app, plain = tell(EVERY_STORY[0], path, 3)
    with app, plain:
        long_case = max(app.case_ids(), key=lambda c: len(app.recorder.select_events(c)))

    def read_snapshots() -> list[object]:
        with Casework(f"sqlite:///{path}", env={"CASEWORK_SNAPSHOT_EVERY": "3"}) as other:
            store: Any = other._opening_snapshots(allowed=True)
            store.long_cases.saw(long_case, 10**6)
            return list(store.get(long_case))

    assert read_snapshots()  # made by this very code: read
    kind_package = "casework"  # the package of the story's kinds (the built-in ones)
    real_version = snapshots._version_of
    monkeypatch.setattr(
        snapshots,
        "_version_of",
        lambda name: "9.9.9" if name == kind_package else real_version(name),
    )
    snapshots.made_by.cache_clear()
    try:
        assert read_snapshots() == []  # the kind's package upgraded: its old snapshots unused
    finally:
        monkeypatch.undo()
        snapshots.made_by.cache_clear()


class _VersionedRepair(Repair):
    """A repair aggregate at class_version 2, whose v1 state cannot be upcast."""

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        raise AssertionError("a snapshot of a v2 aggregate was read as a v1 one")


def test_an_aggregate_of_class_version_2_is_snapshotted_and_loaded_at_its_version() -> None:
    from casework.application.snapshots import _Decoded, decode, take

    resident = Actor("resident-0302", Role.RESIDENT)
    with Casework("sqlite:///:memory:", clock=FakeClock(datetime(2026, 11, 24, tzinfo=UTC))) as app:
        repair = app.report_case(
            "repair",
            resident,
            "jiayu-xx/wanxin-intl/b12/0302",
            "the hall light is out",
            priority="urgent",
            category="lighting",
        )
        case = app.get_case(repair, personal=False)
    case.__class__ = _VersionedRepair
    snapshot = take(case, {})
    loaded = _Decoded(
        originator_id=snapshot.originator_id,
        originator_version=snapshot.originator_version,
        timestamp=snapshot.timestamp,
        topic=snapshot.topic,
        state=decode(snapshot.state["state"]),
    ).mutate(None)
    assert type(loaded) is _VersionedRepair
    assert vars(loaded) == vars(case)
