"""The intake's own metrics, on top of the request metrics every service has (casework_web).

Logs, request ids and the request metrics themselves are `casework_web`'s; only what counts
intake work lives here.
"""

from __future__ import annotations

import casework_web
from prometheus_client import Counter


class Metrics(casework_web.Metrics):
    def __init__(self) -> None:
        super().__init__("intake")
        self.reported = Counter(
            "intake_cases_reported_total",
            "Reports taken, by kind and outcome (opened, linked, already_reported)",
            ["kind", "outcome"],
            registry=self.registry,
        )
