"""`casework dlq`: dead letters filed by a real consumer are listed, shown and replayed.

Real nats-server, real relay, real store: case events go out through `relay --once`, a
consumer whose handler fails for one case (until a flag flips) and a hand-made malformed message
end up as dead letters, and the CLI is run as an operator would run it (`casework.cli.main`).
The handler adds a note per event it handles, so "handled exactly once" is counted in the case
file.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest
from casework.application import Casework
from casework.cli import main
from casework.contracts import CaseEvent
from casework.domain import Actor, Role
from casework.messaging.consumer import (
    Consumer,
    Outcome,
    SubscriptionSettings,
    parse_contract,
)
from casework.messaging.dead_letter import HEADER_REPLAY_FOR, HEADER_REPLAY_OF
from casework.messaging.dead_letter_office import list_letters, replay
from casework.messaging.nats_server import NatsServer
from casework.messaging.subjects import HEADER_NOTIFICATION_ID
from casework.testing.nats import jetstream, read_stream, relay_once
from nats.js.api import StreamConfig

pytestmark = pytest.mark.nats

REPORTER = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("ops-bot", Role.PROPERTY_STAFF)
FLAT = "jiayu-xx/wanxin-intl/b3/0302"
SERVICE = "ops"


async def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


class FlakyNotes:
    """Notes each event on its case; raises for `broken` cases until `fixed` is set."""

    def __init__(self, broken: UUID) -> None:
        self.broken = broken
        self.fixed = False

    def __call__(self, event: CaseEvent, app: Casework) -> None:
        if not event.type.startswith("casework.repair.reported."):
            return
        if event.case_id == self.broken and not self.fixed:
            raise ConnectionError("the roster database is down")
        app.add_note(event.case_id, STAFF, f"handled {event.type}")


def ignore(event: CaseEvent, app: Casework) -> None:
    """Another service, to see that a replay is not handled by it."""


def run_consumers(
    url: str,
    app: Casework,
    consumers: list[tuple[str, Callable[[CaseEvent, Casework], None]]],
    until: Callable[[list[Consumer[CaseEvent]]], bool],
) -> list[Consumer[CaseEvent]]:
    """Run the services' consumers until `until` holds, then stop them gracefully."""

    async def go() -> list[Consumer[CaseEvent]]:
        async with jetstream(url) as (nc, _):
            running = [
                Consumer(
                    nc,
                    app,
                    handler,
                    parse_contract,
                    SubscriptionSettings(
                        service=service,
                        fetch_timeout=0.2,
                        max_attempts=2,
                        backoff=(0.05,),
                        shutdown_grace=5.0,
                    ),
                )
                for service, handler in consumers
            ]
            tasks = [asyncio.create_task(c.run()) for c in running]
            try:
                await wait_until(lambda: until(running), timeout=20)
            finally:
                for consumer in running:
                    await consumer.stop()
                await asyncio.gather(*tasks)
            return running

    return asyncio.run(go())


def notes(app: Casework, case_id: UUID) -> Counter[str]:
    return Counter(
        getattr(e, "text", "") for e in app.events.get(case_id) if type(e).__name__ == "NoteAdded"
    )


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(["dlq", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_dead_letters_are_listed_shown_and_replayed_once_for_their_service_alone(
    nats_server: NatsServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("NATS_URL", nats_server.url)
    store = "sqlite:///" + str(tmp_path / "casework.db")
    app = Casework(store)
    try:
        ok = app.report_repair(REPORTER, FLAT, "light out on the stairs")
        broken = app.report_repair(REPORTER, FLAT, "lift stuck")
        assert relay_once(store, nats_server.url) == 4  # each report: Reported + Triaged
        malformed_case = "5f0d3c59-7d8e-4a53-9b7e-2b0c8a1d7e11"

        async def publish_malformed() -> None:
            async with jetstream(nats_server.url) as (_, js):
                await js.publish(
                    "casework.repair.reported.jiayu-xx.wanxin-intl",
                    b'{"case_id": "not json',
                    headers={
                        "ce-type": "casework.repair.reported.v1",
                        "ce-subject": malformed_case,
                    },
                )

        asyncio.run(publish_malformed())
        handler = FlakyNotes(broken)

        def two_letters(cs: list[Consumer[CaseEvent]]) -> bool:
            return cs[0].stats.counts[Outcome.DEAD_LETTERED] == 2

        run_consumers(nats_server.url, app, [(SERVICE, handler)], two_letters)
        assert notes(app, ok) == {"handled casework.repair.reported.v1": 1}
        assert notes(app, broken) == Counter()

        # list: one line each, oldest first
        code, lines, err = cli(capsys, "list")
        assert (code, err) == (0, "")
        assert len(lines) == 2
        rows = [line.split("\t") for line in lines]
        by_reason = {row[3].split()[0]: row for row in rows}
        failed, bad = by_reason["failed"], by_reason["malformed"]
        assert failed[1] == SERVICE
        assert failed[3] == "failed (ConnectionError)"
        assert failed[4] == "casework.repair.reported.jiayu-xx.wanxin-intl"
        assert failed[5] == "casework.repair.reported.v1"
        assert failed[6] == str(broken)
        assert bad[6] == malformed_case
        assert bad[3].startswith("malformed (")
        assert cli(capsys, "list", "--service", "intake")[1] == []
        assert cli(capsys, "list", "--service", SERVICE)[1] == lines

        # show: headers, error and the original body
        code, shown, err = cli(capsys, "show", bad[0])
        text = "\n".join(shown)
        assert (code, err) == (0, "")
        assert "reason:     malformed" in text
        assert "ce-subject: " + malformed_case in text
        assert shown[-1] == '{"case_id": "not json'
        code, shown, _ = cli(capsys, "show", failed[0])
        assert "error:      ConnectionError: the roster database is down" in shown
        assert json.loads(shown[-1])["case_id"] == str(broken)

        # the cause is fixed; the letter goes back for `ops` alone and is removed
        handler.fixed = True
        code, out, err = cli(capsys, "replay", failed[0])
        assert (code, err) == (0, "")
        assert out[0].startswith(f"replayed {failed[0]} as casework.repair.reported.")
        assert [row.split("\t")[0] for row in cli(capsys, "list")[1]] == [bad[0]]

        # replaying it again finds no letter: a bad request, nothing published
        code, out, err = cli(capsys, "replay", failed[0])
        assert (code, out) == (2, [])
        assert err.startswith(f"casework: no message {failed[0]} in stream CASEWORK")
        assert err.count("\n") == 1

        def replay_settled(cs: list[Consumer[CaseEvent]]) -> bool:
            return (
                cs[0].stats.counts[Outcome.DONE] == 1 and cs[1].stats.counts[Outcome.NOT_OURS] == 1
            )

        # `ops` resumes after the letters; `intake` (new) reads everything, replay included
        run_consumers(
            nats_server.url, app, [(SERVICE, handler), ("intake", ignore)], replay_settled
        )
        assert notes(app, broken) == {"handled casework.repair.reported.v1": 1}
        assert notes(app, ok) == {"handled casework.repair.reported.v1": 1}

        async def replays_on_stream() -> list[dict[str, str]]:
            async with jetstream(nats_server.url) as (_, js):
                stored = await read_stream(js, "CASEWORK", "casework.repair.>")
                return [
                    dict(m.headers or {}) for m in stored if HEADER_REPLAY_OF in (m.headers or {})
                ]

        (replayed,) = asyncio.run(replays_on_stream())
        assert replayed[HEADER_REPLAY_FOR] == SERVICE
        assert replayed["Nats-Msg-Id"] == f"replay:CASEWORK:{failed[0]}"
        assert HEADER_NOTIFICATION_ID not in replayed  # the relay's position stays its own
        assert replayed["ce-subject"] == str(broken)

        # the relay still knows where it is: a new event goes out, nothing is re-published
        # (it warns about the hand-made malformed message, not about the replay)
        app.add_note(ok, STAFF, "after the replay")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="casework.messaging.relay"):
            assert relay_once(store, nats_server.url) == 3  # two handlers' notes and this one
        warned = [r.getMessage() for r in caplog.records if "further back" in r.getMessage()]
        assert len(warned) == 1, warned
    finally:
        app.close()


@pytest.mark.anyio
async def test_the_same_letter_replayed_twice_is_stored_once(nats_server: NatsServer) -> None:
    """Two operators (or a retry after a lost ack) replaying one letter: JetStream keeps one."""
    async with jetstream(nats_server.url) as (_, js):
        await js.add_stream(StreamConfig(name="CASEWORK", subjects=["casework.>"]))
        await js.publish(
            "casework.dlq.ops",
            b"{}",
            headers={
                "ce-type": "casework.repair.reported.v1",
                "Casework-Dlq-Service": "ops",
                "Casework-Dlq-Reason": "failed",
                "Casework-Dlq-Error": "RuntimeError: boom",
                "Casework-Dlq-Deliveries": "2",
                "Casework-Dlq-Stream": "CASEWORK",
                "Casework-Dlq-Sequence": "1",
                "Casework-Dlq-Subject": "casework.repair.reported.a.b",
            },
        )
        (filed,) = await list_letters(js)
        first = await replay(js, filed)
        second = await replay(js, filed)  # the letter is gone already; the publish is a dup
        assert (first.duplicate, second.duplicate) == (False, True)
        assert second.seq == first.seq
        assert await list_letters(js) == []
        assert len(await read_stream(js, "CASEWORK", "casework.repair.>")) == 1


def test_a_failed_publish_keeps_the_letter_and_bad_requests_exit_2(
    nats_server: NatsServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NATS_URL", nats_server.url)

    async def file_one_and_drop_its_stream() -> int:
        async with jetstream(nats_server.url) as (nc, js):
            await js.add_stream(StreamConfig(name="CASEWORK", subjects=["casework.test.>"]))
            await js.publish("casework.test.x.a.b", b"garbage", headers={"ce-type": "nope"})
            consumer: Consumer[CaseEvent] = Consumer(
                nc,
                Casework("sqlite:///:memory:"),
                ignore,
                parse_contract,
                SubscriptionSettings(
                    service=SERVICE, filter_subjects=("casework.test.>",), fetch_timeout=0.2
                ),
            )
            task = asyncio.create_task(consumer.run())
            await wait_until(lambda: consumer.stats.counts[Outcome.DEAD_LETTERED] == 1, timeout=10)
            await consumer.stop()
            await task
            (filed,) = await list_letters(js)
            assert filed.stream == "CASEWORK_DLQ"
            await js.delete_stream("CASEWORK")  # nowhere to put the original back
            return filed.seq

    seq = asyncio.run(file_one_and_drop_its_stream())
    code, out, err = cli(capsys, "replay", str(seq))
    assert (code, out) == (1, [])
    assert err.count("\n") == 1
    assert [line.split("\t")[0] for line in cli(capsys, "list")[1]] == [str(seq)]

    for argv in (("show", "999"), ("replay", "0"), ("list", "--service", "a.b")):
        code, out, err = cli(capsys, *argv)
        assert (code, out) == (2, []), argv
        assert err.startswith("casework: "), err
        assert err.count("\n") == 1, err

    async def unreadable() -> None:
        async with jetstream(nats_server.url) as (_, js):
            await js.publish("casework.dlq.ops", b"by hand")

    asyncio.run(unreadable())
    code, lines, _ = cli(capsys, "list")
    assert lines[-1].split("\t")[3].startswith("unreadable")
    code, out, err = cli(capsys, "replay", lines[-1].split("\t")[0])
    assert code == 2
    assert "no Casework-Dlq-* headers" in err
