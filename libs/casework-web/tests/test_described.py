"""`field_description`: the words a 422 gives for a field, found by pydantic's `loc`; the exact
field's or none, never a neighbour's (`casework_web.described`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from casework_web.described import field_description
from pydantic import AliasChoices, BaseModel, Field


class A(BaseModel):
    kind: Literal["a"] = "a"
    mode: Literal["b", "c"] = "b"  # holds "b", but is not the discriminator
    f: str = Field(default="", description="A.f")


class B(BaseModel):
    kind: Literal["b"] = "b"
    f: str = Field(default="", description="B.f")


class Body(BaseModel):
    pair: tuple[A, B] = Field(default=(A(), B()), description="the pair")
    many: tuple[B, ...] = ()
    tagged: A | B = Field(default=A(), discriminator="kind", description="tagged")
    also: Annotated[A | B, Field(discriminator="kind")] = A()
    tried: A | B = A()  # no discriminator: pydantic names the member by its class
    ident: str = Field(default="", alias="id", description="ident, sent as id")
    id_: str = Field(default="", alias="person", description="person")
    chosen: str = Field(
        default="", validation_alias=AliasChoices("first", "second"), description="chosen"
    )
    by_key: dict[str, B] = Field(default_factory=dict, description="by key")
    items: list[B] = Field(default_factory=list, description="items")


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (["pair", 1, "f"], "B.f"),
        (["pair", 0, "f"], "A.f"),
        (["pair", 2, "f"], None),
        (["many", 7, "f"], "B.f"),
        (["tagged", "b", "f"], "B.f"),  # not A, whose `mode` also holds "b"
        (["tagged", "a", "f"], "A.f"),
        (["also", "b", "f"], "B.f"),
        (["tried", "B", "f"], "B.f"),
        (["id"], "ident, sent as id"),  # the alias, not a field named id_
        (["person"], "person"),
        (["first"], "chosen"),
        (["second"], "chosen"),
        (["by_key", "k", "f"], "B.f"),
        (["items", 0, "f"], "B.f"),
        (["items", 0], None),  # an item itself has no field's words: not the list's
        (["items", 0, "nope"], None),
        (["tagged", "z", "f"], None),
        (["ident"], None),  # given by its alias only
    ],
)
def test_the_description_is_the_exact_fields_or_none(loc: list[Any], expected: str | None) -> None:
    assert field_description(Body, loc) == expected
