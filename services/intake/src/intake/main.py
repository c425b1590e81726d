"""The `casework-intake` console script: serve the API, or make an access token.

    casework-intake --port 8000                     serve (reads CASEWORK_STORE, NATS_URL)
    casework-intake token --actor ID --role ROLE [--place PATH]
                                                    make a token; printed on the last line;
        [--expires-in 90d | --expires-at T | --no-expiry]   it expires in 90 days unless told
    casework-intake measures [--compound C] [--from T] [--to T] [--json] [--rebuild]
                                                    the measures (also `casework measures`)
    casework-intake contacts import [--forget-unknown]
                                                    move intake.db's old contacts into the
                                                    case files, once (`intake.old_contacts`)

The tokens file keeps only each token's SHA-256: a lost token cannot be shown again, only
replaced by a new one. Flags, settings errors, port 0 and logs: `run_service`; the intake's
`token` also checks the place against the places registry.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from casework import CaseworkError
from casework_web.service_main import Command, run_service
from casework_web.tokens_cli import add_token_arguments, make_token

from intake.api.app import create_app
from intake.commands import add_arguments as add_measures_arguments
from intake.commands import add_contacts_arguments
from intake.config import Settings
from intake.places import Places, PlacesFileError

DESCRIPTION = "The Casework intake service: reports, look-ups and case files over HTTP."


def token(settings: Settings, args: argparse.Namespace) -> int:
    """`casework-token make`, with the place also checked against the places registry."""
    try:
        places = Places.load(settings.places_file)
    except PlacesFileError as error:
        print(f"casework-intake: {error}", file=sys.stderr)
        return 2
    return make_token(
        settings.tokens_path,
        args.actor,
        args.role,
        args.place,
        prog="casework-intake",
        check_place=places.check_scope,
        expiry=args.expiry,
    )


def measures(settings: Settings, args: argparse.Namespace) -> int:
    """`casework measures` or `casework contacts import`, from the intake's script (they read
    their own settings)."""
    del settings
    try:
        code: int = args.handler(args)
    except (CaseworkError, PlacesFileError) as error:
        print(f"casework-intake: {error}", file=sys.stderr)
        return 2
    return code


COMMANDS = {
    "token": Command(
        "make an access token (casework-token make, checked)", add_token_arguments, token
    ),
    "measures": Command(
        "the measures in the terminal (casework measures)", add_measures_arguments, measures
    ),
    "contacts": Command(
        "move intake.db's old contacts into the case files (casework contacts import)",
        add_contacts_arguments,
        measures,
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    return run_service(
        "intake", create_app, Settings, argv, description=DESCRIPTION, commands=COMMANDS
    )


if __name__ == "__main__":
    sys.exit(main())
