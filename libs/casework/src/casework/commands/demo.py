"""`casework demo`: the three stories of the source article, told through the library.

The stories themselves live in `casework.stories` (one module each, as steps); this command
tells them with the in-process teller and prints each case file and whether it verifies, then
signs a checkpoint of every event told and verifies the store against it (docs/adr/014).

(a) the leak from the flat under renovation, (b) the blocked main road settled by a deliberation
council, (c) a repair done by a party-member volunteer. A FakeClock moves the minutes and days
between steps, so the output is the same on every run apart from ids and hashes; the default
store is a fresh SQLite file under `var/demo/`, so runs do not pile up. `CASEWORK_STORE` is
ignored on purpose: a demo must never write its invented cases into a real store.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casework.settings import var_dir

if TYPE_CHECKING:
    from casework.application import Casework

EXIT_NOT_INTACT = 3


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the three stories of the source article and verify their case files",
        description="Run the leak, the blocked main road and the volunteer repair through the "
        "library, print each case file and whether it verifies. Ignores CASEWORK_STORE.",
    )
    demo.add_argument(
        "--in-process",
        action="store_true",
        help="run the stories in this process, through the library (always so here; with the "
        "services installed, plain `casework demo` runs them through the services instead)",
    )
    demo.add_argument(
        "--store",
        metavar="URL",
        help="store to write into (default: a fresh sqlite file under var/demo/, "
        "recreated each run; a store given here is never deleted)",
    )
    demo.set_defaults(handler=run_demo)


# ---------------------------------------------------------------- running


def fresh_demo_store() -> str:
    """The default store: `var/demo/demo.db`, deleted first so every run starts empty."""
    path = var_dir() / "demo" / "demo.db"
    from casework.sqlite_turns import SUFFIX as WRITERS  # the writers' turn file

    for suffix in ("", "-wal", "-shm", "-journal", WRITERS):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_demo(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.clock import FakeClock
    from casework.stories import IN_PROCESS_DEMO
    from casework.stories.in_process import InProcess
    from casework.stories.when import CHINA
    from casework.timeline import render_case_file

    store = args.store or fresh_demo_store()
    clock = FakeClock(datetime(2021, 3, 1, 8, 0, tzinfo=CHINA))
    cases = intact = 0
    with Casework(store, clock=clock) as app:
        teller = InProcess(app, clock)
        for letter, story in zip("abc", IN_PROCESS_DEMO, strict=True):
            told = teller.tell(story)
            print(f"=== story ({letter}): {story.title} ===")
            for note in told.notes:
                print(f"  {note}")
            for case_id in (told.cases[label] for label in story.shows):
                print()
                print(render_case_file(app.history(case_id), app.get_case(case_id).snapshot()))
                result = app.verify(case_id)
                print(f"verify: {result.describe()}")
                cases += 1
                intact += result.ok
            print()
        logged = _checkpoint(app)
    status = "all intact" if intact == cases else f"{cases - intact} NOT intact"
    stories = len(IN_PROCESS_DEMO)
    print(f"demo: {stories} stories, {cases} case files, {status} (store {_shown(store)})")
    return 0 if intact == cases and logged else EXIT_NOT_INTACT


def _checkpoint(app: Casework) -> bool:
    """End as an auditor would: sign a checkpoint of every event told, and verify the store
    against it (docs/adr/014). The key is made for this run only: a demo writes nothing but its
    store, and its invented cases must never be signed with a real notary's key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from casework.transparency.chains import ChainWalk
    from casework.transparency.checkpoints import public_text
    from casework.transparency.notary import Notary
    from casework.transparency.verify import check_store

    key = Ed25519PrivateKey.generate()
    checkpoint = Notary(app, key).checkpoint()
    print(
        f"checkpoint: {checkpoint.size} events, root {checkpoint.root.hex()[:16]}, "
        f"signed {checkpoint.at.isoformat(timespec='minutes')} by {public_text(key.public_key())}"
    )
    walk = ChainWalk()
    result = check_store(app, checkpoint, key.public_key(), walk)
    chains = walk.results()
    print(f"verify --checkpoint: {result.describe()}; {sum(r.ok for r in chains)} chains intact")
    return result.ok and all(r.ok for r in chains)


def _shown(store: str) -> str:
    """The store URL without a password, fit to print."""
    if "@" in store and "://" in store:
        scheme, rest = store.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return store
