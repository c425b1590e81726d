"""(集中充电棚选址·三四个回合) 万鑫国际: trailing cables (飞线) from the flats to charge e-bikes.
Where the three charging sheds go is chosen over three rounds of consultation, six candidate
sites narrowed by tallies to three; the developer pays."""

from __future__ import annotations

from datetime import datetime, timedelta

from casework.domain.actors import Actor, Role
from casework.stories.steps import (
    Agree,
    At,
    Commitment,
    Convene,
    HoldRound,
    ReportDispute,
    Resolve,
    Seat,
    Step,
    Story,
)
from casework.stories.when import CHINA, minutes

WANXIN = "jiayu-xx/wanxin-intl"
RESIDENT = Actor("resident-wanxin-b7-0601", Role.RESIDENT)
SECRETARY = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
COMMITTEE = Actor("owners-committee-wanxin", Role.OWNERS_COMMITTEE)
MANAGER = Actor("property-manager-wanxin", Role.PROPERTY_MANAGER)
SITES = tuple(
    f"site {n}"
    for n in (
        "A by the main gate",
        "B behind building 9",
        "C by the east wall",
        "D in the old bike park",
        "E by the clubhouse",
        "F under building 30",
    )
)
A, B, C, D, E, F = SITES
REPORTED_AT = datetime(2021, 6, 1, 20, 0, tzinfo=CHINA)
ROUNDS: tuple[tuple[str, str, dict[str, int], tuple[str, ...]], ...] = (
    (
        "evening_courtyard_talk",
        "the courtyard by building 9",
        {A: 212, B: 180, C: 95, D: 160, E: 41, F: 58},
        SITES,
    ),
    (
        "door_to_door",
        "door to door in buildings 1-62",
        {A: 402, B: 366, D: 311, C: 120},
        (A, B, C, D),
    ),
    ("opinion_collection", "the owners' WeChat group", {A: 689, B: 602, D: 571}, (A, B, D)),
)
CHOSEN = tuple(ROUNDS[-1][2])


def _rounds() -> tuple[Step, ...]:
    """One meeting a day, each a round of the consultation; the last one agrees."""
    steps: list[Step] = []
    for number, (form, place, tally, options) in enumerate(ROUNDS, 1):
        meeting = f"round {number}"
        when = REPORTED_AT + timedelta(days=number, hours=-0.5)
        steps += [
            Convene(
                "sheds",
                meeting,
                SECRETARY,
                form,
                when,
                place,
                (Seat.of(SECRETARY), Seat.of(COMMITTEE), Seat.of(MANAGER)),
            ),
            At(when),
            HoldRound(
                "sheds",
                meeting,
                SECRETARY,
                (SECRETARY.id, COMMITTEE.id, MANAGER.id),
                "agreed" if number == len(ROUNDS) else "progress",
                options=options,
                tally=tally,
                note=f"round {number} of the consultation",
            ),
            minutes(60),
        ]
    return tuple(steps)


STORY = Story(
    "the charging-shed consultation (集中充电棚选址·三四个回合)",
    (
        At(REPORTED_AT),
        ReportDispute(
            "sheds",
            RESIDENT,
            WANXIN,
            "楼道里私拉乱接的飞线给电动车充电，既难看又不安全 — "
            "trailing cables from the flats to charge e-bikes: ugly and unsafe",
            "ev_charging",
            ("e-bike owners", "ground-floor households"),
            channel="talk_meeting",
            contact="13707070601",
        ),
        minutes(10),
        *_rounds(),
        Agree(
            "sheds",
            f"round {len(ROUNDS)}",
            SECRETARY,
            (f"charging sheds at {', '.join(CHOSEN)}", "no more cables from the flats"),
            (Commitment(MANAGER.id, "have the developer build the three sheds", "2021-07-04"),),
            "chosen over three rounds; the last tally is in the case file",
        ),
        minutes(5),
        Resolve("sheds", SECRETARY, "three sites chosen; the developer pays for the sheds"),
    ),
    shows=("sheds",),
)
