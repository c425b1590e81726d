"""The case-file page as an auditor relies on it, through the HTTP client (test_browser.py checks
the layout in Chromium): links to linked cases only for those who may see them, values read as
people read them whatever they hold, and a verify line that checks the events shown against the
transparency log's signed checkpoint — or says plainly that no checkpoint covers them yet."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework import Actor, Casework, Role
from casework.clock import FakeClock
from casework.domain.chain import event_digest
from casework.side_tables import dialect
from casework.transparency.checkpoints import public_text
from casework.transparency.notary import Notary
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from intake.api.app import create_app
from intake.testing import FLAT, OTHER_COMPOUND, T0, Desk, make_settings
from intake.web.readable import flat, lines_of, moment
from pydantic import ValidationError as PydanticValidationError

STAFF = Actor("staff-li", Role.PROPERTY_STAFF)


def sign_in(desk: Desk, headers: dict[str, str]) -> None:
    token = headers["Authorization"].removeprefix("Bearer ")
    assert desk.client.post("/ui/login", data={"token": token}).status_code == 200


def casework_of(desk: Desk) -> Casework:
    app: Casework = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    return app


def shown_in(page: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(p|dl)>', page, re.S)
    assert found is not None, f"no {name} on the page"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def test_a_linked_case_is_a_link_only_for_a_reader_who_may_see_it(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    app = casework_of(desk)
    here = app.report_repair(Actor("r-0302", Role.RESIDENT), FLAT, "tap drips", "plumbing")
    there = app.report_repair(
        Actor("r-0101", Role.RESIDENT), f"{OTHER_COMPOUND}/b1/0101", "pipe burst", "plumbing"
    )
    app.link_cases(here, there, Actor("officer-wang", Role.COMMUNITY_OFFICER), "related")
    sign_in(desk, desk.auditor())
    audited = desk.client.get(f"/ui/cases/{here}").text
    link = f'<a class="case-link" href="/ui/cases/{there}">案件 case {there}</a>'
    assert audited.count(link) == 2  # in the state's linked cases and the event's details
    sign_in(desk, desk.staff())  # staff of wanxin-intl: the other case is in jiating
    staffed = desk.client.get(f"/ui/cases/{here}").text
    assert f'href="/ui/cases/{there}"' not in staffed
    assert f"案件 case {there} · related (不在您的查看范围 not among the cases you can see)" in (
        html.unescape(staffed)
    )
    assert desk.client.get(f"/ui/cases/{there}").status_code == 404


PLAIN = st.text(st.characters(blacklist_characters='{}"[]', blacklist_categories=["Cs"]))
MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
VALUES = st.recursive(
    PLAIN | st.integers() | st.booleans() | MOMENTS | MOMENTS.map(datetime.isoformat),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(PLAIN, inner, max_size=3),
    max_leaves=8,
)


@given(name=st.sampled_from(["terms", "details", "positions", "meetings", "x"]), value=VALUES)
def test_any_value_reads_without_json_and_every_time_in_utc8(name: str, value: Any) -> None:
    text = flat(lines_of(name, value))
    assert "{" not in text
    assert '"' not in text
    assert "+00:00" not in text
    for found in re.finditer(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
        assert text[found.end() : found.end() + 6] == " UTC+8", text


def test_meetings_commitments_and_the_lead_read_as_who_what_by_when() -> None:
    at = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    meeting = {
        "form": "roundtable",
        "tier": "compound",
        "rounds": 1,
        "scheduled_for": at.isoformat(),
        "place": "courtyard",
        "participants": [{"id": "r-0302", "role": "resident"}],
        "convened_by": "secretary-zhao",
        "awaits_round": False,
        "cancelled": False,
    }
    assert flat(lines_of("meetings", {"9dc140b7aaaa": meeting})) == (
        "圆桌会议 roundtable @ 小区 compound · 2026-11-26 13:00 UTC+8 · courtyard · "
        "参加 with r-0302 (居民 resident) · 召集 convened by secretary-zhao · 1 轮 rounds held "
        "(#9dc140b7)"
    )
    owed = {"who": "owner-7", "what": "remove the cable", "due": "2027-01-07", "status": "due"}
    assert flat(lines_of("commitments", [owed])) == (
        "#0 owner-7: remove the cable — 期限 by 2027-01-07 (已到期 due)"
    )
    lead = {
        "id": "secretary-zhao",
        "role": "party_secretary",
        "tier": "compound",
        "named_by": "secretary-zhao",
        "since": at.isoformat(),
    }
    assert flat(lines_of("lead_mediator", lead)) == (
        "secretary-zhao (小区党支部书记 party_secretary) 主持 leads at 小区 compound, "
        "named by secretary-zhao since 2026-11-26 13:00 UTC+8"
    )
    agreed = {"who": "staff-li", "what": "build the shed", "due": "2026-12-31"}  # as agreed
    assert (
        flat(lines_of("commitments", [agreed]))
        == "#0 staff-li: build the shed — 期限 by 2026-12-31"
    )
    assert flat(lines_of("tally", {"gate 2": 11, "car park": 4})) == "gate 2: 11, car park: 4"
    assert moment(at) == "2026-11-26 13:00 UTC+8"


def rewrite(app: Casework, case_id: UUID, version: int, reason: str, rehash: bool = True) -> None:
    """As one with SQL access: change an event's reason and (with `rehash`) re-hash it and every
    later event of its case, so the hash chain alone still verifies (SQLite store)."""
    recorder: Any = app.recorder
    table = dialect(recorder.datastore).table(recorder.events_table_name)
    transcoder = app.mapper.transcoder
    stored = list(recorder.select_events(case_id))
    previous = ""
    for event in stored[version - 1 : None if rehash else version]:
        state = transcoder.decode(event.state)
        if event.originator_version == version:
            state["reason"] = reason
        else:
            state["prev_hash"] = previous
        if rehash:
            digest = event_digest(event.topic, case_id, event.originator_version, state)
            state["hash"] = previous = digest
        with recorder.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                (transcoder.encode(state), case_id.hex, event.originator_version),
            )


def test_the_verify_line_checks_the_events_shown_against_the_signed_checkpoint(
    tmp_path: Path,
) -> None:
    key = Ed25519PrivateKey.generate()
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'cases.db'}", notary_pubkey=public_text(key.public_key())
    )
    clock = FakeClock(T0)
    with TestClient(create_app(settings, clock=clock)) as client:
        desk = Desk(client, clock, settings)
        app = casework_of(desk)
        case_id = app.report_repair(Actor("r-0302", Role.RESIDENT), FLAT, "tap drips", "plumbing")
        app.acknowledge(case_id, STAFF, "called back")
        sign_in(desk, desk.auditor())

        def page(v: int | None = None) -> str:
            return client.get(f"/ui/cases/{case_id}" + (f"?v={v}" if v else "")).text

        told = len(app.history(case_id))
        first = page()
        assert f"完整 intact: all {told} events, hash chain unbroken" in shown_in(first, "verify")
        assert "no signed checkpoint of the transparency log yet" in shown_in(first, "checkpoint")

        signed = Notary(app, key).checkpoint()
        clock.advance(timedelta(minutes=5))
        app.assign(case_id, STAFF, Actor("vol-li", Role.VOLUNTEER), "plumber")
        latest, early = page(), page(told)
        assert f"all {told + 1} events" in shown_in(latest, "verify")
        assert (
            f"not yet in a signed checkpoint: event {told + 1} came after the latest, checkpoint "
            f"{signed.size} (the log's first {signed.size} events, signed "
            f"{moment(signed.at)})" in shown_in(latest, "checkpoint")
        )
        assert f"events 1–{told} shown" in shown_in(early, "verify")
        shown = shown_in(early, "checkpoint")
        assert f"each of the {told} events shown is included in checkpoint {signed.size}" in shown
        assert "signature verified with the notary's public key" in shown

        rewrite(app, case_id, 2, "nobody called")  # the chain still verifies: the log does not
        assert app.verify(case_id).ok
        tampered = page(told)
        assert f"✔ 完整 intact: events 1–{told} shown" in shown_in(tampered, "verify")
        assert f"被篡改 TAMPERED: event 2 is not the one checkpoint {signed.size}" in shown_in(
            tampered, "checkpoint"
        )
        assert 'class="log failed"' in tampered
        assert "verify-later" not in tampered

        rewrite(app, case_id, told + 1, "never assigned", rehash=False)  # after what is shown
        broken = page(told)
        assert f"完整 intact: events 1–{told} shown" in shown_in(broken, "verify")
        assert (
            f"the rest of the file does not verify: 被篡改 TAMPERED at event {told + 1}: content "
            "does not match its hash" in shown_in(broken, "verify-later")
        )
        assert f"被篡改 TAMPERED at event {told + 1}" in shown_in(page(), "verify")


def test_a_checkpoint_not_signed_by_the_notarys_key_is_reported(tmp_path: Path) -> None:
    stranger = Ed25519PrivateKey.generate()
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'cases.db'}",
        notary_pubkey=public_text(Ed25519PrivateKey.generate().public_key()),
    )
    clock = FakeClock(T0)
    with TestClient(create_app(settings, clock=clock)) as client:
        desk = Desk(client, clock, settings)
        app = casework_of(desk)
        case_id = app.report_repair(Actor("r-0302", Role.RESIDENT), FLAT, "tap drips", "plumbing")
        signed = Notary(app, stranger).checkpoint()
        sign_in(desk, desk.auditor())
        shown = shown_in(client.get(f"/ui/cases/{case_id}").text, "checkpoint")
        assert f"被篡改 TAMPERED: checkpoint {signed.size}" in shown
        assert "its signature does not verify" in shown


def test_a_notary_public_key_that_is_not_one_stops_the_start_saying_so(tmp_path: Path) -> None:
    with pytest.raises(PydanticValidationError, match="as `casework notary pubkey` prints it"):
        make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}", notary_pubkey="not-a-key")


def test_on_either_store_the_events_shown_are_proven_in_the_checkpoint(desk: Desk) -> None:
    app = casework_of(desk)
    case_id = app.report_repair(Actor("r-0302", Role.RESIDENT), FLAT, "tap drips", "plumbing")
    app.acknowledge(case_id, STAFF, "called back")
    signed = Notary(app, Ed25519PrivateKey.generate()).checkpoint()
    told = len(app.history(case_id))
    sign_in(desk, desk.auditor())
    shown = shown_in(desk.client.get(f"/ui/cases/{case_id}").text, "checkpoint")
    assert f"each of the {told} events shown is included in checkpoint {signed.size}" in shown
    assert "signature not checked here (no notary public key set" in shown


def test_the_page_and_the_export_share_one_tree_extended_per_checkpoint(sqlite_desk: Desk) -> None:
    """The verify line proves against the store's kept tree (`exports.signed_tree`), the one the
    exports use: a later checkpoint extends it rather than building a second tree."""
    from casework.transparency.tables import tables_for

    desk, app = sqlite_desk, casework_of(sqlite_desk)
    case_id = app.report_repair(Actor("r-0302", Role.RESIDENT), FLAT, "tap drips", "plumbing")
    notary = Notary(app, Ed25519PrivateKey.generate())
    first = notary.checkpoint()
    sign_in(desk, desk.auditor())
    assert "is included in checkpoint" in shown_in(
        desk.client.get(f"/ui/cases/{case_id}").text, "checkpoint"
    )
    kept = tables_for(app).tree
    assert kept is not None
    assert kept.size == first.size
    app.acknowledge(case_id, STAFF, "called back")
    second = notary.checkpoint()
    page = desk.client.get(f"/ui/cases/{case_id}").text
    assert f"included in checkpoint {second.size}" in shown_in(page, "checkpoint")
    assert tables_for(app).tree is kept
    assert kept.size == second.size > first.size
    exported = desk.client.get(f"/cases/{case_id}/export", headers=desk.auditor())
    assert exported.status_code == 200, exported.text
    assert tables_for(app).tree is kept
