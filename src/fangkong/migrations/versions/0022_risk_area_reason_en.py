"""a risk area's reason in both languages: ``reason`` (Chinese) and ``reason_en``

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 12:40:00

Issue 19, point 4: risk-area reasons were stored as one string "zh / en" and shown so in
both languages. ``risk_areas.reason_en`` and ``risk_area_changes.reason_en`` hold the
English; ``reason`` keeps the Chinese. Existing rows are split on the first " / "
(``中文 / English`` → ``中文``, ``English``); a reason without one is kept as it is in
both. The downgrade joins them back ("zh / en", or the one text where both are the same).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TABLES = ("risk_areas", "risk_area_changes")
SEP = " / "


def _split(text: str) -> tuple[str, str]:
    if SEP not in text:
        return text, text
    zh, en = text.split(SEP, 1)
    zh, en = zh.strip(), en.strip()
    return (zh, en) if zh and en else (text, text)


def upgrade() -> None:
    conn = op.get_bind()
    for name in TABLES:
        op.add_column(name, sa.Column("reason_en", sa.Text(), nullable=True))
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("reason", sa.Text),
                         sa.column("reason_en", sa.Text))  # fmt: skip
        rows = conn.execute(sa.select(table.c.id, table.c.reason)).all()
        for row_id, reason in rows:
            zh, en = _split(reason or "")
            conn.execute(
                sa.update(table).where(table.c.id == row_id).values(reason=zh, reason_en=en)
            )


def downgrade() -> None:
    conn = op.get_bind()
    for name in TABLES:
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("reason", sa.Text),
                         sa.column("reason_en", sa.Text))  # fmt: skip
        rows = conn.execute(sa.select(table.c.id, table.c.reason, table.c.reason_en)).all()
        for row_id, zh, en in rows:
            if en and en != zh:
                conn.execute(
                    sa.update(table).where(table.c.id == row_id).values(reason=f"{zh}{SEP}{en}")
                )
        # "never": a plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35); recreating risk_areas
        # would drop a table other tables refer to
        with op.batch_alter_table(name, recreate="never") as batch:
            batch.drop_column("reason_en")
