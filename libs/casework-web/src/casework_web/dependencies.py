"""The one way a route reaches its service's running parts (ADR 009).

Each service keeps its `Runtime` on `app.state.runtime` (set by its lifespan) and declares, in its
`api/deps.py`, ``Rt = Annotated[Runtime, Depends(runtime_of(Runtime))]``; a route then asks for
``rt: Rt``. One generic helper rather than three hand-written copies that drifted apart
(`runtime(request)`, `rt_of(request)`), and the type check makes a wrong wiring fail at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

T = TypeVar("T")


def runtime_of(kind: type[T]) -> Callable[[Request], T]:
    """A FastAPI dependency that returns the app's runtime, checked to be a `kind`."""

    def runtime(request: Request) -> T:
        found = getattr(request.app.state, "runtime", None)
        if not isinstance(found, kind):
            raise RuntimeError(
                f"app.state.runtime is {type(found).__name__}, not {kind.__name__}: "
                "the app's lifespan sets it before the first request"
            )
        return found

    runtime.__name__ = f"runtime_of_{kind.__name__}"
    return runtime


def runtime_dependency(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """`runtime_of` as a route's dependency: `async`, because reading an attribute does not
    block, and a plain `def` dependency costs every request a hop to a worker thread and back
    (issue 16). `runtime_of` stays the plain function to call from code that is not a route."""
    find = runtime_of(kind)

    async def runtime(request: Request) -> T:
        return find(request)

    runtime.__name__ = f"runtime_of_{kind.__name__}"
    return runtime
