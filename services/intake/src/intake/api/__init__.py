"""The intake's HTTP API, laid out as ADR 009 (and the FastAPI full-stack template) say.

- `app`: `create_app`, the web standard (`casework_web.install`), the routers, readiness and the
  lifespan that builds, starts and closes the `Runtime` (`intake.runtime`);
- `deps`: what every route needs: `Rt` (the runtime), the path parameters, `OnCase` (the start
  of a command on one case);
- `routes/`: one router per resource (`cases`, `measures`); the web pages are `intake.web`;
- `presenters`: the domain's objects as response models, and what a caller may see of them.

Nothing is imported here, so that `intake.web` (which needs `deps`) can be imported first too:
import `create_app` from `intake.api.app`.
"""
