"""Alerts: repeats fold into the open alert within the pack's window, the lifecycle
refuses wrong moves, an overdue alert escalates through its command task (never its own
columns), the board's figures equal a count by hand. Both backends."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from fangkong.alerts.board import timeliness
from fangkong.alerts.rules import AlertRules
from fangkong.alerts.series import RegionTree
from fangkong.alerts.service import (
    Candidate,
    StatusInvalid,
    TransitionRefused,
    file_candidate,
    history,
    transition,
)
from fangkong.alerts.tables import alerts
from fangkong.command.rules import CommandRules
from fangkong.command.tasks import escalate_overdue, get_task, raise_task, task_history
from fangkong.policy import load_pack
from tests.alerts.conftest import COMPOUND_A, DAY0, at

TZ = ZoneInfo("Asia/Shanghai")


def _cand(day_offset: int, observed: float = 5, severity: str = "medium") -> Candidate:
    return Candidate(
        kind="detection", rule="fever_clinic_daily", signals=("fever_clinic",),
        method="ears-c2", region_code=COMPOUND_A, level="compound", frequency="day",
        severity=severity, period=DAY0 + timedelta(days=day_offset), observed=observed,
        expected=1.0, threshold=3.5, evidence={"periods": [], "counts": []},
    )  # fmt: skip


def test_dedup_window(province: Engine, rules: AlertRules) -> None:
    now = at(DAY0, 16)
    with province.begin() as conn:
        first = file_candidate(conn, _cand(0), rules, now, by="t")
        assert first.action == "raised"
        assert file_candidate(conn, _cand(0), rules, now, by="t").action == "unchanged"
        again = file_candidate(conn, _cand(2, 9, "high"), rules, now, by="t")
        assert (again.action, again.alert_id) == ("repeated", first.alert_id)
        late = file_candidate(conn, _cand(2 + rules.dedup_days + 1), rules, now, by="t")
        assert late.action == "raised"
        assert late.alert_id != first.alert_id
        row = conn.execute(select(alerts).where(alerts.c.id == first.alert_id)).one()
        assert (row.first_period, row.last_period) == (DAY0, DAY0 + timedelta(days=2))
        assert (row.observed, row.repeats, row.severity) == (9, 1, "high")
        assert row.verify_due == now + timedelta(hours=rules.verify_hours)
        assert row.investigate_due == now + timedelta(hours=rules.investigate_hours)
        assert [h.action for h in history(conn, first.alert_id)] == ["raised", "repeated"]


def test_closed_alert_is_not_reopened(province: Engine, rules: AlertRules) -> None:
    now = at(DAY0, 16)
    with province.begin() as conn:
        a = file_candidate(conn, _cand(0), rules, now, by="t").alert_id
        transition(conn, a, "dismissed", by="epi", note="false alarm: one family", now=now)
        b = file_candidate(conn, _cand(1), rules, now, by="t")
        assert b.action == "raised"
        assert b.alert_id != a


def test_lifecycle(province: Engine, rules: AlertRules) -> None:
    now = at(DAY0, 16)
    with province.begin() as conn:
        a = file_candidate(conn, _cand(0), rules, now, by="t").alert_id
        with pytest.raises(TransitionRefused):
            transition(conn, a, "closed", by="epi", note="x", now=now)
        with pytest.raises(StatusInvalid):
            transition(conn, a, "verified", by="epi", note="  ", now=now)
        with pytest.raises(StatusInvalid):
            transition(conn, a, "solved", by="epi", note="x", now=now)
        for status in ("verified", "investigated", "closed"):
            transition(conn, a, status, by="epi", note=f"{status} ok", now=now)
        with pytest.raises(TransitionRefused):
            transition(conn, a, "dismissed", by="epi", note="x", now=now)
        row = conn.execute(select(alerts).where(alerts.c.id == a)).one()
        assert row.status == "closed"
        assert row.verified_at == row.investigated_at == row.closed_at == now
        steps = [(h.from_status, h.to_status, h.changed_by) for h in history(conn, a)]
        assert steps[1:] == [("raised", "verified", "epi"), ("verified", "investigated", "epi"),
                             ("investigated", "closed", "epi")]  # fmt: skip


def test_an_overdue_alert_escalates_through_its_task(province: Engine, rules: AlertRules) -> None:
    """The alert's task falls due with the alert (verify_due, then investigate_due once
    verified) and climbs one region level per [command.escalation] hours overdue; the
    alert's own escalation columns are never written and its history has no escalation."""
    cmd = CommandRules.from_pack(load_pack("protocol-9"))
    after = timedelta(hours=cmd.escalation.after_hours)
    raised = at(DAY0, 16)
    with province.begin() as conn:
        tree = RegionTree.load(conn)
        a = file_candidate(conn, _cand(0), rules, raised, by="t").alert_id
        row = conn.execute(select(alerts).where(alerts.c.id == a)).one()
        task, _ = raise_task(conn, cmd, kind="alert", source_type="alert", source_id=str(a),
                             region_code=row.region_code, role="epidemiologist", params={},
                             deadline_at=row.verify_due, by="job:raise", at=raised)  # fmt: skip

        def moved(now: datetime) -> list[tuple[str, int]]:
            return [(m.to_region, m.level) for m in escalate_overdue(conn, cmd, at=now)
                    if m.task_id == task.id]  # fmt: skip

        assert moved(row.verify_due + after / 2) == []  # overdue, not yet long enough
        late = row.verify_due + after + timedelta(minutes=1)
        community = tree.parent_of(COMPOUND_A)
        assert community is not None
        assert moved(late) == [(community, 1)]
        assert moved(late) == []  # once per step
        transition(conn, a, "verified", by="epi", note="checked", now=late)
        now_due = get_task(conn, task.id, at=late)
        assert now_due is not None
        assert now_due.deadline_at == row.investigate_due
        assert moved(row.investigate_due) == []  # the new deadline, not the old one
        later = row.investigate_due + after + timedelta(minutes=1)
        assert moved(later) == [(tree.parent_of(community), 2)]
        row = conn.execute(select(alerts).where(alerts.c.id == a)).one()
        assert (row.escalations, row.escalated_to, row.escalated_at) == (0, None, None)
        assert "escalated" not in [h.action for h in history(conn, a)]
        steps = [(c.from_region, c.to_region) for c in task_history(conn, task.id) if c.to_region]
        assert steps == [(COMPOUND_A, community), (community, tree.parent_of(community))]


def test_board_figures_by_hand(province: Engine, rules: AlertRules) -> None:
    raised = at(DAY0, 16)
    v, i = timedelta(hours=rules.verify_hours), timedelta(hours=rules.investigate_hours)
    with province.begin() as conn:
        ids = [file_candidate(conn, dataclasses.replace(_cand(0), rule=f"r{k}"), rules, raised,
                              by="t").alert_id for k in range(5)]  # fmt: skip
        transition(conn, ids[0], "verified", by="e", note="n", now=raised + v / 2)  # on time
        transition(conn, ids[0], "investigated", by="e", note="n", now=raised + i / 2)
        transition(conn, ids[1], "verified", by="e", note="n", now=raised + 2 * v)  # late
        transition(conn, ids[2], "dismissed", by="e", note="n", now=raised + v / 4)
        rows = conn.execute(select(alerts)).all()
    now = raised + 3 * v  # ids 3, 4 overdue for verification; investigation not yet due
    b = timeliness("x", "x", rows, now, TZ)
    assert (b.raised, b.open, b.dismissed) == (5, 4, 1)
    assert (b.verified_due, b.verified_on_time) == (4, 1)  # 0 on time, 1 late, 3 and 4 overdue
    assert b.median_verify_hours == pytest.approx((v / 2 + 2 * v).total_seconds() / 2 / 3600)
    assert (b.investigated_due, b.investigated_on_time) == (1, 1)
    assert b.overdue == 2
    # escalated: the alerts whose task moved up (access.escalated_alerts), not a column
    assert (b.escalated, timeliness("x", "x", rows, now, TZ, {ids[3], 10**6}).escalated) == (0, 1)
    end_of_day = at(DAY0) + timedelta(days=1) - timedelta(hours=8)  # local midnight in UTC
    assert b.median_detect_hours == pytest.approx((raised - end_of_day).total_seconds() / 3600)
