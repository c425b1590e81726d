"""Bearer tokens: only hashes on disk, scopes by place, one file every service reads."""

from __future__ import annotations

import json
import stat
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from casework import Actor, Role, ValidationError
from casework.clock import FakeClock
from casework_web import (
    Principal,
    TokenExpiredError,
    TokenRefusedError,
    TokenStore,
    hash_token,
    well_formed_place,
)
from casework_web.tokens_cli import main as token_cli
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

SEGMENT = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)


def test_the_file_keeps_only_the_hash_and_who_it_stands_for(tokens_path: Path) -> None:
    token = TokenStore(tokens_path).create("staff-li", "property_staff", "jiayu-xx/wanxin-intl")
    text = tokens_path.read_text()
    assert token not in text
    assert json.loads(text) == {
        hash_token(token): {
            "actor_id": "staff-li",
            "role": "property_staff",
            "place": "jiayu-xx/wanxin-intl",
        }
    }
    assert stat.S_IMODE(tokens_path.stat().st_mode) == 0o600


def test_a_token_authenticates_as_its_actor_and_a_mistyped_one_as_nobody(
    tokens_path: Path,
) -> None:
    store = TokenStore(tokens_path)
    token = store.create("r-0302", "resident")
    assert store.authenticate(token) == Principal(Actor("r-0302", Role.RESIDENT), None)
    assert store.authenticate(token[:-1]) is None
    assert store.authenticate("") is None


def test_a_token_made_elsewhere_or_revoked_takes_effect_without_a_restart(
    tokens_path: Path,
) -> None:
    serving = TokenStore(tokens_path)
    assert serving.authenticate("nothing yet") is None  # the file does not exist yet
    token = TokenStore(tokens_path).create("auditor-zhao", "auditor")  # e.g. the CLI
    assert serving.authenticate(token) is not None
    assert TokenStore(tokens_path).revoke("auditor-zhao") == 1
    assert serving.authenticate(token) is None


@pytest.mark.parametrize(
    ("role", "place", "problem"),
    [
        ("mayor", None, "unknown role 'mayor'"),
        ("system", None, "scheduler"),
        ("property_staff", None, "--place"),
        ("property_staff", "Jiayu/Wanxin", "lowercase"),
        ("community_officer", "a/b/c/d/e", "community/compound"),
    ],
)
def test_a_token_is_refused_with_the_reason(
    tokens_path: Path, role: str, place: str | None, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        TokenStore(tokens_path).create("someone", role, place)
    assert not tokens_path.exists()


def test_a_service_may_check_the_place_against_its_own_registry(tokens_path: Path) -> None:
    def registry(place: str) -> str:
        if place != "jiayu-xx":
            raise ValidationError(f"unknown community {place!r}")
        return place

    store = TokenStore(tokens_path)
    assert store.create("officer-wang", "community_officer", "jiayu-xx", registry)
    with pytest.raises(ValidationError, match="unknown community"):
        store.create("officer-wang", "community_officer", "elsewhere", registry)


@given(community=SEGMENT, compound=SEGMENT, building=SEGMENT)
def test_a_place_covers_exactly_the_addresses_below_it_segment_by_segment(
    community: str, compound: str, building: str
) -> None:
    staff = Principal(Actor("staff", Role.PROPERTY_STAFF), f"{community}/{compound}")
    assert staff.covers(f"{community}/{compound}/{building}/0101")
    assert staff.covers(f"{community}/{compound}")
    assert not staff.covers(f"{community}/{compound}x/{building}")  # a prefix, not a segment
    assert not staff.covers(community)
    assert staff.may_see(f"{community}/{compound}x", []) is not None
    assert well_formed_place(f" {community} / {compound} /") == f"{community}/{compound}"


def test_residents_see_their_own_cases_and_auditors_everything() -> None:
    resident = Principal(Actor("r-1", Role.RESIDENT))
    auditor = Principal(Actor("a-1", Role.AUDITOR))
    assert resident.may_see("c/k/b1", ["r-1"]) is None
    assert resident.may_see("c/k/b1", ["r-2"]) == (
        "residents see only the cases they reported or are party to"
    )
    assert auditor.may_see("anywhere/at-all", []) is None


def test_the_dependency_answers_401_with_a_way_forward_and_otherwise_names_the_caller(
    client: TestClient, tokens_path: Path
) -> None:
    missing = client.post("/things")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["code"] == "unauthenticated"
    assert "casework-token" in missing.json()["message"]
    unknown = client.post("/things", headers={"Authorization": "Bearer not-a-token"})
    assert unknown.status_code == 401
    assert "not known" in unknown.json()["message"]
    token = TokenStore(tokens_path).create("lead-b3", "building_leader", "c1/k1/b3")
    known = client.post("/things", headers={"Authorization": f"Bearer {token}"})
    assert known.json() == {"by": "lead-b3", "role": "building_leader", "place": "c1/k1/b3"}


def test_the_token_command_makes_lists_and_revokes(
    tokens_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEWORK_TOKENS_FILE", str(tokens_path))
    assert token_cli(["make", "--actor", "staff-wu", "--role", "property_staff"]) == 2
    assert "--place" in capsys.readouterr().err
    assert (
        token_cli(["make", "--actor", "staff-wu", "--role", "property_staff", "--place", "c1/k1"])
        == 0
    )
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert TokenStore(tokens_path).authenticate(token) is not None
    assert token_cli(["list"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed == [
        {
            "actor_id": "staff-wu",
            "role": "property_staff",
            "place": "c1/k1",
            "hash": hash_token(token)[:12],
            "expires_at": listed[0]["expires_at"],  # 90 days on (see the expiry tests)
            "expired": False,
        }
    ]
    assert token_cli(["revoke", "--actor", "staff-wu"]) == 0
    assert token_cli(["revoke", "--actor", "staff-wu"]) == 1
    assert TokenStore(tokens_path).authenticate(token) is None


def test_tokens_made_at_once_by_several_writers_are_all_kept(tokens_path: Path) -> None:
    """Each writer is its own TokenStore, as the CLI and a service are its own process."""
    from concurrent.futures import ThreadPoolExecutor

    def make(n: int) -> str:
        return TokenStore(tokens_path).create(f"r-{n}", "resident")

    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(pool.map(make, range(40)))
    reader = TokenStore(tokens_path)
    assert all(reader.authenticate(token) is not None for token in tokens)


T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def made_token(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_the_command_issues_a_token_that_lasts_as_long_as_it_is_told(
    tokens_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(T0)
    file = ["--file", str(tokens_path)]
    issue = [*file, "issue", "--actor", "r-0302", "--role", "resident"]
    assert token_cli([*issue, "--expires-in", "90d"], clock) == 0
    out = capsys.readouterr().out
    assert "expires at 2027-02-22T01:00:00Z" in out  # T0 is 09:00 in UTC+8
    lasting = made_token(out)
    assert token_cli([*issue, "--expires-at", "2026-11-24T10:00:00+08:00"], clock) == 0
    hour = made_token(capsys.readouterr().out)
    assert token_cli([*issue, "--no-expiry"], clock) == 0
    assert "never expires" in capsys.readouterr().out
    assert token_cli([*issue], clock) == 0  # the default: 90 days
    assert "expires at 2027-02-22T01:00:00Z" in capsys.readouterr().out

    stored = json.loads(tokens_path.read_text())
    assert stored[hash_token(lasting)]["expires_at"] == "2027-02-22T01:00:00Z"
    assert stored[hash_token(hour)]["expires_at"] == "2026-11-24T02:00:00Z"
    assert sorted(str(e.get("expires_at")) for e in stored.values()) == [
        "2026-11-24T02:00:00Z",
        "2027-02-22T01:00:00Z",
        "2027-02-22T01:00:00Z",
        "None",
    ]

    def listing() -> dict[str, tuple[str | None, bool]]:
        assert token_cli([*file, "list"], clock) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        return {e["hash"]: (e["expires_at"], e["expired"]) for e in lines}

    assert listing()[hash_token(hour)[:12]] == ("2026-11-24T02:00:00Z", False)
    clock.advance(timedelta(hours=1))
    after = listing()
    assert after[hash_token(hour)[:12]] == ("2026-11-24T02:00:00Z", True)
    assert after[hash_token(lasting)[:12]] == ("2027-02-22T01:00:00Z", False)
    assert sum(expired for _, expired in after.values()) == 1


@pytest.mark.parametrize(
    ("expiry", "problem"),
    [
        (["--expires-in", "90"], "a unit s, m, h, d or w"),
        (["--expires-in=-1d"], "not a lifetime"),
        (["--expires-in", "0d"], "not a lifetime"),
        (["--expires-in", "9999999999999w"], "--no-expiry"),
        (["--expires-at", "2027-01-01T00:00:00"], "has no timezone"),
        (["--expires-at", "next tuesday"], "not an ISO 8601 time"),
        (["--expires-in", "1d", "--no-expiry"], "not allowed with"),
    ],
)
def test_an_expiry_the_command_cannot_use_is_refused_with_the_reason(
    tokens_path: Path, capsys: pytest.CaptureFixture[str], expiry: list[str], problem: str
) -> None:
    argv = ["--file", str(tokens_path), "make", "--actor", "r-1", "--role", "resident", *expiry]
    with pytest.raises(SystemExit) as exited:
        token_cli(argv, FakeClock(T0))
    assert exited.value.code == 2
    assert problem in capsys.readouterr().err
    assert not tokens_path.exists()


def test_an_expiry_already_passed_is_refused(
    tokens_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--file", str(tokens_path), "make", "--actor", "r-1", "--role", "resident"]
    assert token_cli([*argv, "--expires-at", "2026-11-24T00:59:59Z"], FakeClock(T0)) == 2
    assert "already passed" in capsys.readouterr().err
    assert not tokens_path.exists()


def test_a_tokens_file_from_before_expiry_still_loads_and_never_expires(
    tokens_path: Path,
) -> None:
    """The file as it was written before tokens could expire: no `expires_at` anywhere."""
    tokens_path.parent.mkdir(parents=True)
    old = {
        hash_token("old-resident-token"): {"actor_id": "r-0302", "role": "resident"},
        hash_token("old-staff-token"): {
            "actor_id": "staff-li",
            "role": "property_staff",
            "place": "jiayu-xx/wanxin-intl",
        },
    }
    tokens_path.write_text(json.dumps(old, indent=1, sort_keys=True))
    store = TokenStore(tokens_path, FakeClock(datetime(9000, 1, 1, tzinfo=UTC)))
    assert store.verify("old-resident-token") == Principal(Actor("r-0302", Role.RESIDENT))
    assert store.verify("old-staff-token").place == "jiayu-xx/wanxin-intl"
    assert [(e["expires_at"], e["expired"]) for e in store.entries()] == [(None, False)] * 2
    store.create("r-9", "resident", expires_at=datetime(9000, 1, 2, tzinfo=UTC))
    assert json.loads(tokens_path.read_text()).items() >= old.items()  # old entries untouched


def test_an_expiry_the_file_cannot_be_read_for_refuses_the_token(tokens_path: Path) -> None:
    tokens_path.parent.mkdir(parents=True)
    entry = {"actor_id": "r-1", "role": "resident", "expires_at": "soon"}
    tokens_path.write_text(json.dumps({hash_token("typo"): entry}))
    store = TokenStore(tokens_path)
    with pytest.raises(TokenRefusedError, match="unreadable expiry 'soon'"):
        store.verify("typo")
    assert store.entries()[0]["expired"] is True


INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(expires_at=INSTANTS, now=INSTANTS)
def test_a_token_is_accepted_exactly_while_the_clock_reads_before_its_expiry(
    expires_at: datetime, now: datetime
) -> None:
    clock = FakeClock(expires_at - timedelta(microseconds=1))
    with tempfile.TemporaryDirectory() as folder:
        store = TokenStore(Path(folder) / "tokens.json", clock)
        token = store.create("r-1", "resident", expires_at=expires_at)
        clock.set(now)
        assert (store.authenticate(token) is not None) == (now < expires_at)
        assert store.entries()[0]["expired"] == (now >= expires_at)
        if now >= expires_at:
            with pytest.raises(TokenExpiredError) as refused:
                store.verify(token)
            assert refused.value.expired_at == expires_at
            assert token not in str(refused.value)


def test_a_request_with_an_expired_token_is_a_401_that_names_the_token_and_the_way_forward(
    tokens_path: Path, make_app: Callable[..., FastAPI]
) -> None:
    clock = FakeClock(T0)
    token = TokenStore(tokens_path, clock).create(
        "lead-b3", "building_leader", "c1/k1/b3", expires_at=T0 + timedelta(hours=1)
    )
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(make_app(tokens_path, clock), raise_server_exceptions=False) as client:
        clock.advance(timedelta(minutes=59, seconds=59))
        assert client.post("/things", headers=headers).json()["by"] == "lead-b3"
        clock.advance(timedelta(seconds=1))
        expired = client.post("/things", headers=headers)
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"] == "Bearer"
    assert expired.json() == {
        "code": "unauthenticated",
        "message": f"token {hash_token(token)[:12]} (of lead-b3) expired at "
        "2026-11-24T02:00:00Z; ask for a new one (made by casework-token make)",
    }
    assert token not in expired.text


def test_a_data_protection_officer_token_needs_no_place_and_sees_no_case(
    tokens_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DPO answers for people wherever they live (export, erasure), not for a place."""
    monkeypatch.setenv("CASEWORK_TOKENS_FILE", str(tokens_path))
    made = token_cli(["make", "--actor", "dpo-sun", "--role", "data_protection_officer"])
    assert made == 0, capsys.readouterr().err
    token = capsys.readouterr().out.strip().splitlines()[-1]
    who = TokenStore(tokens_path).authenticate(token)
    assert who is not None
    assert (who.actor, who.place) == (Actor("dpo-sun", Role.DATA_PROTECTION_OFFICER), None)
    assert not who.is_auditor
    assert who.may_see("c/k/b1", ["r-1"]) is not None
