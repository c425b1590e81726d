"""The `casework-mediation` console script (filled in below, with the API)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    raise SystemExit("casework-mediation: not built yet")


if __name__ == "__main__":
    sys.exit(main())
