"""The one retry on a version clash: runs again on a clash, at most so often, and nothing else."""

from __future__ import annotations

import pytest
from casework.domain.errors import ConcurrencyConflictError
from casework.unit_of_work import retrying_on_conflict
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
