"""`subject_matches` decides as NATS does which subjects a consumer's filter receives: the services'
feeds and their tests ask it whether the filter they give the server is the one their store feed
applies."""

from __future__ import annotations

from casework.messaging.subjects import EVENTS, event_subject, subject_matches
from hypothesis import given
from hypothesis import strategies as st

token = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)
subjects = st.lists(token, min_size=1, max_size=6)


@given(subjects, st.data())
def test_a_subject_matches_itself_and_each_wildcard_over_it(
    parts: list[str], data: st.DataObject
) -> None:
    subject = ".".join(parts)
    assert subject_matches(subject, subject)
    assert subject_matches(subject, ">")
    starred = data.draw(st.lists(st.booleans(), min_size=len(parts), max_size=len(parts)))
    assert subject_matches(
        subject, ".".join("*" if s else p for s, p in zip(starred, parts, strict=True))
    )
    cut = data.draw(st.integers(0, len(parts) - 1))
    assert subject_matches(subject, ".".join([*parts[:cut], ">"]))  # `>` takes one or more


@given(subjects, st.data())
def test_a_subject_does_not_match_another_token_a_longer_or_a_shorter_filter(
    parts: list[str], data: st.DataObject
) -> None:
    subject = ".".join(parts)
    at = data.draw(st.integers(0, len(parts) - 1))
    other = data.draw(token.filter(lambda t: t != parts[at]))
    assert not subject_matches(subject, ".".join([*parts[:at], other, *parts[at + 1 :]]))
    assert not subject_matches(subject, f"{subject}.*")
    assert not subject_matches(subject, f"{subject}.>")  # `>` needs at least one token
    if len(parts) > 1:
        assert not subject_matches(subject, ".".join(parts[:-1]))


def test_every_case_event_and_no_dead_letter_matches_the_events_filter() -> None:
    assert subject_matches(
        event_subject("leak", "water_stopped", "jiayu-xx", "wanxin-intl"), EVENTS
    )
    assert not subject_matches("casework.dlq.dispatch", EVENTS)
