"""The Alembic migrations create exactly the schema the code declares, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from fangkong.auth.rights import RIGHTS, ROLES
from fangkong.migrations.catalog import Base
from fangkong.store import migrate
from fangkong.store.schema import regions


def test_upgrade_from_empty_creates_every_table(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    assert not migrate.status(empty_engine).up_to_date
    migrate.upgrade(empty_engine)
    assert set(Base.metadata.tables) <= set(inspect(empty_engine).get_table_names())
    st = migrate.status(empty_engine)
    assert st.up_to_date
    # migrations 0002 and 0004 seed the shipped roles and rights; 0002 the audit chain's head
    grants = sum(len(held) for _, _, held in ROLES.values())
    seeded = {"roles": len(ROLES), "rights": len(RIGHTS), "role_rights": grants, "audit_head": 1}
    assert st.counts == {name: seeded.get(name, 0) for name in Base.metadata.tables}


def test_migrated_schema_matches_the_declared_schema(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless_and_downgrade_removes_everything(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    migrate.downgrade(empty_engine, "base")
    left = set(inspect(empty_engine).get_table_names()) - {"alembic_version"}
    assert left == set()
    assert migrate.current_revision(empty_engine) is None


def test_timestamps_come_back_as_aware_utc(engine: Engine) -> None:
    shanghai = timezone(timedelta(hours=8))
    stamp = datetime(2022, 3, 18, 9, 30, tzinfo=shanghai)
    with engine.begin() as conn:
        conn.execute(
            regions.insert().values(
                code="140000", level="province", name="山西省", created_at=stamp, updated_at=stamp
            )
        )
    with engine.connect() as conn:
        got = conn.execute(select(regions.c.created_at)).scalar_one()
    assert got == stamp
    assert got.tzinfo is not None
    assert got.utcoffset() == timedelta(0)
    assert got.astimezone(UTC).hour == 1


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    naive = datetime(2022, 3, 18, 9, 30)  # noqa: DTZ001 - the point of the test
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            regions.insert().values(
                code="140000", level="province", name="山西省", created_at=naive, updated_at=naive
            )
        )
