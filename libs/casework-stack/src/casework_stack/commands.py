"""The stack's subcommands of `casework`, registered through the `casework.commands` entry point.

The command modules import only the standard library and light parts of the stack at the top;
FastAPI and the services load inside the handlers, so an auditor's `casework verify` does not
pay for what it never runs.
"""

from __future__ import annotations

from typing import Any

from casework_stack.demo import register_demo
from casework_stack.rebuild import register_rebuild
from casework_stack.up import register_up


def register(subparsers: Any) -> None:
    register_up(subparsers)
    register_demo(subparsers)
    register_rebuild(subparsers)
