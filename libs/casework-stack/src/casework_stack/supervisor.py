"""Child processes started, watched and stopped by their pids: the stack's process supervisor.

Each child runs in its own session (so its own process group): a Ctrl-C in the terminal reaches
only the supervisor, which then stops the children in the right order (the services before the
relay, the relay before NATS) instead of all of them racing at once. Stopping is SIGTERM to the
child's process group, a grace period, then SIGKILL to the group; nothing is ever killed by
name. On Linux each child also asks the kernel for SIGTERM should the supervisor itself die
(`PR_SET_PDEATHSIG`), so a `kill -9` of `casework up` leaves no orphans behind.

Each child's stdout and stderr go to its own log file; when a child dies, the last lines of its
log say why.

Restarts (`Restarts`): a child that exits while the stack runs is started again, by the same
command into the same log, after a delay: 1 s after a crash, doubling with each crash that
follows quickly (within `STABLE_AFTER` seconds of its start) up to `MAX_DELAY` (30 s), and back to
1 s once a child has run for `STABLE_AFTER` (60 s) before exiting. So a child that dies
instantly again and again is tried at most every 30 s instead of spinning, and a child that
crashes once a day comes back in a second. There is no limit on the number of restarts: a
dependency that is away for an hour (the store, NATS) must not leave the stack down after it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PR_SET_PDEATHSIG = 1


class ChildFailedError(RuntimeError):
    """A child exited when it should be running, or did not get ready in time."""


@dataclass
class ProcessSpec:
    """How to run one child, and how to tell that it is ready to serve."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log: Path
    ready: Callable[[], bool] = field(default=lambda: True)
    """Asked repeatedly after the start until it answers True (or the child dies)."""
    cwd: Path | None = None


def _die_with_parent() -> None:
    """In the child, before exec: a session of its own, and SIGTERM when the parent dies."""
    os.setsid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """One running child; `stop` ends its whole process group."""

    def __init__(self, spec: ProcessSpec) -> None:
        self.spec = spec
        spec.log.parent.mkdir(parents=True, exist_ok=True)
        self._log = spec.log.open("ab")
        # One JSON object like every other line of the log (casework.logs' fields), so a log
        # reader never needs to know which lines the supervisor wrote.
        mark = {
            "time": datetime.now(UTC).isoformat(),
            "level": "info",
            "logger": "casework_stack.supervisor",
            "message": f"{spec.name} started: {' '.join(spec.argv)}",
            "child": spec.name,
        }
        self._log.write((json.dumps(mark, ensure_ascii=False) + "\n").encode())
        self._log.flush()
        self.process = subprocess.Popen(
            list(spec.argv),
            env=dict(spec.env),
            cwd=spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.pid = self.process.pid
        self.pgid = self.pid  # setsid made the child the leader of its own group
        self.started_at = time.monotonic()
        self._stopped = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 12) -> str:
        try:
            text = self.spec.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def signal_group(self, signum: int) -> None:
        if self._stopped:  # the group id may belong to someone else by now
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signum)

    def stop(self, grace: float) -> int | None:
        """SIGTERM the group, wait up to `grace` seconds, then SIGKILL the group; the exit code."""
        if self.running:
            self.signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.process.wait(timeout=10)
        # Anything the child started and left in its group goes with it.
        self.signal_group(signal.SIGKILL)
        self._stopped = True
        self._log.close()
        return self.process.returncode

    def describe_exit(self) -> str:
        code = self.returncode
        if code is None:
            return f"{self.name} is running (pid {self.pid})"
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"code {code}"
        tail = self.log_tail()
        shown = f"; last lines of {self.spec.log}:\n{tail}" if tail else ""
        return f"{self.name} (pid {self.pid}) exited with {how}{shown}"


class Supervisor:
    """Starts children in order, waits for them to be ready, stops them in reverse order."""

    def __init__(self, *, grace: float = 10.0, poll: float = 0.05) -> None:
        self.grace = grace
        self.poll = poll
        self.children: list[Child] = []

    def start(self, spec: ProcessSpec) -> Child:
        child = Child(spec)
        self.children.append(child)
        return child

    def wait_ready(self, children: Sequence[Child], timeout: float) -> None:
        """Until every child answers ready; a child that dies first, or the timeout, raises."""
        waiting = list(children)
        deadline = time.monotonic() + timeout
        while waiting:
            for child in list(waiting):
                if not child.running:
                    raise ChildFailedError(child.describe_exit())
                if child.spec.ready():
                    waiting.remove(child)
            if not waiting:
                return
            if time.monotonic() > deadline:
                names = ", ".join(c.name for c in waiting)
                tails = "\n".join(f"[{c.name}] {c.log_tail(5)}" for c in waiting)
                raise ChildFailedError(
                    f"not ready within {timeout:.0f} s: {names}; their logs end:\n{tails}"
                )
            time.sleep(self.poll)

    def first_dead(self) -> Child | None:
        return next((c for c in self.children if not c.running), None)

    def dead(self) -> list[Child]:
        return [c for c in self.children if not c.running]

    def restart(self, child: Child) -> Child:
        """Start `child`'s command again in its place (same log, appended); the dead one's
        process group is cleared first, so nothing it left behind holds its ports."""
        child.stop(grace=0)
        again = Child(child.spec)
        self.children[self.children.index(child)] = again
        return again

    def stop_all(self, layers: Sequence[Sequence[str]] | None = None) -> dict[str, int | None]:
        """Stop every child: layer by layer (names), all of one layer at once, the rest last.

        Returns each child's exit code. Safe to call twice.
        """
        codes: dict[str, int | None] = {}
        order = [list(layer) for layer in layers or []]
        named = {name for layer in order for name in layer}
        order.append([c.name for c in reversed(self.children) if c.name not in named])
        for layer in order:
            group = [c for c in self.children if c.name in layer]
            for child in group:  # all of a layer get the signal together, then we wait
                if child.running:
                    child.signal_group(signal.SIGTERM)
            for child in group:
                codes[child.name] = child.stop(self.grace)
        return codes


INITIAL_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_AFTER = 60.0


@dataclass
class Restarts:
    """When to start a dead child again (the policy in the module docstring).

    Hand-written rather than tenacity: the watch loop must keep watching every other child and
    the signals while one waits, so it needs "when is it due", not a sleeping retry call.
    """

    initial: float = INITIAL_DELAY
    maximum: float = MAX_DELAY
    stable_after: float = STABLE_AFTER
    delays: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def delay_for(self, child: Child, now: float | None = None) -> float:
        """The wait before restarting `child`, which has just been seen dead."""
        ran_for = (now if now is not None else time.monotonic()) - child.started_at
        previous = self.delays.get(child.name)
        if previous is None or ran_for >= self.stable_after:
            delay = self.initial
        else:
            delay = min(previous * 2, self.maximum)
        self.delays[child.name] = delay
        self.counts[child.name] = self.counts.get(child.name, 0) + 1
        return delay
