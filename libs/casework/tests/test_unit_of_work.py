"""The one retry on a version clash: runs again on a clash, at most so often, and nothing else."""

from __future__ import annotations

import random
import threading
import time

import pytest
from casework.domain.errors import ConcurrencyConflictError
from casework.unit_of_work import CONFLICT_PAUSE, retrying_on_conflict
from eventsourcing.persistence import IntegrityError
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=30, deadline=None)
@given(
    clashes=st.integers(min_value=0, max_value=7), attempts=st.integers(min_value=1, max_value=8)
)
def test_an_attempt_runs_until_it_stops_clashing_or_the_attempts_run_out(
    clashes: int, attempts: int
) -> None:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(len(calls))
        if len(calls) <= clashes:
            raise IntegrityError("version clash")
        return "saved"

    if clashes < attempts:
        assert retrying_on_conflict(attempt, attempts=attempts) == "saved"
        assert len(calls) == clashes + 1
    else:
        with pytest.raises(ConcurrencyConflictError, match=f"under {attempts} attempts") as raised:
            retrying_on_conflict(attempt, attempts=attempts, what="case x")
        assert str(raised.value).startswith("case x kept changing")
        assert isinstance(raised.value.__cause__, IntegrityError)
        assert len(calls) == attempts


def test_an_error_that_is_not_a_clash_is_not_retried() -> None:
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise ValueError("a bug, to be seen")

    with pytest.raises(ValueError, match="a bug"):
        retrying_on_conflict(attempt, attempts=5)
    assert calls == [1]


def test_each_pause_between_tries_is_at_most_twice_the_one_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first try runs without tenacity, the rest with it: the schedule still starts at
    `CONFLICT_PAUSE` and doubles up to a second (each pause drawn at random below its bound;
    here the bound)."""
    pauses: list[float] = []
    sleep, here = time.sleep, threading.current_thread()
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    monkeypatch.setattr(
        time,
        "sleep",
        lambda s: pauses.append(s) if threading.current_thread() is here else sleep(s),
    )

    def attempt() -> None:
        raise IntegrityError("version clash")

    with pytest.raises(ConcurrencyConflictError, match="under 12 attempts"):
        retrying_on_conflict(attempt, attempts=12)
    assert pauses == pytest.approx([min(CONFLICT_PAUSE * 2**n, 1.0) for n in range(11)])
    assert pauses[-2:] == [1.0, 1.0]  # the cap, from the tenth pause on
