"""Showing the events a service's read models passed over: on `/readyz` and as a gauge.

A read model that meets an event it cannot apply records it and goes on
(`casework.projections.skipped`); an operator learns of it here: the count and the latest few on
`/readyz` (the service stays ready: everything else is applied), and
`<service>_unapplied_events{read_model}` for an alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from casework.projections.skipped import SkippedEvent
from fastapi import FastAPI
from prometheus_client import Gauge
from pydantic import BaseModel, Field

from casework_web.observability import Metrics


class HoldsSkipped(Protocol):
    def skipped(self, limit: int = 20) -> list[SkippedEvent]: ...

    def skipped_count(self) -> int: ...


class UnappliedEvent(BaseModel):
    read_model: str
    case_id: str = Field(description="the case (or other aggregate) the event belongs to")
    version: int = Field(description="the event's version in its case file")
    event: str
    error: str = Field(description="why it could not be applied")


class Unapplied(BaseModel):
    """The `/readyz` fields every service with read models adds."""

    unapplied_events: int = Field(
        default=0,
        description="events in the store a read model could not apply and passed over "
        "(it applied everything else); rebuild after fixing the cause",
    )
    unapplied: list[UnappliedEvent] = Field(
        default_factory=list, description="the latest of them, per read model, newest first"
    )


def unapplied(models: Mapping[str, HoldsSkipped], limit: int = 10) -> Unapplied:
    events: list[UnappliedEvent] = []
    for name, model in models.items():
        events += [UnappliedEvent(read_model=name, **vars(s)) for s in model.skipped(limit=limit)]
    return Unapplied(
        unapplied_events=sum(m.skipped_count() for m in models.values()), unapplied=events
    )


def watch_unapplied(metrics: Metrics, counts: Mapping[str, Callable[[], int]]) -> Gauge:
    """`<service>_unapplied_events{read_model}`, read from each read model at every scrape."""
    gauge = Gauge(
        f"{metrics.service}_unapplied_events",
        "Events a read model could not apply and passed over (details on /readyz)",
        ["read_model"],
        registry=metrics.registry,
    )
    for name, count in counts.items():
        gauge.labels(read_model=name).set_function(count)
    return gauge


class HoldsReadModels(Protocol):
    """A service's runtime: its read models by name, for `/readyz` and the gauge."""

    def read_models(self) -> Mapping[str, HoldsSkipped]: ...


def watch_runtime(metrics: Metrics, app: FastAPI, names: Sequence[str]) -> Gauge:
    """`watch_unapplied` for the read models `names` of the app's running runtime
    (`app.state.runtime.read_models()`, see `casework_web.lifespan`); 0 before it has started."""

    def count(name: str) -> Callable[[], int]:
        def skipped() -> int:
            runtime: HoldsReadModels | None = getattr(app.state, "runtime", None)
            return runtime.read_models()[name].skipped_count() if runtime is not None else 0

        return skipped

    return watch_unapplied(metrics, {name: count(name) for name in names})


def in_memory(skipped: Sequence[SkippedEvent]) -> HoldsSkipped:
    """A read model held in memory (dispatch's board) shown the same way."""

    class Held:
        def skipped(self, limit: int = 20) -> list[SkippedEvent]:
            return list(reversed(skipped))[:limit]

        def skipped_count(self) -> int:
            return len(skipped)

    return Held()
