"""Statements compiled once and run on the driver connection (``fangkong.store.fast``)
read and write exactly what SQLAlchemy reads and writes: aware UTC datetimes, JSON,
bytes, nulls; the read connections cannot write."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, bindparam, select

from fangkong.healthcode.tables import person_facts, scans
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from fangkong.store.fast import DriverSelect, FastInsert, FastSelect, ReadConnections, in_list
from fangkong.store.schema import persons, regions, venues

T0 = datetime(2022, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'fast.db'}")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(regions.insert().values(code="140102", level="county", name="某区"))
        conn.execute(venues.insert().values(code="V1", name="V1", type="market",
                                            region_code="140102"))  # fmt: skip
        conn.execute(
            persons.insert().values(
                id=7, doc_type="resident_id", doc_country="CHN", doc_hash=b"h" * 16,
                doc_sealed=b"s", name="李四", sex="F", birth_date=T0.date(),
                occupation="other", residence_code="140102",
            )
        )  # fmt: skip
    return engine


def _scan_row(i: int) -> dict[str, object]:
    return {
        "client_event_id": f"e-{i}", "person_id": 7, "venue_code": "V1",
        "device_time": T0 + timedelta(seconds=i),
        "received_at": T0 + timedelta(seconds=i, microseconds=5),
        "colour": "green", "allowed": i % 2 == 0, "flagged": i % 3 == 0,
        "token_digest": None if i % 2 else bytes([i]) * 16, "request_digest": bytes([i + 1]) * 16,
        "verdict": {"n": i, "zh": "绿码", "nested": [1, None, {"a": True}]},
        "pack_name": "protocol-9", "pack_version": "2022.06",
    }  # fmt: skip


def test_fast_insert_then_sqlalchemy_reads_the_same_rows(db: Engine) -> None:
    rows = [_scan_row(i) for i in range(6)]
    insert = FastInsert(scans.insert(), list(rows[0]), db.dialect)
    with db.begin() as conn:
        insert.run(conn.connection.dbapi_connection, rows)
    with db.connect() as conn:
        got = conn.execute(select(*[scans.c[k] for k in rows[0]]).order_by(scans.c.id)).all()
    assert [dict(r._mapping) for r in got] == rows
    assert all(r.device_time.tzinfo is UTC for r in got)


def test_fast_select_reads_what_sqlalchemy_reads(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(scans.insert(), [_scan_row(i) for i in range(6)])
        conn.execute(
            person_facts.insert(),
            [
                {"person_id": 7, "kind": "close_contact", "starts_at": T0, "ends_at": None,
                 "detail": {"case": 3}, "recorded_by": "t", "recorded_at": T0},
                {"person_id": 7, "kind": "test", "starts_at": T0 - timedelta(days=1),
                 "ends_at": T0, "detail": None, "recorded_by": "t", "recorded_at": T0},
            ],
        )  # fmt: skip
    by_digest = (
        select(scans.c.client_event_id, scans.c.device_time, scans.c.verdict, scans.c.allowed,
               scans.c.token_digest)
        .where((scans.c.token_digest == bindparam("d")) | (scans.c.person_id == bindparam("p")))
        .order_by(scans.c.id)
        .limit(4)
    )  # fmt: skip
    facts = select(
        person_facts.c.kind, person_facts.c.starts_at, person_facts.c.ends_at, person_facts.c.detail
    ).where(person_facts.c.person_id == bindparam("p"))
    raw = ReadConnections(db)
    try:
        for stmt, params in [(by_digest, {"d": bytes([2]) * 16, "p": 7}), (facts, {"p": 7})]:
            fast = FastSelect(stmt, db.dialect).rows(raw.get(), **params)
            with db.connect() as conn:
                slow = conn.execute(stmt, params).all()
            assert [tuple(r) for r in fast] == [tuple(r) for r in slow]
            assert list(fast[0]._fields) == list(slow[0]._fields)
        missing = FastSelect(by_digest, db.dialect).rows(raw.get(), d=b"x", p=99)
        assert missing == []
    finally:
        raw.close()


def test_read_connections_cannot_write_and_are_one_per_thread(db: Engine) -> None:
    reads = ReadConnections(db)
    try:
        mine = reads.get()
        assert reads.get() is mine
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            mine.execute("DELETE FROM scans")
        other: list[object] = []
        t = threading.Thread(target=lambda: other.append(reads.get()))
        t.start()
        t.join()
        assert other[0] is not mine
    finally:
        reads.close()
    with pytest.raises(sqlite3.ProgrammingError):
        mine.execute("SELECT 1")  # closed


def test_sees_commits_made_after_it_was_opened(db: Engine) -> None:
    reads = ReadConnections(db)
    count = FastSelect(select(scans.c.id), db.dialect)
    try:
        assert count.rows(reads.get()) == []
        with db.begin() as conn:
            conn.execute(scans.insert(), [_scan_row(1)])
        assert len(count.rows(reads.get())) == 1  # autocommit: no stale snapshot
    finally:
        reads.close()


def test_positional_dialects_only(db: Engine) -> None:
    """psycopg's named parameters (``%(i)s``) become numbered ones (``%s``); a dialect of
    another named style is refused."""
    from sqlalchemy.dialects import postgresql

    stmt = select(scans.c.id).where(scans.c.id == bindparam("i"))
    fast = FastSelect(stmt, make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none").dialect)
    assert "WHERE scans.id = %s" in fast.sql
    assert fast.params({"i": 7}) == (7,)
    with pytest.raises(ValueError, match="positional"):
        FastSelect(stmt, postgresql.dialect(paramstyle="named"))


def test_driver_select_reads_inside_the_connections_transaction(db: Engine) -> None:
    """``DriverSelect`` by arity: the rows SQLAlchemy reads (the same values and fields),
    one compiled statement per arity, and inside a transaction the connection's own
    uncommitted rows — it runs on that connection's driver connection."""
    by_events = DriverSelect(
        lambda n: (
            select(scans.c.client_event_id, scans.c.device_time, scans.c.verdict)
            .where(scans.c.client_event_id.in_(in_list(n)), scans.c.device_time >= bindparam("t"))
            .order_by(scans.c.id)
        ),
        arity=True,
    )
    with db.begin() as conn:
        conn.execute(scans.insert(), [_scan_row(i) for i in range(6)])
        mine = by_events.rows_in(conn, ["e-1", "e-4", "e-9"], t=T0)
        assert [r.client_event_id for r in mine] == ["e-1", "e-4"]
        conn.rollback()
    with db.connect() as conn:
        assert by_events.rows_in(conn, ["e-1", "e-4"], t=T0) == []  # rolled back
    with db.begin() as conn:
        conn.execute(scans.insert(), [_scan_row(i) for i in range(6)])
    slow_stmt = (
        select(scans.c.client_event_id, scans.c.device_time, scans.c.verdict)
        .where(scans.c.client_event_id.in_(["e-2", "e-3"]), scans.c.device_time >= T0)
        .order_by(scans.c.id)
    )
    with db.connect() as conn:
        fast = by_events.rows_in(conn, ["e-2", "e-3"], t=T0)
        slow = conn.execute(slow_stmt).all()
        later = by_events.rows_in(conn, ["e-2", "e-3"], t=T0 + timedelta(seconds=3))
    assert [tuple(r) for r in fast] == [tuple(r) for r in slow]
    assert list(fast[0]._fields) == list(slow[0]._fields)
    assert fast[0].device_time.tzinfo is UTC
    assert fast[0].verdict["zh"] == "绿码"
    assert [r.client_event_id for r in later] == ["e-3"]
    assert sorted(n for _, n in by_events._compiled) == [2, 3]
