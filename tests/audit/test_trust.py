"""Issue 16, "audit you can trust": reads follow jurisdiction, the chain's head is
anchored outside the database, INSERT OR REPLACE is refused, and nothing typed at the
login form sits in the log in clear. On both backends."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, String, cast, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from fangkong.audit import anchor, verify
from fangkong.audit.log import AuditEvent, record, transaction, unknown_name
from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.cli import app
from fangkong.keys import ServerKeys
from fangkong.store.schema import audit_head, audit_log, users
from tests.api.helpers import client, logged_in, login, make_app, person_ids
from tests.audit.tamper import drop_append_only_triggers
from tests.conftest import PASSWORD, TEST_SERVER_KEY, database_url, shell_env

KEY = ServerKeys.from_master(TEST_SERVER_KEY).audit
REFUSED = "audit log is append-only 审计日志只可追加"
runner = CliRunner()


def _append(engine: Engine, n: int) -> None:
    for i in range(n):
        with transaction(engine) as conn:
            record(conn, KEY, AuditEvent("tester", "test.append", "ok", "test", "row", str(i)))


def _anchored(engine: Engine, tmp_path: Path, every_rows: int = 1) -> Path:
    path = tmp_path / "audit" / "anchor.log"
    anchor.attach(engine, anchor.Anchor((path,), every_rows))
    return path


def _move_head_to(engine: Engine, seq: int) -> None:
    """What an attacker does after removing rows: the head names the new newest row."""
    with engine.begin() as conn:
        row_hash = (
            bytes(32)
            if seq == 0
            else conn.execute(select(audit_log.c.row_hash).where(audit_log.c.seq == seq)).scalar()
        )
        conn.execute(update(audit_head).values(seq=seq, row_hash=row_hash))


# ---- jurisdiction ---------------------------------------------------------------------------


def test_audit_reads_follow_jurisdiction(province: Engine, tmp_path: Path) -> None:
    add_user(province, KEY, cli_actor(), "admin2", PASSWORD, "admin", "140121", "test")
    app_ = make_app(province, tmp_path)
    here, there = person_ids(province, "140121")[0], person_ids(province, "140102")[0]
    epi = logged_in(app_, "epi")  # of county 140102
    assert epi.get(f"/api/v1/persons/{there}").status_code == 200
    county2 = logged_in(app_, "county2")  # of county 140121
    assert county2.get(f"/api/v1/persons/{here}").status_code == 200
    assert county2.get(f"/api/v1/persons/{there}").status_code == 404  # elsewhere: as absent

    local = logged_in(app_, "admin2")
    foreign = local.get(f"/api/v1/audit?person={there}")
    absent = local.get("/api/v1/audit?person=999999")
    assert foreign.status_code == absent.status_code == 200
    assert [r["actor"] for r in foreign.json()] == ["county2"]  # its own user's attempt only
    assert [r["actor"] for r in absent.json()] == []
    # the attempt reads as a miss, exactly as the record answered county2
    assert foreign.json()[0]["outcome"] == "not_found"
    assert local.get(f"/api/v1/audit?person={here}").json()[0]["actor"] == "county2"
    assert local.get("/api/v1/audit?user=epi").json() == []
    everything = local.get("/api/v1/audit?limit=1000").json()
    actors = {r["actor"] for r in everything}
    assert {"admin2", "county2"} <= actors  # and the CLI adding them (their user records)
    assert "epi" not in actors
    assert {r["target_id"] for r in everything if r["actor"].startswith("cli:")} == {
        str(i) for i in _user_ids(province, "admin2", "county2")
    }
    page = local.get("/admin/audit")
    assert page.status_code == 200
    assert "<td>epi</td>" not in page.text
    assert "<td>county2</td>" in page.text
    assert "<td>epi</td>" not in local.get("/admin/audit?user=epi").text

    province_wide = logged_in(app_, "admin")
    seen = province_wide.get(f"/api/v1/audit?person={there}").json()
    assert {r["actor"] for r in seen} == {"epi", "county2"}
    assert "out_of_jurisdiction" in {r["outcome"] for r in seen}
    assert "<td>epi</td>" in province_wide.get("/admin/audit").text


def _user_ids(engine: Engine, *names: str) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(users.c.id).where(users.c.username.in_(names))).scalars())


# ---- the anchor -----------------------------------------------------------------------------


def test_anchor_lags_and_is_written_private(engine: Engine, tmp_path: Path) -> None:
    path = _anchored(engine, tmp_path, every_rows=5)
    _append(engine, 12)
    checkpoints = list(anchor.read(path, KEY))
    # row n is anchored by the append of row n+1: first at once, then every 5 rows
    assert [c.seq for c in checkpoints if isinstance(c, anchor.Checkpoint)] == [1, 6, 11]
    assert verify(engine, KEY, [path]) == (12, [])  # row 12 not anchored yet: fine
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_truncation_with_the_head_moved_back_is_reported(province: Engine, tmp_path: Path) -> None:
    app_ = make_app(province, tmp_path, FANGKONG_AUDIT_ANCHOR_ROWS="1")
    c = logged_in(app_, "epi")  # the server anchors in its home, here at every append
    for pid in person_ids(province, "140102")[:6]:
        assert c.get(f"/api/v1/persons/{pid}").status_code == 200
    env = {**shell_env(tmp_path), "FANGKONG_DATABASE_URL": database_url(province)}
    env["COLUMNS"] = "300"
    intact = runner.invoke(app, ["audit", "verify"], env=env)
    assert intact.exit_code == 0, intact.output

    drop_append_only_triggers(province)
    with province.begin() as conn:
        newest = conn.execute(select(func.max(audit_log.c.seq))).scalar_one()
        conn.execute(delete(audit_log).where(audit_log.c.seq > newest - 3))
    _move_head_to(province, newest - 3)
    assert verify(province, KEY)[1] == []  # the chain alone: a shorter, intact chain

    broken = runner.invoke(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1
    assert f"row {newest - 1}" in broken.output  # the newest checkpoint, beyond the log
    assert f"log ends at row {newest - 3}" in broken.output


def test_a_wiped_log_with_its_head_reset_is_reported(engine: Engine, tmp_path: Path) -> None:
    path = _anchored(engine, tmp_path)
    _append(engine, 4)
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_log))
    _move_head_to(engine, 0)
    assert verify(engine, KEY) == (0, [])  # the chain alone sees an empty, intact log

    count, breaks = verify(engine, KEY, [path])
    assert count == 0
    assert [b.seq for b in breaks] == [3]
    assert "log ends at row 0" in breaks[0].reason
    # and a new log started over it does not match the checkpoints either
    _append(engine, 2)
    assert any("rewritten" in b.reason for b in verify(engine, KEY, [path])[1])


def test_anchor_lines_forged_reordered_or_removed_are_reported(
    engine: Engine, tmp_path: Path
) -> None:
    path = _anchored(engine, tmp_path)
    _append(engine, 4)  # checkpoints of rows 1, 2, 3
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 3
    forged = anchor.line_for(bytes(32), 9, bytes(32), anchor.clock.wall())
    path.write_bytes(lines[1] + lines[0] + forged)
    breaks = verify(engine, KEY, [path])[1]
    assert {b.where for b in breaks} == {"anchor"}
    assert [b.seq for b in breaks] == [2, 3]  # line 2 out of order, line 3 forged
    assert "out of order" in breaks[0].reason
    assert "bad signature" in breaks[1].reason

    path.unlink()
    breaks = verify(engine, KEY, [path])[1]
    assert [(b.where, b.seq) for b in breaks] == [("anchor", 0)]
    assert "unanchored" in breaks[0].reason


def test_the_copy_is_written_and_checked_too(engine: Engine, tmp_path: Path) -> None:
    primary, copy = tmp_path / "audit" / "anchor.log", tmp_path / "elsewhere" / "anchor.copy"
    anchor.attach(engine, anchor.Anchor((primary, copy)))
    _append(engine, 3)
    assert primary.read_bytes() == copy.read_bytes() != b""
    primary.unlink()  # one file gone: the copy still holds the head
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 3))
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    _move_head_to(engine, 1)
    breaks = verify(engine, KEY, [primary, copy])[1]
    assert any(str(copy) in b.reason and "log ends at row 1" in b.reason for b in breaks)


# ---- INSERT OR REPLACE, ON CONFLICT DO UPDATE ------------------------------------------------


def _replacements(engine: Engine) -> list[Any]:
    values = {
        "seq": 1,
        "at": anchor.clock.wall(),
        "actor": "someone",
        "action": "test.append",
        "outcome": "ok",
        "address": "test",
        "prev_hash": bytes(32),
        "row_hash": bytes(32),
    }
    if engine.dialect.name == "sqlite":
        upsert = sqlite.insert(audit_log).values(**values)
        return [
            audit_log.insert().prefix_with("OR REPLACE").values(**values),
            text("REPLACE INTO audit_log SELECT * FROM audit_log WHERE seq = 1"),
            upsert.on_conflict_do_update(index_elements=["seq"], set_={"actor": "someone"}),
        ]
    pg = postgresql.insert(audit_log).values(**values)
    return [pg.on_conflict_do_update(index_elements=["seq"], set_={"actor": "someone"})]


def test_insert_or_replace_is_refused(engine: Engine) -> None:
    _append(engine, 2)
    with engine.connect() as conn:
        before = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
    for statement in _replacements(engine):
        with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
            conn.execute(statement)
        assert REFUSED in str(caught.value)
    with engine.connect() as conn:
        assert conn.execute(select(audit_log).order_by(audit_log.c.seq)).all() == before
    _append(engine, 1)  # a plain append still goes in
    assert verify(engine, KEY) == (3, [])


# ---- nothing typed in clear ---------------------------------------------------------------


def _rows_containing(engine: Engine, needle: str) -> int:
    columns = [audit_log.c[c] for c in ("actor", "action", "target_id", "address", "detail")]
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    or_(*(cast(c, String).contains(needle) for c in columns))
                )
            ).scalar_one()
        )


def test_a_typed_id_number_is_not_kept_in_clear(province: Engine, tmp_path: Path) -> None:
    typed = "11010519491231002X"
    app_ = make_app(province, tmp_path)
    for _ in range(2):
        assert login(client(app_), typed, "wrong password").status_code == 401
    assert login(client(app_), "epi", "wrong password").status_code == 401
    assert _rows_containing(province, typed) == 0
    assert _rows_containing(province, typed[:12]) == 0
    with province.connect() as conn:
        actors = conn.execute(
            select(audit_log.c.actor).where(audit_log.c.action == "login").order_by(audit_log.c.seq)
        ).scalars()
        assert list(actors) == [unknown_name(KEY, typed)] * 2 + ["epi"]  # correlated, not read

    # a number put into any other field by any caller is masked as well
    with transaction(province) as conn:
        note = f"called 13812341234 about {typed.lower()}"
        record(conn, KEY, AuditEvent("tester", "test.note", "ok", "test", "x", typed, note))
    assert _rows_containing(province, "13812341234") == 0
    assert _rows_containing(province, typed[:12]) == 0
    assert verify(province, KEY)[1] == []


def test_a_checkpoint_is_due_by_rows_or_by_time() -> None:
    every = anchor.Anchor((Path("x"),), every_rows=16, every_seconds=1)
    now = anchor.clock.wall()
    last = anchor.Checkpoint(1, 10, bytes(32), now.isoformat())
    assert anchor._due(every, None, 1, now)  # nothing anchored yet
    assert not anchor._due(every, last, 20, now)
    assert anchor._due(every, last, 26, now)  # 16 rows on
    assert anchor._due(every, last, 11, now + timedelta(seconds=1))  # a second on
    assert not anchor._due(every, last, 10, now + timedelta(hours=1))  # the head did not move
    assert not anchor._due(every, last, 5, now + timedelta(hours=1))  # went back: verify's job
