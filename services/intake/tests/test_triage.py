"""The triage rules shipped in `triage_rules.toml`, pinned one by one, and their loader."""

from __future__ import annotations

from typing import Any

import pytest
from casework import Address, Tier, ValidationError
from hypothesis import given
from hypothesis import strategies as st
from intake.config import packaged
from intake.triage import Report, Triage, TriageRules, TriageRulesError, triage

RULES = TriageRules.load(packaged("triage_rules.toml"))
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
ROAD = Address.parse("jiayu-xx/wanxin-intl")


def decide(text: str, address: Address = FLAT, **stated: Any) -> Triage:
    return triage(Report(description=text, address=address, **stated), RULES)


@pytest.mark.parametrize(
    ("text", "kind", "category"),
    [
        ("卫生间漏水", "leak", None),
        ("water seeping under the door", "leak", None),
        ("楼上漏水不肯赔偿，吵了好几次", "dispute", "leak_between_flats"),
        ("楼上装修噪音扰民", "dispute", "noise"),
        ("someone parked on my spot again", "dispute", "parking"),
        ("楼道里有人拉飞线给电动车充电", "dispute", "flying_cables"),
        ("小区充电桩不够，充电难", "dispute", "ev_charging"),
        ("门口道路被堵路了", "dispute", "road_and_gates"),
        ("绿地被挖了种菜", "dispute", "green_space"),
        ("电梯坏了", "repair", "lift"),
        ("楼道灯不亮", "repair", "lighting"),
        ("门禁卡刷不开", "repair", "door_access"),
        ("马桶堵塞", "repair", "plumbing"),
        ("something is odd", "repair", "other"),
    ],
)
def test_free_text_is_read_into_a_kind_and_category_by_the_first_rule_that_matches(
    text: str, kind: str, category: str | None
) -> None:
    decided = decide(text, source_unit="0302")
    assert (decided.kind, decided.category) == (kind, category)
    assert decided.reasons


def test_water_reaching_another_flat_or_from_an_empty_flat_sets_the_leak_flags() -> None:
    opposite = decide("对门渗水", source_unit="0301")
    empty = decide("楼上漏水，那家没人住", source_unit="0402")
    plain = decide("my own kitchen pipe leaks")
    assert (opposite.reaches_other_flat, opposite.source_unoccupied) == (True, False)
    assert (empty.reaches_other_flat, empty.source_unoccupied) == (False, True)
    assert (plain.reaches_other_flat, plain.source_unoccupied) == (False, False)
    assert plain.source_unit == "0302"


def test_what_the_reporter_states_wins_over_what_the_text_suggests() -> None:
    decided = decide("对门渗水", source_unit="0301", reaches_other_flat=False, kind="leak")
    assert decided.reaches_other_flat is False
    dispute = decide("电梯坏了", kind="dispute", category="fees", priority="urgent")
    assert (dispute.kind, dispute.category, dispute.priority) == ("dispute", "fees", "urgent")


def test_a_dispute_starts_at_the_building_the_compound_or_the_community_as_the_rules_say() -> None:
    assert decide("楼上噪音").tier is Tier.BUILDING
    assert decide("停车位被占").tier is Tier.COMPOUND
    assert decide("噪音", address=ROAD).tier is Tier.COMPOUND
    assert decide("大门改单向要请住建局和消防来").tier is Tier.COMMUNITY
    assert decide("楼上噪音", needs_county=True).tier is Tier.COMMUNITY


def test_repair_priority_follows_the_priority_rules() -> None:
    assert decide("电梯困人了").priority == "emergency"
    assert decide("停电了，家里有老人").priority == "urgent"
    assert decide("电梯按钮有点松").priority == "routine"


def test_a_leak_without_a_source_flat_is_refused_with_what_to_give() -> None:
    with pytest.raises(ValidationError, match="source_unit"):
        decide("漏水", address=Address.parse("jiayu-xx/wanxin-intl/b12"))


def test_an_unknown_category_for_the_kind_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(ValidationError, match="plumbing"):
        decide("x", kind="repair", category="noise")


def test_duplicate_keys_name_one_leaking_flat_and_one_blocked_road() -> None:
    first = decide("漏水", source_unit="0402")
    same = decide("water leaking", source_unit="0402")
    other = decide("漏水", source_unit="0502")
    road = decide("道路被堵", address=ROAD)
    noise = decide("噪音")
    assert first.duplicate_key == same.duplicate_key != other.duplicate_key
    assert road.duplicate_key == "dispute:road_and_gates:jiayu-xx/wanxin-intl"
    assert noise.duplicate_key is None


@given(st.text(max_size=200))
def test_any_text_triages_to_a_valid_kind_and_never_crashes(text: str) -> None:
    decided = decide(text, source_unit="0302")
    assert decided.kind in ("repair", "leak", "dispute")
    if decided.kind != "leak":
        assert decided.priority in ("routine", "urgent", "emergency")


def test_a_malformed_rules_file_is_refused_naming_the_entry() -> None:
    with pytest.raises(TriageRulesError, match=r"kind_rules\[0\]"):
        TriageRules.from_dict({"kind_rules": [{"kind": "flood", "all_of": [["x"]]}]})
    with pytest.raises(TriageRulesError, match="all_of"):
        TriageRules.from_dict({"kind_rules": [{"kind": "leak", "all_of": "water"}]})
