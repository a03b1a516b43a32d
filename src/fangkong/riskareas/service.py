"""Risk-area use cases: designate, lift (the daily job), list, history (划定、解封、公示).

Each function is one transaction (``write_transaction``): the area row, its change row,
the residents' residence facts and their re-evaluated health codes are written together
or not at all. Who may call them is the caller's concern (``riskareas.access`` for the
pages, the CLI acts as the operator); the service records who did it.

Codes follow areas through ``residence`` facts (healthcode's writer, docs/policy.md): a
resident of an area that becomes high or medium gets a fact from that moment, open-ended;
when the level ends, a closing fact of the old level starting and ending at that moment
(facts are never edited, the latest of a level counts) — so a code evaluated at any past
time still reads the level in force then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, case, func, or_, select, update

from fangkong import clock
from fangkong.auth.jurisdiction import subtree
from fangkong.healthcode.codes import evaluate_person
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.writer import FactInput, write_facts
from fangkong.riskareas.errors import AreaUnknown, DesignationInvalid, StatusConflict, problem
from fangkong.riskareas.lifting import AreaState, Lift, due_at, infection_time, walk
from fangkong.riskareas.rules import LEVEL_NAMES, RiskAreaRules
from fangkong.riskareas.tables import (
    risk_area_changes,
    risk_area_households,
    risk_areas,
)
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.regions import subtrees
from fangkong.store.schema import households, persons, regions, venues
from fangkong.store.tx import Bind, write_transaction
from fangkong.tracing.tables import tracing_cases, tracing_exposures

LIFTING_JOB = "job:lifting"
CODE_LEVELS = ("high", "medium")  # levels a residence fact records (low: no fact)
_GRANULARITY_OF_LEVEL = {"compound": "compound", "community": "community"}


@dataclass(frozen=True)
class AreaView:
    """An area as stored, with the time it lifts if no new infection comes."""

    id: int
    code: str
    name: str
    region_code: str
    building: str | None
    granularity: str
    level: str
    origin: str
    since: datetime
    reason: str
    designated_at: datetime
    designated_by: str
    expected_lift_at: datetime | None
    expected_lift_to: str | None
    reason_en: str = ""  # the reason in English (``reason``: in Chinese)


@dataclass(frozen=True)
class ChangeView:
    id: int
    area_id: int
    area_name: str
    at: datetime
    recorded_at: datetime
    from_level: str | None
    to_level: str
    origin: str
    changed_by: str
    rule: str | None
    reason: str
    reason_en: str = ""


@dataclass(frozen=True)
class ChangeResult:
    area: AreaView
    residents: int  # persons whose residence fact changed (codes re-evaluated)


def _now(now: datetime | None) -> datetime:
    if now is not None and now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return now or clock.now()


def _invalid(code: str, zh: str, en: str) -> DesignationInvalid:
    return DesignationInvalid(problem(code, zh, en))


# ---- who lives in an area, and which infections are linked to it ----------------------------


def _in_area(conn: Connection, area_id: int, region_code: str, building: str | None,
             column: ColumnElement[str | None], household_column: ColumnElement[str | None],
             ) -> ColumnElement[bool]:  # fmt: skip
    if building is not None:
        held = select(risk_area_households.c.household_code).where(
            risk_area_households.c.area_id == area_id
        )
        return household_column.in_(held)
    return column.in_(subtree(region_code))


def residents(conn: Connection, area_id: int, region_code: str, building: str | None) -> list[int]:
    """Person ids living in the area (its region's subtree, or its households)."""
    where = _in_area(conn, area_id, region_code, building, persons.c.residence_code,
                     persons.c.household_code)  # fmt: skip
    return [int(p) for p in conn.execute(select(persons.c.id).where(where)).scalars()]


def infections(
    conn: Connection, area_id: int, region_code: str, building: str | None, since: date,
    ctx: CodeContext,
) -> list[datetime]:  # fmt: skip
    """When each infection linked to the area counts (``lifting.infection_time``): a case
    living in it, or a case whose infectious stay at one of its venues was traced; dated by
    the later of sample and onset date (a stay: its local day). Only from ``since`` on."""
    return _infections(conn, area_id, region_code, building, since, ctx.tz)


def _infections(
    conn: Connection, area_id: int, region_code: str, building: str | None, since: date,
    tz: tzinfo,
) -> list[datetime]:  # fmt: skip
    case_day = func.coalesce(tracing_cases.c.sample_date, tracing_cases.c.onset_date)
    later = func.coalesce(tracing_cases.c.onset_date, tracing_cases.c.sample_date)
    where = _in_area(conn, area_id, region_code, building, persons.c.residence_code,
                     persons.c.household_code)  # fmt: skip
    days: list[date] = []
    for a, b in conn.execute(
        select(case_day, later)
        .join(persons, persons.c.id == tracing_cases.c.person_id)
        .where(where, or_(case_day >= since, later >= since))
    ):
        days.append(max(a, b))
    if building is None:
        stays = conn.execute(
            select(tracing_exposures.c.overlap_start)
            .join(venues, venues.c.code == tracing_exposures.c.place_code)
            .where(
                tracing_exposures.c.setting == "venue",
                venues.c.region_code.in_(subtree(region_code)),
                # only stays from the local start of ``since`` (the filter below, in SQL)
                tracing_exposures.c.overlap_start >= datetime.combine(since, time.min, tz),
            )
            .distinct()
        ).scalars()
        days += [t.astimezone(tz).date() for t in stays]
    return sorted({infection_time(d, tz) for d in days if d >= since})


@dataclass(frozen=True)
class AreaKey:
    """What ``infections_by_area`` needs of an area: where it is, and from which local
    day its infections count."""

    id: int
    region_code: str
    building: str | None
    since: date


def area_key(r: Row[Any], tz: tzinfo) -> AreaKey:
    """What ``infections_by_area`` needs of a ``risk_areas`` row."""
    return AreaKey(int(r.id), str(r.region_code), r.building, r.since.astimezone(tz).date())


def infections_by_area(
    conn: Connection, areas: Sequence[AreaKey], tz: tzinfo
) -> dict[int, list[datetime]]:
    """``infections`` of many areas at once: area id → its infection times. Three
    queries whatever the number of areas (cases by residence, venue stays, cases by
    household for buildings), each area's subtree from one recursive query. The lists,
    the lifting job, the lifting clocks of the figures and the task raiser read them so;
    ``infections`` remains the one-area reading (and the definition the tests hold this
    to)."""
    if not areas:
        return {}
    first = min(a.since for a in areas)
    case_day = func.coalesce(tracing_cases.c.sample_date, tracing_cases.c.onset_date)
    later = func.coalesce(tracing_cases.c.onset_date, tracing_cases.c.sample_date)
    recent = or_(case_day >= first, later >= first)
    days: dict[int, set[date]] = {a.id: set() for a in areas}
    by_root: dict[str, list[int]] = {}
    for a in areas:
        if a.building is None:
            by_root.setdefault(a.region_code, []).append(a.id)
    if by_root:
        tree = subtrees(list(by_root))
        for root, x, y in conn.execute(
            select(tree.c.root, case_day, later)
            .join(persons, persons.c.id == tracing_cases.c.person_id)
            .join(tree, tree.c.code == persons.c.residence_code)
            .where(recent)
        ):
            for area_id in by_root[root]:
                days[area_id].add(max(x, y))
        e = tracing_exposures.c
        start = datetime.combine(first, time.min, tz)
        for root, t in conn.execute(
            select(tree.c.root, e.overlap_start)
            .join(venues, venues.c.code == e.place_code)
            .join(tree, tree.c.code == venues.c.region_code)
            .where(e.setting == "venue", e.overlap_start >= start)
            .distinct()
        ):
            day = t.astimezone(tz).date()
            for area_id in by_root[root]:
                days[area_id].add(day)
    buildings = [a.id for a in areas if a.building is not None]
    if buildings:
        held = risk_area_households.c
        for area_id, x, y in conn.execute(
            select(held.area_id, case_day, later)
            .join(persons, persons.c.id == tracing_cases.c.person_id)
            .join(risk_area_households, held.household_code == persons.c.household_code)
            .where(held.area_id.in_(buildings), recent)
        ):
            days[int(area_id)].add(max(x, y))
    return {
        a.id: sorted({infection_time(d, tz) for d in days[a.id] if d >= a.since}) for a in areas
    }


# ---- health codes ---------------------------------------------------------------------------


def _follow_codes(
    conn: Connection, ctx: CodeContext, area: Sequence[object], from_level: str | None,
    to_level: str, at: datetime, by: str, now: datetime, change_id: int,
    evaluate: bool = True,
) -> int:  # fmt: skip
    """Residence facts for the area's residents at ``at``; their codes re-evaluated
    (unless ``evaluate`` is False: a caller that recomputes every code itself)."""
    area_id, region_code, building, name = area
    if from_level not in CODE_LEVELS and to_level not in CODE_LEVELS:
        return 0
    people = residents(conn, int(str(area_id)), str(region_code),
                       None if building is None else str(building))  # fmt: skip
    facts: list[tuple[int, FactInput]] = []
    for pid in people:
        if from_level in CODE_LEVELS:
            detail = {"level": from_level, "area": name, "ended": True}
            facts.append((pid, FactInput("residence", at, at, detail, f"ra{change_id}e{pid}")))
        if to_level in CODE_LEVELS:
            detail = {"level": to_level, "area": name}
            facts.append((pid, FactInput("residence", at, None, detail, f"ra{change_id}s{pid}")))
    write_facts(conn, facts, recorded_by=by, now=now)
    for pid in people if evaluate else ():
        evaluate_person(conn, ctx, pid, at=max(now, at), trigger="risk_area")
    return len(people)


# ---- designation ----------------------------------------------------------------------------


def _granularity(rules: RiskAreaRules, region_level: str, building: str | None) -> str:
    if building is not None:
        if region_level != "compound":
            raise _invalid("building_region", "楼栋须属于某个小区（compound 级区划）",
                           "a building must lie in a compound-level region")  # fmt: skip
        granularity = "building"
    else:
        granularity = _GRANULARITY_OF_LEVEL.get(region_level, region_level)
    if granularity not in rules.granularity:
        raise _invalid(
            "granularity",
            f"本政策包的风险区按 {'、'.join(rules.granularity)} 划定，不能按 {granularity}",
            f"this pack draws risk areas by {', '.join(rules.granularity)}, not {granularity}",
        )
    return granularity


def designate(
    bind: Bind, ctx: CodeContext, *, region_code: str, level: str, reason: str, by: str,
    building: str | None = None, households_in: Sequence[str] = (),
    at: datetime | None = None, now: datetime | None = None, evaluate: bool = True,
) -> ChangeResult:  # fmt: skip
    """Designate (划定) or re-designate an area at ``level``, from ``at`` (default now).

    A building (楼栋, where the pack draws by building) is given with the codes of its
    households, which must live in the compound. Low lifts an area by hand."""
    now = _now(now)
    at = _now(at) if at is not None else now
    rules = RiskAreaRules.from_pack(ctx.pack)
    rules.check_level(level)
    if not reason.strip():
        raise _invalid("reason_missing", "划定风险区须写明理由", "a designation needs a reason")
    with write_transaction(bind) as conn:
        region = conn.execute(
            select(regions.c.code, regions.c.level, regions.c.name).where(
                regions.c.code == region_code
            )
        ).first()
        if region is None:
            raise _invalid("region_unknown", f"无此区划（{region_code}）",
                           f"no region {region_code}")  # fmt: skip
        building = building.strip() if building and building.strip() else None
        granularity = _granularity(rules, region.level, building)
        code = region_code if building is None else f"{region_code}/{building}"
        name = region.name if building is None else f"{region.name}{building}"
        row = conn.execute(select(risk_areas).where(risk_areas.c.code == code)).first()
        if row is not None and row.level == level:
            raise StatusConflict(problem(
                "same_level", f"{name} 已是{LEVEL_NAMES[level][0]}",
                f"{name} is already a {LEVEL_NAMES[level][1]} area",
            ))  # fmt: skip
        if row is None and level == "low":
            raise _invalid(
                "low_new",
                "低风险区无需划定：未划为高、中风险的地区即为低风险",
                "low risk needs no designation: it is every area not high or medium",
            )
        zh, en = split_reason(reason)
        values = {"level": level, "origin": "designated", "since": at, "reason": zh,
                  "reason_en": en,
                  "designated_at": now, "designated_by": by[:80], "pack_name": ctx.pack.name,
                  "pack_version": ctx.pack.version}  # fmt: skip
        if row is None:
            inserted = conn.execute(
                risk_areas.insert().values(code=code, region_code=region_code, building=building,
                                           granularity=granularity, name=name, **values)
            ).inserted_primary_key  # fmt: skip
            area_id = int(inserted[0]) if inserted is not None else 0
            if building is not None:
                _attach_households(conn, area_id, region_code, households_in)
            before = None
        else:
            area_id, before = int(row.id), str(row.level)
            conn.execute(update(risk_areas).where(risk_areas.c.id == area_id).values(**values))
        change_id = _change(conn, ctx, area_id, at, now, before, level, "designated", by, None,
                            (zh, en))  # fmt: skip
        n = _follow_codes(conn, ctx, (area_id, region_code, building, name), before, level, at,
                          by, now, change_id, evaluate)  # fmt: skip
        return ChangeResult(_view(conn, ctx, rules, area_id), n)


def split_reason(text: str) -> tuple[str, str]:
    """A reason as (Chinese, English): "中文 / English" split on its first " / " (the form
    the suggestions post, and how reasons were stored before migration 0022); any other
    text is kept as it is in both."""
    text = text.strip()
    if " / " not in text:
        return text, text
    zh, en = (part.strip() for part in text.split(" / ", 1))
    return (zh, en) if zh and en else (text, text)


def _attach_households(conn: Connection, area_id: int, region_code: str,
                       codes: Sequence[str]) -> None:  # fmt: skip
    wanted = sorted({c.strip() for c in codes if c.strip()})
    if not wanted:
        raise _invalid("households_missing", "楼栋须列出其住户（户编码）",
                       "a building needs the codes of its households")  # fmt: skip
    found = {
        str(code): residence
        for code, residence in conn.execute(
            select(households.c.code, households.c.residence_code).where(
                households.c.code.in_(wanted)
            )
        )
    }
    for code in wanted:
        if code not in found:
            raise _invalid("household_unknown", f"无此户（{code}）", f"no household {code}")
        if found[code] != region_code:
            raise _invalid("household_elsewhere", f"户 {code} 不住在该小区",
                           f"household {code} does not live in compound {region_code}")  # fmt: skip
    conn.execute(risk_area_households.insert(),
                 [{"area_id": area_id, "household_code": c} for c in wanted])  # fmt: skip


def _change(conn: Connection, ctx: CodeContext, area_id: int, at: datetime, now: datetime,
            before: str | None, after: str, origin: str, by: str, rule: str | None,
            reason: tuple[str, str]) -> int:  # fmt: skip
    inserted = conn.execute(
        risk_area_changes.insert().values(
            area_id=area_id, at=at, recorded_at=now, from_level=before, to_level=after,
            origin=origin, changed_by=by[:80], rule=rule, reason=reason[0], reason_en=reason[1],
            pack_name=ctx.pack.name, pack_version=ctx.pack.version)
    ).inserted_primary_key  # fmt: skip
    return int(inserted[0]) if inserted is not None else 0


# ---- the daily lifting job ------------------------------------------------------------------


@dataclass(frozen=True)
class LiftRecord:
    area_id: int
    area_name: str
    lift: Lift
    residents: int


def run_lifting(
    bind: Bind,
    ctx: CodeContext,
    *,
    now: datetime | None = None,
    by: str = LIFTING_JOB,
    evaluate: bool = True,
) -> list[LiftRecord]:
    """Apply every lift due by ``now`` (a late run catches up, step by step), with a
    change row naming the job and the rule for each, and the residents' codes."""
    now = _now(now)
    rules = RiskAreaRules.from_pack(ctx.pack)
    done: list[LiftRecord] = []
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(risk_areas).where(risk_areas.c.level != "low").order_by(risk_areas.c.id)
        ).all()
        rows = [r for r in rows if r.level in rules.lifting]  # not a level the pack dropped
        # read before any lift: a lift changes areas and codes, never the infections
        found = infections_by_area(conn, [area_key(r, ctx.tz) for r in rows], ctx.tz)
        for row in rows:
            state = AreaState(row.level, row.origin, row.since)
            for lift in walk(rules, state, found[int(row.id)], now):
                reason = (f"连续{lift.days}天无新增感染者，自动由{LEVEL_NAMES[lift.from_level][0]}"
                          f"调整为{LEVEL_NAMES[lift.to_level][0]}",
                          f"{lift.days} days without a new infection: "
                          f"{LEVEL_NAMES[lift.from_level][1]} → "
                          f"{LEVEL_NAMES[lift.to_level][1]}")  # fmt: skip
                conn.execute(update(risk_areas).where(risk_areas.c.id == row.id).values(
                    level=lift.to_level, origin="downgraded", since=lift.at))  # fmt: skip
                rule = f"lifting.{lift.from_level} ({lift.days} d)"
                change_id = _change(conn, ctx, row.id, lift.at, now, lift.from_level,
                                    lift.to_level, "downgraded", by, rule, reason)  # fmt: skip
                n = _follow_codes(conn, ctx, (row.id, row.region_code, row.building, row.name),
                                  lift.from_level, lift.to_level, lift.at, by, now,
                                  change_id, evaluate)  # fmt: skip
                done.append(LiftRecord(int(row.id), str(row.name), lift, n))
    return done


@dataclass(frozen=True)
class NextLift:
    """When an area standing at a level the pack lifts would be lifted if no new infection
    came (``lifting.due_at``), counting only the infections known by ``at``."""

    area_id: int
    region_code: str
    level: str
    lift_at: datetime


def next_lifts(conn: Connection, rules: RiskAreaRules, tz: tzinfo, *, at: datetime,
               designated_by: datetime | None = None) -> list[NextLift]:  # fmt: skip
    """Every area at a level ``rules.lifting`` lifts (designated by ``designated_by`` when
    given), with its lifting time as things stood at ``at``; a lift already due by ``at``
    and not yet applied keeps its past time. The infections of all of them read at once
    (``infections_by_area``)."""
    ra = risk_areas.c
    query = select(risk_areas).where(ra.level.in_(list(rules.lifting))).order_by(ra.id)
    if designated_by is not None:
        query = query.where(ra.designated_at <= designated_by)
    rows = conn.execute(query).all()
    found = infections_by_area(conn, [area_key(r, tz) for r in rows], tz)
    out = []
    for r in rows:
        known = [t for t in found[int(r.id)] if t <= at]
        due = due_at(rules, AreaState(r.level, r.origin, r.since), known)
        if due is not None:
            out.append(NextLift(int(r.id), str(r.region_code), str(r.level), due[0]))
    return out


# ---- reading --------------------------------------------------------------------------------


def _view(conn: Connection, ctx: CodeContext, rules: RiskAreaRules, area_id: int) -> AreaView:
    row = conn.execute(select(risk_areas).where(risk_areas.c.id == area_id)).first()
    if row is None:
        raise AreaUnknown(problem("area_unknown", f"无此风险区（{area_id}）",
                                  f"no risk area {area_id}"))  # fmt: skip
    return _to_views(conn, ctx, rules, [row])[0]


def _to_views(conn: Connection, ctx: CodeContext, rules: RiskAreaRules,
              rows: Sequence[Row[Any]]) -> list[AreaView]:  # fmt: skip
    """The views of many areas, the infections of those a rule lifts read at once."""
    lifted = [area_key(r, ctx.tz) for r in rows if r.level in rules.lifting]
    found = infections_by_area(conn, lifted, ctx.tz)
    return [_to_view(rules, r, found.get(int(r.id), [])) for r in rows]


def _to_view(rules: RiskAreaRules, r: Row[Any], found: Sequence[datetime]) -> AreaView:
    lift_at = lift_to = None
    if r.level in rules.lifting:
        due = due_at(rules, AreaState(r.level, r.origin, r.since), found)
        if due is not None:
            lift_at, lift_to = due[0], rules.lifting[r.level].to
    return AreaView(
        r.id,
        r.code,
        r.name,
        r.region_code,
        r.building,
        r.granularity,
        r.level,
        r.origin,
        r.since,
        r.reason,
        r.designated_at,
        r.designated_by,
        lift_at,
        lift_to,
        r.reason_en or r.reason,
    )


def get_area(bind: Bind, ctx: CodeContext, area_id: int) -> AreaView:
    with write_transaction(bind) as conn:
        return _view(conn, ctx, RiskAreaRules.from_pack(ctx.pack), area_id)


def list_areas(
    bind: Bind, ctx: CodeContext, *, levels: Sequence[str] = CODE_LEVELS,
    within_region: str | None = None,
) -> list[AreaView]:  # fmt: skip
    """Areas at ``levels`` (default: the current high and medium ones), most severe
    first, then by name; ``within_region`` keeps those inside a region's subtree."""
    return page_areas(bind, ctx, None, levels=levels, within_region=within_region)[0]


# the most severe level first (high, medium, low)
SEVERITY = case({"high": 0, "medium": 1, "low": 2}, value=risk_areas.c.level, else_=3)
# what an area list may be sorted by (its whitelist); "level" ascending: most severe first
AREA_SORTS: listing.Columns = {
    "name": risk_areas.c.name, "level": SEVERITY, "since": risk_areas.c.since,
}  # fmt: skip


def page_areas(
    bind: Bind, ctx: CodeContext, bounded: Bounded | None, *,
    levels: Sequence[str] = CODE_LEVELS, within_region: str | None = None,
) -> tuple[list[AreaView], int]:  # fmt: skip
    """:func:`list_areas`, one page of it (sorted by a key of :data:`AREA_SORTS`) when
    ``bounded`` is given; and how many areas there are."""
    rules = RiskAreaRules.from_pack(ctx.pack)
    a = risk_areas.c
    with write_transaction(bind) as conn:
        query = select(risk_areas).where(a.level.in_(list(levels)))
        if within_region is not None:
            query = query.where(a.region_code.in_(subtree(within_region)))
        rows, total = listing.fetch(conn, query, bounded, AREA_SORTS, (SEVERITY, a.name, a.code))
        return _to_views(conn, ctx, rules, rows), total


def area_history(
    bind: Bind, area_id: int | None = None, *, limit: int = 500,
    within_region: str | None = None, levels: Sequence[str] | None = None,
) -> list[ChangeView]:  # fmt: skip
    """Level changes, newest first (one area's, or all; of areas inside a region's subtree
    and at ``levels`` now, when given)."""
    with write_transaction(bind) as conn:
        query = (
            select(risk_area_changes, risk_areas.c.name)
            .join(risk_areas, risk_areas.c.id == risk_area_changes.c.area_id)
            .order_by(risk_area_changes.c.at.desc(), risk_area_changes.c.id.desc())
            .limit(limit)
        )
        if area_id is not None:
            query = query.where(risk_area_changes.c.area_id == area_id)
        if within_region is not None:
            query = query.where(risk_areas.c.region_code.in_(subtree(within_region)))
        if levels is not None:
            query = query.where(risk_areas.c.level.in_(list(levels)))
        return [
            ChangeView(
                r.id,
                r.area_id,
                r.name,
                r.at,
                r.recorded_at,
                r.from_level,
                r.to_level,
                r.origin,
                r.changed_by,
                r.rule,
                r.reason,
                r.reason_en or r.reason,
            )
            for r in conn.execute(query)
        ]
