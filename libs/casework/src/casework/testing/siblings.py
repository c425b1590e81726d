"""Load a test's helper module from its file.

Tests are not a package under pytest's `--import-mode=importlib`, so `import test_relay` does not
work from a neighbouring test module, nor does importing a script kept beside the docs; these load
the file from its path instead, freshly executed each call.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def module_from_path(path: Path, name: str, *, register: bool = False) -> ModuleType:
    """Execute the Python file at `path` as module `name`.

    `register` puts it in `sys.modules` first (where `name` is not taken yet), for modules whose
    objects must be found by name again, e.g. dataclasses or pickles.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a module")
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def sibling(test_file: str, name: str) -> ModuleType:
    """The test module `name`.py beside `test_file` (pass `__file__`): `casework_tests_<name>`."""
    return module_from_path(Path(test_file).with_name(f"{name}.py"), f"casework_tests_{name}")
