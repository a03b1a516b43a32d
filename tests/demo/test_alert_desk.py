"""The demo's duty epidemiologists (``demo.alert_desk.AlertDesk``): each alert verified by
its county's officer in turn, then investigated and closed when the platform has a recent
case living in the alert's region, dismissed as a false alarm when not; each step at its
simulated time, through the alerts service (which closes the alert's command task); steps
after the day's end wait for a later day. Both backends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select

from fangkong.alerts.tables import alerts
from fangkong.command.tables import command_tasks
from fangkong.demo.alert_desk import AlertDesk
from tests.command.world import NOW, World, h


def _alert(conn: Connection, region: str, raised: datetime) -> int:
    key = conn.execute(alerts.insert().values(
        key=f"rule|{region}|{raised.isoformat()}", kind="detection", rule="fever_ears",
        signals="fever_clinic", method="ears_c1", region_code=region, level="county",
        frequency="day", severity="medium", status="raised", first_period=raised.date(),
        last_period=raised.date(), observed=9.0, expected=2.0, threshold=5.0, repeats=0,
        evidence="{}", rules_source="protocol-9", raised_at=raised, verify_due=raised + h(2),
        investigate_due=raised + h(24), escalations=0, updated_at=raised,
    )).inserted_primary_key  # fmt: skip
    assert key is not None
    return int(key[0])


def _task(conn: Connection, alert_id: int, raised: datetime) -> int:
    key = conn.execute(command_tasks.insert().values(
        kind="alert", source_type="alert", source_id=str(alert_id), region_code="K1",
        origin_region_code="K1", role="epidemiologist", params={}, status="open",
        raised_at=raised, raised_by="job:raise", deadline_at=raised + h(2),
        escalation_level=0,
    )).inserted_primary_key  # fmt: skip
    assert key is not None
    return int(key[0])


def test_alerts_answered_in_turn_closed_or_dismissed(engine: Engine) -> None:
    raised = NOW - h(24)
    with engine.begin() as conn:
        w = World(conn)
        w.regions()
        w.case(w.person("T1"), raised - h(48))  # a case in K1 (its township) two days before
        found = _alert(conn, "K1", raised)
        also = _alert(conn, "K1", raised)  # the same officer: verified 45 min after the first
        quiet = _alert(conn, "K2", raised)  # no case in K2: a false alarm
        task = _task(conn, found, raised)
    desk = AlertDesk(engine)
    assert desk.day(raised + h(1)) == 2  # K1's first and K2's verification (45 min)
    assert desk.day(NOW) == 1 + 3 + 2  # the rest: one verified, three decided, two closed
    with engine.connect() as conn:
        got = {r.id: r for r in conn.execute(select(alerts))}
        t = conn.execute(select(command_tasks).where(command_tasks.c.id == task)).one()
    assert got[found].verified_at == raised + h(0.75)
    assert got[also].verified_at == raised + h(1.5)
    assert got[quiet].verified_at == raised + h(0.75)
    assert (got[found].status, got[found].investigated_at) == ("closed", raised + h(8.75))
    assert got[found].closed_at == raised + h(10.75)
    assert (got[quiet].status, got[quiet].closed_at) == ("dismissed", raised + h(8.75))
    assert desk.outcomes == {"verified": 3, "closed": 2, "dismissed": 1}
    assert (t.status, t.closed_at) == ("done", raised + h(10.75))  # within 24 h: on time


def test_a_case_found_after_the_decision_does_not_count(engine: Engine) -> None:
    raised = NOW - h(24)
    with engine.begin() as conn:
        w = World(conn)
        w.regions()
        w.case(w.person("K3"), raised + h(12))  # registered after the decision at 8.75 h
        alert = _alert(conn, "K3", raised)
    AlertDesk(engine).day(NOW)
    with engine.connect() as conn:
        status = conn.execute(select(alerts.c.status).where(alerts.c.id == alert)).scalar()
    assert status == "dismissed"
