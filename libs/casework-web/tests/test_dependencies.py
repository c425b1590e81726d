"""`runtime_of`: a route reaches the runtime its app's lifespan set, and nothing else."""

from __future__ import annotations

from typing import Annotated

import pytest
from casework_web.dependencies import runtime_of
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient


class Runtime:
    def __init__(self, name: str) -> None:
        self.name = name


Rt = Annotated[Runtime, Depends(runtime_of(Runtime))]


def app_with(state: object) -> FastAPI:
    app = FastAPI()
    if state is not None:
        app.state.runtime = state

    @app.get("/name")
    def name(rt: Rt) -> str:
        return rt.name

    return app


def test_a_route_gets_the_runtime_on_the_app_state() -> None:
    with TestClient(app_with(Runtime("intake"))) as client:
        assert client.get("/name").json() == "intake"


@pytest.mark.parametrize("state", [None, object()])
def test_a_missing_or_wrong_runtime_is_named(state: object) -> None:
    with (
        TestClient(app_with(state), raise_server_exceptions=True) as client,
        pytest.raises(RuntimeError, match="not Runtime"),
    ):
        client.get("/name")
