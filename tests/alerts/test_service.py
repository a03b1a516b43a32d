"""Alerts: repeats fold into the open alert within the pack's window, the lifecycle
refuses wrong moves, missed deadlines escalate one level each, the board's figures
equal a count by hand. Both backends."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
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
    escalate_due,
    file_candidate,
    history,
    transition,
)
from fangkong.alerts.tables import alerts
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


def test_escalation_one_level_per_missed_deadline(province: Engine, rules: AlertRules) -> None:
    raised = at(DAY0, 16)
    with province.begin() as conn:
        tree = RegionTree.load(conn)
        a = file_candidate(conn, _cand(0), rules, raised, by="t").alert_id
        assert escalate_due(conn, tree, raised + timedelta(hours=rules.verify_hours) / 2) == []
        late = raised + timedelta(hours=rules.verify_hours, minutes=1)
        community = tree.parent_of(COMPOUND_A)
        assert escalate_due(conn, tree, late) == [(a, community)]
        assert escalate_due(conn, tree, late) == []  # once per deadline
        transition(conn, a, "verified", by="epi", note="checked", now=late)
        later = raised + timedelta(hours=rules.investigate_hours, minutes=1)
        assert community is not None
        assert escalate_due(conn, tree, later) == [(a, tree.parent_of(community))]
        row = conn.execute(select(alerts).where(alerts.c.id == a)).one()
        assert (row.escalations, row.escalated_to) == (2, tree.parent_of(community))
        assert [h.action for h in history(conn, a)].count("escalated") == 2


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
    end_of_day = at(DAY0) + timedelta(days=1) - timedelta(hours=8)  # local midnight in UTC
    assert b.median_detect_hours == pytest.approx((raised - end_of_day).total_seconds() / 3600)
