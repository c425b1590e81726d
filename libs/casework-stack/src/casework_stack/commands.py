"""The stack's subcommands of `casework`, registered through the `casework.commands` entry point.

Imports stay inside the handlers: every `casework` invocation (an auditor's `verify` too) loads
this module, and must not pay for FastAPI or the services it never runs.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    pass
