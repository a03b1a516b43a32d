"""Suggestions from cases' residences and venues; needs of sealed areas as tasks with
deadlines from the pack, overdue first, status history. Both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from fangkong.errors import BadInput, Conflict
from fangkong.healthcode.context import CodeContext
from fangkong.riskareas.needs import list_needs, raise_need, set_need_status
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.riskareas.service import designate
from fangkong.riskareas.suggest import suggest
from fangkong.riskareas.tables import risk_area_need_changes
from fangkong.store.schema import regions, venues
from fangkong.tracing.cases import register_case
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import tracing_contacts, tracing_exposures
from tests.riskareas.conftest import TZ, compounds, residents_of

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=TZ)
Ctx = Callable[[str], CodeContext]


def _stay(engine: Engine, case_id: int, contact_person: int, venue: str) -> None:
    """A traced infectious stay of the case at a venue (as trace_case records it)."""
    with engine.begin() as conn:
        contact = conn.execute(tracing_contacts.insert().values(
            person_id=contact_person, kind="close", status="identified",
            first_exposure_at=T0, last_exposure_at=T0, identified_at=T0, status_at=T0,
            status_by="t")).inserted_primary_key  # fmt: skip
        assert contact is not None
        conn.execute(tracing_exposures.insert().values(
            key=f"k{case_id}{venue}", case_id=case_id, contact_id=contact[0], kind="close",
            setting="venue", place_code=venue, overlap_start=T0 - timedelta(days=1),
            overlap_end=T0 - timedelta(days=1) + timedelta(hours=1), overlap_seconds=3600,
            found_at=T0))  # fmt: skip


@pytest.mark.parametrize("pack", ["protocol-9", "twenty-measures"])
def test_suggestions_follow_residences_and_venues(
    province: Engine, code_context: Ctx, pack: str
) -> None:
    ctx = code_context(pack)
    rules = RiskAreaRules.from_pack(ctx.pack)
    home = compounds(province)[0]
    people = residents_of(province, home)
    case = register_case(province, people[0], ContactRules.from_pack(ctx.pack),
                         sampled=T0.date(), tz=TZ, at=T0)  # fmt: skip
    stayed: dict[str, tuple[str, str]] = {}  # area type → the restaurant and its compound
    with province.connect() as conn:
        for area_type in ("urban", "rural"):
            stayed[area_type] = conn.execute(
                select(venues.c.code, venues.c.region_code)
                .join(regions, regions.c.code == venues.c.region_code)
                .where(regions.c.level == "compound", regions.c.area_type == area_type,
                       venues.c.type == "restaurant")
                .order_by(venues.c.code)
            ).first()  # type: ignore[assignment]  # fmt: skip
    for i, (venue, _) in enumerate(stayed.values()):
        _stay(province, case.id, people[1 + i], venue)
    found = {s.region_code: s for s in suggest(province, ctx, now=T0 + timedelta(hours=2))}
    with province.connect() as conn:
        village, area_type = conn.execute(
            select(regions.c.code, regions.c.area_type).where(regions.c.code == home[:12])
        ).one()
    # a rural compound (村民小组) is drawn as its whole village where the pack draws villages
    area = village if area_type == "rural" and "community" in rules.granularity else home
    assert found[area].level == rules.residence_level == "high"
    assert found[area].cases == {case.id}
    assert "1 recent case" in found[area].reason_en
    if rules.venue_level is None:  # twenty-measures: a visited venue suggests nothing
        assert set(found) == {area}
    else:
        # a restaurant in an urban compound: the medium area is that compound (小区), the
        # smallest unit; in a village group (村民小组) too: the group, not the whole village
        venue, compound = stayed["urban"]
        assert found[compound].level == "medium"
        assert found[compound].venues == {venue}
        assert compound[:12] not in found
        venue, compound = stayed["rural"]  # in the case's own village, already high
        assert compound[:12] == area
        assert found[area].level == "high"
        assert compound not in found  # covered by the village's high level
        assert len(found) == 2
        # in another village: the village group alone is medium, the village is not drawn
        with province.connect() as conn:
            other, group = conn.execute(
                select(venues.c.code, venues.c.region_code)
                .join(regions, regions.c.code == venues.c.region_code)
                .where(regions.c.level == "compound", regions.c.area_type == "rural",
                       venues.c.region_code.not_like(f"{area}%"))
                .order_by(venues.c.code)
            ).first() or (None, None)  # fmt: skip
        if other is not None:
            _stay(province, case.id, people[3], other)
            found = {s.region_code: s for s in suggest(province, ctx, now=T0 + timedelta(hours=2))}
            assert found[group].level == "medium"
            assert found[group].venues == {other}
            assert group[:12] not in found
    # outside the window the case no longer counts
    late = T0 + timedelta(days=rules.window_days + 1)
    assert suggest(province, ctx, now=late) == []
    # an area already high is not suggested again
    designate(province, ctx, region_code=area, level="high", reason="r", by="epi", now=T0)
    assert area not in {s.region_code for s in suggest(province, ctx, now=T0)}


def test_needs_tasks(province: Engine, code_context: Ctx) -> None:
    ctx = code_context("protocol-9")
    rules = RiskAreaRules.from_pack(ctx.pack)
    home, other = compounds(province)[:2]
    people = residents_of(province, home)
    area = designate(province, ctx, region_code=home, level="high", reason="r", by="epi",
                     now=T0).area  # fmt: skip
    slow = max(rules.need_kinds.values(), key=lambda k: k.deadline_hours)
    fast = min(rules.need_kinds.values(), key=lambda k: k.deadline_hours)
    a = raise_need(province, rules, area_id=area.id, person_id=people[0], kind=slow.name,
                   note="米面油", by="grid", now=T0)  # fmt: skip
    b = raise_need(province, rules, area_id=area.id, person_id=people[1], kind=fast.name,
                   note="降压药", by="grid", now=T0)  # fmt: skip
    # medical and emergency needs are the care register's now (migration 0028)
    for moved in ("medical", "emergency"):
        with pytest.raises(BadInput) as err:
            raise_need(province, rules, area_id=area.id, person_id=people[2], kind=moved,
                       note="胸痛", by="grid", now=T0)  # fmt: skip
        assert err.value.code == "riskarea.need_moved"
    needs = list_needs(province, now=T0)
    assert {n.id: n.due_at for n in needs} == {
        a: T0 + timedelta(hours=slow.deadline_hours),
        b: T0 + timedelta(hours=fast.deadline_hours),
    }
    assert not any(n.overdue for n in needs)
    # after the short deadline the medicines request is overdue and listed first
    later = T0 + timedelta(hours=fast.deadline_hours, minutes=1)
    needs = list_needs(province, now=later)
    assert [(n.id, n.overdue) for n in needs] == [(b, True), (a, False)]
    set_need_status(province, b, "in_progress", by="doctor", assigned_to="社区医生", now=later)
    set_need_status(province, b, "done", by="doctor", note="已送医", now=later)
    assert [n.id for n in list_needs(province, now=later, open_only=True)] == [a]
    with pytest.raises(Conflict):
        set_need_status(province, b, "open", by="x", now=later)
    with pytest.raises(BadInput):
        set_need_status(province, a, "cancelled", by="x", now=later)  # no note
    with province.connect() as conn:
        steps = (
            conn.execute(
                select(risk_area_need_changes.c.to_status)
                .where(risk_area_need_changes.c.need_id == b)
                .order_by(risk_area_need_changes.c.id)
            )
            .scalars()
            .all()
        )
    assert steps == ["open", "in_progress", "done"]
    # not a resident, unknown kind, an area not under control: refused, nothing written
    outsider = residents_of(province, other)[0]
    for kwargs, code in [
        ({"person_id": outsider, "kind": slow.name}, "riskarea.not_resident"),
        ({"person_id": people[2], "kind": "pizza"}, "riskarea.need_kind"),
    ]:
        with pytest.raises(BadInput) as caught:
            raise_need(province, rules, area_id=area.id, note="", by="g", now=T0,
                       **kwargs)  # type: ignore[arg-type]  # fmt: skip
        assert caught.value.code == code
    designate(province, ctx, region_code=home, level="low", reason="解除", by="epi",
              now=T0 + timedelta(hours=1))  # fmt: skip
    with pytest.raises(BadInput) as caught:
        raise_need(province, rules, area_id=area.id, person_id=people[2], kind=slow.name,
                   note="", by="g", now=T0)  # fmt: skip
    assert caught.value.code == "riskarea.not_sealed"
    assert len(list_needs(province, now=later)) == 2
