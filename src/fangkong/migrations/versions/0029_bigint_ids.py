"""64-bit ids for the high-volume tables on PostgreSQL

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 22:00:00

Issue 21, point 3. At 35 million persons a 32-bit id (at most 2,147,483,647) runs out:
the scans (check-ins) alone are about 100 million a day, so ``scans.id`` would overflow
within weeks; the audit log (a row per scan batch, per login, per decision), lab results
and orders (a province-wide round of mass testing is a result and an order per person),
tubes, facts, code changes, exposures and checkpoint crossings grow per person per day
too. On PostgreSQL each of those ids, and every column that refers to one, becomes
``BIGINT``, and so does the sequence behind an autoincrementing id (a sequence made for
a ``SERIAL`` is itself ``AS integer`` and would stop at 2**31 − 1 whatever its column).

Left 32-bit on purpose: persons (35 million fit 60 times over), regions, venues, users,
devices, areas, cases, contacts, placements and the other registers, which grow with the
province or with cases, not with every person every day.

SQLite: nothing to do. Its ``INTEGER`` holds 64-bit values already, and an ``INTEGER
PRIMARY KEY`` must stay spelled so to remain the rowid's alias (a ``BIGINT PRIMARY KEY``
would not autoincrement); the tables declare ``store.types.BigId`` (``BIGINT`` on
PostgreSQL, ``INTEGER`` on SQLite), so both migrated schemas equal the declared one.

The downgrade turns the columns and sequences back to ``INTEGER``; PostgreSQL refuses it
(and nothing changes) once a stored id no longer fits in 32 bits.
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# table: (its autoincrementing id or None, the 64-bit columns: the id and references)
WIDENED: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "scans": ("id", ("id",)),
    "audit_log": (None, ("seq",)),  # numbered by the appender (the chain), no sequence
    "audit_head": (None, ("seq",)),
    "person_facts": ("id", ("id",)),
    "health_codes": (None, ("last_fact_id",)),
    "code_transitions": ("id", ("id",)),
    "code_corrections": (None, ("fact_id",)),
    "testing_tubes": ("id", ("id",)),
    "testing_tube_members": (None, ("tube_id",)),
    "testing_results": ("id", ("id", "tube_id")),
    "testing_orders": ("id", ("id", "prev_order_id", "result_id", "tube_id")),
    "tracing_exposures": ("id", ("id",)),
    "logistics_crossings": ("id", ("id",)),
    "logistics_crossing_people": ("id", ("id", "crossing_id")),
}


def _retype(sql_type: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: INTEGER is 64-bit already (see the docstring)
    for table, (serial, columns) in WIDENED.items():
        changes = ", ".join(f"ALTER COLUMN {c} TYPE {sql_type}" for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")
        if serial is not None:
            op.execute(
                f"DO $$ BEGIN EXECUTE format('ALTER SEQUENCE %s AS {sql_type}', "
                f"pg_get_serial_sequence('{table}', '{serial}')); END $$"
            )


def upgrade() -> None:
    _retype("BIGINT")


def downgrade() -> None:
    _retype("INTEGER")
