"""The restart policy of `casework up` (`supervisor.Restarts`) on real child processes: a child
that keeps dying at once is started again later and later (1, 2, 4 … s, at most 30 s), never in
a tight loop; one that ran long enough before dying starts again from the shortest delay."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from casework_stack.supervisor import Child, ProcessSpec, Restarts, Supervisor


def _spec(tmp_path: Path, code: str) -> ProcessSpec:
    return ProcessSpec("crasher", [sys.executable, "-c", code], {}, tmp_path / "crasher.log")


def _wait_dead(child: Child, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while child.running:
        assert time.monotonic() < deadline, "the child should have exited"
        time.sleep(0.02)


def test_a_child_that_dies_at_once_again_and_again_waits_longer_each_time_up_to_the_cap(
    tmp_path: Path,
) -> None:
    supervisor = Supervisor(grace=1)
    restarts = Restarts()
    child = supervisor.start(_spec(tmp_path, "import sys; print('boom'); sys.exit(3)"))
    delays = []
    try:
        for _ in range(7):
            _wait_dead(child)
            delays.append(restarts.delay_for(child))
            child = supervisor.restart(child)
        _wait_dead(child)
    finally:
        supervisor.stop_all()

    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert restarts.counts["crasher"] == 7
    assert len(supervisor.children) == 1, "a restart takes the dead child's place"
    log = (tmp_path / "crasher.log").read_text()
    assert log.splitlines().count("boom") == 8, "every run writes to the same log"
    assert "exited with code 3" in child.describe_exit()


def test_a_child_that_ran_for_a_while_before_dying_comes_back_after_the_shortest_delay(
    tmp_path: Path,
) -> None:
    supervisor = Supervisor(grace=1)
    restarts = Restarts(stable_after=0.5)
    child = supervisor.start(_spec(tmp_path, "import sys; sys.exit(1)"))
    try:
        _wait_dead(child)
        assert restarts.delay_for(child) == 1
        child = supervisor.restart(child)
        _wait_dead(child)
        assert restarts.delay_for(child) == 2
        child = supervisor.restart(child)
        _wait_dead(child)
        child.started_at -= 0.6  # as if it had run past `stable_after` before it died
        assert restarts.delay_for(child) == 1
    finally:
        supervisor.stop_all()
