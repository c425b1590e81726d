"""The registry of places reports may name, loaded from a TOML file (see `places.toml`).

The library checks that an address is well formed; only the intake knows which compounds and
buildings exist, so a report for a place nobody answers for is refused at the door.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casework import Address, ValidationError


@dataclass(frozen=True)
class Compound:
    id: str
    name: str
    buildings: frozenset[str]


@dataclass(frozen=True)
class Community:
    id: str
    name: str
    compounds: dict[str, Compound] = field(default_factory=dict)


class PlacesFileError(ValueError):
    """The registry file is malformed; the message names the entry."""


@dataclass(frozen=True)
class Places:
    communities: dict[str, Community]

    @classmethod
    def load(cls, path: Path) -> Places:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise PlacesFileError(f"cannot read places file {path}: {error}") from error
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Places:
        communities: dict[str, Community] = {}
        for cid, body in dict(raw.get("communities", {})).items():
            compounds: dict[str, Compound] = {}
            for kid, spec in dict(body.get("compounds", {})).items():
                compounds[kid] = Compound(kid, str(spec.get("name", kid)), _buildings(kid, spec))
                Address(cid, kid)  # ids must be valid address segments
            communities[cid] = Community(cid, str(body.get("name", cid)), compounds)
        if not communities:
            raise PlacesFileError("the places file lists no communities")
        return cls(communities)

    def check(self, address: Address) -> None:
        """Refuse an address outside the registry, saying which part is unknown."""
        community = self.communities.get(address.community)
        if community is None:
            known = ", ".join(sorted(self.communities))
            raise ValidationError(f"unknown community {address.community!r}; known: {known}")
        compound = community.compounds.get(address.compound)
        if compound is None:
            known = ", ".join(sorted(community.compounds))
            raise ValidationError(
                f"community {community.id} has no compound {address.compound!r}; known: {known}"
            )
        if address.building is not None and address.building not in compound.buildings:
            raise ValidationError(
                f"compound {compound.id} has no building {address.building!r} "
                f"({len(compound.buildings)} buildings are registered)"
            )

    def check_path(self, path: str) -> Address:
        address = Address.parse(path)
        self.check(address)
        return address

    def check_scope(self, path: str) -> str:
        """A place an access token may be limited to (community, compound or building path)."""
        parts = [p.strip() for p in path.strip().strip("/").split("/")]
        if len(parts) == 1 and parts[0]:
            if parts[0] not in self.communities:
                known = ", ".join(sorted(self.communities))
                raise ValidationError(f"unknown community {parts[0]!r}; known: {known}")
            return parts[0]
        return self.check_path(path).path


def _buildings(compound: str, spec: dict[str, Any]) -> frozenset[str]:
    listed = [str(b) for b in spec.get("buildings", [])]
    count = spec.get("building_count", 0)
    if not isinstance(count, int) or count < 0:
        raise PlacesFileError(f"compound {compound}: building_count must be a whole number")
    prefix = str(spec.get("building_prefix", "b"))
    names = listed + [f"{prefix}{n}" for n in range(1, count + 1)]
    for name in names:
        Address("c", "c", name)  # a building id must be a valid address segment
    return frozenset(names)
