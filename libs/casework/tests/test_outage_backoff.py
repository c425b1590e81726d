"""The outage backoff (`casework.outages.backoff`): whatever the attempt and the cap, a wait is
never more than the cap and never less than the first step, grows until it reaches the cap, and
is jittered (replicas do not retry in step)."""

from __future__ import annotations

import nats.errors
import nats.js.errors
import pytest
from casework.outages import (
    BACKOFF_ENV,
    DEFAULT_BACKOFF_MAX,
    INITIAL_BACKOFF,
    backoff,
    backoff_max,
    dependency_of,
)
from eventsourcing.persistence import OperationalError
from hypothesis import given
from hypothesis import strategies as st
from nats.errors import NoServersError
from tenacity import RetryCallState


def _wait(cap: float, attempt: int) -> float:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    return backoff(cap)(state)


@given(cap=st.floats(min_value=0.5, max_value=600), attempt=st.integers(1, 10_000))
def test_a_wait_is_capped_and_never_below_the_first_step(cap: float, attempt: int) -> None:
    wait = _wait(cap, attempt)
    assert wait <= cap + 1e-9
    assert wait >= min(INITIAL_BACKOFF, cap * 0.8) - 1e-9


def test_waits_grow_to_the_cap_and_are_jittered() -> None:
    cap = 5.0
    firsts = [_wait(cap, 1) for _ in range(50)]
    lates = [_wait(cap, 30) for _ in range(50)]
    assert max(firsts) < 0.2 + 1.0 + 1e-9  # first step plus at most 20 % of the cap
    assert min(lates) >= 0.8 * cap - 1e-9
    assert len(set(lates)) > 1, "no jitter: replicas would retry in step"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", DEFAULT_BACKOFF_MAX),
        ("2.5", 2.5),
        ("0", DEFAULT_BACKOFF_MAX),
        ("x", DEFAULT_BACKOFF_MAX),
    ],
)
def test_the_cap_comes_from_its_setting_and_a_bad_one_falls_back(
    given: str, expected: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BACKOFF_ENV, given)
    assert backoff_max() == expected


def test_outage_errors_name_their_dependency_and_others_are_not_outages() -> None:
    assert dependency_of(OperationalError("couldn't get a connection")) == "store"
    assert dependency_of(NoServersError()) == "NATS"
    assert dependency_of(ConnectionRefusedError()) == "NATS"
    assert dependency_of(ValueError("a bug")) is None


@pytest.mark.parametrize(
    "error",
    [
        nats.js.errors.NotFoundError(),  # a deleted consumer or stream
        nats.js.errors.BadRequestError(),
        nats.js.errors.APIError(code=409, description="consumer deleted"),
        nats.errors.BadSubjectError(),
        nats.errors.AuthorizationError(),
        PermissionError("a file"),
        FileNotFoundError("a file"),
    ],
)
def test_jetstream_refusals_and_other_os_errors_are_not_nats_outages(error: Exception) -> None:
    """Retrying these for ever as "NATS unreachable" would hide a real fault."""
    assert dependency_of(error) is None


@pytest.mark.parametrize(
    "error",
    [
        nats.errors.ConnectionClosedError(),
        nats.errors.TimeoutError(),
        nats.errors.StaleConnectionError(),
        nats.errors.OutboundBufferLimitError(),
        TimeoutError(),
        ConnectionResetError(),
        BrokenPipeError(),
    ],
)
def test_connection_and_timeout_errors_are_nats_outages(error: Exception) -> None:
    assert dependency_of(error) == "NATS"
