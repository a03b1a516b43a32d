"""Quarantine as people reach it: rights and jurisdiction in front of the services.

Readiness, facilities and candidate sites hold no personal data: ``quarantine.read`` and
the actor's region subtree decide what is shown. Changing a facility needs
``quarantine.manage`` and is audited (one row, the facility code, never a person).

Placements hold personal data (who is quarantined, their health checks)::

    actor ─▶ right? ── no ─▶ Forbidden (403)
             placement's facility region, or (home) the region where the person is,
             inside the actor's subtree? ── no ─▶ PlacementUnknown (404), as if absent
                 │
                 ▼
             occupants / placement / alerts ─▶ names masked without person.read_full
             check / test / release / abscond (quarantine.place), period change
             (quarantine.adjust), batch placement (quarantine.place; each request's
             region inside the subtree)
                 └── one audit row per read or change, in the same transaction as the
                     change (ids and outcomes only, never names); a refused change is
                     rolled back and its row kept with the error's code

Codes follow after the commit (``followup.send_codes``), as in the services.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, func, select

from fangkong import clock
from fangkong.audit.calls import audited
from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.jurisdiction import in_subtree, subtree, within
from fangkong.auth.model import Actor
from fangkong.auth.rights import (
    PERSON_READ_FULL,
    QUARANTINE_ADJUST,
    QUARANTINE_MANAGE,
    QUARANTINE_PLACE,
    QUARANTINE_READ,
)
from fangkong.errors import (
    BadInput,
    FangkongError,
    FieldProblem,
    Forbidden,
    InvalidFields,
    NotFound,
    Problem,
)
from fangkong.healthcode.context import CodeContext
from fangkong.identity.masking import mask_name
from fangkong.quarantine.alerts import AlertView, resolve_alert
from fangkong.quarantine.checks import CheckView, checks_of, record_check
from fangkong.quarantine.ending import Release, abscond, release_in, release_refusal
from fangkong.quarantine.facilities import (
    FacilityInput,
    FacilityUnknown,
    FacilityView,
    _save,
    list_facilities,
)
from fangkong.quarantine.periods import PeriodChangeView, change_period_in, period_history
from fangkong.quarantine.placed import (
    Facts,
    PlacementClosed,
    PlacementUnknown,
    PlacementView,
    _view,
    send_codes,
)
from fangkong.quarantine.placement import place
from fangkong.quarantine.readiness import RegionCapacity, capacity_by_region, with_forecast
from fangkong.quarantine.rules import KINDS, QuarantineRules
from fangkong.quarantine.scheduled_tests import (
    ScheduledTest,
    TestOutcome,
    TestView,
    record_test_in,
    schedule,
    tests_of,
)
from fangkong.quarantine.survey import SiteScore, list_sites, rank_sites
from fangkong.quarantine.tables import (
    CHECK_STATUSES,
    quarantine_alerts,
    quarantine_checks,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.quarantine.terms import SHANGHAI, Assignment, PlacementRequest
from fangkong.store.schema import persons
from fangkong.store.tx import Bind

T = TypeVar("T")
MAX_BATCH = 5_000  # placement requests or health checks in one call


def _codes(bind: Bind, actor: Actor) -> list[str] | None:
    if actor.region_code is None:
        return None
    if isinstance(bind, Connection):
        return [str(c) for c in bind.execute(subtree(actor.region_code)).scalars()]
    with bind.connect() as conn:
        return [str(c) for c in conn.execute(subtree(actor.region_code)).scalars()]


def readiness_view(
    engine: Engine,
    actor: Actor,
    rules: QuarantineRules,
    level: str | None = None,
    *,
    forecast: CodeContext | None = None,
    at: datetime | None = None,
) -> list[RegionCapacity]:
    """Readiness of the jurisdiction's regions; given a ``CodeContext`` (its pack and
    zone) also the demand forecast's peak and run-out day per region."""
    actor.require(QUARANTINE_READ)
    rows = capacity_by_region(engine, rules, level=level, within=actor.region_code, at=at)
    if forecast is None:
        return rows
    from fangkong.quarantine.forecast import ForecastOptions, forecast_from_store

    rf = forecast_from_store(engine, forecast.pack, forecast.tz,
                             ForecastOptions(level=level, draws=200), now=at,
                             within=actor.region_code)  # fmt: skip
    return with_forecast(rows, rf)


def facilities_view(engine: Engine, actor: Actor) -> list[FacilityView]:
    actor.require(QUARANTINE_READ)
    return list_facilities(engine, region_codes=_codes(engine, actor))


def facility_view(bind: Bind, actor: Actor, code: str) -> FacilityView:
    actor.require(QUARANTINE_READ)
    found = list_facilities(bind, code=code)[0]
    codes = _codes(bind, actor)
    if codes is not None and found.region_code not in codes:
        raise FacilityUnknown(
            FacilityUnknown.of(
                "quarantine.facility_unknown",
                f"无此隔离场所（{code}）",
                f"no quarantine facility {code}",
            ).problem
        )
    return found


def save_facility_as(
    engine: Engine, key: bytes, actor: Actor, facility: FacilityInput, address: str
) -> int:
    """Add or change a facility (pages' edit form); audited."""
    actor.require(QUARANTINE_MANAGE)
    with transaction(engine) as conn:
        if actor.region_code is not None and not in_subtree(
            conn, actor.region_code, facility.region_code
        ):
            raise FacilityUnknown(FacilityUnknown.of(
                "quarantine.facility_unknown", f"无此隔离场所（{facility.code}）",
                f"no quarantine facility {facility.code}").problem)  # fmt: skip
        fid, inserted, _ = _save(conn, facility, actor.name, clock.now())
        record(conn, key, AuditEvent(actor.name, "quarantine.facility", "ok", address,
                                     "facility", facility.code,
                                     "added" if inserted else "changed"))  # fmt: skip
    return fid


def sites_view(engine: Engine, actor: Actor, rules: QuarantineRules) -> list[SiteScore]:
    actor.require(QUARANTINE_READ)
    return rank_sites(list_sites(engine, _codes(engine, actor)), rules.survey)


# ---- placements -----------------------------------------------------------------------------


class _Hidden(PlacementUnknown):
    """Outside the actor's jurisdiction: answered as absent, audited as what it is."""

    outcome = "out_of_jurisdiction"


def _placement_missing(placement_id: int) -> Problem:
    return Problem(
        "quarantine.placement_unknown",
        f"无此安置记录（{placement_id}）",
        f"no placement {placement_id}",
    )


def _where_placed() -> Any:
    """The region a placement answers to: its facility's, else where the person is."""
    return func.coalesce(quarantine_facilities.c.region_code, quarantine_placements.c.region_code)


def _where_alerted() -> Any:
    """The region an alert answers to: its placement's, else (not placed) the person's
    residence."""
    return func.coalesce(_where_placed(), persons.c.residence_code)


def _reachable(conn: Connection, actor: Actor, placement_id: int) -> PlacementView:
    view = _view(conn, placement_id)
    if actor.region_code is None:
        return view
    q, f = quarantine_placements.c, quarantine_facilities.c
    inside = conn.execute(
        select(q.id)
        .outerjoin(quarantine_facilities, f.id == q.facility_id)
        .where(q.id == placement_id, within(actor, _where_placed()))
    ).first()
    if inside is None:
        raise _Hidden(_placement_missing(placement_id))
    return view


def _names(conn: Connection, actor: Actor, person_ids: Sequence[int]) -> dict[int, str]:
    full = actor.can(PERSON_READ_FULL)
    out: dict[int, str] = {}
    ids = sorted(set(person_ids))
    for i in range(0, len(ids), MAX_BATCH):
        rows = conn.execute(
            select(persons.c.id, persons.c.name).where(persons.c.id.in_(ids[i : i + MAX_BATCH]))
        ).all()
        out.update({int(p): n if full else mask_name(n) for p, n in rows})
    return out


def _masked(actor: Actor) -> str:
    return "" if actor.can(PERSON_READ_FULL) else " masked"


# ---- a facility's occupants -----------------------------------------------------------------


@dataclass(frozen=True)
class Occupant:
    placement_id: int
    person_id: int
    name: str
    risk_group: str
    room_code: str | None
    zone: str | None
    starts_at: datetime
    planned_end: datetime | None
    check_today: str | None  # done / not_done / abnormal, None: not recorded yet


@dataclass(frozen=True)
class Occupants:
    facility: FacilityView
    day: date
    occupants: tuple[Occupant, ...]
    masked: bool


def occupants_view(
    engine: Engine, key: bytes, actor: Actor, code: str, address: str,
    *, day: date | None = None, tz: ZoneInfo = SHANGHAI,
) -> Occupants:  # fmt: skip
    """The people placed in a facility now, by room, with today's health check. Audited."""
    day = day or clock.now().astimezone(tz).date()

    def body(conn: Connection) -> tuple[Occupants, str]:
        found = facility_view(conn, actor, code)
        q, r, c = quarantine_placements.c, quarantine_rooms.c, quarantine_checks.c
        rows = conn.execute(
            select(q.id, q.person_id, q.risk_group, q.starts_at, q.planned_end, r.code, r.zone,
                   c.status)
            .outerjoin(quarantine_rooms, r.id == q.room_id)
            .outerjoin(quarantine_checks, and_(c.placement_id == q.id, c.day == day))
            .where(q.facility_id == found.id, q.active.is_(True))
            .order_by(r.zone, r.code, q.id)
        ).all()  # fmt: skip
        names = _names(conn, actor, [int(x.person_id) for x in rows])
        people = tuple(
            Occupant(int(x.id), int(x.person_id), names.get(int(x.person_id), "?"),
                     x.risk_group, x.code, x.zone, x.starts_at, x.planned_end, x.status)
            for x in rows
        )  # fmt: skip
        view = Occupants(found, day, people, not actor.can(PERSON_READ_FULL))
        return view, f"{len(people)} occupants{_masked(actor)}"

    actor.require(QUARANTINE_READ)
    return audited(engine, key, actor, address, "quarantine.occupants",
                    "facility", code, body)  # fmt: skip


# ---- one placement --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementDetail:
    placement: PlacementView
    name: str
    masked: bool
    checks: tuple[CheckView, ...]
    tests: tuple[TestView, ...]
    schedule: tuple[ScheduledTest, ...]
    history: tuple[PeriodChangeView, ...]
    release_refused: Problem | None  # why it cannot be released now (None: it can)
    can_follow_up: bool  # quarantine.place: checks, tests, release, abscond
    can_adjust: bool  # quarantine.adjust: extend or shorten


def placement_view(
    engine: Engine, key: bytes, actor: Actor, placement_id: int, address: str,
    rules: QuarantineRules, *, tz: ZoneInfo = SHANGHAI, at: datetime | None = None,
) -> PlacementDetail:  # fmt: skip
    """A placement with its period, test schedule, health checks and period changes;
    whether it may be released now and, if not, why. Audited."""
    at = at or clock.now()

    def body(conn: Connection) -> tuple[PlacementDetail, str]:
        actor.require(QUARANTINE_READ)
        view = _reachable(conn, actor, placement_id)
        tests = tests_of(conn, placement_id)
        refused = None
        if view.status == "active":
            refused = release_refusal(conn, view, rules, at, tz)
        detail = PlacementDetail(
            view, _names(conn, actor, [view.person_id]).get(view.person_id, "?"),
            not actor.can(PERSON_READ_FULL), tuple(checks_of(conn, placement_id)),
            tuple(tests), tuple(schedule(view, tests, tz)),
            tuple(period_history(conn, placement_id)), refused,
            actor.can(QUARANTINE_PLACE) and view.status == "active",
            actor.can(QUARANTINE_ADJUST) and view.status == "active",
        )  # fmt: skip
        return detail, f"person {view.person_id}{_masked(actor)}"

    return audited(engine, key, actor, address, "quarantine.placement",
                    "placement", str(placement_id), body)  # fmt: skip


def record_check_as(
    engine: Engine, key: bytes, actor: Actor, placement_id: int, address: str,
    rules: QuarantineRules, *, day: date, status: str = "done",
    temperature: float | None = None, symptoms: str = "", at: datetime | None = None,
) -> str:  # fmt: skip
    """A day's health check (quarantine.place); the status stored. Audited."""

    def body(conn: Connection) -> tuple[str, str]:
        actor.require(QUARANTINE_PLACE)
        _reachable(conn, actor, placement_id)
        stored = record_check(conn, placement_id, day, rules, by=actor.name, status=status,
                              temperature=temperature, symptoms=symptoms, at=at)  # fmt: skip
        return stored, f"{day}: {stored}"

    return audited(engine, key, actor, address, "quarantine.check",
                    "placement", str(placement_id), body)  # fmt: skip


def _with_codes(
    engine: Engine, key: bytes, actor: Actor, address: str, action: str, placement_id: int,
    right: str, change: Callable[[Connection], tuple[T, Facts, str]], at: datetime,
    codes: CodeContext | None,
) -> T:  # fmt: skip
    """An audited change of one placement; the facts it makes go to codes after commit."""
    facts: Facts = []

    def body(conn: Connection) -> tuple[T, str]:
        actor.require(right)
        _reachable(conn, actor, placement_id)
        result, made, detail = change(conn)
        facts.extend(made)
        return result, detail

    result = audited(engine, key, actor, address, action, "placement", str(placement_id),
                      body)  # fmt: skip
    send_codes(engine, facts, actor.name, at, codes)
    return result


def release_as(
    engine: Engine, key: bytes, actor: Actor, placement_id: int, address: str,
    rules: QuarantineRules, *, tz: ZoneInfo = SHANGHAI, at: datetime | None = None,
    codes: CodeContext | None = None, pack_ref: str = "",
) -> Release:  # fmt: skip
    """Release (quarantine.place); refused with the reason (``quarantine.release_refused``)
    while the period runs or the final negative test is missing. Audited."""
    at = at or clock.now()

    def change(conn: Connection) -> tuple[Release, Facts, str]:
        done, facts = release_in(conn, placement_id, rules, by=actor.name, at=at, tz=tz,
                                 pack_ref=pack_ref)  # fmt: skip
        return done, facts, f"next {done.next_placement_id or '-'}"

    return _with_codes(engine, key, actor, address, "quarantine.release", placement_id,
                       QUARANTINE_PLACE, change, at, codes)  # fmt: skip


def record_test_as(
    engine: Engine, key: bytes, actor: Actor, placement_id: int, address: str,
    *, day_number: int, sampled_at: datetime, result: str, contact_rules: Any = None,
    tz: ZoneInfo = SHANGHAI, codes: CodeContext | None = None,
) -> TestOutcome:  # fmt: skip
    """A test of the schedule (quarantine.place); a positive converts to a case. Audited."""

    def change(conn: Connection) -> tuple[TestOutcome, Facts, str]:
        done, facts = record_test_in(conn, placement_id, day_number=day_number,
                                     sampled_at=sampled_at, result=result, by=actor.name,
                                     contact_rules=contact_rules, tz=tz,
                                     entered_at=clock.now())  # fmt: skip
        return done, facts, f"day {day_number}: {result}"

    return _with_codes(engine, key, actor, address, "quarantine.test", placement_id,
                       QUARANTINE_PLACE, change, sampled_at, codes)  # fmt: skip


def change_period_as(
    engine: Engine, key: bytes, actor: Actor, placement_id: int, address: str,
    *, days: int | None = None, new_end: datetime | None = None, reason: str,
    at: datetime | None = None, codes: CodeContext | None = None,
    rules: QuarantineRules | None = None,
) -> PeriodChangeView:  # fmt: skip
    """Extend or shorten (quarantine.adjust) with a reason, kept in history; with
    ``rules`` the end stays within ``rules.longest_days()`` of the start. Audited."""
    at = at or clock.now()

    def change(conn: Connection) -> tuple[PeriodChangeView, Facts, str]:
        done, facts = change_period_in(
            conn, placement_id, new_end=new_end, days=days, reason=reason, by=actor.name,
            at=at, longest_days=None if rules is None else rules.longest_days(),
        )  # fmt: skip
        return done, facts, f"{done.old_end:%F %H:%M} -> {done.new_end:%F %H:%M}"

    return _with_codes(engine, key, actor, address, "quarantine.period", placement_id,
                       QUARANTINE_ADJUST, change, at, codes)  # fmt: skip


def abscond_as(
    engine: Engine, key: bytes, actor: Actor, placement_id: int, address: str,
    *, note: str = "", at: datetime | None = None,
) -> int:  # fmt: skip
    """The person left without release (quarantine.place): an alert (its id). Audited."""

    def body(conn: Connection) -> tuple[int, str]:
        actor.require(QUARANTINE_PLACE)
        _reachable(conn, actor, placement_id)
        alert = abscond(conn, placement_id, by=actor.name, note=note, at=at)
        return alert, f"alert {alert}"

    return audited(engine, key, actor, address, "quarantine.abscond",
                    "placement", str(placement_id), body)  # fmt: skip


# ---- alerts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    alert: AlertView
    name: str
    facility_code: str | None
    facility_name: str | None
    room_code: str | None


def alerts_view(
    engine: Engine, key: bytes, actor: Actor, address: str, kind: str | None = None
) -> list[AlertRow]:
    """Open quarantine alerts in the jurisdiction, oldest first (names by rights). Audited."""

    def body(conn: Connection) -> tuple[list[AlertRow], str]:
        actor.require(QUARANTINE_READ)
        a, q, f, r = (quarantine_alerts.c, quarantine_placements.c, quarantine_facilities.c,
                      quarantine_rooms.c)  # fmt: skip
        query = (
            select(quarantine_alerts, f.code.label("fcode"), f.name.label("fname"),
                   r.code.label("rcode"))
            .outerjoin(quarantine_placements, q.id == a.placement_id)
            .outerjoin(quarantine_facilities, f.id == q.facility_id)
            .outerjoin(quarantine_rooms, r.id == q.room_id)
            .join(persons, persons.c.id == a.person_id)
            .where(a.resolved_at.is_(None), within(actor, _where_alerted()))
            .order_by(a.id)
        )  # fmt: skip
        if kind:
            query = query.where(a.kind == kind)
        rows = conn.execute(query).all()
        names = _names(conn, actor, [int(x.person_id) for x in rows])
        out = [
            AlertRow(AlertView(x.id, x.placement_id, x.person_id, x.kind, x.at, x.detail,
                               x.due_at),
                     names.get(int(x.person_id), "?"), x.fcode, x.fname, x.rcode)
            for x in rows
        ]  # fmt: skip
        return out, f"{len(out)} open{_masked(actor)}"

    return audited(engine, key, actor, address, "quarantine.alerts", None, None, body)


def resolve_alert_as(engine: Engine, key: bytes, actor: Actor, alert_id: int, address: str) -> None:
    """Close an open alert of the jurisdiction (quarantine.place). Audited."""

    def body(conn: Connection) -> tuple[None, str]:
        actor.require(QUARANTINE_PLACE)
        a = quarantine_alerts.c
        found = conn.execute(
            select(a.placement_id, persons.c.residence_code)
            .join(persons, persons.c.id == a.person_id)
            .where(a.id == alert_id)
        ).first()
        missing = NotFound(Problem("quarantine.alert_unknown", f"无此未处理预警（{alert_id}）",
                                   f"no open alert {alert_id}"))  # fmt: skip
        if found is None:
            raise missing
        if found.placement_id is not None:
            _reachable(conn, actor, int(found.placement_id))
        elif actor.region_code is not None and not in_subtree(
            conn, actor.region_code, found.residence_code
        ):
            raise missing  # a person out of the jurisdiction: as if absent
        resolve_alert(conn, alert_id, by=actor.name)
        placement = found.placement_id
        return None, f"placement {placement}" if placement else f"alert {alert_id}"

    audited(engine, key, actor, address, "quarantine.resolve", "alert", str(alert_id), body)


# ---- batches from the API (placement requests, field devices' health checks) ---------------


def _row_problem(i: int, field: str, problem: Problem) -> FieldProblem:
    return FieldProblem(f"rows.{i}.{field}", problem)


def _refuse_rows(problems: Sequence[FieldProblem]) -> InvalidFields:
    n = len(problems)
    return InvalidFields(
        Problem("quarantine.rows_invalid", f"{n} 处错误，未写入任何记录",
                f"{n} problems: nothing was written"), problems)  # fmt: skip


def place_as(
    engine: Engine, key: bytes, actor: Actor, requests: Sequence[PlacementRequest],
    address: str, rules: QuarantineRules, *, tz: ZoneInfo = SHANGHAI, pack_ref: str = "",
    codes: CodeContext | None = None, at: datetime | None = None,
) -> list[Assignment]:  # fmt: skip
    """Place a batch (quarantine.place). Each person is where the request says (else at
    home, by the registry), which must lie inside the actor's jurisdiction; a person
    outside or unknown is named by row (``rows.<i>.person_id``) and nothing is placed.
    One audit row (counts of the outcomes)."""

    def check(conn: Connection) -> None:
        actor.require(QUARANTINE_PLACE)
        if len(requests) > MAX_BATCH:
            raise BadInput(Problem("quarantine.too_many", f"一次最多 {MAX_BATCH} 条",
                                   f"at most {MAX_BATCH} rows at once"))  # fmt: skip
        ids = [r.person_id for r in requests]
        p = persons.c
        home: dict[int, str | None] = {}
        for i in range(0, len(ids), MAX_BATCH):
            chunk = ids[i : i + MAX_BATCH]
            rows = conn.execute(select(p.id, p.residence_code).where(p.id.in_(chunk))).all()
            home.update((int(r.id), r.residence_code) for r in rows)
        listed = _codes(conn, actor)
        inside = None if listed is None else set(listed)
        problems = []
        for i, r in enumerate(requests):
            where = r.region_code or home.get(r.person_id)
            if r.person_id not in home or (inside is not None and where not in inside):
                problems.append(_row_problem(i, "person_id", Problem(
                    "quarantine.person_unknown", f"无此人员（{r.person_id}）或不在辖区内",
                    f"no person {r.person_id} in your jurisdiction")))  # fmt: skip
            if r.risk_group not in rules.groups:
                groups = ", ".join(rules.groups)
                problems.append(_row_problem(i, "risk_group", Problem(
                    "quarantine.group_unknown", f"无此风险人群 {r.risk_group!r}（可选：{groups}）",
                    f"no risk group {r.risk_group!r} (one of: {groups})")))  # fmt: skip
            if r.kind is not None and r.kind not in KINDS:
                problems.append(_row_problem(i, "kind", Problem(
                    "quarantine.request_invalid", f"无效的安置方式 {r.kind!r}",
                    f"not a placement kind: {r.kind!r} (one of: {', '.join(KINDS)})")))  # fmt: skip
        if problems:
            raise _refuse_rows(problems)

    try:
        with engine.connect() as conn:
            check(conn)
        done = place(engine, requests, rules, by=actor.name, at=at, tz=tz, pack_ref=pack_ref,
                     codes=codes)  # fmt: skip
    except FangkongError as exc:
        outcome = "forbidden" if isinstance(exc, Forbidden) else exc.code
        _note(engine, key, actor, address, "quarantine.place", outcome, None)
        raise
    counts: dict[str, int] = {}
    for a in done:
        counts[a.outcome] = counts.get(a.outcome, 0) + 1
    _note(engine, key, actor, address, "quarantine.place", "ok",
          ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))  # fmt: skip
    return done


def _note(
    engine: Engine, key: bytes, actor: Actor, address: str, action: str, outcome: str,
    detail: str | None,
) -> None:  # fmt: skip
    with transaction(engine) as conn:
        record(conn, key, AuditEvent(actor.name, action, outcome[:20], address, None, None,
                                     detail and detail[:200]))  # fmt: skip


@dataclass(frozen=True)
class CheckRow:
    """A daily health check as a field device sends it."""

    placement_id: int
    day: date
    status: str = "done"
    temperature: float | None = None
    symptoms: str = ""


def record_checks_as(
    engine: Engine, key: bytes, actor: Actor, rows: Sequence[CheckRow], address: str,
    rules: QuarantineRules, *, at: datetime | None = None,
) -> list[str]:  # fmt: skip
    """Health checks in a batch (a facility's tablet, quarantine.place): all or none; a
    bad row is named (``rows.<i>.<field>``). The statuses stored, in order. One audit row."""

    def body(conn: Connection) -> tuple[list[str], str]:
        actor.require(QUARANTINE_PLACE)
        if len(rows) > MAX_BATCH:
            raise BadInput(Problem("quarantine.too_many", f"一次最多 {MAX_BATCH} 条",
                                   f"at most {MAX_BATCH} rows at once"))  # fmt: skip
        problems: list[FieldProblem] = []
        stored: list[str] = []
        for i, row in enumerate(rows):
            try:
                _reachable(conn, actor, row.placement_id)
                with conn.begin_nested():
                    stored.append(record_check(
                        conn, row.placement_id, row.day, rules, by=actor.name,
                        status=row.status, temperature=row.temperature,
                        symptoms=row.symptoms, at=at))  # fmt: skip
            except (PlacementUnknown, PlacementClosed) as exc:
                problems.append(_row_problem(i, "placement_id", exc.problem))
            except InvalidFields as exc:
                problems += [_row_problem(i, f.field, f.problem) for f in exc.fields]
            except BadInput as exc:
                field = "status" if exc.problem.code == "quarantine.check_invalid" and (
                    row.status not in CHECK_STATUSES) else "temperature"  # fmt: skip
                problems.append(_row_problem(i, field, exc.problem))
        if problems:
            raise _refuse_rows(problems)
        abnormal = sum(s != "done" for s in stored)
        return stored, f"{len(stored)} checks, {abnormal} abnormal or missed"

    return audited(engine, key, actor, address, "quarantine.checks", None, None, body)
