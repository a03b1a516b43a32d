"""The import contracts of ``pyproject.toml`` ([tool.importlinter]: the layers, the twin
kept apart, the pure cores) hold on the tree, and do catch a violation (issue 17)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LAYERS = "Layers: server > api | web > http > capabilities > auth > ground floor"
PURE = "Pure cores import neither the store nor SQLAlchemy nor a shell"


def _lint_imports(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the package ``fangkong`` found in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "200"}  # one line a contract
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(CONFIG), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text("utf-8") + f"\n{line}\n", "utf-8")


@pytest.fixture(scope="module")
def lint_imports() -> Path:
    if not LINT_IMPORTS.exists():
        pytest.skip("lint-imports is not installed beside this Python")
    return LINT_IMPORTS


def test_the_tree_keeps_every_contract(lint_imports: Path) -> None:
    run = _lint_imports(ROOT / "src", ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_a_forbidden_import_breaks_its_contract(lint_imports: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "fangkong",
        src / "fangkong",
        ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "locale"),
    )
    # a pure core reaching for the store; a page importing the JSON shell
    _append(src / "fangkong" / "tracing" / "graph.py", "import fangkong.store.schema")
    _append(src / "fangkong" / "web" / "pages.py", "import fangkong.api.routes")
    run = _lint_imports(src, tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    broken = [line for line in out.splitlines() if "BROKEN" in line]
    assert any(PURE in line for line in broken), out
    assert any(LAYERS in line for line in broken), out
    assert "fangkong.tracing.graph is not allowed to import fangkong.store" in out
    assert "fangkong.web is not allowed to import fangkong.api" in out
