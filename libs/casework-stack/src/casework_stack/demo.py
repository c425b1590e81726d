"""`casework demo`: the article's stories told to the running services, over HTTP and NATS.

It brings the whole stack up in a fresh demo var dir (`<var>/demo-stack/`, wiped first; free
ports, so it runs beside a `casework up`), gives each person of the stories a token in the
stack's tokens file, and plays the stories (`casework.stories`, listed in `stories.py`, told
by `teller.py`) as those people would: reports to the intake, work through dispatch, meetings
through mediation; whatever a service does by itself on the events it hears over NATS
(assigning a repair, noting a leak's findings on its damage dispute) is waited for, never done
for it. Then, for each case, the case file as the intake's history API returns it
(drawn as a timeline by `casework.timeline`), its verify result, the measures, and the stack
is stopped. The demo's store and logs stay in the demo var dir for a look afterwards.

Output is the same on every run apart from ids, times and hashes. `--in-process` runs the
library's own demo instead (no services: `casework.commands.demo`).
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import time
from pathlib import Path

from casework.files import private_dir

from casework_stack.client import Api, Cast, StepFailedError
from casework_stack.commands import services_from
from casework_stack.progress import Progress
from casework_stack.stack import Ports, Stack, StackConfig, shown_store, sqlite_store
from casework_stack.supervisor import ChildFailedError

EXIT_NOT_INTACT = 3
EXIT_STORY_FAILED = 4


def demo_var_dir(given: Path | None) -> Path:
    if given is not None:
        return given.resolve()
    from casework.settings import var_dir

    return (var_dir() / "demo-stack").resolve()


def run_demo(args: argparse.Namespace) -> int:
    if args.in_process:
        from casework.commands.demo import run_demo as run_in_process

        return run_in_process(args)
    var = demo_var_dir(args.var_dir)
    if var.exists():
        shutil.rmtree(var)
    private_dir(var)
    config = StackConfig(
        var_dir=var,
        store=args.store or sqlite_store(var),
        nats_url=None,
        ports=Ports.free(),
        services=services_from(args),
        ready_timeout=60.0,
        grace=5.0,
        hermetic=True,
    )
    progress = Progress(io.StringIO() if args.quiet else None)
    return play(config, progress)


def play(config: StackConfig, progress: Progress) -> int:
    """Up, the stories, the case files, the measures, down; the exit status."""
    from casework_stack.case_files import print_measures, show_case, wait_read_models
    from casework_stack.scene import Scene
    from casework_stack.stories import STORIES

    began = time.monotonic()
    stack = Stack(config, on_step=progress.step)
    try:
        stack.start()
    except ChildFailedError as error:
        progress.done()
        print(f"casework demo: the stack did not start: {error}", file=sys.stderr)
        return 1
    running = {e.name: e.address for e in stack.endpoints() if e.pid is not None}
    api = Api({name: url for name, url in running.items() if url.startswith("http")})
    cast = Cast(config.var_dir / "tokens.json")
    failures: list[str] = []
    logged = False
    cases = intact = 0
    shown: list[str] = []
    try:
        for story in STORIES:
            missing = [s for s in story.needs if s not in api.urls]
            print(f"=== story ({story.letter}): {story.title} ===")
            if missing:
                line = f"not told: needs {', '.join(missing)}, which is not running"
                print(f"  {line}\n")
                failures.append(f"({story.letter}) {line}")
                continue
            scene = Scene(api, cast, progress, story.letter)
            try:
                case_ids = story.play(scene)
            except Exception as error:  # a story stops; the others are still told
                what = str(error) if isinstance(error, StepFailedError) else repr(error)
                scene.say(f"STOPPED: {what}")
                failures.append(f"({story.letter}) {what}")
                case_ids = scene.cases
            for line in scene.lines:
                print(f"  {line}")
            for case_id in case_ids:
                progress.step(f"story ({story.letter}): reading case file {case_id[:8]}")
                print()
                ok = show_case(api, cast, case_id)
                shown.append(case_id)
                cases += 1
                intact += ok
            print()
        progress.step("waiting for the read models to catch up")
        wait_read_models(api, cast, shown)
        progress.step("reading the measures")
        print_measures(api, cast)
        progress.step("signing a checkpoint of every event and verifying the store against it")
        logged = print_checkpoint(config)
    finally:
        progress.step("stopping the stack")
        api.close()
        codes = stack.stop()
        progress.done(f"[{progress.elapsed():5.1f} s] done: {api.calls} HTTP requests in all")
    not_intact = cases - intact
    status = "all intact" if not not_intact else f"{not_intact} NOT intact"
    print(
        f"demo: {len(STORIES)} stories, {cases} case files, {status} "
        f"(store {shown_store(config.store)}; {time.monotonic() - began:.0f} s)"
    )
    print(f"demo: the services' logs and data stay in {config.var_dir}")
    unclean = {n: c for n, c in codes.items() if c not in (0, None, -15)}
    if unclean:
        print(f"casework demo: services exited uncleanly: {unclean}", file=sys.stderr)
    if failures:
        print("casework demo: not every story could be told:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return EXIT_STORY_FAILED
    return EXIT_NOT_INTACT if not_intact or not logged else 0


def print_checkpoint(config: StackConfig) -> bool:
    """End as an auditor would (docs/adr/014): have the log signed now, so the checkpoint covers
    every event of the stories (the running notary signs only every minute or 1000 events), with
    the stack's own notary key; print it; verify the whole store against it. Whether it held."""
    from casework.application import Casework
    from casework.transparency.chains import ChainWalk
    from casework.transparency.checkpoints import fingerprint, notary_key
    from casework.transparency.notary import Notary
    from casework.transparency.verify import check_store

    key = notary_key({}, config.var_dir)  # the file the stack's notary made, never a real one
    with Casework(config.store) as app:
        checkpoint = Notary(app, key).sign_now()
        walk = ChainWalk()
        result = check_store(app, checkpoint, key.public_key(), walk)
    chains = walk.results()
    print("=== the transparency log (docs/adr/014) ===")
    print(
        f"checkpoint: {checkpoint.size} events, root {checkpoint.root.hex()[:16]}, signed "
        f"{checkpoint.at.isoformat(timespec='seconds')}, key {fingerprint(key.public_key())}"
    )
    intact = sum(r.ok for r in chains)
    print(f"verify --checkpoint: {result.describe()}; {intact} of {len(chains)} case chains intact")
    return result.ok and intact == len(chains)
