"""GET /mediation-rules: the tables a client builds its forms from, as the domain enforces them."""

from __future__ import annotations

from fastapi import APIRouter

from mediation.api.presenters import MEDIATION_RULES
from mediation.schemas import MediationRules

router = APIRouter(tags=["rules"])


@router.get(
    "/mediation-rules",
    response_model=MediationRules,
    summary="Meeting forms per tier, who mediates where, matters and the tier that decides them",
)
def mediation_rules() -> MediationRules:
    return MEDIATION_RULES
