"""Query parameters a route does not declare are refused, by name, with the ones it takes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from casework_web import TokenStore, install
from casework_web.query import declared_query_names
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DECLARED = {"/things": {"offset", "limit", "color"}, "/things/window": {"since", "to"}}


def test_a_typo_is_refused_naming_it_and_the_parameters_the_route_takes(
    client: TestClient,
) -> None:
    response = client.get("/things", params={"colour": "red"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert body["message"] == (
        "query.colour: not a parameter of this route, which takes color, limit, offset"
    )
    assert client.get("/things", params={"color": "red", "limit": 5}).json() == {
        "page": [0, 5],
        "colour": "red",
    }


def test_a_route_without_query_parameters_says_so(client: TestClient) -> None:
    response = client.get("/healthz", params={"verbose": "1"})
    assert response.status_code == 422
    assert response.json()["message"] == "query.verbose: this route takes no query parameters"


def test_an_empty_parameter_name_is_unknown_too(client: TestClient) -> None:
    assert client.get("/things?color=&=null").status_code == 422


def test_query_models_declare_their_fields_by_alias(client: TestClient) -> None:
    assert client.get("/things/window?since=1&to=2").json() == {"since": 1, "until": 2}
    refused = client.get("/things/window?until=2")
    assert refused.status_code == 422
    assert "since, to" in refused.json()["message"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(sorted(DECLARED)),
    names=st.lists(
        st.one_of(
            st.sampled_from(["offset", "limit", "color", "since", "to", "colour", "x", ""]),
            st.text(alphabet="abcxyz_-", max_size=6),
        ),
        max_size=4,
    ),
)
def test_a_request_is_refused_exactly_when_it_names_an_undeclared_parameter(
    client: TestClient, path: str, names: list[str]
) -> None:
    query = "&".join(f"{name}=1" for name in names)
    response = client.get(f"{path}?{query}")
    unknown = [n for n in names if n not in DECLARED[path]]
    assert (response.status_code == 422) == bool(unknown), response.text
    if unknown:
        assert f"query.{unknown[0]}:" in response.json()["message"]


def test_the_guard_and_the_openapi_document_name_the_same_parameters(
    tmp_path: Path, make_app: Callable[[Path], FastAPI]
) -> None:
    app = make_app(tmp_path / "tokens.json")
    document = app.openapi()["paths"]
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods:
            operation = document[route.path_format][method.lower()]
            documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            assert declared_query_names(route.dependant) == documented, route.path
            assert "422" in operation["responses"], (method, route.path)


def test_install_refuses_an_app_that_already_has_routes(tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/early")
    def early() -> None:
        return None

    with pytest.raises(RuntimeError, match="/early"):
        install(app, "late", TokenStore(tmp_path / "tokens.json"))
