"""A case's plain current state: what views show and what replay tests compare.

A function of the aggregate rather than one of its methods so that case.py holds the events and
the rules; `Case.snapshot` calls it, and each kind adds its own part (`kind_snapshot`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casework.domain.case import Case


def snapshot_of(case: Case) -> dict[str, Any]:
    """Plain current state for views and for comparing replays."""
    return {
        "id": str(case.id),
        "kind": case.KIND,
        "version": case.version,
        "address": case.address.path,
        "priority": case.priority.value,
        "tier": case.tier.value,
        "entry_tier": case.entry_tier.value,
        "status": case.status.value,
        "description": case.description,
        "channel": case.channel,
        "reporter_ids": list(case.reporter_ids),
        "reported_at": case.reported_at.isoformat(),
        "respond_by": case.respond_by.isoformat() if case.respond_by else None,
        "settle_by": case.settle_by.isoformat() if case.settle_by else None,
        "acknowledged_at": case.acknowledged_at.isoformat() if case.acknowledged_at else None,
        "responded_at_tier": (
            case.responded_at_tier.isoformat() if case.responded_at_tier else None
        ),
        "accepted_at": case.accepted_at.isoformat() if case.accepted_at else None,
        "queued_at": case.queued_at.isoformat() if case.queued_at else None,
        "assignee": (
            {"id": case.assignee.id, "role": case.assignee.role.value} if case.assignee else None
        ),
        "escalations": case.escalations,
        "settled_tier": case.settled_tier.value if case.settled_tier else None,
        "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "reopen_count": case.reopen_count,
        "satisfaction": case.satisfaction,
        "return_visits": case.return_visits,
        "note_count": case.note_count,
        "links": [{"case_id": c, "relation": r} for c, r in case.links],
        "chain_head": case.chain_head,
        **case.kind_snapshot(),
    }
