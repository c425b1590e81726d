"""The `casework-dispatch` console script: serve the API and run dispatch's background work.

    casework-dispatch [--host H] [--port P]       serve (reads CASEWORK_STORE, NATS_URL, …):
                                                  the API, the consumer, the scheduler, the queue
    casework-dispatch token --actor ID --role ROLE [--place PATH]
                                                  make an access token (casework-token make;
        [--expires-in 90d | --expires-at T | --no-expiry] 90 days unless told)

Every replica is the same process; run more of them against the same store and NATS to scale.
SIGTERM or Ctrl-C stops it gracefully: the message in hand is finished and acked, the rest is
given back to the other replicas. Flags, settings errors, port 0 and logs: `run_service`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from casework_web.service_main import run_service

from dispatch.api import create_app
from dispatch.config import Settings

DESCRIPTION = (
    "The Casework dispatch service: repairs, leaks and residents' needs to the right hands, "
    "on time, up the ladder when late."
)


def main(argv: Sequence[str] | None = None) -> int:
    return run_service("dispatch", create_app, Settings, argv, description=DESCRIPTION)


if __name__ == "__main__":
    sys.exit(main())
