"""The HTTP API for mediators, as the FastAPI full-stack template lays it out (ADR 009).

`app` (`create_app`: the web standard, the routers, readiness, the lifespan), `deps` (what every
route needs: the runtime `Rt`, the counters, the path parameters), `routes/` (one router per
resource: the worklist, a dispute, its meetings, the rules), `presenters` (domain objects to
response models) and `metrics` (the service's counters).
"""

from mediation.api.app import create_app

__all__ = ["create_app"]
