"""A person across every case file, at the residents' front door: their export, their erasure.

The library does the work (`casework.privacy.people`: export reads every case file and opens
what is the person's; erase records who erased whom, when and why, then destroys their keys);
this module decides who may ask. A person may see what is kept about themself (PIPL art. 45);
a data protection officer may see anyone's and erase anyone (art. 47); nobody else may do
either, auditors included (they read `[personal]`). An export walks the whole store: it answers
a rare request, not a page view.
"""

from __future__ import annotations

from casework import Casework, NotPermittedError, Role
from casework.domain.people import Erasure
from casework.privacy.people import PersonReport, erase, export
from casework_web import Principal

ONLY_THEMSELF = (
    "only the person themself or a data protection officer may see what is kept about "
    "{person}; sign in as that person, or ask your data protection officer"
)
ONLY_DPO = (
    "only a data protection officer erases a person (PIPL art. 47); a resident asks theirs, "
    "who uses a token made with `casework-token make --role data_protection_officer`"
)


class People:
    def __init__(self, app: Casework) -> None:
        self.app = app

    def export(self, who: Principal, person_id: str) -> PersonReport:
        if who.actor.id != person_id and who.actor.role is not Role.DATA_PROTECTION_OFFICER:
            raise NotPermittedError(ONLY_THEMSELF.format(person=person_id))
        return export(self.app, self.app.privacy, person_id)

    def erase(self, who: Principal, person_id: str, reason: str) -> Erasure:
        if who.actor.role is not Role.DATA_PROTECTION_OFFICER:
            raise NotPermittedError(ONLY_DPO)
        return erase(self.app, self.app.privacy, person_id, who.actor, reason)
