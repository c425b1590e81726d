"""A service's process leaves what its start made out of later garbage collections
(`casework.gc_pauses`): a full collection walked a few hundred thousand startup objects, a
0.1–0.2 s pause in every report in flight on the 2-core box (issue 16). A real subprocess that
serves on a free loopback port, stopped by itself once it has answered."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from casework.gc_pauses import freeze_startup

SERVE = textwrap.dedent(
    """
    import gc, os, signal, sys
    from fastapi import FastAPI
    from casework_web.service_main import serve
    from casework_web.service_settings import ServiceSettings

    def create_app(settings):
        app = FastAPI()

        @app.on_event("startup")
        async def started():
            print("frozen", gc.get_freeze_count(), flush=True)
            os.kill(os.getpid(), signal.SIGTERM)

        return app

    sys.exit(serve("probe", create_app, ServiceSettings(), "127.0.0.1", 0))
    """
)


def test_a_served_service_has_frozen_its_start(tmp_path: Path) -> None:
    env = {"CASEWORK_VAR_DIR": str(tmp_path), "CASEWORK_STORE": f"sqlite:///{tmp_path}/c.db"}
    done = subprocess.run(
        [sys.executable, "-c", SERVE],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    frozen = [line for line in done.stdout.splitlines() if line.startswith("frozen ")]
    assert frozen, done.stdout + done.stderr
    assert int(frozen[0].split()[1]) > 10_000  # fastapi, pydantic, uvicorn: far more than this


def test_what_the_start_made_is_out_of_later_collections() -> None:
    kept = [[n] for n in range(50_000)]  # what a start keeps: tracked by the collector
    try:
        freeze_startup()
        assert gc.get_freeze_count() >= len(kept)
        assert not any(gc.is_tracked(x) and x in gc.get_objects() for x in kept[:1])
    finally:
        gc.unfreeze()
