"""compose.yaml must be valid Compose, and run the same processes, with the same settings, as
`casework up --nats-nodes 3 --replicas 2` (its tested twin: tests/test_drill.py).

No Docker daemon and no container registry are reachable from the test machines, so the images
are neither built nor run here (README, "Running at scale"). What can drift silently is checked
instead: the file against the Compose specification's JSON schema (vendored in tests/schemas/);
every command is a console script the workspace declares, with flags its parser takes, on the
ports the stack documents; every part reads the store, NATS and the shared tokens from the same
settings, connects as its own NATS user with its password from a secret, and keeps no password
in the file; the NATS nodes' configs pass the bundled nats-server's own check.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from casework.messaging.nats_server import find_binary
from casework.messaging.nats_users import CLIENT_USERS, SERVICE_DURABLES, authorization_block
from casework_stack.topology import SERVICES, Ports

ROOT = Path(__file__).resolve().parents[1]
REPLICAS = ("1", "2")
NODES = ("nats-1", "nats-2", "nats-3")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def schema() -> Any:
    return jsonschema_rs.validator_for(
        json.loads((ROOT / "tests" / "schemas" / "compose-spec.json").read_text(encoding="utf-8"))
    )


def console_scripts() -> dict[str, str]:
    scripts: dict[str, str] = {}
    for pyproject in [*ROOT.glob("libs/*/pyproject.toml"), *ROOT.glob("services/*/pyproject.toml")]:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        scripts.update(project.get("scripts", {}))
    return scripts


def ours(services: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in services.items() if s.get("image") == "casework:latest"}


def replicas(service: str) -> list[str]:
    return [f"{service}-{i}" for i in REPLICAS]


def test_compose_yaml_is_valid_against_the_compose_specification() -> None:
    validator = schema()
    errors = [str(e) for e in validator.iter_errors(compose())]
    assert errors == []


def test_the_schema_refuses_what_compose_would_refuse() -> None:
    """The vendored schema is strict: a misspelt key or a wrong type is an error."""
    validator = schema()
    misspelt = copy.deepcopy(compose())
    misspelt["services"]["intake-1"]["healthcheck"]["intervall"] = "3s"
    assert not validator.is_valid(misspelt)
    wrong = copy.deepcopy(compose())
    wrong["services"]["proxy"]["ports"] = "8000"
    assert not validator.is_valid(wrong)


def test_two_relays_two_notaries_and_two_replicas_of_each_service_run_from_our_image() -> None:
    services = compose()["services"]
    expected = {
        *replicas("relay"),
        *replicas("notary"),
        *(r for s in SERVICES for r in replicas(s)),
    }
    assert set(ours(services)) == expected
    assert set(services) - expected == {"postgres", *NODES, "proxy"}
    assert services["proxy"]["image"].startswith("nginx:")


def test_every_command_is_a_declared_console_script_on_the_documented_port() -> None:
    services = compose()["services"]
    scripts = console_scripts()
    for relay in replicas("relay"):
        assert services[relay]["command"] == ["casework", "relay"]
    for notary in replicas("notary"):
        assert services[notary]["command"] == ["casework", "notary"]
        assert services[notary]["volumes"] == ["notary:/var/casework"], "one key, shared"
    assert "casework" in scripts
    published = services["proxy"]["ports"]
    for name in SERVICES:
        port = Ports().of(name)
        assert f"127.0.0.1:{port}:{port}" in published
        for replica in replicas(name):
            command = services[replica]["command"]
            assert command[0] == f"casework-{name}"
            assert command[0] in scripts
            assert command[command.index("--port") + 1] == str(port)
            assert "ports" not in services[replica], "replicas are reached through the proxy"


def test_nginx_sends_each_documented_port_to_that_services_replicas() -> None:
    conf = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    mounts = compose()["services"]["proxy"]["volumes"]
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in mounts
    for name in SERVICES:
        port = Ports().of(name)
        upstream = re.search(rf"upstream {name} \{{(.*?)\}}", conf, re.S)
        assert upstream is not None
        servers = re.findall(r"server (\S+) ", upstream.group(1))
        assert servers == [f"{r}:{port}" for r in replicas(name)]
        assert re.search(rf"listen {port};\s+location / \{{\s+proxy_pass http://{name};", conf)


def test_every_service_accepts_the_flags_compose_gives_it() -> None:
    services = compose()["services"]
    scripts = console_scripts()
    for name in SERVICES:
        module, function = scripts[f"casework-{name}"].split(":")
        flags = [a for a in services[f"{name}-1"]["command"][1:] if a.startswith("--")]
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


def test_every_part_reads_the_same_settings_as_its_own_nats_user_with_a_secret() -> None:
    document = compose()
    services = document["services"]
    common = None
    for name, service in ours(services).items():
        env = dict(service["environment"])
        user = env.pop("NATS_USER")
        assert user == name.rsplit("-", 1)[0], f"{name} connects as {user}"
        assert user in CLIENT_USERS
        secret = Path(env.pop("NATS_PASSWORD_FILE"))
        assert secret.parent == Path("/run/secrets")
        assert secret.name in service["secrets"]
        assert document["secrets"][secret.name] == {"environment": f"NATS_{user.upper()}_PASSWORD"}
        common = common or env
        assert env == common, f"{name} differs from the others"
    assert common is not None
    assert common["NATS_URL"] == ",".join(f"nats://{node}:4222" for node in NODES)
    assert common["CASEWORK_STORE"].rsplit("@", 1)[1] == "postgres:5432/casework"
    assert (common["INTAKE_READ_MODELS"], common["MEDIATION_READ_MODELS"]) == ("store", "store")
    shared = str(Path(common["CASEWORK_TOKENS_FILE"]).parent)
    for name in SERVICES:
        own = set()
        for replica in replicas(name):
            mounts = {m.split(":")[1]: m.split(":")[0] for m in services[replica]["volumes"]}
            assert mounts[shared] == "tokens", f"{replica} does not see the shared tokens"
            own.add(mounts["/var/casework"])
        assert len(own) == len(REPLICAS), f"{name}'s replicas share a var volume"


def test_no_password_is_in_the_file_and_every_secret_is_in_env_example() -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", text))
    from_env = {s["environment"] for s in compose()["secrets"].values()}
    assert interpolated | from_env <= named, "a variable compose.yaml needs is not in .env.example"
    store = compose()["x-casework-env"]["CASEWORK_STORE"]
    assert store.startswith("postgresql://casework:${POSTGRES_PASSWORD:?")
    assert "POSTGRES_PASSWORD:" not in text.replace("${POSTGRES_PASSWORD:?", "")
    postgres = compose()["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    for node in NODES:
        env = compose()["services"][node]["environment"]
        assert all(value.startswith("${") for value in env.values())
    assert ".env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()


def test_every_part_waits_for_what_it_needs_to_be_healthy_and_says_when_it_is() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for needed, how in service.get("depends_on", {}).items():
            assert how == {"condition": "service_healthy"}, f"{name} -> {needed}"
            assert "healthcheck" in services[needed], f"{needed} has no healthcheck"
    for name in SERVICES:
        port = Ports().of(name)
        for replica in replicas(name):
            check = " ".join(services[replica]["healthcheck"]["test"])
            assert f"http://127.0.0.1:{port}/readyz" in check
        assert set(replicas(name)) <= set(services["proxy"]["depends_on"])
    for node in NODES:
        assert "/healthz" in " ".join(services[node]["healthcheck"]["test"])


def test_the_nats_configs_are_current_and_pass_nats_servers_own_check(tmp_path: Path) -> None:
    deploy = ROOT / "deploy" / "nats"
    placeholders = {user: f"@@{user}@@" for user in CLIENT_USERS}
    block = authorization_block(placeholders)
    for user in CLIENT_USERS:
        block = block.replace(f'"@@{user}@@"', f"$NATS_{user.upper()}_PASSWORD")
    auth = (deploy / "auth.conf").read_text(encoding="utf-8")
    assert block in auth, "deploy/nats/auth.conf is not what casework.messaging.nats_users says"
    assert set(SERVICE_DURABLES) <= set(CLIENT_USERS)
    env = dict(os.environ)
    env.update({f"NATS_{u.upper()}_PASSWORD": f"pw-{u}" for u in CLIENT_USERS})
    services = compose()["services"]
    for node in NODES:
        conf = (deploy / f"{node}.conf").read_text(encoding="utf-8")
        assert f'server_name: "{node}"' in conf
        others = [n for n in NODES if n != node]
        assert re.findall(r"nats://(nats-\d):6222", conf) == others
        assert services[node]["command"] == ["-c", f"/etc/nats/{node}.conf"]
        checked = subprocess.run(
            [find_binary(), "-t", "-c", str(deploy / f"{node}.conf")],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_image_installs_the_lock_file_before_the_source_in_two_stages() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") == 2
    assert "uv sync --frozen --all-packages --no-dev" in dockerfile
    assert 'pip install --no-cache-dir "uv==0.13.9"' in dockerfile
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").count("uv==0.13.9") >= 1
    dependencies = dockerfile.index("--no-install-workspace")
    assert dependencies < dockerfile.index("COPY libs libs")
    assert dependencies < dockerfile.index("COPY services services")
    assert "COPY --from=build /app /app" in dockerfile
    assert "USER casework" in dockerfile
    assert "chown -R casework:casework /var/casework" in dockerfile
    assert "mkdir -p /var/casework/shared" in dockerfile
