"""The service's Prometheus counters, beside the request metrics every Casework service has.

One `MediationMetrics` per app, made by `create_app` and kept by `casework_web.install` on
`app.state.casework_web`; routes reach it through the `Meters` dependency (`api/deps.py`).
"""

from __future__ import annotations

from casework_web import Metrics
from prometheus_client import Counter


class MediationMetrics(Metrics):
    def __init__(self) -> None:
        super().__init__("mediation")
        self.meetings = Counter(
            "mediation_meetings_convened_total",
            "Meetings convened, by form and tier",
            ["form", "tier"],
            registry=self.registry,
        )
        self.meeting_changes = Counter(
            "mediation_meetings_changed_total",
            "Meetings rescheduled, cancelled or with people invited",
            ["change"],
            registry=self.registry,
        )
        self.leads = Counter(
            "mediation_leads_total",
            "Lead mediators recorded: taken by themselves, or named by the tier's head",
            ["how"],
            registry=self.registry,
        )
        self.rounds = Counter(
            "mediation_rounds_total",
            "Rounds recorded, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.escalations = Counter(
            "mediation_escalations_total",
            "Escalations a mediator asked for, by grounds",
            ["grounds"],
            registry=self.registry,
        )
        self.agreements = Counter(
            "mediation_agreements_total",
            "Agreements recorded, by tier",
            ["tier"],
            registry=self.registry,
        )
