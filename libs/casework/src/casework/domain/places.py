"""Tiers of the ladder and addresses.

微事不出楼栋、小事不出小区、大事不出社区: a case starts at the lowest tier able to handle it and
climbs one rung at a time, so the tiers are ordered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from casework.domain.errors import ValidationError


class Tier(StrEnum):
    """A rung of the ladder. Compare with `rank`, not with string order."""

    BUILDING = "building"
    COMPOUND = "compound"
    COMMUNITY = "community"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def label(self) -> str:
        return _LABELS[self]

    def next_up(self) -> Tier | None:
        """The rung above, or None at the top (the community)."""
        order = list(Tier)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


_RANKS = {Tier.BUILDING: 0, Tier.COMPOUND: 1, Tier.COMMUNITY: 2}
_LABELS = {Tier.BUILDING: "楼栋", Tier.COMPOUND: "小区", Tier.COMMUNITY: "社区"}

_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Address:
    """community / compound / building / unit; building and unit are optional for shared areas.

    A dispute about the compound's main road has no building; a leak has a unit.
    """

    community: str
    compound: str
    building: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        parts = [self.community, self.compound, self.building, self.unit]
        if self.unit is not None and self.building is None:
            raise ValidationError("an address with a unit needs its building too")
        for part in parts:
            if part is not None and not _SEGMENT.match(part):
                raise ValidationError(
                    f"address segment {part!r} must be 1-63 lowercase letters, digits, '-' or '_'"
                )

    @classmethod
    def parse(cls, path: str) -> Address:
        """Read `community/compound[/building[/unit]]`, spaces around '/' allowed."""
        parts = [p.strip() for p in path.strip().strip("/").split("/")]
        if not 2 <= len(parts) <= 4 or any(not p for p in parts):
            raise ValidationError(
                f"address {path!r} must be community/compound[/building[/unit]], "
                "e.g. 'jiayu-xx/wanxin-intl/b12/0302'"
            )
        building = parts[2] if len(parts) > 2 else None
        unit = parts[3] if len(parts) > 3 else None
        return cls(parts[0], parts[1], building, unit)

    @property
    def path(self) -> str:
        return "/".join(p for p in (self.community, self.compound, self.building, self.unit) if p)

    @property
    def compound_path(self) -> str:
        return f"{self.community}/{self.compound}"

    def contains(self, other: Address) -> bool:
        """Whether `other` lies within this place (used for access scopes)."""
        mine = self.path.split("/")
        theirs = other.path.split("/")
        return theirs[: len(mine)] == mine

    def __str__(self) -> str:
        return self.path
