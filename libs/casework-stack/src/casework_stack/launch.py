"""`python -m casework_stack.launch NAME MODULE:FUNCTION ARGS…`: run a service's console script.

The stack starts each service through the `casework-<name>` console-script entry point its
package declares (found with importlib.metadata, so no PATH lookup and no reliance on a
`__main__` block), with `sys.argv[0]` set to the script's name so its help and errors read as
if run by hand.

Every line a child writes to its log is one JSON object (`casework.logs`): logging is set up
before the service's code runs, and whatever it still prints (a settings error at start) is
wrapped the same way. (The relay, `casework relay`, sets up the same JSON logging itself and
logs its last words rather than printing them.)
"""

from __future__ import annotations

import importlib
import sys

from casework.logs import capture_stray_output, configure_logging


def main() -> int:
    if len(sys.argv) < 3 or ":" not in sys.argv[2]:
        print("usage: python -m casework_stack.launch NAME MODULE:FUNCTION [ARGS...]")
        return 2
    name, target = sys.argv[1], sys.argv[2]
    configure_logging()
    capture_stray_output()
    module, function = target.split(":", 1)
    sys.argv = [name, *sys.argv[3:]]
    code = getattr(importlib.import_module(module), function)()
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
