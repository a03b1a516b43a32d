"""Rights granted and taken back by data migrations (0006 on), in one place.

Only migrations call this. It reads and writes the ``rights``, ``roles`` and
``role_rights`` tables through light table stubs, never the app's metadata, so what a
migration does stays what it did when it was written: change these two functions only in
ways every migration that calls them may take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from alembic import op

_rights = sa.table(
    "rights", sa.column("name", sa.String), sa.column("label_zh", sa.String),
    sa.column("label_en", sa.String),
)  # fmt: skip
_role_rights = sa.table("role_rights", sa.column("role", sa.String), sa.column("right", sa.String))
_roles = sa.table("roles", sa.column("name", sa.String))


def grant_rights(
    rights: Sequence[tuple[str, str, str]], role_rights: Mapping[str, Sequence[str]]
) -> None:
    """Add the rights (name, zh, en) not present yet and grant them to the shipped roles
    that still exist (an admin may have removed one); grants already held are kept."""
    conn = op.get_bind()
    present = set(conn.execute(sa.select(_rights.c.name)).scalars())
    op.bulk_insert(
        _rights,
        [{"name": n, "label_zh": zh, "label_en": en} for n, zh, en in rights if n not in present],
    )
    roles = set(conn.execute(sa.select(_roles.c.name)).scalars())
    held = {(r.role, r.right) for r in conn.execute(sa.select(_role_rights)).all()}
    op.bulk_insert(
        _role_rights,
        [
            {"role": role, "right": right}
            for role, names in role_rights.items()
            if role in roles
            for right in names
            if (role, right) not in held
        ],
    )


def revoke_rights(rights: Sequence[tuple[str, str, str]]) -> None:
    """Remove the rights and every grant of them (a downgrade)."""
    names = [n for n, _, _ in rights]
    op.execute(_role_rights.delete().where(_role_rights.c.right.in_(names)))
    op.execute(_rights.delete().where(_rights.c.name.in_(names)))
