"""Every line a Casework process logs is one JSON object (issue 10, section 5).

`configure_logging` changes process-wide state (the root logger, excepthooks, warnings), so each
test runs it in a fresh Python process and parses every line that process wrote to stderr.
`casework demo`'s logs are parsed the same way in libs/casework-stack/tests/test_demo_stack.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

EVERY_SOURCE = textwrap.dedent(
    """
    import asyncio, logging, threading, warnings
    # a handler of its own, as uvicorn's default config or a library would add
    logging.getLogger("uvicorn.error").addHandler(logging.StreamHandler())
    from casework.logs import configure_logging
    configure_logging("INFO")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 7,
                                            extra={"color_message": "coloured"})
    logging.getLogger("uvicorn.access").info("GET / 200")
    logging.getLogger("casework.messaging.relay").warning("relay: 地址 %s", "jiayu-xx")
    logging.getLogger("intake").info("case opened", extra={"case_id": "c-1"})
    import nats
    async def connect():
        try:
            await nats.connect("nats://127.0.0.1:{port}", connect_timeout=0.2,
                               max_reconnect_attempts=1, reconnect_time_wait=0.05)
        except Exception as error:
            logging.getLogger("test").info("connect failed: %s", type(error).__name__)
    asyncio.run(connect())
    warnings.warn("a deprecated setting")
    worker = threading.Thread(target=lambda: 1 / 0, name="worker")
    worker.start()
    worker.join()
    raise RuntimeError("the end")
    """
)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(code: str, env: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines, "nothing logged"
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not one JSON object: {line!r}\n--- whole stderr:\n{done.stderr}")
    return done.returncode, entries


def test_every_source_of_log_lines_writes_one_json_object_per_line() -> None:
    code, entries = _run(EVERY_SOURCE.replace("{port}", str(_closed_port())))

    assert code == 1
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
        assert "color_message" not in entry
    by_logger: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_logger.setdefault(entry["logger"], []).append(entry)
    assert by_logger["uvicorn.error"] == [
        {**by_logger["uvicorn.error"][0], "message": "Started server process [7]"}
    ]  # once: uvicorn's own handler is gone
    assert [e["message"] for e in by_logger["uvicorn.access"]] == ["GET / 200"]
    assert by_logger["casework.messaging.relay"][0]["message"] == "relay: 地址 jiayu-xx"
    assert by_logger["intake"][0]["case_id"] == "c-1"
    nats_errors = by_logger["nats.aio.client"]
    assert nats_errors
    assert all("ConnectionRefusedError" in e["exc_info"] for e in nats_errors)
    assert "a deprecated setting" in by_logger["py.warnings"][0]["message"]
    thread, last = by_logger["casework.uncaught"]
    assert thread["message"] == "uncaught ZeroDivisionError in worker: division by zero"
    assert thread["exc_info"].startswith("Traceback")
    assert "in <lambda>" in thread["exc_info"]
    assert last["level"] == "critical"
    assert last["message"] == "uncaught RuntimeError: the end"
    assert last["exc_info"].rstrip().endswith("RuntimeError: the end")


def test_the_relays_last_words_are_json_too(tmp_path: Path) -> None:
    """A relay that cannot start (here: a store URL it refuses) says why in its JSON log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "NATS_"))}
    env.update(CASEWORK_STORE="mysql://somewhere/db", CASEWORK_VAR_DIR=str(tmp_path))
    code, entries = _run("from casework.cli import main; raise SystemExit(main(['relay']))", env)

    assert code == 2
    [last] = [e for e in entries if e["logger"] == "casework.cli"]
    assert last["level"] == "error"
    assert last["message"].startswith("casework: CASEWORK_STORE must be sqlite:///")
    assert "ValidationError" in last["exc_info"]
    assert list(tmp_path.iterdir()) == []


STRAY = textwrap.dedent(
    """
    import logging, sys
    from casework.logs import capture_stray_output, configure_logging
    configure_logging("INFO")
    capture_stray_output()
    configure_logging("INFO")  # a service sets logging up again, with its own level
    print("a plain line on stdout")
    print("casework-intake: INTAKE_PORT is not a number\\nsecond line", file=sys.stderr)
    logging.getLogger("intake").info("case opened")
    sys.stderr.write('{"already": "json"}\\n')
    sys.stderr.write("no newline at the end")
    """
)


def test_stray_prints_become_json_lines_and_log_records_pass_through_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", STRAY], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    err = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(e["logger"], e["level"], e["message"]) for e in out] == [
        ("stdout", "info", "a plain line on stdout")
    ]
    assert [(e.get("logger"), e.get("message")) for e in err] == [
        ("stderr", "casework-intake: INTAKE_PORT is not a number"),
        ("stderr", "second line"),
        ("intake", "case opened"),
        (None, None),
        ("stderr", "no newline at the end"),
    ]
    assert err[3] == {"already": "json"}
