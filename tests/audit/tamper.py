"""For tests that play the attacker: remove the append-only triggers of migration 0012.

``audit verify`` must catch a row edited or deleted by someone who got past the database's
own refusal (a superuser, a copied file, a dropped trigger). To edit rows at all, those
tests first drop the triggers, as such an attacker would.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

TRIGGERS = ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace")  # 0012, 0017
PG_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_truncate")


def drop_append_only_triggers(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for name in TRIGGERS:
                conn.execute(text(f"DROP TRIGGER {name}"))
        else:
            for name in PG_TRIGGERS:
                conn.execute(text(f"DROP TRIGGER {name} ON audit_log"))
