"""Every failure answers an `ErrorBody` with a status by kind, never a bare 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("what", "status", "code"),
    [
        ("invalid", 422, "invalid"),
        ("forbidden", 403, "forbidden"),
        ("not_found", 404, "not_found"),
        ("invalid_transition", 409, "invalid_transition"),
        ("conflict", 409, "conflict"),
    ],
)
def test_library_errors_map_to_a_status_and_code_by_kind_with_their_message(
    client: TestClient, what: str, status: int, code: str
) -> None:
    response = client.get(f"/things/fail/{what}")
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert set(body) == {"code", "message"}


@pytest.mark.parametrize("what", ["tampered", "unreadable"])
def test_a_case_file_altered_in_the_store_is_a_409_tampered_naming_the_checks_to_run(
    client: TestClient, what: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An integrity failure of the store is no fault of the caller's and no retry fixes it, but
    it is not a bug either: 409 `tampered`, the event named, the operator's commands given, and
    one error line logged for the operator (never a 500, never 422 `invalid`)."""
    response = client.get(f"/things/fail/{what}")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "tampered"
    assert "casework verify --checkpoint latest" in body["message"]
    assert "nothing was changed" in body["message"]
    if what == "unreadable":
        event = "case 5a5ecc6c-dd09-41be-8c9b-339401ba66f8 event 1"
        assert body["message"].startswith(f"{event}: the stored state cannot be decoded")
        assert "casework verify 5a5ecc6c-dd09-41be-8c9b-339401ba66f8" in body["message"]
    else:
        assert body["message"].startswith("case 42 event 3: ")
    logged = [r for r in caplog.records if r.name == "things.errors"]
    assert [r.levelname for r in logged] == ["ERROR"]
    assert logged[0].exc_info is None  # one line: the cause is the store, not this code


def test_a_store_that_cannot_be_reached_is_a_503_with_a_hint_to_retry(client: TestClient) -> None:
    response = client.get("/things/fail/store")
    assert response.status_code == 503
    assert response.json()["code"] == "store_unavailable"
    assert response.headers["retry-after"] == "5"


def test_an_unexpected_error_is_a_500_body_naming_the_request_id_it_was_logged_under(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.get("/things/fail/bug", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.json()["code"] == "internal"
    assert "req-500" in response.json()["message"]
    assert response.headers["x-request-id"] == "req-500"
    logged = [r for r in caplog.records if r.name == "things.errors"]
    assert logged
    assert logged[0].request_id == "req-500"  # type: ignore[attr-defined]
    assert logged[0].exc_info is not None


def test_a_malformed_request_names_where_and_what_in_message_and_details(
    client: TestClient,
) -> None:
    response = client.get("/things/count", params={"n": "many"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert body["message"].startswith("query.n: ")
    assert body["details"][0]["where"] == "query.n"


@pytest.mark.parametrize(
    ("path", "params", "body", "where", "words"),
    [
        ("/things/labelled/7", {"tag": "ABC"}, {"label": "ok"}, "path.code", "two digits"),
        ("/things/labelled/07", {"tag": "abc"}, {"label": "ok"}, "query.tag", "three capital"),
        ("/things/labelled/07", {"tag": "ABC"}, {"label": "Ok"}, "body.label", "lowercase"),
        (
            "/things/labelled/07",
            {"tag": "ABC"},
            {"label": "ok", "parts": [{"label": "ok"}, {"label": "NO"}]},
            "body.parts.1.label",
            "lowercase",
        ),
        (
            "/things/labelled/07",
            {"tag": "ABC"},
            {"label": "ok", "inner": {"label": "NO"}},
            "body.inner.label",
            "lowercase",
        ),
        (
            "/things/labelled/07",
            {"tag": "ABC"},
            {"label": "ok", "pet": {"kind": "dog", "name": "rex"}},
            "body.pet.dog.name",
            "a dog's name",
        ),
        (
            "/things/labelled/07",
            {"tag": "ABC"},
            {"label": "ok", "realName": "Zhao"},
            "body.realName",
            "a real name",
        ),
    ],
)
def test_a_value_not_matching_its_pattern_is_told_in_the_fields_own_words_not_its_regex(
    client: TestClient, path: str, params: dict[str, str], body: object, where: str, words: str
) -> None:
    """A regex is no help to a person: the 422 gives the description the OpenAPI document
    gives the field (path, query through a dependency, body, nested body)."""
    response = client.post(path, params=params, json=body)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["details"][0]["where"] == where
    problem = answer["details"][0]["problem"]
    assert problem.startswith("is not in the accepted form: "), problem
    assert words in problem
    assert "^" not in answer["message"]
    assert "pattern" not in answer["message"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"label": "ok", "bare": "y"}, "body.bare"),
        ({"label": "ok", "parts": [{"label": "ok", "bare": "y"}]}, "body.parts.0.bare"),
    ],
)
def test_a_field_without_a_description_points_to_the_openapi_document(
    client: TestClient, body: dict[str, object], where: str
) -> None:
    """Never another field's words (the list holding it has a description of its own)."""
    response = client.post("/things/labelled/07", params={"tag": "ABC"}, json=body)
    assert response.status_code == 422
    assert response.json()["message"] == (
        f"{where}: is not in the accepted form (the OpenAPI document at /openapi.json gives "
        "its pattern)"
    )


def test_a_wrong_method_is_a_405_whose_allow_names_every_documented_method(
    client: TestClient,
) -> None:
    response = client.delete("/things")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json() == {"code": "bad_method", "message": "/things answers GET and POST only"}


def test_an_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
