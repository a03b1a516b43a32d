"""The demo's field desk (``demo.investigation.FieldDesk``): a quiet county meets every
target, a burst of cases reported at once in one county queues behind its verifier and
its two teams; steps due after the day's end wait for a later day; each stamp is the
simulated time the step was done. Both backends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from fangkong.demo.investigation import BY, FieldDesk
from fangkong.tracing.tables import tracing_cases
from tests.command.world import NOW, World, h


def _stamps(engine: Engine) -> dict[int, tuple[float | None, ...]]:
    """person → hours from the report to each step (None: not recorded)."""
    c = tracing_cases.c
    with engine.connect() as conn:
        rows = conn.execute(select(tracing_cases).order_by(c.id)).all()

    def hours(r: Any, at: datetime | None) -> float | None:
        return None if at is None else (at - r.registered_at).total_seconds() / 3600

    return {r.person_id: tuple(hours(r, getattr(r, f"{s}_at"))
                               for s in ("verified", "on_site", "core_facts", "report"))
            for r in rows}  # fmt: skip


def test_a_burst_queues_and_a_quiet_county_is_on_time(engine: Engine) -> None:
    reported, traced = NOW - h(30), NOW - h(26)
    with engine.begin() as conn:
        w = World(conn)
        w.regions()
        burst = [w.person("T1") for _ in range(3)]  # township of K1: counted in K1
        quiet = w.person("K2")
        for p in [*burst, quiet]:
            w.case(p, reported, traced=traced)
    desk = FieldDesk(engine)
    assert desk.day(NOW - h(29.4)) == 2  # 36 min in: K1's first and K2's verification
    assert desk.day(NOW) == 16 - 2
    got = _stamps(engine)
    assert got[quiet] == (0.5, 1.0, 3.5, 8.0)  # report: 4 h after the tracing run
    # one verifier: 30 min each in turn; two teams: the third case waits for a team back
    # (on site 1 h + interview 2.5 h + 1 h back), so it is on site 5.5 h after the report
    assert [got[p] for p in burst] == [(0.5, 1.0, 3.5, 8.0), (1.0, 1.0, 3.5, 8.0),
                                       (1.5, 5.5, 8.0, 12.0)]  # fmt: skip
    with engine.connect() as conn:
        by = set(conn.execute(select(tracing_cases.c.on_site_by)).scalars())
    assert by == {BY}


def test_steps_after_the_day_wait_for_it(engine: Engine) -> None:
    with engine.begin() as conn:
        w = World(conn)
        w.regions()
        w.case(w.person("K3"), NOW - h(2), traced=NOW)
    desk = FieldDesk(engine)
    assert desk.day(NOW) == 2  # verified (0.5 h) and on site (1 h); facts at 3.5 h
    (got,) = _stamps(engine).values()
    assert got == (0.5, 1.0, None, None)
    assert desk.day(NOW + timedelta(days=1)) == 2
    (got,) = _stamps(engine).values()
    assert got == (0.5, 1.0, 3.5, 7.5)  # the report 4 h after the facts (traced before)
