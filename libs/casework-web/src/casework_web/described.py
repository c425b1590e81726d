"""What the OpenAPI document says of a request's field, found from a validation error's `loc`.

Why: pydantic words a string that does not match its pattern as "String should match pattern
'^[^/\\x00-\\x20…]+$'", which a person cannot act on; the field's description ("the person's id
as recorded on their reports: no space of any kind, slash or control character") is what the
API already tells them, so a 422 says that instead (`errors.invalid_request`).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from fastapi import Request
from pydantic import AliasChoices, AliasPath, BaseModel
from pydantic.fields import FieldInfo
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
        return (
            None if body is None else field_description(body.field_info.annotation, [name, *rest])
        )
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


def field_description(annotation: Any, path: list[Any]) -> str | None:
    """The description of the field at exactly `path` below `annotation`, else None (then the
    message points to the OpenAPI document rather than risk another field's words). A step may
    be a list or tuple index, a dict key, a union member's tag or class name (as pydantic's
    `loc` has them), or a field's alias or name."""
    field: FieldInfo | None = None
    tag: str | None = None  # the discriminator of the union reached, if it has one
    for step in path:
        tag = _discriminator(annotation, field) or tag
        annotation = _unwrapped(annotation)
        origin = get_origin(annotation)
        args = get_args(annotation)
        if isinstance(step, int) and origin in (list, set, frozenset):
            annotation, field = (args or (Any,))[0], None
            continue
        if isinstance(step, int) and origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                annotation, field = args[0], None
            elif step < len(args):
                annotation, field = args[step], None
            else:
                return None
            continue
        if origin is dict:
            annotation, field = (args or (Any, Any))[-1], None
            continue
        models = _models_in(annotation)
        member = _member(models, step, tag) if len(models) > 1 else None
        if member is not None:
            annotation, field, tag = member, None, None
            continue
        if len(models) != 1:
            return None
        field, tag = _field(models[0], step), None
        if field is None:
            return None
        annotation = field.annotation
    if field is None or not isinstance(field.description, str):
        return None
    return field.description


def _discriminator(annotation: Any, field: FieldInfo | None) -> str | None:
    """The field name a tagged union is told apart by: from the field holding it, or from
    `Annotated[..., Field(discriminator=...)]` (a callable discriminator: None)."""
    found = field.discriminator if field is not None else None
    if found is None and get_origin(annotation) is Annotated:
        for meta in get_args(annotation)[1:]:
            if isinstance(meta, FieldInfo) and meta.discriminator is not None:
                found = meta.discriminator
    return found if isinstance(found, str) else None


def _unwrapped(annotation: Any) -> Any:
    """`X` of `Annotated[X, ...]` (and of `X | None`)."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if _is_union(annotation):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) == 1:
                annotation = rest[0]
                continue
        return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, UnionType)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation is, or is a union of."""
    annotation = _unwrapped(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if _is_union(annotation):
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    return []


def _member(models: list[type[BaseModel]], step: Any, tag: str | None) -> type[BaseModel] | None:
    """The union member a `loc` step names: by its tag (the value of the union's discriminator
    field, a `Literal`), else by its class name (a union told apart by trying each)."""
    if tag is not None:
        for model in models:
            info = model.model_fields.get(tag) or _field(model, tag)
            literal = info is not None and get_origin(info.annotation) is Literal
            if literal and info is not None and step in get_args(info.annotation):
                return model
        return None
    named = [model for model in models if model.__name__ == step]
    return named[0] if len(named) == 1 else None


def _field(model: type[BaseModel], step: Any) -> FieldInfo | None:
    """The model's field that `step` names in a `loc`: its alias if it has one (pydantic names
    a field by the alias it was given in), else its name."""
    for info in model.model_fields.values():
        if step in _aliases(info):
            return info
    for name, info in model.model_fields.items():
        if name == step and not _aliases(info):
            return info
    return None


def _aliases(info: FieldInfo) -> list[Any]:
    """The names a field is given in by: its alias, validation alias, or their first parts."""
    names: list[Any] = []
    for alias in (info.alias, info.validation_alias):
        if isinstance(alias, str):
            names.append(alias)
        elif isinstance(alias, AliasPath) and alias.path:
            names.append(alias.path[0])
        elif isinstance(alias, AliasChoices):
            for choice in alias.choices:
                if isinstance(choice, str):
                    names.append(choice)
                elif choice.path:
                    names.append(choice.path[0])
    return names
