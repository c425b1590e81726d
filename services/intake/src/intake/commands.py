"""`casework measures` (and `casework-intake measures`): the measures in the terminal; and
`casework contacts import` (and `casework-intake contacts import`): the one-off move of the
contacts an older intake kept in `intake.db` into their case files (`intake.old_contacts`).

The library's `casework` script finds this through the `casework.commands` entry point of this
package (the library never imports a service). Loaded on every `casework` invocation, so this
module only describes the command; what it runs is imported when it runs.

Like the auditor's other commands it reads the store named by `CASEWORK_STORE` directly, as an
auditor would (every place): it first brings the intake's read models (`var/intake.db`, or
`INTAKE_DB`) up to date from the store — or, with `--rebuild`, rebuilds them from the start.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any


def register(subparsers: Any) -> None:
    measures = subparsers.add_parser(
        "measures",
        help="response, resolution and satisfaction rates, open and overdue cases, the "
        "volunteers' board (from the intake's measures read model)",
        description="Print the measures of the cases reported in [--from, --to) — every place, "
        "or one compound — as the dashboard shows them. Reads CASEWORK_STORE and brings the "
        "intake's read models (var/intake.db, INTAKE_DB) up to date first. Definitions: "
        "docs/MEASURES.md.",
    )
    add_arguments(measures)
    contacts = subparsers.add_parser(
        "contacts",
        help="move the contacts an older intake kept in var/intake.db into their case files",
    )
    add_contacts_arguments(contacts)


def add_contacts_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="contacts_action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "import",
        help="record each contact of intake.db's old contacts table in its case file, then "
        "drop the table",
        description="One-off and idempotent: records each contact of the old `contacts` table "
        "of the intake's SQLite file (var/intake.db, INTAKE_DB) in its case file in "
        "CASEWORK_STORE (Case.ContactGiven, sealed under the reporter's key), then deletes "
        "the table and VACUUMs the file so no plaintext contact stays in it. A row whose case "
        "the store does not know is named and kept (exit 1). Stop the intake first.",
    )
    run.add_argument(
        "--forget-unknown",
        action="store_true",
        help="delete the rows that could not be imported too (after reading why)",
    )
    run.set_defaults(handler=run_contacts_import)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--compound", help="a compound id (wanxin-intl) or community/compound; default: all"
    )
    parser.add_argument(
        "--from",
        dest="start",
        metavar="ISO-TIME",
        help="cases reported at or after, e.g. 2026-11-01T00:00+08:00 (needs a timezone)",
    )
    parser.add_argument(
        "--to", dest="end", metavar="ISO-TIME", help="cases reported before (needs a timezone)"
    )
    parser.add_argument("--json", action="store_true", help="the same JSON as GET /measures")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild the intake's read models from the store first (progress on stderr)",
    )
    parser.set_defaults(handler=run_measures)


def _moment(value: str | None, option: str) -> datetime | None:
    from casework import ValidationError

    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{option} {value!r} is not an ISO 8601 time, e.g. 2026-11-01T00:00+08:00"
        ) from None
    if at.tzinfo is None:
        raise ValidationError(f"{option} {value!r} needs a timezone, e.g. +08:00")
    return at


def run_measures(args: argparse.Namespace) -> int:
    from casework import Actor, Casework, Role, system_clock
    from casework_web import Principal

    from intake.config import Settings
    from intake.feeds import StoreFeed
    from intake.measures.desk import MeasuresDesk
    from intake.measures.model import MeasuresModel
    from intake.measures.rebuild import rebuild
    from intake.measures.text import render
    from intake.places import Places
    from intake.read_model import CaseIndex

    start, end = _moment(args.start, "--from"), _moment(args.end, "--to")
    settings = Settings()
    places = Places.load(settings.places_file)
    # Only reads the store (a missing SQLite store is refused before any read model is made).
    with Casework(settings.store, max_clock_skew=settings.max_clock_skew, read_only=True) as app:
        if args.rebuild:

            def show(reached: int, total: int) -> None:
                print(f"\rrebuilding: {reached}/{total} log entries", end="", file=sys.stderr)

            report = rebuild(app, settings.db_path, progress=show)
            print(
                f"\nrebuilt {', '.join(report.read_models)}: {report.events} events in "
                f"{report.seconds:.2f} s ({report.events_per_second:,.0f} events/s)",
                file=sys.stderr,
            )
        index = CaseIndex(settings.db_path)
        model = MeasuresModel(settings.db_path, beside=index)
        try:
            StoreFeed(app, index, also=[model]).catch_up()
            desk = MeasuresDesk(model, places, system_clock)
            terminal = Principal(Actor("terminal", Role.AUDITOR))
            measures = desk.measures(terminal, compound=args.compound, start=start, end=end)
        finally:
            model.close()
            index.close()
    if args.json:
        print(measures.model_dump_json(by_alias=True, indent=2))
    else:
        print(render(measures))
    return 0


def run_contacts_import(args: argparse.Namespace) -> int:
    from casework import Casework

    from intake.config import Settings
    from intake.old_contacts import import_contacts

    settings = Settings()
    with Casework(settings.store, max_clock_skew=settings.max_clock_skew) as app:
        done = import_contacts(app, settings.db_path, forget_unknown=args.forget_unknown)
    if done.no_table:
        print(f"{settings.db_path}: no old contacts table; nothing to import")
        return 0
    for case_id, reporter_id, why in done.unknown:
        print(f"case {case_id}, reporter {reporter_id}: not imported: {why}", file=sys.stderr)
    print(
        f"{len(done.recorded)} contact(s) recorded in their case files, {len(done.already)} "
        f"there already, {len(done.erased)} of erased people not imported, "
        f"{len(done.unknown)} not imported"
    )
    if done.table_dropped:
        print(f"{settings.db_path}: contacts table dropped and the file vacuumed")
        return 0
    print(
        f"{settings.db_path}: {len(done.unknown)} row(s) kept in the contacts table; "
        "run again once fixed, or with --forget-unknown to delete them",
        file=sys.stderr,
    )
    return 1
