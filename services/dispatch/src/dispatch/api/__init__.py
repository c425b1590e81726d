"""The HTTP API for the people doing the work, and the roster for the property manager.

Endpoints are plain `def`: eventsourcing is synchronous, so FastAPI runs them in its threadpool.
Auth, errors, request ids, metrics and health come from `casework_web`, like the intake's.

Who sees what: anyone sees the work they hold; staff, managers, party secretaries and community
officers see the work and the roster of the place they answer for; auditors read everything and
change nothing. Work outside your sight answers 404 exactly like an unknown id.

The package, as the FastAPI full-stack template lays it out: `routes/` one router per resource,
`presenters` (domain objects to response models), `access` (who sees and changes what), `deps`
(what every route needs: `Rt`, the path parameters, `acting`), and `app` (`create_app`).
"""

from dispatch.api.app import create_app
from dispatch.board import Board

__all__ = ["Board", "create_app"]
