"""Mass-testing campaigns (区域全员核酸检测): plan, what-if, live progress.

The plan is a fluid model of the pipeline, every default from ``[testing.campaign]``::

    sampling points  = ⌈population / people_per_point_max⌉ (up to ⌈population / min⌉)
    samplers         = ⌈population / people_per_sampler_shift⌉  (one shift each)
    sampling hours   = population / (samplers · people_per_sampler_shift / shift_hours)
    tubes            = ⌈population / pool size⌉, reaching the labs over the sampling hours,
                       transport_hours after they were taken
    lab rate L       = Σ capacity per day / 24 tubes per hour, working from the first arrival
    all results at   = transport + max(sampling hours, tubes / L) + run_hours
    positive pools   = tubes · P(pool positive) at the planning prevalence (Dorfman)
    settled at       = all results + resample_hours + transport + retests / L + run_hours

A lab faster than the tubes arrive waits for the last tube; a slower one works through a
queue from the first arrival. ``simulate_first_round`` runs the same pipeline tube by tube
(the reference the tests compare with). Live progress counts what is stored: persons
sampled, tubes collected / in transit / received / tested, positive pools, coverage by
compound, and who has not been sampled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Connection, Select, select

from fangkong.auth.jurisdiction import subtree
from fangkong.errors import BadInput, NotFound, Problem
from fangkong.store.schema import persons, regions
from fangkong.store.tx import write_transaction
from fangkong.testing._common import Bind, _now
from fangkong.testing.pooling import Accuracy, dorfman
from fangkong.testing.rules import Campaign, TestingRules
from fangkong.testing.tables import campaigns, labs, results, tube_members, tubes


@dataclass(frozen=True)
class CampaignPlan:
    population: int
    pool_size: int
    points_min: int
    points_max: int
    samplers: int
    sampling_hours: float
    tubes: int
    lab_capacity_per_day: int
    lab_hours: float
    results_hours: float  # every first-round tube has a result
    positive_pools: float
    retests: float
    settled_hours: float  # positive pools' members retested
    target_hours: float
    prevalence: float

    @property
    def meets_target(self) -> bool:
        return self.results_hours <= self.target_hours

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "meets_target": self.meets_target}


def _bad(key: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem("campaign.value_invalid", f"{key}：{zh}", f"{key}: {en}"))


def plan(
    population: int,
    lab_capacity_per_day: int,
    c: Campaign,
    *,
    pool_size: int | None = None,
    samplers: int | None = None,
    prevalence: float | None = None,
) -> CampaignPlan:
    """The plan of a campaign (pure); see the module's formulas."""
    if population <= 0:
        raise _bad("population", "人口须大于 0", "the population must be above 0")
    if lab_capacity_per_day <= 0:
        raise _bad(
            "lab capacity",
            "实验室日检测能力须大于 0（先登记实验室）",
            "lab capacity per day must be above 0 (register labs first)",
        )
    k = pool_size or c.pool_size
    p = c.planning_prevalence if prevalence is None else prevalence
    if k < 1:
        raise _bad("pool size", "混采人数至少为 1", "the pool size must be at least 1")
    n_samplers = samplers or math.ceil(population / c.people_per_sampler_shift)
    if n_samplers < 1:
        raise _bad("samplers", "采样人员至少 1 人", "at least one sampler")
    per_hour = n_samplers * c.people_per_sampler_shift / c.shift_hours
    sampling = population / per_hour
    n_tubes = math.ceil(population / k)
    rate = lab_capacity_per_day / 24.0
    results_at = c.transport_hours + max(sampling, n_tubes / rate) + c.run_hours
    pool_pos = (dorfman(p, k, Accuracy()) - 1.0 / k) if k > 1 else p  # P(pool positive)
    positive = n_tubes * pool_pos
    retests = positive * k if k > 1 else positive
    settled = results_at
    if retests > 0:
        settled += c.resample_hours + c.transport_hours + retests / rate + c.run_hours
    return CampaignPlan(
        population=population,
        pool_size=k,
        points_min=math.ceil(population / c.people_per_point_max),
        points_max=math.ceil(population / c.people_per_point_min),
        samplers=n_samplers,
        sampling_hours=sampling,
        tubes=n_tubes,
        lab_capacity_per_day=lab_capacity_per_day,
        lab_hours=n_tubes / rate,
        results_hours=results_at,
        positive_pools=positive,
        retests=retests,
        settled_hours=settled,
        target_hours=c.target_hours,
        prevalence=p,
    )


def what_if(
    population: int,
    lab_capacity_per_day: int,
    rules: TestingRules,
    lab_factors: Sequence[float] = (1.0, 1.5, 2.0),
    prevalence: float | None = None,
) -> list[CampaignPlan]:
    """The plan with more labs (capacity × factor) and each pool size the pack allows."""
    return [
        plan(
            population,
            int(lab_capacity_per_day * f),
            rules.campaign,
            pool_size=k,
            prevalence=prevalence,
        )
        for f in lab_factors
        for k in rules.pool_sizes
    ]


def simulate_first_round(
    population: int, lab_capacity_per_day: int, c: Campaign, pool_size: int, samplers: int
) -> float:
    """Brute force: every tube sealed when its last member is sampled, carried to the lab,
    queued first come first served, tested at the lab rate; the hour the last result is out."""
    per_hour = samplers * c.people_per_sampler_shift / c.shift_hours
    n_tubes = math.ceil(population / pool_size)
    last_member = np.minimum(np.arange(1, n_tubes + 1) * pool_size, population)
    arrival = last_member / per_hour + c.transport_hours
    service = 24.0 / lab_capacity_per_day
    done = 0.0
    for a in arrival.tolist():
        done = max(done, a) + service
    return done + c.run_hours


# ---- stored campaigns and live progress -----------------------------------------------------


def lab_capacity(bind: Bind, region_code: str | None = None) -> int:
    """Tubes per day of the labs registered (in a region's subtree)."""
    query = select(sa.func.coalesce(sa.func.sum(labs.c.capacity_per_day), 0))
    if region_code is not None:
        query = query.where(labs.c.region_code.in_(subtree(region_code)))
    with write_transaction(bind) as conn:
        return int(conn.execute(query).scalar_one())


def add_lab(bind: Bind, code: str, name: str, region_code: str, capacity_per_day: int) -> None:
    """Register a lab or change its name, region or capacity."""
    if capacity_per_day < 0:
        raise _bad("capacity", "日检测能力不能为负", "capacity cannot be negative")
    with write_transaction(bind) as conn:
        if (
            conn.execute(select(regions.c.code).where(regions.c.code == region_code)).first()
            is None
        ):
            raise NotFound(
                Problem(
                    "testing.region_unknown", f"无此地区 {region_code}", f"no region {region_code}"
                )
            )
        values = {"name": name, "region_code": region_code, "capacity_per_day": capacity_per_day}
        if conn.execute(select(labs.c.code).where(labs.c.code == code)).first() is None:
            conn.execute(labs.insert().values(code=code, **values))
        else:
            conn.execute(labs.update().where(labs.c.code == code).values(**values))


def population_of(bind: Bind, region_code: str) -> int:
    """Persons living in the region's subtree (the registry's count)."""
    query = (
        select(sa.func.count())
        .select_from(persons)
        .where(persons.c.residence_code.in_(subtree(region_code)))
    )
    with write_transaction(bind) as conn:
        return int(conn.execute(query).scalar_one())


def create_campaign(
    bind: Bind,
    rules: TestingRules,
    name: str,
    region_code: str,
    *,
    starts_at: datetime,
    pool_size: int | None = None,
    by: str = "testing",
    at: datetime | None = None,
) -> int:
    """Start a campaign over a region; its plan is stored with it."""
    at = _now(at)
    k = pool_size or rules.campaign.pool_size
    if k not in rules.pool_sizes:
        raise _bad(
            "pool size",
            f"混采人数须为 {rules.pool_sizes} 之一",
            f"the pool size must be one of {rules.pool_sizes}",
        )
    with write_transaction(bind) as conn:
        if (
            conn.execute(select(regions.c.code).where(regions.c.code == region_code)).first()
            is None
        ):
            raise NotFound(
                Problem(
                    "testing.region_unknown", f"无此地区 {region_code}", f"no region {region_code}"
                )
            )
        pop = population_of(conn, region_code)
        capacity = lab_capacity(conn)
        p = plan(pop, capacity, rules.campaign, pool_size=k).as_json() if pop and capacity else {}
        return int(
            conn.execute(
                campaigns.insert()
                .values(
                    name=name[:100],
                    region_code=region_code,
                    starts_at=starts_at.astimezone(UTC),
                    pool_size=k,
                    target_hours=rules.campaign.target_hours,
                    plan=p,
                    created_at=at,
                    created_by=by[:80],
                )
                .returning(campaigns.c.id)
            ).scalar_one()
        )


@dataclass(frozen=True)
class CompoundCoverage:
    code: str
    name: str
    residents: int
    sampled: int

    @property
    def share(self) -> float:
        return self.sampled / self.residents if self.residents else 0.0


@dataclass(frozen=True)
class Progress:
    campaign_id: int
    name: str
    region_code: str
    starts_at: datetime
    target_hours: float
    pool_size: int
    plan: dict[str, Any]
    population: int
    sampled: int
    tubes: int
    in_transit: int
    received: int
    tested: int
    positive_pools: int
    late: int
    lost: int
    compounds: tuple[CompoundCoverage, ...]
    at: datetime

    @property
    def coverage(self) -> float:
        return self.sampled / self.population if self.population else 0.0

    @property
    def hours_elapsed(self) -> float:
        return (self.at - self.starts_at) / timedelta(hours=1)


def _campaign(conn: Connection, campaign_id: int) -> Any:
    row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise NotFound(
            Problem(
                "testing.campaign_unknown",
                f"无此检测行动 {campaign_id}",
                f"no campaign {campaign_id}",
            )
        )
    return row


def progress(bind: Bind, campaign_id: int, *, at: datetime | None = None) -> Progress:
    """Live numbers of a campaign (counts only, no names)."""
    at = _now(at)
    t, m = tubes.c, tube_members.c
    with write_transaction(bind) as conn:
        c = _campaign(conn, campaign_id)
        mine = t.campaign_id == campaign_id
        tested = sa.exists().where(results.c.tube_id == t.id)
        positive = sa.exists().where(
            results.c.tube_id == t.id, results.c.outcome.in_(["positive", "inconclusive"])
        )

        def n(*w: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
            return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*w), 1), else_=0)), 0)

        # every count in one pass over the campaign's tubes
        kinds = {
            "tubes": sa.func.count(),
            "tested": n(tested),
            "positive_pools": n(positive),
            "received": n(t.received_at.is_not(None), ~tested),
            "in_transit": n(t.shipped_at.is_not(None), t.received_at.is_(None), ~tested),
            "late": n(t.flag == "late", ~tested),
            "lost": n(t.flag == "lost", ~tested),
        }
        row = conn.execute(select(*kinds.values()).select_from(tubes).where(mine)).one()
        counts = {k: int(v) for k, v in zip(kinds, row, strict=True)}
        # who was sampled: the campaign's tubes (its index), then their members; no
        # DISTINCT in the list the coverage checks against (SQLite would read every tube
        # member in person order to make it), only in the count
        sampled_ids = select(m.person_id).join(tubes, t.id == m.tube_id).where(mine)
        sampled = int(
            conn.execute(
                select(sa.func.count(sa.distinct(m.person_id)))
                .select_from(tube_members)
                .join(tubes, t.id == m.tube_id)
                .where(mine)
            ).scalar_one()
        )
        compounds = _coverage(conn, c.region_code, sampled_ids)
        population = sum(k.residents for k in compounds)  # every resident is in one row
    return Progress(
        c.id,
        c.name,
        c.region_code,
        c.starts_at,
        c.target_hours,
        c.pool_size,
        dict(c.plan),
        population,
        sampled,
        compounds=compounds,
        at=at,
        **counts,
    )


def _coverage(
    conn: Connection, region_code: str, sampled: Select[tuple[int]]
) -> tuple[CompoundCoverage, ...]:
    """Residents and sampled residents (``sampled``: person ids, repeats allowed) per
    compound (the lowest level) of the region."""
    area = subtree(region_code).subquery()
    p = persons.c
    is_sampled = sa.case((p.id.in_(sampled), 1), else_=0)
    rows = conn.execute(
        select(regions.c.code, regions.c.name, sa.func.count(p.id), sa.func.sum(is_sampled))
        .join(persons, p.residence_code == regions.c.code)
        .where(regions.c.code.in_(select(area.c.code)))
        .group_by(regions.c.code, regions.c.name)
        .order_by(regions.c.code)
    ).all()
    return tuple(
        CompoundCoverage(str(code), str(name), int(total), int(s or 0))
        for code, name, total, s in rows
    )


def not_sampled(
    bind: Bind, campaign_id: int, *, limit: int = 200, progress: Progress | None = None
) -> tuple[int, list[int]]:
    """(how many, the first ``limit`` person ids) of residents not sampled in the campaign.
    Given the campaign's ``progress``, how many is read from it (its residents less those
    of them sampled, per compound) instead of counted again."""
    t, m = tubes.c, tube_members.c
    with write_transaction(bind) as conn:
        c = _campaign(conn, campaign_id)
        area = subtree(c.region_code).subquery()
        sampled = select(m.person_id).join(tubes, t.id == m.tube_id).where(t.campaign_id == c.id)
        where = [persons.c.residence_code.in_(select(area.c.code)), persons.c.id.not_in(sampled)]
        if progress is not None and progress.campaign_id == campaign_id:
            total = progress.population - sum(k.sampled for k in progress.compounds)
        else:
            total = int(
                conn.execute(select(sa.func.count()).select_from(persons).where(*where))
                .scalar_one()
            )  # fmt: skip
        ids = (
            conn.execute(select(persons.c.id).where(*where).order_by(persons.c.id).limit(limit))
            .scalars()
            .all()
        )
    return total, [int(i) for i in ids]


def list_campaigns(bind: Bind) -> list[Any]:
    with write_transaction(bind) as conn:
        return list(conn.execute(select(campaigns).order_by(campaigns.c.id.desc())).all())


@dataclass(frozen=True)
class Projection:
    """When the first round is predicted to have every result, at the sampling rate seen
    so far (the plan's fluid model with the observed rate in place of the planned one)."""

    sampling_per_hour: float
    sampling_hours: float  # hours from the start until everyone is sampled
    results_hours: float  # hours from the start until every tube has a result
    target_hours: float

    @property
    def meets_target(self) -> bool:
        return self.results_hours <= self.target_hours


def projection(p: Progress, lab_capacity_per_day: int, c: Campaign) -> Projection | None:
    """The live forecast of a running campaign; None before anyone is sampled, with no
    lab capacity or no residents. Same formula as ``plan``: results at ``transport +
    max(sampling hours, tubes / lab rate) + run_hours``."""
    elapsed = p.hours_elapsed
    if p.sampled <= 0 or elapsed <= 0 or lab_capacity_per_day <= 0 or p.population <= 0:
        return None
    rate = p.sampled / elapsed
    sampling = p.population / rate
    tubes_total = math.ceil(p.population / p.pool_size)
    lab = tubes_total / (lab_capacity_per_day / 24.0)
    results_at = c.transport_hours + max(sampling, lab) + c.run_hours
    return Projection(rate, sampling, results_at, p.target_hours)


# ---- risk areas tested whole (区域核酸 for designated areas) ---------------------------------


@dataclass(frozen=True)
class AreaRound:
    area_code: str  # the risk area's code (region[/building])
    region_code: str
    round: int  # 1, 2, … (the last may be the pack's final round after a pause)
    starts_at: datetime


def area_rounds(
    area_code: str, region_code: str, designated_at: datetime, c: Campaign
) -> list[AreaRound]:
    """The rounds one designation gives (pure): ``area_rounds`` rounds
    ``area_round_every_hours`` apart from the designation, then one more
    ``area_final_round_after_days`` after the last (none when 0)."""
    step = timedelta(hours=c.area_round_every_hours)
    out = [
        AreaRound(area_code, region_code, k + 1, designated_at + k * step)
        for k in range(c.area_rounds)
    ]
    if out and c.area_final_round_after_days:
        last = out[-1].starts_at + timedelta(days=c.area_final_round_after_days)
        out.append(AreaRound(area_code, region_code, len(out) + 1, last))
    return out


def round_name(r: AreaRound) -> str:
    return f"{r.area_code} 第{r.round}轮 round {r.round}"[:100]


def plan_area_campaigns(
    bind: Bind, rules: TestingRules, *, by: str = "testing", at: datetime | None = None
) -> list[int]:
    """Campaigns for the risk areas designated by ``at`` at a level the pack tests whole
    (``[testing.campaign] area_levels``): one per round of ``area_rounds``, each over the
    area's region, starting when the round is due. Made once per area: running it again
    changes nothing. Returns the campaigns made."""
    from fangkong.riskareas.tables import risk_area_changes, risk_areas

    at = _now(at)
    c = rules.campaign
    if not c.area_levels or not c.area_rounds:
        return []
    a, ch = risk_areas.c, risk_area_changes.c
    made: list[int] = []
    with write_transaction(bind) as conn:
        designations = conn.execute(
            select(a.code, a.region_code, ch.at)
            .join(risk_area_changes, ch.area_id == a.id)
            .where(ch.origin == "designated", ch.to_level.in_(list(c.area_levels)), ch.at <= at)
            .order_by(ch.at, a.code)
        ).all()
        if not designations:
            return []
        known = {
            (str(n), str(r))
            for n, r in conn.execute(select(campaigns.c.name, campaigns.c.region_code))
        }
        first: dict[str, tuple[str, datetime]] = {}
        for code, region, when in designations:
            first.setdefault(str(code), (str(region), when))
        for code, (region, when) in sorted(first.items()):
            for r in area_rounds(code, region, when, c):
                if (round_name(r), r.region_code) in known:
                    continue
                made.append(
                    create_campaign(
                        conn,
                        rules,
                        round_name(r),
                        r.region_code,
                        starts_at=r.starts_at,
                        by=by,
                        at=at,
                    )
                )
    return made


def campaigns_starting(bind: Bind, start: datetime, end: datetime) -> list[Any]:
    """Campaigns (id, region_code, pool_size, starts_at) starting in [start, end)."""
    k = campaigns.c
    with write_transaction(bind) as conn:
        return list(
            conn.execute(
                select(k.id, k.region_code, k.pool_size, k.starts_at)
                .where(k.starts_at >= start, k.starts_at < end, k.closed_at.is_(None))
                .order_by(k.starts_at, k.id)
            ).all()
        )
