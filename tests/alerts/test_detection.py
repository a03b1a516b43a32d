"""The detection job: single-event triggers fire at once, a detector's alarm becomes an
alert whose evidence (thresholds over the series) equals EARS C2 computed by hand, and a
second run for the same day changes nothing. Both backends."""

from __future__ import annotations

import dataclasses
import json
import statistics
from datetime import timedelta

import numpy as np
from sqlalchemy import Engine, select

from fangkong.alerts.detection import run_detection
from fangkong.alerts.rules import AlertRules, Detector
from fangkong.alerts.signals import record_signals
from fangkong.alerts.tables import alerts
from tests.alerts.conftest import COMPOUND_A, COMPOUND_B, DAY0, at

COMMUNITY_A = COMPOUND_A[:12]


def _only(rules: AlertRules, *, triggers: tuple[str, ...] = (),
          detectors: tuple[Detector, ...] = ()) -> AlertRules:  # fmt: skip
    return dataclasses.replace(
        rules, triggers={k: v for k, v in rules.triggers.items() if k in triggers},
        detectors={d.id: d for d in detectors},
    )  # fmt: skip


def _send(engine: Engine, signal: str, region: str, counts: list[int], source: str = "s") -> None:
    rows = [{"signal": signal, "region_code": region, "date": DAY0 + timedelta(days=i), "count": n}
            for i, n in enumerate(counts)]  # fmt: skip
    record_signals(engine, rows, source=source)


def _alerts(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(conn.execute(select(alerts).order_by(alerts.c.id)).all())


def test_triggers(province: Engine, rules: AlertRules) -> None:
    r = _only(rules, triggers=("positive_outside_quarantine", "fever_cluster"))
    cluster = r.triggers["fever_cluster"]
    below = [1] * (cluster.min_count - 1) + [0] * 5  # the window never reaches min_count
    _send(province, "fever_clinic", COMPOUND_B, below)
    hit = [0, 0, 0] + [1] * cluster.min_count  # reached on day 3 + min_count - 1
    _send(province, "fever_clinic", COMPOUND_A, hit)
    _send(province, "positive_outside_quarantine", COMPOUND_B, [0, 0, 1])
    for d in range(len(hit)):
        run_detection(province, r, DAY0 + timedelta(days=d), at(DAY0 + timedelta(days=d + 1)))
    found = {(a.rule, a.region_code, a.first_period) for a in _alerts(province)}  # type: ignore[attr-defined]
    assert found == {
        ("fever_cluster", COMPOUND_A, DAY0 + timedelta(days=3 + cluster.min_count - 1)),
        ("positive_outside_quarantine", COMPOUND_B, DAY0 + timedelta(days=2)),
    }
    (pos,) = [a for a in _alerts(province) if a.rule == "positive_outside_quarantine"]  # type: ignore[attr-defined]
    assert (pos.severity, pos.kind, pos.observed, pos.threshold) == ("high", "trigger", 1, 1)


def _c2_bounds(x: list[float], alpha: float, baseline: int, min_sigma: float) -> list[float | None]:
    """EARS C2 by hand: mean and sample sd of days t-2-baseline .. t-3, one-sided z."""
    z = statistics.NormalDist().inv_cdf(1 - alpha)
    out: list[float | None] = []
    for t in range(len(x)):
        ref = x[t - 2 - baseline : t - 2] if t >= baseline + 2 else []
        out.append(statistics.fmean(ref) + z * max(statistics.stdev(ref), min_sigma)
                   if ref else None)  # fmt: skip
    return out


def test_detector_alarm_and_evidence(province: Engine, rules: AlertRules) -> None:
    params = {"alpha": 0.01, "baseline": 7, "min_sigma": 0.5}
    det = Detector("fever_test", ("fever_clinic",), "ears-c2", "community", "day", params,
                   "medium", 3, "测试", "test")  # fmt: skip
    r = _only(rules, detectors=(det,))
    rng = np.random.default_rng(5)
    counts = [*rng.poisson(1.0, 20).tolist(), 9]
    # two reporting points in two compounds of the same community add up
    _send(province, "fever_clinic", COMPOUND_A, [*counts[:-1], 6], source="FC-1")
    _send(province, "fever_clinic", COMPOUND_A, [0] * 20 + [3], source="FC-2")
    last = DAY0 + timedelta(days=20)
    first = run_detection(province, r, last, at(last + timedelta(days=1)))
    assert (first.raised, first.repeated) == (1, 0)
    again = run_detection(province, r, last, at(last + timedelta(days=1), 3))
    assert (again.raised, again.repeated, again.candidates) == (0, 0, 1)
    (a,) = _alerts(province)
    assert (a.region_code, a.level, a.method, a.observed) == (
        COMMUNITY_A,
        "community",
        "ears-c2",
        9,
    )  # type: ignore[attr-defined]
    ev = json.loads(a.evidence)  # type: ignore[attr-defined]
    assert ev["counts"] == [float(c) for c in counts]
    assert ev["periods"][0] == DAY0.isoformat()
    expected = _c2_bounds([float(c) for c in counts], **params)  # type: ignore[arg-type]
    for got, want in zip(ev["thresholds"], expected, strict=True):
        assert (got is None) == (want is None)
        if want is not None:
            assert abs(got - want) < 1e-6
    assert ev["alarms"][-1] is True
    assert a.threshold == ev["thresholds"][-1]  # type: ignore[attr-defined]
    assert ev["params"]["alpha"] == params["alpha"]


def test_min_count_and_quiet_series(province: Engine, rules: AlertRules) -> None:
    params = {"alpha": 0.01, "baseline": 7, "min_sigma": 0.0}
    det = Detector("quiet", ("fever_clinic",), "ears-c2", "community", "day", params, "low", 3,
                   "静", "quiet")  # fmt: skip
    r = _only(rules, detectors=(det,))
    _send(province, "fever_clinic", COMPOUND_A, [0] * 15 + [2])  # above a zero bound, below 3
    day = DAY0 + timedelta(days=15)
    assert run_detection(province, r, day, at(day + timedelta(days=1))).candidates == 0
    short = DAY0 + timedelta(days=3)  # too little history: skipped, and said so
    result = run_detection(province, r, short, at(short + timedelta(days=1)))
    assert result.candidates == 0
    assert any("too short" in s for s in result.skipped)
