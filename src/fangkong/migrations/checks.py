"""Drawing a table's CHECK constraint again, for migrations (an enum column that takes new
values: ``command_tasks.kind`` when a capability brings a task kind of its own).

PostgreSQL drops the constraint and adds it with the new condition. SQLite cannot alter
a constraint: batch mode would copy the table, drop it and rename the copy, and dropping a
table other tables' rows reference fails while foreign keys are on — which they are,
inside the one transaction every migration runs in, where they cannot be turned off. So
on SQLite the table's stored definition is rewritten in place, the procedure SQLite
documents for changes that leave the stored rows as they are (removing or loosening a
CHECK: https://www.sqlite.org/lang_altertable.html, "making other kinds of table schema
changes", the writable_schema steps): the new condition must hold for every stored row,
which the caller ensures (a downgrade deletes the rows of the values it takes away first).
"""

from __future__ import annotations

import re

from alembic import op
from sqlalchemy import text


def _span(sql: str, name: str) -> tuple[int, int]:
    """Where the condition of CHECK constraint ``name`` stands in ``sql`` (inside its
    parentheses)."""
    found = re.search(rf'CONSTRAINT\s+"?{re.escape(name)}"?\s+CHECK\s*\(', sql)
    if found is None:
        raise LookupError(f"no CHECK constraint {name} in {sql[:80]!r}")
    depth, quoted = 1, False
    for i in range(found.end(), len(sql)):
        ch = sql[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return found.end(), i
    raise LookupError(f"CHECK constraint {name} is not closed")


def redraw_check(table: str, name: str, condition: str) -> None:
    """The CHECK constraint ``name`` of ``table`` becomes ``condition``."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(name, table, type_="check")
        op.create_check_constraint(name, table, condition)
        return
    where = "type = 'table' AND name = :table"
    sql = bind.execute(text(f"SELECT sql FROM sqlite_master WHERE {where}"),  # noqa: S608
                       {"table": table}).scalar_one()  # fmt: skip
    start, end = _span(str(sql), name)
    new = f"{sql[:start]}{condition}{sql[end:]}"
    version = int(bind.execute(text("PRAGMA schema_version")).scalar_one())
    bind.execute(text("PRAGMA writable_schema = ON"))
    bind.execute(text(f"UPDATE sqlite_master SET sql = :sql WHERE {where}"),  # noqa: S608
                 {"sql": new, "table": table})  # fmt: skip
    bind.execute(text(f"PRAGMA schema_version = {version + 1}"))
    bind.execute(text("PRAGMA writable_schema = OFF"))
