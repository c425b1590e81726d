"""Sealed tokens open only with their key and in their place; numbers are found in free text."""

from __future__ import annotations

import os
from datetime import date
from uuid import uuid4

import pytest
from casework.privacy.envelope import (
    TOKEN,
    SealError,
    binding,
    contains_sealed,
    is_sealed,
    new_key_id,
    parse,
    seal,
    unseal,
)
from casework.privacy.numbers import find_numbers, id_card_check, is_id_card_number
from hypothesis import given
from hypothesis import strategies as st

KEY = os.urandom(32)
KEY_ID = new_key_id()


@given(st.text())
def test_any_text_sealed_opens_to_itself_and_never_shows_in_the_token(text: str) -> None:
    case_id = uuid4()
    token = seal(KEY, KEY_ID, text, binding(case_id, "description"))
    assert is_sealed(token)
    assert contains_sealed(f"call {token} now")
    assert unseal(KEY, parse(token), binding(case_id, "description")) == text
    if len(text) >= 4 and text.isprintable():
        assert text not in token


@given(st.text(min_size=1))
def test_a_token_does_not_open_in_another_field_case_or_under_another_key(text: str) -> None:
    case_id = uuid4()
    token = parse(seal(KEY, KEY_ID, text, binding(case_id, "description")))
    with pytest.raises(SealError):
        unseal(KEY, token, binding(case_id, "reason"))
    with pytest.raises(SealError):
        unseal(KEY, token, binding(uuid4(), "description"))
    with pytest.raises(SealError):
        unseal(os.urandom(32), token, binding(case_id, "description"))


def test_a_string_that_is_not_a_token_is_refused_with_the_format() -> None:
    with pytest.raises(SealError, match="sealed:v1:<key>"):
        parse("sealed:v1:nothing")
    assert not is_sealed("the tap drips")
    assert TOKEN.search("the tap drips") is None


def _id_number(region: int, born: str, serial: int) -> str:
    first17 = f"{region}{born}{serial:03d}"
    return first17 + id_card_check(first17)


@given(
    region=st.integers(110000, 659999),
    born=st.dates(min_value=date(1920, 1, 1), max_value=date(2026, 12, 31)).map(
        lambda d: d.strftime("%Y%m%d")
    ),
    serial=st.integers(0, 999),
    before=st.sampled_from(["身份证号", "ID ", "证件：", ""]),
    after=st.sampled_from(["，谢谢", " ok", "。", ""]),
)
def test_every_valid_id_card_number_is_found_and_a_wrong_check_character_is_not(
    region: int, born: str, serial: int, before: str, after: str
) -> None:
    number = _id_number(region, born, serial)
    assert is_id_card_number(number)
    text = f"{before}{number}{after}"
    assert [(s.kind, text[s.start : s.end]) for s in find_numbers(text)] == [("id_card", number)]
    wrong = number[:17] + next(c for c in "0123456789X" if c != number[17])
    assert not any(s.kind == "id_card" for s in find_numbers(f"{before}{wrong}{after}"))


@pytest.mark.parametrize(
    "number",
    ["13812345678", "138 1234 5678", "+86 139 0000 1111", "010-62345678", "0571-87654321"],
)
def test_phone_numbers_in_chinese_text_are_found(number: str) -> None:
    text = f"楼上漏水，请联系我{number}，谢谢"
    assert [text[s.start : s.end] for s in find_numbers(text)] == [number]


def test_text_without_numbers_or_with_order_numbers_has_none() -> None:
    assert find_numbers("三楼卫生间天花板一直在滴水，已经两天了") == []
    assert find_numbers("工单号 2026112400013812345678") == []
