"""The relay's windows: read from the store's log, published pipelined on one connection.

A window is the case events among the next `batch_size` notifications after the relay's
position (`StoreReader`, in a worker thread: eventsourcing is synchronous). `Windows` publishes
one without waiting for each ack (`send`), reads the next while the acks come back (`read_ahead`:
the read and the round trip overlap), and hands the acks back in the window's order
(`outcomes`). The relay sends a window only once every ack of the one before is in, and moves
its position past an event only through the `unbroken` run of acks from its window's start.

Each message is stamped with the position the window was read after (`Casework-Relay-After`):
every case event up to there was on the stream when it went out, which is what a restarted relay
reads back to know where to go on from (`casework.messaging.relay_position`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext

from casework.application import Casework
from casework.contracts import CaseEvent
from casework.contracts.mapping import MODELS_BY_TOPIC
from casework.messaging.store_contracts import CACHE_SIZE, StoreContracts
from casework.messaging.subjects import (
    CE_SPECVERSION,
    HEADER_MSG_ID,
    HEADER_NOTIFICATION_ID,
    HEADER_RELAY_AFTER,
    HEADER_TIER,
    source_for,
    subject_for,
)

__all__ = ["Outgoing", "StoreReader", "Windows", "envelope", "stamped", "unbroken"]


@dataclass(frozen=True)
class Outgoing:
    """One event ready to publish."""

    notification_id: int
    subject: str
    headers: dict[str, str]
    body: bytes


def envelope(contract: CaseEvent, notification_id: int) -> tuple[str, dict[str, str], bytes]:
    """Subject, headers (CloudEvents binary mode + NATS de-duplication) and JSON body."""
    headers = {
        HEADER_MSG_ID: contract.event_id,
        "ce-specversion": CE_SPECVERSION,
        "ce-id": contract.event_id,
        "ce-type": contract.type,
        "ce-source": source_for(contract),
        "ce-subject": str(contract.case_id),
        "ce-time": contract.occurred_at.isoformat(),
        "ce-datacontenttype": "application/json",
        HEADER_TIER: contract.tier,
        HEADER_NOTIFICATION_ID: str(notification_id),
    }
    return subject_for(contract), headers, contract.model_dump_json().encode()


class StoreReader:
    """Reads notifications after a position and turns them into outgoing messages (sync); each
    event's contract is made by `StoreContracts`, as a service's store feed makes it."""

    def __init__(self, app: Casework, cache_size: int = CACHE_SIZE) -> None:
        self.app = app
        self.contracts = StoreContracts(app, cache_size)
        # The contracts by topic are built on first use, and with them the plugged-in kinds
        # imported (entry points: pydantic models, eventsourcing classes): 0.25-1 s on the
        # 2-core box, which the relay's first window after a start waited for, with every
        # report behind it (issue 16: in the p99 of report → `Assigned` in every run). Now.
        len(MODELS_BY_TOPIC)

    def after(self, position: int, limit: int) -> list[Outgoing]:
        return self.read(position, limit)[0]

    def read(self, position: int, limit: int) -> tuple[list[Outgoing], int]:
        """The case events among the next `limit` notifications, and the last id read.

        The last id read can be beyond the last case event (other aggregates' events are
        skipped): the relay moves its position there, or a window of nothing but skipped events
        would hold it in place for ever.
        """
        notifications = self.app.recorder.select_notifications(start=position + 1, limit=limit)
        batch: list[Outgoing] = []
        last = position
        for notification in notifications:
            if notification.id <= position:  # never go back, whatever the recorder returns
                continue
            last = max(last, notification.id)
            contract = self.contracts.of_notification(notification)
            if contract is None:
                continue
            subject, headers, body = envelope(contract, notification.id)
            batch.append(Outgoing(notification.id, subject, headers, body))
        return batch, last


Read = asyncio.Future[tuple[list[Outgoing], int]]


class Windows:
    """Reads windows (one ahead) and publishes them; the relay keeps the position."""

    def __init__(self, reader: StoreReader, batch_size: int, publish_timeout: float) -> None:
        self.reader = reader
        self.batch_size = batch_size
        self.publish_timeout = publish_timeout
        self._ahead: tuple[int, Read] | None = None
        """The next window, being read while the current one's acks are awaited: (from, read)."""
        self._abandoned: Read | None = None
        """A read ahead that was dropped but whose thread may still run: awaited before the next
        read, so two reads never share the reader (its place cache) at once."""

    async def read(self, position: int) -> tuple[list[Outgoing], int]:
        """The window after `position`: the one read ahead if it starts there, else read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == position:
            return await ahead[1]
        if ahead is not None:
            self._abandoned = ahead[1]
        await self.settle()
        return await asyncio.to_thread(self.reader.read, position, self.batch_size)

    def read_ahead(self, position: int) -> None:
        """Start reading the window after `position` in a worker thread."""
        self.forget_ahead()
        loop = asyncio.get_running_loop()
        read = loop.run_in_executor(None, self.reader.read, position, self.batch_size)
        read.add_done_callback(_quietly)
        self._ahead = (position, read)

    def forget_ahead(self) -> None:
        """Drop a window read ahead: after a failure or when idle it may be stale (a read that
        found nothing new must be made again after a wake). Its thread cannot be stopped (a
        cancelled future leaves it running), so it is kept to be awaited before the next read."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            self._abandoned = ahead[1]

    async def settle(self) -> None:
        """Wait for a dropped read ahead's thread to end (its result or error is of no use)."""
        abandoned, self._abandoned = self._abandoned, None
        if abandoned is not None and not abandoned.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(abandoned)

    async def send(
        self, js: JetStreamContext, stream: str, batch: Sequence[Outgoing], after: int
    ) -> list[asyncio.Future[Any]]:
        """Queue a window read after `after` on the connection; the futures of its acks.

        No `wait_stall`: nats-py wraps the pending-semaphore in `asyncio.wait_for` when it is
        given, which yields to the loop on every message and so flushes (a `send` syscall) each
        one alone; the context's pending limit is at least a window (the relay's `_jetstream`),
        and the acks of the window before are all in, so the semaphore never makes it wait.
        """
        futures: list[asyncio.Future[Any]] = []
        try:
            for message in batch:
                futures.append(
                    await js.publish_async(
                        message.subject,
                        message.body,
                        headers=stamped(message.headers, after),
                        stream=stream,
                    )
                )
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return futures

    async def outcomes(self, futures: list[asyncio.Future[Any]]) -> list[Any]:
        """Each publish's ack, or the exception in its place (a `TimeoutError` for an ack that
        did not come within the publish timeout: it is given up on)."""
        try:
            if futures:
                await asyncio.wait(futures, timeout=self.publish_timeout)
        finally:
            for future in futures:
                future.cancel()  # those not done
        return [_outcome(future) for future in futures]


def stamped(headers: dict[str, str], after: int) -> dict[str, str]:
    """A message's headers as they go out in a window read after `after` (a copy: nats-py adds
    its own to the dict it is given)."""
    return {**headers, HEADER_RELAY_AFTER: str(after)}


def unbroken(outcomes: Sequence[object]) -> int:
    """How many of a window's acks, from its start, came back before the first failure (an
    exception); the position may move past those events and no further."""
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, BaseException):
            return index
    return len(outcomes)


def _outcome(future: asyncio.Future[Any]) -> Any:
    """A publish's ack, or the exception in its place (a `TimeoutError` if it never came)."""
    if future.cancelled():
        return TimeoutError("no ack within the publish timeout")
    return future.exception() or future.result()


def _quietly(future: asyncio.Future[Any]) -> None:
    """A window read ahead that is dropped or fails: its error shows when (if) it is used."""
    if not future.cancelled():
        future.exception()
