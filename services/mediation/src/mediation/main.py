"""The `casework-mediation` console script: serve the mediators' API, or make an access token.

    casework-mediation --port 8002                  serve (reads CASEWORK_STORE, NATS_URL)
    casework-mediation token --actor ID --role ROLE [--place PATH]
                                                    make a token; printed on the last line;
        [--expires-in 90d | --expires-at T | --no-expiry]   it expires in 90 days unless told

Tokens live in the file every Casework service shares (`CASEWORK_TOKENS_FILE`, default
var/tokens.json), which keeps only each token's SHA-256. Flags, settings errors, port 0 and
logs: `run_service`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from casework_web.service_main import run_service

from mediation.api import create_app
from mediation.config import Settings

DESCRIPTION = (
    "The Casework mediation service: meetings, rounds, agreements, escalations and the "
    "mediators' worklist over HTTP; reacts to dispute events over NATS."
)


def main(argv: Sequence[str] | None = None) -> int:
    return run_service("mediation", create_app, Settings, argv, description=DESCRIPTION)


if __name__ == "__main__":
    sys.exit(main())
