"""The intake job (安置作业): everyone due for placement is placed, ordered home, or named.

``run_intake(engine, ctx, rules, *, at, by)`` is what the province loop (and the CLI,
``fangkong quarantine intake``) runs; each step is one transaction and the job reads
its state afresh, so running it again (or after a crash) carries on::

    1 activating facilities whose opening time has come are open
    2 who is due (``demand``): cases not isolated, close contacts and contacts of close
      contacts under no management; a placement a case (or a contact now close) still
      holds under another group is ended first
    3 home phases due (contacts of close contacts: 7 days at home) are home orders
    4 the surge ladder, in order, for the rest:
        open rooms of the group's kinds, own county → city → province (pack ``reach``)
        open rooms of the group's surge kinds (fangcang for close contacts), same reach
        rooms coming (activating), standby activated, fangcang from the survey (``surge``)
        home quarantine for the groups the pack allows, when no room can be had before
        the deadline (or at once: ``home_fallback.when``)
    5 contacts placed or ordered home are ``quarantined`` in tracing (``monitoring`` when
      the phase due is home monitoring); a case placed is isolated (tracing's window
      closes there)
    6 ``not_placed`` alerts (due at the deadline) for those of the deadline groups no
      room will reach in time, and for anyone placed after it; an alert is resolved when
      its person is placed

Times: the placement takes effect at ``at``; a contact's period counts from the last
exposure (``period_from``). Codes follow every placement (period facts); ``recompute``
also recomputes the codes at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection, Engine, select, update

from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.recompute import recompute_all
from fangkong.quarantine.demand import CASE, Due, due_for_placement
from fangkong.quarantine.ending import close_in
from fangkong.quarantine.placed import send_codes
from fangkong.quarantine.placement import place
from fangkong.quarantine.regions import RegionIndex, load_regions
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.surge import (
    Candidate,
    Need,
    Plan,
    activate_site,
    activate_standby,
    forecast_sites,
    load_ladder,
    open_due,
    plan,
    site_facility_code,
)
from fangkong.quarantine.tables import (
    quarantine_alerts,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
    quarantine_sites,
)
from fangkong.quarantine.terms import Assignment, PlacementRequest
from fangkong.store.tx import write_transaction
from fangkong.tracing.tables import tracing_cases

NOT_PLACED = "not_placed"


@dataclass(frozen=True)
class IntakeOutcome:
    """What one run did. Counts of persons unless said otherwise."""

    placed: dict[str, int] = field(default_factory=dict)  # in rooms, by facility kind
    home_orders: int = 0  # home phases due (contacts of close contacts) and fallbacks
    home_fallback: int = 0  # of which ordered home for lack of a room
    transferred: int = 0  # placed in another county than their own
    awaiting: int = 0  # no room yet; one comes before their deadline
    overdue: int = 0  # past the deadline without placement (alerted)
    late: int = 0  # placed or ordered home after their deadline (alerted)
    alerts_raised: int = 0
    alerts_resolved: int = 0
    opened: int = 0  # facilities: activating ones whose opening time came
    standby_activated: int = 0  # facilities: standby ones called (备用转启用)
    fangcang_activated: int = 0  # facilities: standby fangcang and surveyed sites
    cases_isolated: int = 0
    cases_waiting: int = 0
    ended: int = 0  # placements ended first: now a case, or now a close contact
    quarantined: int = 0  # contacts moved in tracing (quarantined or monitoring)
    period_over: int = 0  # contacts found after their whole period: nothing due

    @property
    def placed_total(self) -> int:
        return sum(self.placed.values())


@dataclass
class _Run:
    engine: Engine
    ctx: CodeContext
    rules: QuarantineRules
    at: datetime
    by: str
    index: RegionIndex
    done: dict[int, tuple[Due, Assignment]] = field(default_factory=dict)
    activated: Counter[str] = field(default_factory=Counter)
    opened: int = 0

    def place(
        self, due: Sequence[Due], rules: QuarantineRules, reach: str | None, kind: str | None = None
    ) -> None:
        if not due:
            return
        requests = [
            PlacementRequest(
                d.person_id,
                d.group,
                kind=kind or d.kind,
                region_code=d.region_code,
                starts_at=self.at,
                period_from=d.period_from,
            )
            for d in due
        ]
        got = place(
            self.engine,
            requests,
            rules,
            by=self.by,
            at=self.at,
            tz=self.ctx.tz,
            pack_ref=self.ctx.pack.ref,
            reach=reach,
        )
        for d, a in zip(due, got, strict=True):
            if a.outcome in ("placed", "home"):
                self.done[d.person_id] = (d, a)

    def rooms(self, due: Sequence[Due]) -> list[Due]:
        """Open rooms in reach: the groups' own kinds over every level, then surge kinds."""
        extra = {g: k for g, k in self.rules.surge.extra_facility_kinds.items() if k}
        surge_rules = replace(
            self.rules,
            placement=replace(self.rules.placement, facility_kinds={**extra, "default": ()}),
        )
        left = list(due)
        free = self._free_kinds()  # rooms are only taken while this runs: none stays none
        for rules, groups in ((self.rules, None), (surge_rules, set(extra))):
            for level in self.rules.surge.reach:
                batch = [
                    d
                    for d in left
                    if (groups is None or d.group in groups)
                    and free.intersection(rules.placement.kinds_for(d.group))
                ]
                self.place(batch, rules, level)
                left = [d for d in left if d.person_id not in self.done]
        return left

    def _sites_left(self) -> bool:
        """Whether a surveyed site is not yet a fangcang."""
        with self.engine.connect() as conn:
            sites = set(conn.execute(select(quarantine_sites.c.code)).scalars())
            made = set(conn.execute(select(quarantine_facilities.c.code)).scalars())
        return any(site_facility_code(code) not in made for code in sites)

    def _free_kinds(self) -> set[str]:
        """Facility kinds with a free room in a facility taking placements now."""
        f, r = quarantine_facilities.c, quarantine_rooms.c
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(f.kind)
                    .distinct()
                    .join(quarantine_rooms, r.facility_id == f.id)
                    .where(f.status.in_(self.rules.placement.placeable_statuses), r.state == "free")
                ).scalars()
            )

    def ladder(
        self,
        waiting: Sequence[Due],
        shortfall: Callable[[], dict[str, int]] | None,
        every: timedelta | None,
    ) -> Plan:
        """Promise coming rooms, activate what the plan says; opens what is due now.
        ``shortfall`` (the forecast's, per region) is asked only when a site is left,
        before the write transaction (the forecast reads in its own)."""
        short = shortfall() if shortfall is not None and self._sites_left() else {}
        with write_transaction(self.engine) as conn:
            pending, candidates, sites = load_ladder(conn, self.rules, at=self.at)
            needs = [
                Need(
                    i,
                    self.rules.placement.kinds_for(d.group),
                    self.rules.surge.extra_kinds(d.group),
                    d.region_code,
                    d.deadline,
                )
                for i, d in enumerate(waiting)
            ]
            result = plan(
                needs,
                pending,
                candidates,
                self.index,
                self.rules.surge.reach,
                at=self.at,
                every=every,
            )
            already = {c.ref for c, _ in result.activated if c.step == "site"}
            more = forecast_sites(
                short,
                pending,
                candidates,
                self.index,
                self.rules.surge.reach,
                self.rules.readiness.level,
                already,
            )
            for c in [c for c, _ in result.activated] + more:
                self._activate(conn, c, sites)
            self.opened += open_due(conn, at=self.at, by=self.by)
        return result

    def _activate(self, conn: Connection, c: Candidate, sites: Sequence[object]) -> None:
        from fangkong.quarantine.survey import SiteScore

        if c.step == "site":
            site = sites[c.ref]
            assert isinstance(site, SiteScore)  # noqa: S101 - load_ladder's own list
            activate_site(conn, site, self.rules, at=self.at, by=self.by)
            self.activated["fangcang"] += 1
        elif activate_standby(conn, [c.ref], opens_at=self.at + c.lead, at=self.at, by=self.by):
            self.activated["fangcang" if c.kind == "fangcang" else "standby"] += 1


def run_intake(
    engine: Engine,
    ctx: CodeContext,
    rules: QuarantineRules,
    *,
    at: datetime,
    by: str,
    every: timedelta | None = None,
    forecast: bool = True,
    recompute: bool = False,
) -> IntakeOutcome:
    """Place everyone due at ``at`` (module docstring). ``every``: how often the job runs
    (a room opening between runs is taken at the next run, which decides whether it
    comes before a deadline); ``forecast``: let the demand forecast activate sites."""
    with write_transaction(engine) as conn:
        opened = open_due(conn, at=at, by=by)
        demand = due_for_placement(conn, rules, at=at)
        facts = []
        for d in demand.due:
            if d.replaces is not None:
                status, why = (
                    ("converted", "登记为病例 / registered as a case")
                    if d.group == CASE
                    else ("cancelled", f"转为 {d.group} / now {d.group}")
                )
                facts += close_in(conn, d.replaces, status=status, reason=why, at=at)
        index = load_regions(conn)
    send_codes(engine, facts, by, at, None)
    run = _Run(engine, ctx, rules, at, by, index, opened=opened)
    run.place([d for d in demand.due if d.kind != "centralised"], rules, None)
    waiting = run.rooms([d for d in demand.due if d.kind == "centralised"])
    shortfall: Callable[[], dict[str, int]] | None = None
    if forecast and rules.surge.forecast_days > 0:
        shortfall = lambda: _shortfall(engine, ctx, rules, at)  # noqa: E731
    result = Plan([], [])
    for attempt in range(3):  # again when a lead time of 0 opened rooms at once
        before = run.opened
        result = run.ladder(waiting, shortfall, every)  # the plan of this ``waiting``
        shortfall = None
        if run.opened == before or not waiting or attempt == 2:
            break
        waiting = run.rooms(waiting)
    fallback = rules.surge.home_fallback
    home: list[Due] = []
    left: list[tuple[Due, bool]] = []  # (due, a room comes in time)
    for i, d in enumerate(waiting):
        in_time = i < len(result.supply) and result.in_time(i, d.deadline)
        if d.group in fallback.groups and (fallback.when == "no_room_now" or not in_time):
            home.append(d)
        else:
            left.append((d, in_time))
    run.place(home, rules, None, kind="home_quarantine")
    left = [(d, ok) for d, ok in left if d.person_id not in run.done]
    return _finish(run, demand.due, home, left, demand.period_over, recompute)


def _shortfall(
    engine: Engine, ctx: CodeContext, rules: QuarantineRules, at: datetime
) -> dict[str, int]:
    """Rooms short per region within ``forecast_days`` (median demand − rooms)."""
    from fangkong.quarantine.forecast import ForecastOptions, forecast_from_store

    days = rules.surge.forecast_days
    if days <= 0:
        return {}
    rf = forecast_from_store(
        engine, ctx.pack, ctx.tz, ForecastOptions(horizon=max(days, 1)), now=at
    )
    fc = rf.forecast
    short = (fc.median[:, :days] - fc.capacity[:, None]).max(axis=1, initial=0.0)
    return {code: int(np.ceil(s)) for code, s in zip(rf.regions, short, strict=True) if s > 0}


def _finish(
    run: _Run,
    due: Sequence[Due],
    home: Sequence[Due],
    left: Sequence[tuple[Due, bool]],
    period_over: int,
    recompute: bool,
) -> IntakeOutcome:
    at, by = run.at, run.by
    done = run.done
    placed = Counter(a.facility_kind or "?" for _, a in done.values() if a.outcome == "placed")
    transferred = sum(
        1
        for d, a in done.values()
        if a.outcome == "placed" and _other_county(run.index, d.region_code, a.facility_region)
    )
    late = [d for d, _ in done.values() if d.deadline is not None and d.deadline < at]
    unplaced = [d for d, ok in left if d.deadline is not None and not ok]
    overdue = sum(1 for d, _ in left if d.deadline is not None and d.deadline < at)
    with write_transaction(run.engine) as conn:
        quarantined = _statuses(conn, list(done.values()), at, by)
        isolated = _isolate(conn, run, [d for d, _ in done.values() if d.group == CASE])
        resolved = _resolve(conn, at, by)
        raised = _raise(conn, unplaced, at, "未能在时限前安置 / no room before the deadline")
        raised += _raise(conn, late, at, "安置晚于时限 / placed after the deadline", by=by)
    if recompute:
        recompute_all(run.engine, run.ctx, at, trigger="quarantine")
    fallback_ids = {d.person_id for d in home}
    return IntakeOutcome(
        placed=dict(placed),
        home_orders=sum(1 for _, a in done.values() if a.outcome == "home"),
        home_fallback=sum(1 for p in fallback_ids if p in done),
        transferred=transferred,
        awaiting=sum(1 for _, ok in left if ok),
        overdue=overdue,
        late=len(late),
        alerts_raised=raised,
        alerts_resolved=resolved,
        opened=run.opened,
        standby_activated=run.activated["standby"],
        fangcang_activated=run.activated["fangcang"],
        cases_isolated=isolated,
        cases_waiting=sum(1 for d, _ in left if d.group == CASE),
        ended=sum(1 for d in due if d.replaces is not None),
        quarantined=quarantined,
        period_over=period_over,
    )


def _other_county(index: RegionIndex, home: str | None, facility: str | None) -> bool:
    mine, theirs = index.ancestor(home, "county"), index.ancestor(facility, "county")
    return mine is not None and theirs is not None and mine != theirs


def _statuses(
    conn: Connection, pairs: Sequence[tuple[Due, Assignment]], at: datetime, by: str
) -> int:
    from fangkong.tracing.statuses import set_contact_statuses

    moved = 0
    for status, kinds in (
        ("quarantined", ("centralised", "home_quarantine")),
        ("monitoring", ("home_monitoring",)),
    ):
        ids = [d.person_id for d, a in pairs if d.contact_id is not None and a.kind in kinds]
        if ids:
            moved += set_contact_statuses(
                conn, ids, status, by=by, at=at, reason="安置 / placed by the intake job"
            )
    return moved


def _isolate(conn: Connection, run: _Run, cases: Sequence[Due]) -> int:
    """Cases placed now are isolated: tracing closes their infectious window here."""
    if not cases:
        return 0
    from fangkong.tracing.cases import register_case
    from fangkong.tracing.rules import ContactRules

    contact_rules = ContactRules.from_pack(run.ctx.pack)
    k = tracing_cases.c
    ids = [d.person_id for d in cases]
    rows = conn.execute(
        select(k.person_id, k.onset_date, k.sample_date, k.isolated_at).where(k.person_id.in_(ids))
    ).all()
    for r in rows:
        if r.isolated_at is None:
            register_case(
                conn,
                int(r.person_id),
                contact_rules,
                onset=r.onset_date,
                sampled=r.sample_date,
                isolated_at=run.at,
                tz=run.ctx.tz,
                by=run.by,
                at=run.at,
            )
    return len(cases)


def _resolve(conn: Connection, at: datetime, by: str) -> int:
    """Open not_placed alerts of persons now placed are resolved."""
    a, q = quarantine_alerts, quarantine_placements.c
    placed = select(q.person_id).where(q.active.is_(True))
    return int(
        conn.execute(
            update(a)
            .where(a.c.kind == NOT_PLACED, a.c.resolved_at.is_(None), a.c.person_id.in_(placed))
            .values(resolved_at=at, resolved_by=by[:80])
        ).rowcount
    )


def _raise(
    conn: Connection, due: Sequence[Due], at: datetime, detail: str, *, by: str | None = None
) -> int:
    """One not_placed alert per person and deadline (``by``: resolved at once — a late
    placement, kept as a record)."""
    if not due:
        return 0
    a = quarantine_alerts.c
    known = {
        (int(p), d)
        for p, d in conn.execute(
            select(a.person_id, a.due_at).where(
                a.kind == NOT_PLACED, a.person_id.in_([d.person_id for d in due])
            )
        )
    }
    rows = [
        {
            "placement_id": None,
            "person_id": d.person_id,
            "kind": NOT_PLACED,
            "at": at,
            "due_at": d.deadline,
            "detail": f"{d.group}: {detail}",
            "resolved_at": at if by else None,
            "resolved_by": by[:80] if by else None,
        }
        for d in due
        if (d.person_id, d.deadline) not in known
    ]
    if rows:
        conn.execute(quarantine_alerts.insert(), rows)
    return len(rows)
