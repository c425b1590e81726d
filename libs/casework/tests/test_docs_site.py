"""The docs site's code is the library's real API: every Python block of every page runs.

Each page of `libs/casework/docs/` is run as a reader would paste it: its ```python blocks in
order, in one namespace, in a fresh folder (so a `Casework()` without a store writes there).
A block that follows the line `<!-- docs-test: compile-only -->` is only compiled (it shows a
shape that does not exist yet, or needs a running NATS). A block followed by "prints" and a
```text block must print exactly that text. A line `--8<-- "path"` or `--8<-- "path:section"`
in a block is replaced by that file of the repository (or its section between the
`# --8<-- [start:section]` and `[end:section]` comments, dedented), as pymdownx.snippets does
for the site, so code a page includes from the repository runs here too. `mkdocs build
--strict` (in .ci/run) checks the links and the API reference; this checks that the code on the
pages still works.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROOT = Path(__file__).resolve().parents[3]  # pymdownx.snippets' base_path (mkdocs.yml)
PAGES = sorted(p for p in DOCS.rglob("*.md") if "```python" in p.read_text(encoding="utf-8"))
COMPILE_ONLY = "<!-- docs-test: compile-only -->"
BLOCK = re.compile(
    r"(?P<marker><!-- docs-test: compile-only -->\n+)?```python\n(?P<code>.*?)```\n"
    r"(?:\n*prints\n+```text\n(?P<prints>.*?)```)?",
    re.S,
)
SNIPPET = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<section>[a-z][-_0-9a-z]*))?"$', re.M)
SECTION_MARK = re.compile(r"^\s*# --8<-- \[(start|end):[-_0-9a-z]+\]$")


def included(snippet: re.Match[str]) -> str:
    """The text a snippet line stands for: the file, or its section, without section marks."""
    lines = (ROOT / snippet["path"]).read_text(encoding="utf-8").splitlines()
    if name := snippet["section"]:
        marks = [x.strip() for x in lines]
        start = marks.index(f"# --8<-- [start:{name}]")  # ValueError: no such section
        end = marks.index(f"# --8<-- [end:{name}]", start)
        lines = textwrap.dedent("\n".join(lines[start + 1 : end])).splitlines()
    return "\n".join(x for x in lines if not SECTION_MARK.match(x))


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    code: str
    run: bool
    prints: str | None


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    return [
        Block(
            page,
            text.count("\n", 0, m.start("code")) + 1,
            SNIPPET.sub(included, m.group("code")),
            m.group("marker") is None,
            m.group("prints"),
        )
        for m in BLOCK.finditer(text)
    ]


def test_the_guides_have_code_to_check() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {
        "index.md",
        "guides/case-file.md",
        "guides/ladder.md",
        "guides/nats.md",
        "guides/kinds.md",
    } <= names
    fences = sum(p.read_text(encoding="utf-8").count("```python") for p in PAGES)
    assert fences == sum(len(blocks(p)) for p in PAGES), "a ```python fence the test misses"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_python_block_of_the_page_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(tmp_path / "var"))
    for name in ("CASEWORK_STORE", "CASEWORK_MASTER_KEY", "CASEWORK_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    # The namespace is a module's, importable by its name: an aggregate a page defines (a kind
    # registered in code) is found by its topic, `docs_example:<class>`, as in a reader's module.
    module = types.ModuleType("docs_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for block in blocks(page):
        where = f"{block.page.relative_to(DOCS)}:{block.line}"
        code = compile(block.code, where, "exec")
        if not block.run:
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
        if block.prints is not None:
            assert out.getvalue() == block.prints, f"{where} prints something else"
