"""The library's public surface stays put: `casework.__all__` and `casework.contracts.__all__`
are compared with the checked-in `public_api.txt`, so a name cannot disappear by accident.

Removing one breaks every team that imports it: it is a major version under the version policy
(README "Versions", docs/adr/016) and needs a CHANGELOG entry. Adding one is a minor version:
the list and CHANGELOG.md's Unreleased section say so.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import casework
import pytest

HERE = Path(__file__).resolve().parent
LIBRARY = HERE.parent
LISTED = HERE / "public_api.txt"
MODULES = ("casework", "casework.contracts")


def _listed() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {module: set() for module in MODULES}
    for line in LISTED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            module, name = line.strip().rsplit(".", 1)
            names.setdefault(module, set()).add(name)
    return names


def _exported(module: str) -> list[str]:
    return list(importlib.import_module(module).__all__)


@pytest.mark.parametrize("module", MODULES)
def test_no_public_name_disappears(module: str) -> None:
    gone = sorted(_listed()[module] - set(_exported(module)))
    assert not gone, (
        f"{module}.__all__ lost {', '.join(gone)}: whoever imports them breaks. Removing a public "
        "name is a major version (semantic versioning: README 'Versions', docs/adr/016); if it "
        "is meant, say so under 'Removed' in libs/casework/CHANGELOG.md's Unreleased section "
        "and take it out of libs/casework/tests/public_api.txt"
    )


@pytest.mark.parametrize("module", MODULES)
def test_a_new_public_name_is_listed(module: str) -> None:
    new = sorted(set(_exported(module)) - _listed()[module])
    assert not new, (
        f"{module}.__all__ has new names {', '.join(new)}: add them to "
        "libs/casework/tests/public_api.txt and under 'Added' in CHANGELOG.md's Unreleased "
        "section (a minor version), or keep them out of __all__"
    )


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_is_there_once(module: str) -> None:
    exported = _exported(module)
    found = importlib.import_module(module)
    assert len(exported) == len(set(exported)), f"{module}.__all__ repeats a name"
    assert [name for name in exported if not hasattr(found, name)] == []


def test_only_the_listed_modules_are_in_the_list() -> None:
    assert set(_listed()) == set(MODULES), "public_api.txt names a module the test does not check"


def test_the_package_says_it_is_typed() -> None:
    assert (Path(casework.__file__).parent / "py.typed").is_file()  # PEP 561


def test_the_version_is_the_projects_and_the_changelog_has_it() -> None:
    project = tomllib.loads((LIBRARY / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert casework.__version__ == project["version"]
    changelog = (LIBRARY / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog, "Keep a Changelog: an Unreleased section on top"
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert project["version"] in released, f"CHANGELOG.md has no section for {project['version']}"
