"""One writer for health-code facts: outside ``fangkong.healthcode`` (and the migrations)
no module inserts into, updates or deletes from ``person_facts`` — they call
``fangkong.healthcode.writer``. The scan reads the source: SQLAlchemy statements on the
table (``person_facts.insert()``, ``update(person_facts)``, ``delete(person_facts)``, …)
and raw SQL naming it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import fangkong

SRC = Path(fangkong.__file__).parent
OWNER = SRC / "healthcode"
EXEMPT = (OWNER, SRC / "migrations")
TABLE = "person_facts"
_VERBS = {"insert", "update", "delete"}
_RAW = re.compile(rf"\b(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+[\"'`]?{TABLE}\b", re.I)


def _names_table(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == TABLE) or (
        isinstance(node, ast.Attribute) and node.attr == TABLE
    )


def writes(source: str) -> list[tuple[int, str]]:
    """(line, what) for every write of ``person_facts`` in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in _VERBS and _names_table(f.value):
                found.append((node.lineno, f"{TABLE}.{f.attr}("))
            verb = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if verb in _VERBS and node.args and _names_table(node.args[0]):
                found.append((node.lineno, f"{verb}({TABLE})"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _RAW.search(node.value)
        ):
            found.append((node.lineno, f"raw SQL writing {TABLE}"))
    return sorted(found)


def test_the_scan_finds_each_kind_of_write() -> None:
    snippet = """
from sqlalchemy import delete, insert, update
conn.execute(person_facts.insert().values(kind="test"))
conn.execute(
    update(person_facts).where(x).values(voided_at=now)
)
conn.execute(sa.delete(tables.person_facts))
conn.execute(insert(person_facts), rows)
conn.exec_driver_sql("insert into person_facts (kind) values ('x')")
conn.exec_driver_sql("SELECT kind FROM person_facts")  # a read is fine
conn.execute(select(person_facts.c.id))
"""
    assert writes(snippet) == [
        (3, "person_facts.insert("),
        (5, "update(person_facts)"),
        (7, "delete(person_facts)"),
        (8, "insert(person_facts)"),
        (9, "raw SQL writing person_facts"),
    ]


def test_only_healthcode_writes_facts() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if any(path.is_relative_to(d) for d in EXEMPT):
            continue
        for line, what in writes(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(SRC.parent.parent)}:{line}: {what}")
    assert not offenders, (
        "health-code facts are written only by fangkong.healthcode.writer "
        "(write_facts, write_fact_query, record_case, record_discharge, void_facts):\n"
        + "\n".join(offenders)
    )
