"""No module under ``src/fangkong`` is over 600 lines unless ``ALLOWED`` says why (issue 17).

A long module is a room that holds more than one use case; the split is cheaper the
earlier it is made. A module may stay long only with a reason written twice: here, and in
``docs/architecture.md`` beside the module's name, where a reader of the map finds it.
An entry whose module has come back under the limit is stale and fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

LIMIT = 600
ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "fangkong"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# module (relative to src/fangkong) → why it may be longer; docs/architecture.md says the same
ALLOWED: dict[str, str] = {}


def lines(path: Path) -> int:
    """The module's lines, as an editor counts them."""
    return len(path.read_text(encoding="utf-8").splitlines())


def over_limit(root: Path, allowed: dict[str, str], limit: int = LIMIT) -> dict[str, int]:
    """Every module under ``root`` over ``limit`` lines and not in ``allowed``: path → lines."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name not in allowed and (count := lines(path)) > limit:
            found[name] = count
    return found


def check(root: Path, allowed: dict[str, str]) -> None:
    """Fail naming every module under ``root`` over the limit and not allowed."""
    found = over_limit(root, allowed)
    assert not found, "\n".join(
        f"{name}: {count} lines (limit {LIMIT}): split it by use case, or give the "
        "reason in ALLOWED (tests/test_module_size.py) and in docs/architecture.md"
        for name, count in found.items()
    )


def test_no_module_is_over_the_limit() -> None:
    check(SRC, ALLOWED)


def test_every_allowed_module_is_long_and_its_reason_is_in_the_architecture() -> None:
    docs = re.sub(r"\s+", " ", ARCHITECTURE.read_text(encoding="utf-8"))
    for name, reason in sorted(ALLOWED.items()):  # empty today: every module is within
        assert (SRC / name).is_file(), f"ALLOWED names src/fangkong/{name}, which is gone"
        assert lines(SRC / name) > LIMIT, f"{name} is within {LIMIT} lines: drop it from ALLOWED"
        assert f"`{name}`" in docs, f"docs/architecture.md does not name {name}"
        assert reason in docs, f"docs/architecture.md does not give {name}'s reason"


def test_the_check_fails_on_an_over_long_module(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "short.py").write_text("x = 1\n" * LIMIT, encoding="utf-8")
    (package / "sub" / "long.py").write_text("x = 1\n" * (LIMIT + 1), encoding="utf-8")
    assert over_limit(package, {}) == {"sub/long.py": LIMIT + 1}
    assert over_limit(package, {"sub/long.py": "a reason"}) == {}
    with pytest.raises(AssertionError, match=r"sub/long\.py: 601 lines \(limit 600\)"):
        check(package, {})
    check(package, {"sub/long.py": "a reason"})
