"""Refuse query parameters a route does not declare.

FastAPI ignores unknown query parameters, so `GET /cases?compund=x` (a typo) would answer every
case as if no filter had been asked for: a silent wrong answer. This guard answers 422 instead,
naming the unknown parameter and the ones the route takes. It reads the names from the route's
dependency tree, the same source FastAPI builds the OpenAPI document from, so the document and
the guard cannot disagree; it adds no parameter of its own to the document.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_validation_alias
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import AliasChoices, BaseModel

_CACHE = "_casework_web_query_names"


def _query_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a `Annotated[Model, Query()]` parameter (also `Model | None`)."""
    candidates = [annotation, *get_args(annotation)] if get_origin(annotation) else [annotation]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _names(alias: str, validation_alias: Any) -> set[str]:
    names = {alias}
    if isinstance(validation_alias, AliasChoices):
        names |= {c for c in validation_alias.choices if isinstance(c, str)}
    elif isinstance(validation_alias, str):
        names.add(validation_alias)
    return names


def declared_query_names(dependant: Dependant) -> frozenset[str] | None:
    """Every query parameter name the route reads; None if a model there allows any extra."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            model = _query_model(field.field_info.annotation)
            if model is None:
                names |= _names(get_validation_alias(field), field.field_info.validation_alias)
                continue
            if model.model_config.get("extra") == "allow":
                return None
            for name, info in model.model_fields.items():
                names |= _names(info.alias or name, info.validation_alias)
        pending.extend(current.dependencies)
    return frozenset(names)


def _accepted(route: APIRoute) -> frozenset[str] | None:
    """The route's names, worked out once (routes are unhashable: kept on the route itself)."""
    try:
        names: frozenset[str] | None = getattr(route, _CACHE)
    except AttributeError:
        names = declared_query_names(route.dependant)
        setattr(route, _CACHE, names)
    return names


async def reject_unknown_query(request: Request) -> None:
    """A dependency: 422 for any query parameter the matched route does not declare."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    accepted = _accepted(route)
    if accepted is None:
        return
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in accepted]
    if not unknown:
        return
    problem = (
        f"not a parameter of this route, which takes {', '.join(sorted(accepted))}"
        if accepted
        else "this route takes no query parameters"
    )
    raise RequestValidationError(
        [
            {
                "type": "extra_forbidden",
                "loc": ("query", name),
                "msg": problem,
                "input": request.query_params.getlist(name),
            }
            for name in unknown
        ]
    )
