"""Relay throughput: events/s from the store to the CASEWORK stream, beside bare nats-py.

    uv run python bench/relay.py [--events 5000] [--batch-size 500] [--store sqlite|URL] [--json]

Writes N events to a fresh SQLite store (or the PostgreSQL URL given), starts a nats-server
(bundled binary, temp dir), then times in the same run:
1. reading + mapping: the relay's store side alone (notifications -> contracts -> messages);
2. the relay, end to end (`Relay.run_once` onto an empty stream);
3. bare nats-py, the same messages: `js.publish` one at a time (await each ack);
4. bare nats-py, the same messages: `js.publish_async` pipelined in windows of --batch-size.
Each bare loop publishes to a fresh stream, so no duplicate detection interferes. Every rate's
ratio is to row 4 of the same run (issue 16's target for the relay: at least 0.6).
`bench/e2e.py` can reuse `write_events` and `measure`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import report
from casework import Actor, Casework, Role
from casework.messaging.nats_server import NatsServer
from casework.messaging.relay import Outgoing, Relay, StoreReader
from casework.messaging.subjects import DUPLICATE_WINDOW, STREAM, STREAM_SUBJECTS
from casework.testing.nats import jetstream
from nats.js.api import StorageType, StreamConfig

RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)


@dataclass
class Result:
    name: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return f"| {self.name} | {self.events:,} | {self.seconds:.2f} | {self.rate:,.0f} |"


def write_events(app: Casework, total: int, cases: int = 200) -> None:
    ids = [
        app.report_repair(RESIDENT, f"jiayu-xx/wanxin-intl/b{i % 60 + 1}/0302", "light out")
        for i in range(cases)
    ]
    for n in range(total - 2 * cases):
        app.add_note(ids[n % cases], STAFF, f"note {n}")


async def fresh_stream(url: str) -> None:
    async with jetstream(url) as (_, js):
        with contextlib.suppress(Exception):  # not there yet
            await js.delete_stream(STREAM)
        await js.add_stream(
            StreamConfig(
                name=STREAM,
                subjects=list(STREAM_SUBJECTS),
                storage=StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW,
            )
        )


async def timed(name: str, events: int, work: Callable[[], Awaitable[object]]) -> Result:
    started = time.perf_counter()
    await work()
    return Result(name, events, time.perf_counter() - started)


async def measure(app: Casework, url: str, batch_size: int) -> list[Result]:
    total = len(app.recorder.select_notifications(start=1, limit=10_000_000))
    results: list[Result] = []

    started = time.perf_counter()
    messages: list[Outgoing] = []
    reader = StoreReader(app)
    position = 0
    while batch := reader.after(position, batch_size):
        messages.extend(batch)
        position = batch[-1].notification_id
    results.append(
        Result("store read + contract mapping (no NATS)", total, time.perf_counter() - started)
    )

    await fresh_stream(url)
    relay = Relay(app, url, batch_size=batch_size)
    results.append(await timed("relay, store -> stream (run_once)", total, relay.run_once))
    assert relay.published == total, (relay.published, total)

    async def bare_sync() -> None:
        async with jetstream(url) as (_, js):
            for m in messages:
                await js.publish(m.subject, m.body, headers=dict(m.headers))

    await fresh_stream(url)
    results.append(await timed("bare nats-py js.publish, one ack at a time", total, bare_sync))

    async def bare_async() -> None:
        async with jetstream(url) as (_, js):
            for start in range(0, len(messages), batch_size):
                futures = [
                    await js.publish_async(m.subject, m.body, headers=dict(m.headers))
                    for m in messages[start : start + batch_size]
                ]
                await asyncio.gather(*futures)

    await fresh_stream(url)
    results.append(
        await timed(f"bare nats-py publish_async, windows of {batch_size}", total, bare_async)
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--store", default="sqlite", help="'sqlite' (temp file) or a postgresql URL"
    )
    report.add_json_flag(parser)
    args = parser.parse_args()
    with report.json_mode(args.json), tempfile.TemporaryDirectory() as folder:
        url = args.store if args.store != "sqlite" else f"sqlite:///{Path(folder) / 'bench.db'}"
        app = Casework(url)
        started = time.perf_counter()
        write_events(app, args.events)
        written = time.perf_counter() - started
        print(f"wrote {args.events:,} events in {written:.1f} s ({args.events / written:,.0f}/s)")
        with NatsServer(Path(folder) / "nats") as server:
            results = asyncio.run(measure(app, server.url, args.batch_size))
        app.close()
    if not args.json:
        print(f"\n{platform.python_implementation()} {platform.python_version()}, {args.store}")
        print("| what | events | seconds | events/s |")
        print("|---|---:|---:|---:|")
        for result in results:
            print(result.line())
    floor = results[-1]
    report.emit(
        (report.Figure(r.name, r.rate, "events/s", floor.rate) for r in results[:-1]),
        args.json,
        f"ratios to {floor.name} ({floor.rate:,.0f} events/s)",
    )


if __name__ == "__main__":
    main()
