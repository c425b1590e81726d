"""Dispatch's own metrics beside the web standard's: actions and the queue (the unapplied events'
gauge is `casework_web.unapplied.watch_runtime`'s, added by the app).

Beside the runtime rather than in `api/`: the runtime holds them (a route counts its action
on `rt.metrics`), and `runtime.py` must not import the HTTP package."""

from __future__ import annotations

from casework_web import Metrics
from prometheus_client import Counter, Gauge


class DispatchMetrics(Metrics):
    def __init__(self) -> None:
        super().__init__("dispatch")
        self.actions = Counter(
            "dispatch_actions_total",
            "Actions on work through the API, by action",
            ["action"],
            registry=self.registry,
        )
        self.queue_length = Gauge(
            "dispatch_queue_length",
            "Work waiting for someone suitable to be free (as this replica's board sees it)",
            registry=self.registry,
        )
