"""The infections of many risk areas read at once (``infections_by_area``, the lists of
areas, issue 19) are those of each area read alone (``infections``, the lifting job's),
on both backends: areas of every level, nested ones, a building by its households, and
different starting days; the list's expected lifting follows them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, select

from fangkong.healthcode.context import CodeContext
from fangkong.riskareas.lifting import AreaState, due_at, walk
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.riskareas.service import (
    AreaKey,
    designate,
    infections,
    infections_by_area,
    list_areas,
    next_lifts,
    run_lifting,
)
from fangkong.riskareas.tables import risk_areas
from fangkong.store.schema import persons, regions, venues
from fangkong.tracing.tables import tracing_cases, tracing_exposures
from tests.tracing.traced_world import FIRST_DAY, START, traced_world

Ctx = Callable[[str], CodeContext]


def _where_infections_are(engine: Engine) -> tuple[list[str], list[str]]:
    """The regions of the cases' homes and of the venues of their stays."""
    with engine.connect() as conn:
        homes = conn.execute(
            select(persons.c.residence_code)
            .join(tracing_cases, tracing_cases.c.person_id == persons.c.id)
            .distinct()
        ).scalars()
        stays = conn.execute(
            select(venues.c.region_code)
            .join(tracing_exposures, tracing_exposures.c.place_code == venues.c.code)
            .distinct()
        ).scalars()
        return sorted(str(h) for h in homes), sorted(str(s) for s in stays)


def test_many_areas_at_once_as_each_alone(province: Engine, code_context: Ctx) -> None:
    ctx = code_context("protocol-9")
    traced_world(province)
    homes, stays = _where_infections_are(province)
    with province.connect() as conn:
        every = [str(c) for c in conn.execute(select(regions.c.code)).scalars()]
    # every region of the province (nested: a county and its compounds), from three days
    keys = [
        AreaKey(i, code, None, FIRST_DAY + timedelta(days=shift))
        for i, (code, shift) in enumerate(
            (c, s) for c in sorted(set(every) | set(homes) | set(stays)) for s in (0, 3, 6)
        )
    ]
    with province.connect() as conn:
        alone = {k.id: infections(conn, k.id, k.region_code, None, k.since, ctx) for k in keys}
        together = infections_by_area(conn, keys, ctx.tz)
        assert infections_by_area(conn, [], ctx.tz) == {}
    assert together == alone
    assert sum(1 for v in alone.values() if v) > 10  # not an agreement on nothing


def test_buildings_and_the_list(province: Engine, code_context: Ctx) -> None:
    ctx = code_context("twenty-measures")
    traced_world(province, seed=2)
    homes, _ = _where_infections_are(province)
    with province.connect() as conn:
        household = conn.execute(
            select(persons.c.household_code, persons.c.residence_code)
            .join(tracing_cases, tracing_cases.c.person_id == persons.c.id)
            .where(persons.c.household_code.is_not(None))
        ).first()
    assert household is not None
    designate(province, ctx, region_code=str(household.residence_code), building="1号楼",
              households_in=[str(household.household_code)], level="high", reason="r",
              by="epi", at=START, now=START, evaluate=False)  # fmt: skip
    for code in homes[:3]:
        if code != household.residence_code:
            designate(province, ctx, region_code=code, level="high", reason="r", by="epi",
                      at=START, now=START, evaluate=False)  # fmt: skip
    rules = RiskAreaRules.from_pack(ctx.pack)
    with province.connect() as conn:
        rows = conn.execute(select(risk_areas)).all()
        keys = [AreaKey(r.id, r.region_code, r.building, FIRST_DAY) for r in rows]
        alone = {k.id: infections(conn, k.id, k.region_code, k.building, k.since, ctx)
                 for k in keys}  # fmt: skip
        assert infections_by_area(conn, keys, ctx.tz) == alone
    assert any(alone[r.id] for r in rows if r.building is not None)
    listed = {a.id: a.expected_lift_at for a in list_areas(province, ctx)}
    for r in rows:
        due = due_at(rules, AreaState(r.level, r.origin, r.since), alone[r.id])
        assert listed[r.id] == (due[0] if due else None)


def test_lifting_job_and_clocks_read_as_each_area_alone(
    province: Engine, code_context: Ctx
) -> None:
    """The lifting job (``run_lifting``) and the figures' lifting clocks (``next_lifts``)
    read every area's infections at once; what they find is what the one-area reading
    (``infections``) walked area by area gives: the same clocks, the same lifts."""
    ctx = code_context("protocol-9")
    traced_world(province, seed=3)
    homes, stays = _where_infections_are(province)
    with province.connect() as conn:
        compounds = select(regions.c.code).where(regions.c.level == "compound")
        drawn = {str(c) for c in conn.execute(compounds).scalars()}
    linked = sorted({c for c in homes + stays if c in drawn})
    assert len(linked) >= 2
    # high from the start (its infections count), medium after the last infection (none)
    for code, level, day in ((linked[0], "high", 0), (linked[1], "medium", 12)):
        designate(province, ctx, region_code=code, level=level, reason="r", by="epi",
                  at=START + timedelta(days=day), now=START + timedelta(days=day),
                  evaluate=False)  # fmt: skip
    rules = RiskAreaRules.from_pack(ctx.pack)
    with province.connect() as conn:
        rows = conn.execute(select(risk_areas).where(risk_areas.c.level != "low")).all()
        alone = {
            r.id: infections(conn, r.id, r.region_code, r.building,
                             r.since.astimezone(ctx.tz).date(), ctx)
            for r in rows
        }  # fmt: skip
        for days in (2, 9, 13, 20, 27, 40):
            at = START + timedelta(days=days)
            expected = {}
            for r in rows:
                known = [t for t in alone[r.id] if t <= at]
                due = due_at(rules, AreaState(r.level, r.origin, r.since), known)
                if due is not None:
                    expected[r.id] = due[0]
            clocks = next_lifts(conn, rules, ctx.tz, at=at)
            assert {c.area_id: c.lift_at for c in clocks} == expected
    assert any(alone.values())
    assert not all(alone.values())
    now = START + timedelta(days=40)
    walked = [
        (r.id, lift)
        for r in sorted(rows, key=lambda r: r.id)
        for lift in walk(rules, AreaState(r.level, r.origin, r.since), alone[r.id], now)
    ]
    done = run_lifting(province, ctx, now=now, evaluate=False)
    assert [(d.area_id, d.lift) for d in done] == walked
    assert len({a for a, _ in walked}) >= 2  # lifts happened, of more than one area
