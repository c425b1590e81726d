"""`GET /people/{id}` (what is kept about a person) and `POST /people/{id}/erasure` (erase them).

Who may: `intake.people`. Same bearer tokens as the case routes; the erasure takes an
`Idempotency-Key` as every POST does (a retry answers the first erasure, not a second one).
"""

from __future__ import annotations

from typing import Annotated

from casework_web import Who, error_responses
from fastapi import APIRouter, Path

from intake.api.deps import Rt
from intake.api.presenters import erasure_public, person_export
from intake.schemas import ErasureIn, ErasurePublic, PersonExport

ID_PATTERN = (
    r"^[^/\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+$"
)
"""Spaces and controls spelled out, not `\\s`: Python's and Rust's `\\s` take U+0085 while a
JSON Schema (ECMA-262) reader's does not, so the document and the server disagreed on it."""

router = APIRouter(prefix="/people", tags=["people"], responses=error_responses(401, 503))
PersonId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=ID_PATTERN,
        description=(
            "the person's id as recorded on their reports (e.g. r-0302): no space of any kind, "
            "slash or control character"
        ),
    ),
]


@router.get(
    "/{person_id}",
    response_model=PersonExport,
    responses=error_responses(403, 422),
    summary="Everything kept about a person, opened (PIPL art. 45)",
    description=(
        "Every personal value of the person across all case files (contacts, descriptions, "
        "comments, notes about them, stated positions, numbers found in other text), each with "
        "its case, version, time and field, and every event they recorded. Enforced: only the "
        "person themself (a token whose actor id is the person id) or a data_protection_officer; "
        "anyone else gets 403. After an erasure the values read [erased] and `erased` says "
        "when, by whom and why. Reads the whole store: a rare request, not a page view."
    ),
)
def get_person(person_id: PersonId, who: Who, rt: Rt) -> PersonExport:
    return person_export(rt.people.export(who, person_id))


@router.post(
    "/{person_id}/erasure",
    response_model=ErasurePublic,
    status_code=201,
    responses=error_responses(400, 403, 409, 422),
    summary="Erase a person: record who, when, why; destroy their keys (PIPL art. 47)",
    description=(
        "Enforced: data_protection_officer only (403 otherwise). Records the erasure (the "
        "officer from the token, the time, the reason, the case files that held the person's "
        "data) on the person's own file, then destroys the person's keys: every value of "
        "theirs reads [erased] from then on, in every case file, the stream and its backups; "
        "every case still verifies. Cannot be undone. Asking again after a complete erasure "
        "records a new one (what was recorded about the person since); an erasure interrupted "
        "between record and key is finished, not recorded twice. Send an Idempotency-Key to "
        "retry safely."
    ),
)
def erase_person(person_id: PersonId, body: ErasureIn, who: Who, rt: Rt) -> ErasurePublic:
    return erasure_public(rt.people.erase(who, person_id, body.reason))
