"""`casework person export PERSON_ID`, `casework person erase PERSON_ID --reason --actor`, and
`casework person migrate` (once, for a store written before personal data was sealed).

The data protection officer's commands (PIPL arts. 45 and 47), on the store named by
`CASEWORK_STORE` with the master key of `CASEWORK_MASTER_KEY` (or the key file): `export`
prints, as JSON, every fact kept about the person across all case files, opened; `erase`
records the erasure (who, whom, when, why) and destroys the person's keys, after which export
says when and by whom they were erased and their values read `[erased]`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    person = subparsers.add_parser(
        "person",
        help="a person's data across every case file: export it, or erase it (PIPL)",
        description="What is kept about one person (export), and erasing it (erase).",
    )
    actions = person.add_subparsers(dest="person_command", required=True, metavar="ACTION")

    exporting = actions.add_parser(
        "export",
        help="every fact about the person, as JSON, opened (or [erased] after an erasure)",
    )
    exporting.add_argument("person_id", metavar="PERSON_ID")
    exporting.set_defaults(handler=run_export, reads_store=True)

    erasing = actions.add_parser(
        "erase",
        help="record the erasure and destroy the person's keys (cannot be undone)",
        description="Record who erases whom, when and why, then destroy the person's data "
        "keys: every value sealed under them reads [erased] from then on, in the store, its "
        "backups and the stream. The hash chains still verify.",
    )
    erasing.add_argument("person_id", metavar="PERSON_ID")
    erasing.add_argument("--reason", required=True, help="why (e.g. the request's reference)")
    erasing.add_argument(
        "--actor", required=True, metavar="ID", help="the data protection officer's id"
    )
    erasing.set_defaults(handler=run_erase, reads_store=True)

    migrating = actions.add_parser(
        "migrate",
        help="seal the personal data of a store written before it was sealed (once; recorded)",
        description="Rewrite each case file whose personal values are in plaintext: seal them, "
        "recompute its hashes, keep each old and new hash (so anchors written before still "
        "verify). A case that does not verify is left as it is and named (exit 3). Prints each "
        "case's old and new head: keep them with your anchors. Run it before the notary first "
        "runs on the store: a case the transparency log holds already is refused (exit 2, "
        "nothing rewritten) unless --rewrites-logged-cases.",
    )
    migrating.add_argument(
        "--rewrites-logged-cases",
        action="store_true",
        help="rewrite cases the transparency log holds already, accepting that every "
        "checkpoint, old or new, reports them as changed from then on (docs/adr/014); each "
        "such case is named on stderr",
    )
    migrating.set_defaults(handler=run_migrate, reads_store=True)


def run_export(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.outages import one_shot_env
    from casework.privacy import privacy_for
    from casework.privacy.people import export

    with Casework(env=one_shot_env(), read_only=True) as app:
        report = export(app, privacy_for(app), args.person_id)
    print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    return 0


def run_erase(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.domain.actors import Actor, Role
    from casework.outages import one_shot_env
    from casework.privacy import privacy_for
    from casework.privacy.people import erase

    actor = Actor(args.actor, Role.DATA_PROTECTION_OFFICER)
    with Casework(env=one_shot_env()) as app:
        erasure = erase(app, privacy_for(app), args.person_id, actor, args.reason)
    document = {
        "person_id": erasure.person_id,
        "erased_at": erasure.at.isoformat(),
        "by": {"id": erasure.actor_id, "role": erasure.actor_role},
        "reason": erasure.reason,
        "case_ids": list(erasure.case_ids),
    }
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.commands.audit import EXIT_TAMPERED
    from casework.outages import one_shot_env
    from casework.privacy import privacy_for
    from casework.privacy.migration import migrate

    with Casework(env=one_shot_env()) as app:
        done = migrate(app, privacy_for(app), rewrites_logged_cases=args.rewrites_logged_cases)
    for m in done:
        if m.logged:
            print(
                f"casework: rewrote case {m.case_id}, which the transparency log holds: every "
                "checkpoint will report it as changed",
                file=sys.stderr,
            )
    print(
        json.dumps(
            [
                {
                    "case_id": str(m.case_id),
                    "events": m.events,
                    "old_head": m.old_head,
                    "new_head": m.new_head,
                    "changed": m.changed,
                    "logged": m.logged,
                    "problem": m.problem,
                }
                for m in done
            ],
            indent=2,
        )
    )
    return EXIT_TAMPERED if any(m.problem for m in done) else 0
