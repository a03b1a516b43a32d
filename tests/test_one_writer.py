"""One owner per table: a table is written only by the capability that declares it.

The owner of a table is the package of the module that declares it
(``fangkong/testing/tables.py`` → ``testing``); the tables of the ground floor
(``fangkong/store/schema.py``) have their owners named in ``SCHEMA_OWNERS``. Other
capabilities call the owner's service instead of writing its rows.

The scan reads the source, not the running code. In each module it resolves the names
bound to tables — imported from a table module (under any alias), the table module itself
imported under a name (``tables.results``), ``Class.__table__`` and light stubs
(``sa.table("persons", …)``) — and reports:

- SQLAlchemy statements: ``t.insert()``, ``t.update()``, ``t.delete()``, ``insert(t)``,
  ``update(t)``, ``delete(t)`` (also dialect inserts imported under another name);
- the store's upsert helpers given a table (``upsert(conn, t, rows, …)``);
- raw SQL in string literals: ``INSERT INTO t``, ``UPDATE t``, ``DELETE FROM t``.

The migrations (``fangkong/migrations``) create and seed every table and are exempt.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import fangkong

SRC = Path(fangkong.__file__).parent
ROOT = SRC.parent.parent
EXEMPT = (SRC / "migrations",)

# The ground floor's tables and the capability that owns each.
SCHEMA_OWNERS = {
    "regions": "registry",
    "households": "registry",
    "venues": "registry",
    "persons": "registry",
    "roles": "auth",
    "rights": "auth",
    "role_rights": "auth",
    "users": "auth",
    "user_sessions": "auth",
    "device_tokens": "auth",
    "audit_log": "audit",
    "audit_head": "audit",
    "system_clock": "clock",  # fangkong/clock.py
}

# Known writes of another capability's table still to be moved to their owner: none. An
# entry here is a debt with a reason; the test fails when an entry is no longer needed.
PENDING: set[tuple[str, str]] = set()

_VERBS = {"insert", "update", "delete"}
_HELPERS = {"fangkong.store.upsert": {"upsert"}}
_RAW = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+[\"'`]?(\w+)", re.IGNORECASE
)


@dataclass(frozen=True)
class Write:
    line: int
    table: str
    what: str


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def owner_of(path: Path) -> str:
    """The capability a module belongs to: its first package below ``fangkong``."""
    rel = path.relative_to(SRC).with_suffix("").parts
    return rel[0]


def _declared(tree: ast.Module) -> dict[str, str]:
    """Names a table module binds to tables (``Class`` and ``var = cast(Table, Class.__table__)``)
    → table name."""
    classes: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and any(
                        isinstance(t, ast.Name) and t.id == "__tablename__" for t in stmt.targets
                    )
                    and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                ):
                    classes[node.name] = stmt.value.value
    names = dict(classes)
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            for sub in ast.walk(node.value):
                if (
                    isinstance(target, ast.Name)
                    and isinstance(sub, ast.Attribute)
                    and sub.attr == "__table__"
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id in classes
                ):
                    names[target.id] = classes[sub.value.id]
    return names


def table_modules() -> dict[str, dict[str, str]]:
    """Every module declaring tables → its names bound to tables."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if any(path.is_relative_to(d) for d in EXEMPT):
            continue
        source = path.read_text(encoding="utf-8")
        if "__tablename__" in source:
            names = _declared(ast.parse(source))
            if names:
                found[_module_name(path)] = names
    return found


def table_owners(modules: dict[str, dict[str, str]]) -> dict[str, str]:
    """Table name → the capability that owns it."""
    owners = {}
    for module, names in modules.items():
        for table in names.values():
            if module == "fangkong.store.schema":
                owners[table] = SCHEMA_OWNERS[table]
            else:
                owners[table] = module.split(".")[1]
    return owners


class _Scope:
    """What the names of one module stand for: tables, table modules, verbs, helpers."""

    def __init__(self, tree: ast.Module, modules: dict[str, dict[str, str]], own: str) -> None:
        self.modules = modules
        self.tables: dict[str, str] = dict(modules.get(own, {}))
        self.aliases: dict[str, str] = {}  # local name → table module
        self.verbs: dict[str, str] = {v: v for v in _VERBS}
        self.helpers: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    local = alias.asname or alias.name
                    full = f"{node.module}.{alias.name}"
                    if node.module in modules and alias.name in modules[node.module]:
                        self.tables[local] = modules[node.module][alias.name]
                    elif full in modules:
                        self.aliases[local] = full
                    elif node.module.startswith("sqlalchemy") and alias.name in _VERBS:
                        self.verbs[local] = alias.name
                    elif alias.name in _HELPERS.get(node.module, ()):
                        self.helpers.add(local)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.asname:
                        self.aliases[alias.asname] = alias.name
        # light stubs and re-bindings: x = sa.table("t"), x = t, (a, b) = (t, u)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                for target, value in _pairs(node.targets[0], node.value):
                    table = self.table(value)
                    if table is not None:
                        self.tables.setdefault(target, table)

    def table(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.tables.get(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr == "__table__":
                return self.table(node.value)
            dotted = _dotted(node.value)
            module = self.aliases.get(dotted or "", dotted)
            if module in self.modules:
                return self.modules[module].get(node.attr)
            return None
        if (
            isinstance(node, ast.Call)
            and _callee(node) == "table"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            return node.args[0].value
        return None


def _pairs(target: ast.AST, value: ast.AST) -> list[tuple[str, ast.AST]]:
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if (
        isinstance(target, ast.Tuple)
        and isinstance(value, ast.Tuple)
        and len(target.elts) == len(value.elts)
    ):
        return [pair for t, v in zip(target.elts, value.elts, strict=True) for pair in _pairs(t, v)]
    return []


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _callee(call: ast.Call) -> str | None:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes (prose, not SQL)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def writes(
    source: str, modules: dict[str, dict[str, str]], known: set[str], own: str = ""
) -> list[Write]:
    """Every write of a table in ``source``; ``known`` holds the table names raw SQL may name."""
    tree = ast.parse(source)
    scope = _Scope(tree, modules, own)
    prose = _docstrings(tree)
    found: list[Write] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = _callee(node)
            if isinstance(f, ast.Attribute) and f.attr in _VERBS:
                table = scope.table(f.value)
                if table is not None:
                    found.append(Write(node.lineno, table, f"{table}.{f.attr}()"))
            verb = (
                scope.verbs.get(name or "")
                if isinstance(f, ast.Name)
                else (name if name in _VERBS else None)
            )
            if verb is not None and node.args:
                table = scope.table(node.args[0])
                if table is not None:
                    found.append(Write(node.lineno, table, f"{verb}({table})"))
            if isinstance(f, ast.Name) and f.id in scope.helpers:
                for arg in node.args:
                    table = scope.table(arg)
                    if table is not None:
                        found.append(Write(node.lineno, table, f"{f.id}(…, {table}, …)"))
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
        ):
            for match in _RAW.finditer(node.value):
                if match.group(1) in known:
                    found.append(
                        Write(node.lineno, match.group(1), f"raw SQL writing {match.group(1)}")
                    )
    return sorted(set(found), key=lambda w: (w.line, w.table, w.what))


def violations() -> tuple[list[str], set[tuple[str, str]]]:
    """Writes of another capability's table, and the PENDING entries seen."""
    modules = table_modules()
    owners = table_owners(modules)
    bad: list[str] = []
    seen: set[tuple[str, str]] = set()
    for path in sorted(SRC.rglob("*.py")):
        if any(path.is_relative_to(d) for d in EXEMPT):
            continue
        mine = owner_of(path)
        rel = str(path.relative_to(ROOT))
        for w in writes(path.read_text(encoding="utf-8"), modules, set(owners), _module_name(path)):
            owner = owners.get(w.table)
            if owner is None or owner == mine:
                continue
            if (rel, w.table) in PENDING:
                seen.add((rel, w.table))
                continue
            bad.append(f"{rel}:{w.line}: {w.what} — table {w.table} is owned by {owner}")
    return bad, seen


SNIPPET_MODULES = {
    "fangkong.healthcode.tables": {"person_facts": "person_facts", "PersonFactRow": "person_facts"},
    "fangkong.arrivals.tables": {"alerts": "arrivals_alerts"},
    "fangkong.alerts.tables": {"alerts": "alerts", "Alert": "alerts"},
}


def test_the_scan_finds_each_kind_of_write() -> None:
    snippet = """
import sqlalchemy as sa
from sqlalchemy import delete, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from fangkong.healthcode.tables import person_facts as facts
from fangkong.healthcode import tables
from fangkong.arrivals.tables import alerts
from fangkong.store.upsert import upsert
import fangkong.alerts.tables as at
conn.execute(facts.insert().values(kind="test"))
conn.execute(
    update(facts).where(x).values(voided_at=now)
)
conn.execute(sa.delete(tables.person_facts))
conn.execute(insert(tables.PersonFactRow), rows)
conn.exec_driver_sql("insert into person_facts (kind) values ('x')")
conn.exec_driver_sql("SELECT kind FROM person_facts")  # a read is fine
conn.execute(select(facts.c.id))
conn.execute(pg_insert(alerts))
upsert(conn, at.alerts, rows, key="key")
stub = sa.table("person_facts", sa.column("kind"))
conn.execute(stub.delete())
conn.execute(at.Alert.__table__.update())
a, f = alerts, facts
conn.execute(delete(a))
"""
    known = {"person_facts", "arrivals_alerts", "alerts"}
    found = [(w.line, w.what) for w in writes(snippet, SNIPPET_MODULES, known)]
    assert found == [
        (10, "person_facts.insert()"),
        (12, "update(person_facts)"),
        (14, "delete(person_facts)"),
        (15, "insert(person_facts)"),
        (16, "raw SQL writing person_facts"),
        (19, "insert(arrivals_alerts)"),
        (20, "upsert(…, alerts, …)"),
        (22, "person_facts.delete()"),
        (23, "alerts.update()"),
        (25, "delete(arrivals_alerts)"),
    ]


def test_the_owners_are_known() -> None:
    modules = table_modules()
    owners = table_owners(modules)
    assert set(SCHEMA_OWNERS) <= set(owners)
    assert {
        "fangkong.store.schema",
        "fangkong.healthcode.tables",
        "fangkong.testing.tables",
        "fangkong.tracing.tables",
        "fangkong.quarantine.tables",
        "fangkong.riskareas.tables",
        "fangkong.arrivals.tables",
        "fangkong.alerts.tables",
    } <= set(modules)
    assert owners["arrivals_alerts"] == "arrivals"
    assert owners["alerts"] == "alerts"
    for owner in set(owners.values()):
        assert (SRC / owner).is_dir() or (SRC / f"{owner}.py").is_file(), owner


def test_each_table_is_written_only_by_its_owner() -> None:
    bad, seen = violations()
    assert not bad, (
        "a capability writes only its own tables; call the owner's service instead:\n"
        + "\n".join(bad)
    )
    assert seen == PENDING, f"PENDING entries no longer needed: {sorted(PENDING - seen)}"
