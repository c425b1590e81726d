"""Bearer tokens: only hashes on disk, scopes by place, one file every service reads."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from casework import Actor, Role, ValidationError
from casework_web import Principal, TokenStore, hash_token, well_formed_place
from casework_web.tokens_cli import main as token_cli
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
