"""What the OpenAPI document says of a request's field, found from a validation error's `loc`.

Why: pydantic words a string that does not match its pattern as "String should match pattern
'^[^/\\x00-\\x20…]+$'", which a person cannot act on; the field's description ("the person's id
as recorded on their reports: no space of any kind, slash or control character") is what the
API already tells them, so a 422 says that instead (`errors.invalid_request`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from pydantic import BaseModel
from starlette.routing import BaseRoute

SOURCES = {"path": "path_params", "query": "query_params", "header": "header_params"}


def described(request: Request, loc: Sequence[Any]) -> str | None:
    """The description of the field at `loc` (`("path", "person_id")`, `("body", "address")`,
    `("body", "photos", 2)`), or None when it has none or cannot be found."""
    route: BaseRoute | None = request.scope.get("route")
    if route is None or len(loc) < 2:
        return None
    source, name, *rest = loc
    if source == "body":
        body = getattr(route, "body_field", None)
        return None if body is None else _in_model(body.field_info.annotation, [name, *rest])
    dependant = getattr(route, "dependant", None)
    if source not in SOURCES or dependant is None:
        return None
    for param in _params(dependant, SOURCES[source]):
        if name in (getattr(param, "alias", None), getattr(param, "name", None)):
            description = param.field_info.description
            return description if isinstance(description, str) else None
    return None


def _params(dependant: Any, kind: str) -> list[Any]:
    """The route's parameters of one kind, its dependencies' included (walked here, not by
    FastAPI's own flattening, whose name and signature change between its releases)."""
    found: list[Any] = []
    seen: set[int] = set()
    todo = [dependant]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.extend(getattr(current, kind, ()))
        todo.extend(getattr(current, "dependencies", ()))
    return found


def _in_model(annotation: Any, path: list[Any]) -> str | None:
    """Walk `path` down pydantic models (list indexes and union members passed over) to the
    description of the last named field on the way."""
    found: str | None = None
    for step in path:
        if isinstance(step, int):
            continue
        model = _model_in(annotation)
        field = None if model is None else model.model_fields.get(step)
        if field is None:
            return found
        found = field.description or found
        annotation = field.annotation
    return found


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation is, or holds (`Model | None`, `list[Model]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None or isinstance(annotation, type(Union[int, str])):  # noqa: UP007
        for arg in get_args(annotation):
            model = _model_in(arg)
            if model is not None:
                return model
    return None
