"""compose.yaml must run the same processes, with the same settings, as `casework up`.

No container registry is reachable from the test machines, so the images are not built here;
what can drift silently is checked instead: every command is a console script the workspace
declares, with flags its parser takes, on the ports the stack documents, and every container
of ours reads the store, NATS and the shared tokens file from the same settings.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml
from casework_stack.topology import SERVICES, Ports

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def console_scripts() -> dict[str, str]:
    scripts: dict[str, str] = {}
    for pyproject in [*ROOT.glob("libs/*/pyproject.toml"), *ROOT.glob("services/*/pyproject.toml")]:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        scripts.update(project.get("scripts", {}))
    return scripts


def ours(services: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in services.items() if s.get("image") == "casework:latest"}


def test_the_relay_and_every_service_run_from_our_image_beside_postgres_and_nats() -> None:
    services = compose()["services"]
    assert set(ours(services)) == {"relay", *SERVICES}
    assert set(services) - set(ours(services)) == {"postgres", "nats"}
    assert "--jetstream" in services["nats"]["command"]


def test_every_command_is_a_declared_console_script_on_the_documented_port() -> None:
    services = compose()["services"]
    scripts = console_scripts()
    assert services["relay"]["command"] == ["casework", "relay"]
    for name in SERVICES:
        command = services[name]["command"]
        assert command[0] == f"casework-{name}"
        assert command[0] in scripts
        port = Ports().of(name)
        assert command[command.index("--port") + 1] == str(port)
        assert services[name]["ports"] == [f"127.0.0.1:{port}:{port}"]


def test_every_service_accepts_the_flags_compose_gives_it() -> None:
    services = compose()["services"]
    scripts = console_scripts()
    for name in SERVICES:
        module, function = scripts[f"casework-{name}"].split(":")
        flags = [a for a in services[name]["command"][1:] if a.startswith("--")]
        helped = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import sys; from {module} import {function} as m; sys.exit(m())",
                "--help",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert helped.returncode == 0, helped.stderr
        for flag in flags:
            assert flag in helped.stdout, f"casework-{name} --help does not list {flag}"


def test_every_container_of_ours_reads_the_same_store_nats_and_tokens() -> None:
    services = compose()["services"]
    environments = [s["environment"] for s in ours(services).values()]
    assert all(env == environments[0] for env in environments)
    env = environments[0]
    assert env["CASEWORK_STORE"].startswith("postgresql://")
    assert env["CASEWORK_STORE"].rsplit("@", 1)[1].split(":")[0] == "postgres"
    assert env["NATS_URL"] == "nats://nats:4222"
    shared = Path(env["CASEWORK_TOKENS_FILE"]).parent
    for name in SERVICES:
        mounts = {m.split(":")[1] for m in services[name]["volumes"]}
        assert str(shared) in mounts, f"{name} does not see the shared tokens file"


def test_the_image_installs_exactly_the_lock_file() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "uv sync --frozen --all-packages --no-dev" in dockerfile
    assert 'pip install --no-cache-dir "uv==0.13.9"' in dockerfile
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").count("uv==0.13.9") >= 1
