"""Who may see which measures: the same scopes as the case files, decided before any query.

An auditor sees every place; staff, leaders, volunteers and officers the place their token names
(a compound, a building, a community). Measures are about places, so residents — who see only
their own cases — are refused with the reason. Asking for a compound outside one's place is
refused too (403, saying whose place it is): answering with zeros would read as "nothing
happened there".
"""

from __future__ import annotations

from datetime import datetime

from casework import Clock, NotPermittedError, ValidationError
from casework_web import Principal

from intake.measures.definitions import Measures, compute
from intake.measures.model import MeasuresModel
from intake.places import Places


class MeasuresDesk:
    def __init__(self, model: MeasuresModel, places: Places, clock: Clock) -> None:
        self.model = model
        self.places = places
        self.clock = clock

    def measures(
        self,
        who: Principal,
        *,
        compound: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Measures:
        if who.is_resident:
            raise NotPermittedError(
                "measures are for those who answer for a place (staff, leaders, volunteers, "
                "officers, auditors); residents follow their own cases at /cases"
            )
        place = None if who.is_auditor else who.place
        if place is None and not who.is_auditor:
            raise NotPermittedError(
                f"your token names no place; a {who.actor.role.value} needs one"
            )
        path = self.compound_path(compound) if compound is not None else None
        if path is not None and place is not None and not _overlap(place, path):
            raise NotPermittedError(
                f"a {who.actor.role.value} of {place} does not see the measures of {path}"
            )
        if start is not None and end is not None and start >= end:
            raise ValidationError("'from' must be before 'to'")
        cases, tasks = self.model.records(place=place, compound=path, start=start, end=end)
        return compute(
            cases,
            tasks,
            self.clock(),
            scope=place or "all",
            compound=path,
            start=start,
            end=end,
        )

    def compound_path(self, compound: str) -> str:
        """`community/compound` for a compound id or path the places registry knows."""
        given = compound.strip().strip("/")
        if "/" in given:
            address = self.places.check_path(given)
            if address.building is not None:
                raise ValidationError(
                    f"{given!r} is a building; give a compound id or community/compound"
                )
            return address.path
        matches = [
            f"{community.id}/{given}"
            for community in self.places.communities.values()
            if given in community.compounds
        ]
        if not matches:
            known = sorted(
                f"{c.id}/{k}" for c in self.places.communities.values() for k in c.compounds
            )
            raise ValidationError(f"no compound {given!r} is registered; known: {', '.join(known)}")
        if len(matches) > 1:
            raise ValidationError(
                f"compound id {given!r} is in several communities; give one of "
                + ", ".join(matches)
            )
        return matches[0]


def _overlap(place: str, compound_path: str) -> bool:
    """A place and a compound overlap when one path lies within the other."""
    mine, theirs = place.split("/"), compound_path.split("/")
    shorter = min(len(mine), len(theirs))
    return mine[:shorter] == theirs[:shorter]
