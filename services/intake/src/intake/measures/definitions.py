"""What each measure means, as code: rows of the read model in, `Measures` out.

The definitions are written out for people in docs/MEASURES.md; this module is their one
implementation, a pure function of the rows and of `now` (the moment the measures are taken), so
the API, the dashboard and `casework measures` can never disagree. Every rate carries its
numerator and denominator: a rate with nothing to count is `None`, never a made-up 0 or 100%.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

from casework import Tier
from casework.kinds import kind_names
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from intake.measures.model import CaseRecord, TaskRecord, from_us, to_us

TIERS = tuple(t.value for t in Tier)

SATISFIED_AT = 4
"""A rating of 4 or 5 (of 5) is "satisfied" (满意): the satisfaction rate's numerator."""

RED_ON_TIME_SHARE = 0.8
RED_MIN_RATING = 4.0
BLACK_ON_TIME_SHARE = 0.5
BLACK_MAX_RATING = 3.0
BLACK_MIN_DECLINED = 2
"""The service board's (红黑榜) thresholds; docs/MEASURES.md says why these."""

_MINUTE_US = 60_000_000


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Rate(Model):
    """`numerator / denominator`, or None when there is nothing to count yet."""

    numerator: int = Field(ge=0)
    denominator: int = Field(ge=0)
    value: float | None = Field(default=None, ge=0, le=1)

    @classmethod
    def of(cls, numerator: int, denominator: int) -> Rate:
        return cls(
            numerator=numerator,
            denominator=denominator,
            value=numerator / denominator if denominator else None,
        )


class TierShare(Model):
    tier: str
    count: int = Field(ge=0)
    share: float | None = Field(default=None, ge=0, le=1)


class Overdue(Model):
    """An open case past a deadline recorded on it (for the tier it is at now)."""

    case_id: str
    kind: str
    priority: str
    address: str
    tier: str
    overdue: list[Literal["respond", "settle"]]
    deadline: datetime = Field(description="the earliest deadline passed")
    late_minutes: int = Field(ge=0, description="whole minutes since that deadline")


class VolunteerRecord(Model):
    """One volunteer's line on the service board (红黑榜)."""

    volunteer_id: str
    tasks: int = Field(ge=0, description="assignments taken")
    declined: int = Field(ge=0)
    done: int = Field(ge=0, description="work done (repair) or water stopped (leak) by them")
    done_on_time: int = Field(ge=0, description="done by the settle deadline then in force")
    reopened: int = Field(ge=0, description="done, then the resident reopened the case")
    ratings: int = Field(ge=0, description="residents' ratings of cases they did the work on")
    average_rating: float | None = Field(default=None, ge=1, le=5)
    board: Literal["red", "black"] | None = Field(
        default=None, description="red (红榜), black (黑榜) or neither"
    )


class Measures(Model):
    """The measures of the cases reported in [from, to) in a scope, taken at `as_of`."""

    scope: str = Field(description="'all', or the place the reader answers for")
    compound: str | None = None
    from_: datetime | None = Field(
        default=None,
        validation_alias=AliasChoices("from", "from_"),
        serialization_alias="from",
    )
    to: datetime | None = None
    as_of: datetime = Field(description="when open and overdue were judged")
    cases: int = Field(ge=0, description="cases reported in the window")
    open: int = Field(ge=0, description="of those, not settled now")
    open_by_kind_tier: dict[str, dict[str, int]] = Field(
        description="open cases by kind, then by the tier they are at now"
    )
    overdue: list[Overdue]
    response: Rate = Field(description="响应率: first response by its deadline")
    resolution: Rate = Field(description="解决率: settled now, of all reported")
    satisfaction: Rate = Field(description="满意率: rated 4 or 5, of all rated")
    average_rating: float | None = Field(default=None, ge=1, le=5)
    settled_by_tier: list[TierShare] = Field(description="where the settled cases were settled")
    reopened: int = Field(ge=0, description="cases reopened at least once")
    median_minutes_to_first_response: float | None = None
    median_minutes_to_settle: float | None = None
    volunteers: list[VolunteerRecord]


def compute(
    cases: Sequence[CaseRecord],
    tasks: Iterable[TaskRecord],
    now: datetime,
    *,
    scope: str = "all",
    compound: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Measures:
    """The measures of these cases (already filtered to the window and scope) at `now`."""
    now_us = to_us(now)
    open_cases = [c for c in cases if not c.settled]
    settled = [c for c in cases if c.settled]
    by_kind_tier = {kind: dict.fromkeys(TIERS, 0) for kind in kind_names()}
    for case in open_cases:
        by_kind_tier.setdefault(case.kind, dict.fromkeys(TIERS, 0))
        by_kind_tier[case.kind][case.tier] = by_kind_tier[case.kind].get(case.tier, 0) + 1

    due = [c for c in cases if responded(c) or past(c.first_respond_by, now_us)]
    on_time = [c for c in due if responded_on_time(c)]
    rated = [c for c in cases if c.rating is not None]
    satisfied = [c for c in rated if (c.rating or 0) >= SATISFIED_AT]
    tier_counts = dict.fromkeys(TIERS, 0)
    for case in settled:
        assert case.settled_tier is not None
        tier_counts[case.settled_tier] = tier_counts.get(case.settled_tier, 0) + 1

    return Measures(
        scope=scope,
        compound=compound,
        from_=start,
        to=end,
        as_of=now,
        cases=len(cases),
        open=len(open_cases),
        open_by_kind_tier=by_kind_tier,
        overdue=sorted(
            (o for o in (overdue(c, now_us) for c in open_cases) if o is not None),
            key=lambda o: (-o.late_minutes, o.case_id),
        ),
        response=Rate.of(len(on_time), len(due)),
        resolution=Rate.of(len(settled), len(cases)),
        satisfaction=Rate.of(len(satisfied), len(rated)),
        average_rating=_mean(c.rating for c in rated if c.rating is not None),
        settled_by_tier=[
            TierShare(
                tier=tier,
                count=count,
                share=count / len(settled) if settled else None,
            )
            for tier, count in tier_counts.items()
        ],
        reopened=sum(1 for c in cases if c.reopened),
        median_minutes_to_first_response=_median_minutes(
            c.first_response_at - c.reported_at for c in cases if c.first_response_at is not None
        ),
        median_minutes_to_settle=_median_minutes(
            c.settled_at - c.reported_at for c in settled if c.settled_at is not None
        ),
        volunteers=board(cases, tasks),
    )


def past(deadline: int | None, now_us: int) -> bool:
    """A deadline has passed once the moment is strictly after it (as the scheduler judges)."""
    return deadline is not None and now_us > deadline


def responded(case: CaseRecord) -> bool:
    return case.first_response_at is not None


def responded_on_time(case: CaseRecord) -> bool:
    """First response at or before the first-response deadline recorded with the report."""
    return (
        case.first_response_at is not None
        and case.first_respond_by is not None
        and case.first_response_at <= case.first_respond_by
    )


def settled_at_tier_in_substance(case: CaseRecord) -> bool:
    """A leak's water stopped, a dispute agreed: settled in time at its tier as the ladder judges
    it, before the case is resolved. The domain's `settled_at_this_tier_in_time`, on the row."""
    return (case.kind == "leak" and case.water_stopped_at is not None) or (
        case.kind == "dispute" and case.agreed
    )


def awaits_response_at_tier(case: CaseRecord) -> bool:
    """Nobody has answered at the tier the case is at since it entered it (reported, climbed or
    reopened), and its substance is not settled there either. The domain's
    `Case.awaits_response_at_tier`, on the row."""
    return case.responded_at_tier is None and not settled_at_tier_in_substance(case)


def overdue(case: CaseRecord, now_us: int) -> Overdue | None:
    """Past the deadlines of the tier it is at: no response at this tier yet, or not settled in
    time. Each tier a case enters owes its own response, as the ladder's scheduler judges it.

    A leak whose water is stopped, or a dispute agreed, is settled in time at its tier, as the
    ladder judges it: neither is overdue to settle, though it is not yet resolved.
    """
    if case.settled:
        return None
    late: list[Literal["respond", "settle"]] = []
    deadlines: list[int] = []
    if awaits_response_at_tier(case) and past(case.respond_by, now_us):
        assert case.respond_by is not None
        late.append("respond")
        deadlines.append(case.respond_by)
    if not settled_at_tier_in_substance(case) and past(case.settle_by, now_us):
        assert case.settle_by is not None
        late.append("settle")
        deadlines.append(case.settle_by)
    if not late:
        return None
    first = min(deadlines)
    return Overdue(
        case_id=case.case_id,
        kind=case.kind,
        priority=case.priority,
        address=case.address,
        tier=case.tier,
        overdue=late,
        deadline=from_us(first),
        late_minutes=(now_us - first) // _MINUTE_US,
    )


def board(cases: Iterable[CaseRecord], tasks: Iterable[TaskRecord]) -> list[VolunteerRecord]:
    """The service board: every volunteer who took a task on these cases, best record first."""
    ratings = {c.case_id: c.rating for c in cases}
    taken: dict[str, list[TaskRecord]] = defaultdict(list)
    for task in tasks:
        if task.assignee_role == "volunteer" and task.case_id in ratings:
            taken[task.assignee_id].append(task)
    records = []
    for volunteer, own in taken.items():
        done = [t for t in own if t.done_at is not None]
        rated_cases = {t.case_id for t in done if ratings[t.case_id] is not None}
        scores = [ratings[case_id] for case_id in sorted(rated_cases)]
        record = VolunteerRecord(
            volunteer_id=volunteer,
            tasks=len(own),
            declined=sum(1 for t in own if t.declined_at is not None),
            done=len(done),
            done_on_time=sum(1 for t in done if t.done_on_time),
            reopened=sum(1 for t in done if t.reopened_after_done),
            ratings=len(scores),
            average_rating=_mean(s for s in scores if s is not None),
        )
        records.append(record.model_copy(update={"board": board_mark(record)}))
    return sorted(
        records,
        key=lambda r: (_BOARD_ORDER[r.board], -r.done, -(r.average_rating or 0), r.volunteer_id),
    )


_BOARD_ORDER = {"red": 0, None: 1, "black": 2}


def board_mark(record: VolunteerRecord) -> Literal["red", "black"] | None:
    """红榜: reliable and well rated; 黑榜: late, badly rated, or turning work down."""
    on_time_share = record.done_on_time / record.done if record.done else None
    if (
        (on_time_share is not None and on_time_share < BLACK_ON_TIME_SHARE)
        or (record.average_rating is not None and record.average_rating < BLACK_MAX_RATING)
        or (record.declined >= BLACK_MIN_DECLINED and record.declined > record.done)
    ):
        return "black"
    if (
        on_time_share is not None
        and on_time_share >= RED_ON_TIME_SHARE
        and (record.average_rating is None or record.average_rating >= RED_MIN_RATING)
        and record.reopened == 0
    ):
        return "red"
    return None


def _mean(values: Iterable[int]) -> float | None:
    numbers = list(values)
    return sum(numbers) / len(numbers) if numbers else None


def _median_minutes(durations: Iterable[int]) -> float | None:
    minutes = [d / _MINUTE_US for d in durations]
    return float(statistics.median(minutes)) if minutes else None
