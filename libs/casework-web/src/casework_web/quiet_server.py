"""uvicorn's server, woken once a second while idle instead of ten times.

Why: uvicorn's main loop wakes every 0.1 s to see whether it should stop and, every tenth time,
to renew the `Date` header it sends. On the 2-core box that alone was 1.8 ms of CPU a second in
every service process doing nothing (an idle bare FastAPI app: 1.9-2.0 ms/s, 0.24-0.25 ms/s
with this loop), most of what an idle service costs, and paid again under load (issue 16). Here
the loop sleeps a second between turns (the `Date` header is renewed each turn, as uvicorn
renews it every tenth), or until a signal asks it to stop: SIGTERM and Ctrl-C stop it as
promptly as before. Nothing in the services sets `should_exit` otherwise; anything that did
would be seen within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import FrameType

import uvicorn

TICKS_A_TURN = 10
"""uvicorn's `on_tick` counts tenths of a second and renews the `Date` header on each tenth
count: every turn of this loop is a second, so it counts ten."""


class QuietServer(uvicorn.Server):
    """`uvicorn.Server` whose main loop turns once every `tick_seconds` (a second), or at once
    when a signal asks it to stop (`handle_exit`). Longer turns are for tests: the `Date`
    header is renewed once a turn."""

    def __init__(self, config: uvicorn.Config, *, tick_seconds: float = 1.0) -> None:
        super().__init__(config)
        self.tick_seconds = tick_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + TICKS_A_TURN) % 864000  # uvicorn's own wrap-around
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick_seconds):
                    await wake.wait()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """uvicorn's (SIGTERM, SIGINT: `should_exit`), then the main loop woken to see it. Runs
        in the signal's handler, between two bytecodes of the loop's thread, or in another
        thread: `call_soon_threadsafe` is safe from both."""
        super().handle_exit(sig, frame)
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile, from another thread
                loop.call_soon_threadsafe(wake.set)
