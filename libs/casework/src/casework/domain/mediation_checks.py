"""The checks a mediation command makes of what it is given: participants and walk-ins, who may
sit at a meeting's round, a round's tally, an agreement's commitments.

Functions of the input and the meeting alone, so `Dispute` keeps only the rules that need the
whole case file. Each raises the domain's `ValidationError` (the input is wrong) or
`InvalidTransitionError` (the input is fine, the case file does not allow it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from casework.domain.actors import Actor, Role
from casework.domain.case import _require_text
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.mediation_records import Meeting
from casework.domain.mediation_rules import (
    COUNTY_DEPARTMENTS,
    COUNTY_SEAT_FORMS,
    MEETING_FORMS,
    ROUND_OUTCOMES,
    check_commitment_due,
    county_department,
)
from casework.domain.places import Tier


def check_participants(raw: list[dict[str, str]]) -> list[Actor]:
    """`[{"id", "role"}]` as actors: known roles, county representatives naming their
    department, nobody listed twice."""
    clean: list[Actor] = []
    for p in raw:
        try:
            actor = Actor(str(p.get("id", "")), Role(p.get("role", "")))
        except ValueError:
            known = ", ".join(role.value for role in Role if role is not Role.SYSTEM)
            raise ValidationError(
                f"participant {p.get('id')!r} has an unknown role {p.get('role')!r}; "
                f"the roles are: {known}"
            ) from None
        if actor.role is Role.COUNTY_REPRESENTATIVE and county_department(actor.id) is None:
            raise ValidationError(
                f"county representative {actor.id!r} must name the department: "
                "'<department>' or '<department>:<person>', department one of "
                + ", ".join(COUNTY_DEPARTMENTS)
            )
        if any(c.id == actor.id for c in clean):
            raise ValidationError(f"participant {actor.id!r} is listed twice")
        clean.append(actor)
    return clean


def check_county_seats(people: Iterable[Actor], tier: Tier, form: str) -> None:
    """County departments sit only at the community's deliberation council."""
    if not any(p.role is Role.COUNTY_REPRESENTATIVE for p in people):
        return
    if tier is not Tier.COMMUNITY:
        raise InvalidTransitionError(
            "county departments sit at the community's deliberation council; escalate first"
        )
    if form not in COUNTY_SEAT_FORMS:
        raise InvalidTransitionError(
            f"county departments are seated at a deliberation council (党群议事会), "
            f"not at a {form} ({MEETING_FORMS[form][0]})"
        )


def check_round(outcome: str, options: list[str], tally: dict[str, int]) -> None:
    """A known outcome; a tally only of the listed options, in whole numbers."""
    if outcome not in ROUND_OUTCOMES:
        raise ValidationError(f"round outcome must be one of {', '.join(ROUND_OUTCOMES)}")
    unknown = set(tally) - set(options)
    if unknown:
        raise ValidationError(f"tally names options not on the list: {', '.join(sorted(unknown))}")
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in tally.values()):
        raise ValidationError("tally counts must be whole numbers, zero or more")


def check_walk_ins(
    meeting_id: str, meeting: Meeting, invited: set[str], raw: list[dict[str, str]]
) -> list[tuple[Actor, str]]:
    """`[{"id", "role", "reason"}]` as (person, reason): people not invited, each with a reason,
    and a county department only at a meeting that seats one."""
    people = check_participants([{"id": w.get("id", ""), "role": w.get("role", "")} for w in raw])
    joining: list[tuple[Actor, str]] = []
    for person, w in zip(people, raw, strict=True):
        if person.id in invited:
            raise ValidationError(
                f"{person.id} was invited to meeting {meeting_id}; list them among the "
                "attendees, not as a walk-in"
            )
        if person.role is Role.COUNTY_REPRESENTATIVE and not meeting.seats_county:
            raise InvalidTransitionError(
                "county departments are seated at a deliberation council (党群议事会) only"
            )
        reason = _require_text(str(w.get("reason", "")), f"the reason {person.id} joined")
        joining.append((person, reason))
    return joining


def check_attendance(
    meeting_id: str, meeting: Meeting, attendees: list[str], invited: set[str], also: set[str]
) -> None:
    """Attendees are named once each and, unless the form is open (`OPEN_FORMS`), are among the
    `invited` or `also` (the recording mediator, the walk-ins)."""
    cleaned = [a.strip() for a in attendees]
    if any(not a for a in cleaned):
        raise ValidationError("an attendee's id is empty")
    doubled = sorted({a for a in cleaned if cleaned.count(a) > 1})
    if doubled:
        raise ValidationError(f"attendees listed twice: {', '.join(doubled)}")
    if not meeting.checks_attendance:
        return
    strangers = [a for a in cleaned if a not in invited | also]
    if strangers:
        raise InvalidTransitionError(
            f"{', '.join(strangers)} {'was' if len(strangers) == 1 else 'were'} not invited "
            f"to meeting {meeting_id} (invited: {', '.join(sorted(invited))})"
            "; name them as walk-ins with the reason they took part, or correct the attendees"
        )


def check_commitments(commitments: list[dict[str, str]], at: datetime) -> list[dict[str, str]]:
    """`[{"who", "what", "due"}]`, each naming who does what, due inside `COMMITMENT_DUE`."""
    clean: list[dict[str, str]] = []
    for c in commitments:
        who, what, due = (str(c.get(k, "")).strip() for k in ("who", "what", "due"))
        if not who or not what:
            raise ValidationError("each commitment names who does what, and by when ('due')")
        check_commitment_due(due, at)
        clean.append({"who": who, "what": what, "due": due})
    return clean
