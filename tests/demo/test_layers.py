"""The twin is the judge, so it must not see the platform, and the platform's capabilities
must not see the twin: ``fangkong.demo`` is the only bridge (issue 14)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "fangkong"
SHARED = {"fangkong.errors", "fangkong.cli_support", "fangkong.files"}  # plumbing, no capability


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


def test_the_twin_imports_nothing_of_the_platform() -> None:
    bad = [
        f"{p.relative_to(SRC)}:{line} {name}"
        for p in sorted((SRC / "twin").rglob("*.py"))
        for line, name in _imports(p)
        if name.startswith("fangkong.")
        and not name.startswith("fangkong.twin")
        and name not in SHARED
    ]
    assert bad == []


def test_no_capability_imports_the_twin() -> None:
    allowed = {"twin", "demo"}
    bad = [
        f"{p.relative_to(SRC)}:{line} {name}"
        for p in sorted(SRC.rglob("*.py"))
        # the root CLI mounts every group, the twin's too
        if p.relative_to(SRC).parts[0] not in allowed and p.relative_to(SRC) != Path("cli.py")
        for line, name in _imports(p)
        if name.startswith("fangkong.twin")
    ]
    assert bad == []
