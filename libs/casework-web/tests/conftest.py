"""A small real app with the shared standards installed, under FastAPI's TestClient."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Literal

import fastapi
import pytest
from casework import (
    CaseNotFoundError,
    ConcurrencyConflictError,
    InvalidTransitionError,
    NotPermittedError,
    TamperedError,
    ValidationError,
)
from casework.clock import Clock, system_clock
from casework_web import Readiness, TokenStore, Who, install, ops_router
from eventsourcing.persistence import MapperDeserialisationError, OperationalError
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

FAILURES: dict[str, Exception] = {
    "invalid": ValidationError("address segment 'X' must be lowercase"),
    "forbidden": NotPermittedError("a resident may not record a return visit"),
    "not_found": CaseNotFoundError("no case 42"),
    "invalid_transition": InvalidTransitionError("the case is closed"),
    "conflict": ConcurrencyConflictError("the case kept changing; retry"),
    "tampered": TamperedError("case 42 event 3: the stored state is not an event record"),
    "unreadable": MapperDeserialisationError(
        "Failed to deserialise state of stored event with topic 'casework.domain.repair:"
        "Repair.Reported', originator_id '5a5ecc6c-dd09-41be-8c9b-339401ba66f8' and "
        "originator_version 1: 'utf-8' codec can't decode byte 0x9c in position 0"
    ),
    "store": OperationalError("connection refused"),
    "bug": RuntimeError("a bug"),
}


class Window(BaseModel):
    """A query model: its fields are the parameters."""

    since: int | None = None
    until: int | None = Field(default=None, alias="to")


def paging(offset: int = 0, limit: Annotated[int, Query(ge=1, le=50)] = 10) -> tuple[int, int]:
    return offset, limit


things = APIRouter(prefix="/things", tags=["things"])


@things.get("")
def list_things(
    page: Annotated[tuple[int, int], Depends(paging)],
    colour: Annotated[str | None, Query(alias="color")] = None,
) -> dict[str, object]:
    return {"page": list(page), "colour": colour}


@things.post("")
def add_thing(who: Who, request: Request) -> dict[str, str]:
    request.state.case_id = "thing-1"
    return {"by": who.actor.id, "role": who.actor.role.value, "place": who.place or ""}


@things.get("/window")
def window(w: Annotated[Window, Query()]) -> dict[str, int | None]:
    return {"since": w.since, "until": w.until}


@things.get("/fail/{what}")
def fail(what: str) -> None:
    raise FAILURES[what]


@things.get("/count")
def count(n: int) -> dict[str, int]:
    return {"n": n}


CODE = "a code of three capital letters, e.g. ABC"


def coded(tag: Annotated[str, Query(pattern=r"^[A-Z]{3}$", description=CODE)]) -> str:
    return tag


class Cat(BaseModel):
    kind: Literal["cat"]
    name: str = Field(pattern=r"^[A-Z]", description="a cat's name, capitalised")


class Dog(BaseModel):
    kind: Literal["dog"]
    name: str = Field(pattern=r"^[A-Z]", description="a dog's name, capitalised")


class Labelled(BaseModel):
    """A body whose fields have patterns: nested, in a list, in a tagged union, aliased, and
    one without a description (whose message must not borrow a parent's)."""

    label: str = Field(pattern=r"^[a-z]+$", description="lowercase letters only")
    parts: list[Labelled] = Field(default_factory=list, description="PARTS")
    inner: Labelled | None = None
    bare: str = Field(default="x", pattern=r"^x+$")
    pet: Cat | Dog | None = Field(default=None, discriminator="kind", description="THE PET")
    real: str = Field(
        default="a", alias="realName", pattern=r"^[a-z]+$", description="a real name, lowercase"
    )


@things.post("/labelled/{code}")
def labelled(
    code: Annotated[str, fastapi.Path(pattern=r"^[0-9]{2}$", description="two digits, e.g. 07")],
    body: Labelled,
    also: Annotated[str, Depends(coded)],
) -> dict[str, str]:
    return {"code": code, "label": body.label, "also": also}


def readiness(request: Request) -> Readiness:
    ok = getattr(request.app.state, "ready", True)
    return Readiness(ready=ok, store="ok" if ok else "unreachable: OperationalError", nats="ok")


def build_app(tokens_path: Path, clock: Clock = system_clock) -> FastAPI:
    app = FastAPI(title="things")
    install(app, "things", TokenStore(tokens_path, clock))
    app.include_router(things)
    app.include_router(ops_router(readiness, Readiness))
    return app


@pytest.fixture(name="make_app")
def make_app_fixture() -> Callable[..., FastAPI]:
    return build_app


@pytest.fixture
def tokens_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "tokens.json"


@pytest.fixture
def client(tokens_path: Path) -> Iterator[TestClient]:
    with TestClient(build_app(tokens_path), raise_server_exceptions=False) as test_client:
        yield test_client
