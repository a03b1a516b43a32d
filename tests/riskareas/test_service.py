"""Designation, the lifting job and health codes on both backends (the test province).

A compound is designated high; its residents' codes turn red at once; a case living there
restarts the clock; the job lifts it to medium (yellow) and then to low (green), writing a
change row per step that names the job and the rule; a code evaluated for a past moment
still reads the level then in force. twenty-measures draws a building by its households."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from fangkong.errors import BadInput, Conflict
from fangkong.healthcode.codes import current_code, load_facts
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.evaluator import evaluate
from fangkong.healthcode.tables import person_facts
from fangkong.riskareas.lifting import infection_time
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.riskareas.service import (
    LIFTING_JOB,
    area_history,
    designate,
    list_areas,
    run_lifting,
)
from fangkong.riskareas.tables import risk_area_changes, risk_areas
from fangkong.store.schema import households, persons
from fangkong.tracing.cases import register_case
from fangkong.tracing.rules import ContactRules
from tests.riskareas.conftest import TZ, compounds, residents_of

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=TZ)
Ctx = Callable[[str], CodeContext]


def colours(engine: Engine, ids: list[int]) -> set[str]:
    out = set()
    for pid in ids:
        code = current_code(engine, pid)
        assert code is not None
        out.add(code.colour.label)
    return out


def test_designate_lift_and_codes(province: Engine, code_context: Ctx) -> None:
    ctx = code_context("protocol-9")
    rules = RiskAreaRules.from_pack(ctx.pack)
    target, other = compounds(province)[:2]
    people, outsiders = residents_of(province, target), residents_of(province, other)
    result = designate(province, ctx, region_code=target, level="high", reason="两例病例居住",
                       by="epi", at=T0, now=T0)  # fmt: skip
    assert result.residents == len(people)
    assert result.area.level == "high"
    assert colours(province, people) == {"red"}
    assert all(current_code(province, p) is None for p in outsiders)  # never touched
    high_days = rules.lifting["high"].days
    assert result.area.expected_lift_at == T0 + timedelta(days=high_days)

    # a resident falls ill two days later: the high clock restarts from that day
    sampled = (T0 + timedelta(days=2)).date()
    register_case(province, people[0], ContactRules.from_pack(ctx.pack), sampled=sampled,
                  tz=TZ, at=T0 + timedelta(days=2))  # fmt: skip
    restart = infection_time(sampled, TZ)
    assert run_lifting(province, ctx, now=T0 + timedelta(days=high_days, hours=1)) == []
    lifted = run_lifting(province, ctx, now=restart + timedelta(days=high_days))
    assert [(x.lift.from_level, x.lift.to_level, x.lift.at) for x in lifted] == [
        ("high", "medium", restart + timedelta(days=high_days))
    ]
    # the sick resident is red as a case; the others turn yellow (residence_medium)
    assert colours(province, people[1:]) == {"yellow"}
    medium_at = restart + timedelta(days=high_days)
    down = rules.lifting["medium"].days_downgraded
    assert list_areas(province, ctx)[0].expected_lift_at == medium_at + timedelta(days=down)
    lifted = run_lifting(province, ctx, now=medium_at + timedelta(days=down))
    assert [(x.lift.from_level, x.lift.to_level) for x in lifted] == [("medium", "low")]
    assert colours(province, people[1:]) == {"green"}
    assert list_areas(province, ctx) == []  # no current high or medium area

    history = area_history(province)
    assert [(h.from_level, h.to_level, h.changed_by) for h in history] == [
        ("medium", "low", LIFTING_JOB), ("high", "medium", LIFTING_JOB), (None, "high", "epi"),
    ]  # fmt: skip
    assert history[1].rule == f"lifting.high ({high_days} d)"
    # a code evaluated for a moment in the past reads the level in force then
    with province.connect() as conn:
        facts = load_facts(conn, people[1])
    assert evaluate(facts, T0 + timedelta(days=1), ctx.pack, tz=TZ).colour.label == "red"
    assert evaluate(facts, medium_at + timedelta(hours=1), ctx.pack,
                    tz=TZ).colour.label == "yellow"  # fmt: skip
    # the job is idempotent: nothing more is due
    assert run_lifting(province, ctx, now=medium_at + timedelta(days=30)) == []


def test_designated_medium_lifts_after_its_own_days(province: Engine, code_context: Ctx) -> None:
    ctx = code_context("protocol-9")
    rules = RiskAreaRules.from_pack(ctx.pack)
    target = compounds(province)[0]
    designate(province, ctx, region_code=target, level="medium", reason="病例到访", by="epi",
              at=T0, now=T0)  # fmt: skip
    assert colours(province, residents_of(province, target)) == {"yellow"}
    days = rules.lifting["medium"].days
    assert run_lifting(province, ctx, now=T0 + timedelta(days=days) - timedelta(minutes=1)) == []
    lifted = run_lifting(province, ctx, now=T0 + timedelta(days=days))
    assert [(x.lift.from_level, x.lift.to_level) for x in lifted] == [("medium", "low")]


def test_twenty_measures_building(province: Engine, code_context: Ctx) -> None:
    ctx = code_context("twenty-measures")
    rules = RiskAreaRules.from_pack(ctx.pack)
    target = compounds(province, least=4)[0]
    with province.connect() as conn:
        codes = sorted(
            conn.execute(
                select(households.c.code).where(households.c.residence_code == target)
            ).scalars()
        )
        assert len(codes) >= 2
        building_people = sorted(
            conn.execute(select(persons.c.id).where(persons.c.household_code == codes[0]))
            .scalars().all()
        )  # fmt: skip
    result = designate(province, ctx, region_code=target, building="3号楼",
                       households_in=[codes[0]], level="high", reason="楼栋内病例", by="epi",
                       at=T0, now=T0)  # fmt: skip
    assert result.area.granularity == "building"
    assert result.residents == len(building_people)
    assert colours(province, building_people) == {"red"}
    others = [p for p in residents_of(province, target) if p not in building_people]
    assert all(current_code(province, p) is None for p in others)
    lifted = run_lifting(province, ctx, now=T0 + timedelta(days=rules.lifting["high"].days))
    assert [(x.lift.from_level, x.lift.to_level) for x in lifted] == [("high", "low")]
    assert colours(province, building_people) == {"green"}


@pytest.mark.parametrize(
    ("pack", "change", "code"),
    [
        ("twenty-measures", {"level": "medium"}, "riskarea.rules_invalid"),
        ("protocol-9", {"region_code": "140102"}, "riskarea.granularity"),  # a county
        ("protocol-9", {"region_code": "999999"}, "riskarea.region_unknown"),
        ("protocol-9", {"level": "low"}, "riskarea.low_new"),
        ("protocol-9", {"reason": " "}, "riskarea.reason_missing"),
        ("protocol-9", {"building": "1号楼", "households_in": ["H1"]}, "riskarea.granularity"),
        ("twenty-measures", {"building": "1号楼", "households_in": ["NOPE"]},
         "riskarea.household_unknown"),
        ("twenty-measures", {"building": "1号楼"}, "riskarea.households_missing"),
    ],
)  # fmt: skip
def test_bad_designation_writes_nothing(
    province: Engine, code_context: Ctx, pack: str, change: dict[str, object], code: str
) -> None:
    args: dict[str, object] = {"region_code": compounds(province)[0], "level": "high",
                               "reason": "test", "by": "epi", "at": T0, "now": T0,
                               **change}  # fmt: skip
    with pytest.raises(BadInput) as caught:
        designate(province, code_context(pack), **args)  # type: ignore[arg-type]
    assert caught.value.code == code
    with province.connect() as conn:
        assert conn.execute(select(func.count()).select_from(risk_areas)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(person_facts)).scalar() == 0


def test_same_level_twice_conflicts(province: Engine, code_context: Ctx) -> None:
    ctx = code_context("protocol-9")
    target = compounds(province)[0]
    designate(province, ctx, region_code=target, level="high", reason="a", by="epi", now=T0)
    with pytest.raises(Conflict):
        designate(province, ctx, region_code=target, level="high", reason="b", by="epi", now=T0)
    # a manual change to low lifts at once, by hand, and closes the residents' facts
    later = T0 + timedelta(hours=1)
    designate(
        province, ctx, region_code=target, level="low", reason="核查排除", by="epi", now=later
    )
    assert colours(province, residents_of(province, target)) == {"green"}
    with province.connect() as conn:
        n = conn.execute(select(func.count()).select_from(risk_area_changes)).scalar()
    assert n == 2
