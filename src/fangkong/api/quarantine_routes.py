"""The quarantine API (集中隔离, ``/api/v1/quarantine``): placement requests in batches,
a facility's occupants, a placement's follow-up (tests, release, period changes,
absconding), daily health checks in batches from field devices, open alerts, readiness.

Routes parse the body and call one function of ``fangkong.quarantine.access`` — the same
the pages call — which checks rights and jurisdiction, masks names and writes one audit
row per call. Staff use the session cookie (and ``X-CSRF-Token`` on POST); a quarantine
site's tablet uses a device token of scope ``quarantine`` (its venue's region is its
jurisdiction). A placement outside the caller's jurisdiction answers 404 like one that
does not exist. Errors are problem+json in Chinese or English (``Accept-Language``);
a bad row of a batch is named ``rows.<i>.<field>`` and nothing of the batch is written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from fangkong import bounds
from fangkong.api.routes import ERRORS
from fangkong.auth.guard import Call
from fangkong.errors import FieldProblem, InvalidFields, Problem
from fangkong.http.deps import CallDep, Ctx
from fangkong.quarantine.access import MAX_BATCH
from fangkong.quarantine.access.alerts import alerts_view
from fangkong.quarantine.access.checks import CheckRow, record_checks
from fangkong.quarantine.access.facilities import occupants_view
from fangkong.quarantine.access.placements import place, placement_view
from fangkong.quarantine.access.readiness import readiness_view
from fangkong.quarantine.access.release import abscond, change_period, release
from fangkong.quarantine.access.tests import record_test
from fangkong.quarantine.rules import KINDS, QuarantineRules
from fangkong.quarantine.tables import CHECK_STATUSES, TEST_RESULTS
from fangkong.quarantine.terms import PlacementRequest
from fangkong.tracing.rules import ContactRules

quarantine_api = APIRouter(prefix="/api/v1/quarantine", tags=["quarantine"])

_PROBLEM = {"model": dict[str, Any], "description": "problem+json (RFC 9457)"}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 400: _PROBLEM, 409: _PROBLEM}
PlacementId = Annotated[int, Path(**bounds.ID_BOUNDS, description="the placement's id")]


def _rules(ctx: Ctx) -> QuarantineRules:
    return QuarantineRules.from_pack(ctx.codes.pack)


# ---- placement requests ---------------------------------------------------------------------


class RequestIn(BaseModel):
    """One person to place. ``kind`` defaults to the group's first phase in the pack."""

    model_config = ConfigDict(extra="forbid")
    person_id: bounds.RowId = Field(description="registry id of the person")
    risk_group: bounds.Line = Field(min_length=1, max_length=24, description="a [quarantine] group")
    kind: bounds.Line | None = Field(None, max_length=24, description=" | ".join(KINDS))
    household: bounds.Line | None = Field(None, max_length=40, description="placed together")
    guardian_id: bounds.RowId | None = Field(None, description="a child's guardian (same room)")
    needs_accessible: bounds.Flag = False
    region_code: bounds.Line | None = Field(None, max_length=20, description="where the person is")
    starts_at: bounds.PlannedInstant | None = Field(None, description="the period's anchor (now)")
    ref: bounds.Line | None = Field(
        None, min_length=1, max_length=64, description="idempotency key"
    )


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[RequestIn] = Field(min_length=1, max_length=MAX_BATCH)


class AssignmentOut(BaseModel):
    person_id: int
    outcome: str = Field(description="placed | home | no_room | not_managed | already_placed")
    placement_id: int | None
    kind: str | None
    facility_code: str | None
    facility_name: str | None
    room_code: str | None
    zone: str | None
    starts_at: datetime | None
    planned_end: datetime | None
    test_days: list[int]


class PlaceOut(BaseModel):
    placed: int = Field(description="rooms or home placements made or found by ref")
    no_room: int
    assignments: list[AssignmentOut]


@quarantine_api.post("/placements", response_model=PlaceOut, responses=WRITE_ERRORS)
def post_placements(ctx: Ctx, call: CallDep, body: PlaceIn) -> PlaceOut:
    """Place a batch (安置) by the pack's rules: nearest facility with space, families
    and a child with a guardian together, risk groups never mixed, accessible rooms when
    needed; home quarantine and home monitoring too. Never double-booked. Needs
    ``quarantine.place``; each person is where ``region_code`` says (else at home), inside
    the caller's jurisdiction. A repeated ``ref`` returns the stored placement. Codes
    follow. Errors: ``quarantine.rows_invalid`` 422 naming ``rows.<i>.person_id`` /
    ``risk_group`` / ``kind`` (nothing placed)."""
    reqs = [
        PlacementRequest(r.person_id, r.risk_group, r.kind, r.household, r.guardian_id,
                         r.needs_accessible, r.region_code, r.starts_at, r.ref)
        for r in body.rows
    ]  # fmt: skip
    seen: dict[int, int] = {}
    for i, r in enumerate(reqs):
        if r.person_id in seen:
            twice = Problem("quarantine.request_invalid", f"人员 {r.person_id} 重复出现",
                            f"person {r.person_id} appears twice in the batch")  # fmt: skip
            raise InvalidFields(twice, [FieldProblem(f"rows.{i}.person_id", twice)])
        seen[r.person_id] = i
    done = place(call, reqs, _rules(ctx), pack_ref=ctx.codes.pack.ref, codes=ctx.codes)
    out = [
        AssignmentOut(person_id=a.person_id, outcome=a.outcome, placement_id=a.placement_id,
                      kind=a.kind, facility_code=a.facility_code, facility_name=a.facility_name,
                      room_code=a.room_code, zone=a.zone, starts_at=a.starts_at,
                      planned_end=a.planned_end, test_days=list(a.test_days))
        for a in done
    ]  # fmt: skip
    return PlaceOut(
        placed=sum(a.outcome in ("placed", "home") for a in done),
        no_room=sum(a.outcome == "no_room" for a in done),
        assignments=out,
    )


# ---- daily health checks from field devices -------------------------------------------------


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    placement_id: bounds.RowId
    day: bounds.EventDate = Field(description="local date of the check")
    status: bounds.Line = Field(
        "done", max_length=16, description="done | not_done (abnormal is computed)"
    )
    temperature: float | None = Field(None, allow_inf_nan=False, description="°C, 30–45")
    symptoms: bounds.Text = Field("", max_length=200)


class ChecksIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[CheckIn] = Field(min_length=1, max_length=MAX_BATCH)


class ChecksOut(BaseModel):
    recorded: int
    statuses: list[str] = Field(description="as stored, in order: " + " | ".join(CHECK_STATUSES))
    alerts: int = Field(description="abnormal or not done: each raised an alert")


@quarantine_api.post("/checks", response_model=ChecksOut, responses=WRITE_ERRORS)
def post_checks(ctx: Ctx, call: CallDep, body: ChecksIn) -> ChecksOut:
    """Daily health checks (每日健康监测) in a batch, as a site's tablet sends them at the
    end of a round (device scope ``quarantine``, or a user with ``quarantine.place``). All
    rows or none; a check sent again for the same day replaces it. A temperature at or
    above the pack's fever threshold, or any symptom, makes it abnormal; abnormal and not
    done raise alerts. Errors: ``quarantine.rows_invalid`` 422 naming
    ``rows.<i>.placement_id`` (unknown, ended or outside the jurisdiction), ``status`` or
    ``temperature``."""
    rows = [CheckRow(r.placement_id, r.day, r.status, r.temperature, r.symptoms) for r in body.rows]
    stored = record_checks(call, rows, _rules(ctx))
    return ChecksOut(recorded=len(stored), statuses=stored, alerts=sum(s != "done" for s in stored))


# ---- a facility's occupants, a placement ---------------------------------------------------


class OccupantOut(BaseModel):
    placement_id: int
    person_id: int
    name: str = Field(description="masked without person.read_full")
    risk_group: str
    room_code: str | None
    zone: str | None
    starts_at: datetime
    planned_end: datetime | None
    check_today: str | None = Field(description="today's check, null when not recorded")


class OccupantsOut(BaseModel):
    facility_code: str
    facility_name: str
    day: date
    masked: bool
    occupants: list[OccupantOut]


@quarantine_api.get("/facilities/{code}/occupants", response_model=OccupantsOut,
                    responses=ERRORS)  # fmt: skip
def get_occupants(
    call: CallDep,
    code: Annotated[str, Path(min_length=1, max_length=40)],
    day: Annotated[
        bounds.EventDate | None, Query(description="local date of the checks (today)")
    ] = None,
) -> OccupantsOut:  # fmt: skip
    """The people placed in a facility now, by zone and room, with the day's health check
    (what a round of checks starts from). ``quarantine.read``; audited."""
    v = occupants_view(call, code, day=day)
    return OccupantsOut(
        facility_code=v.facility.code, facility_name=v.facility.name, day=v.day, masked=v.masked,
        occupants=[OccupantOut(placement_id=o.placement_id, person_id=o.person_id, name=o.name,
                               risk_group=o.risk_group, room_code=o.room_code, zone=o.zone,
                               starts_at=o.starts_at, planned_end=o.planned_end,
                               check_today=o.check_today) for o in v.occupants],
    )  # fmt: skip


class CheckOut(BaseModel):
    day: date
    status: str
    temperature: float | None
    symptoms: str
    recorded_at: datetime
    recorded_by: str


class TestOut(BaseModel):
    __test__ = False
    id: int
    day_number: int
    sampled_at: datetime
    result: str
    reported_at: datetime | None


class ScheduledOut(BaseModel):
    day_number: int
    day: date
    results: list[str]


class ChangeOut(BaseModel):
    at: datetime
    by: str
    old_end: datetime | None
    new_end: datetime | None
    reason: str


class ProblemOut(BaseModel):
    code: str
    detail_zh: str
    detail_en: str


class PlacementOut(BaseModel):
    id: int
    person_id: int
    name: str
    masked: bool
    kind: str
    risk_group: str
    status: str
    facility_name: str | None
    room_code: str | None
    zone: str | None
    region_code: str | None
    starts_at: datetime
    planned_end: datetime | None
    ended_at: datetime | None
    follows_id: int | None
    schedule: list[ScheduledOut]
    checks: list[CheckOut]
    tests: list[TestOut]
    period_changes: list[ChangeOut]
    release_refused: ProblemOut | None = Field(description="why it cannot be released now")


def _placement_out(ctx: Ctx, call: Call, placement_id: int) -> PlacementOut:
    d = placement_view(call, placement_id, _rules(ctx))
    p, refused = d.placement, d.release_refused
    return PlacementOut(
        id=p.id, person_id=p.person_id, name=d.name, masked=d.masked, kind=p.kind,
        risk_group=p.risk_group, status=p.status, facility_name=p.facility_name,
        room_code=p.room_code, zone=p.zone, region_code=p.region_code, starts_at=p.starts_at,
        planned_end=p.planned_end, ended_at=p.ended_at, follows_id=p.follows_id,
        schedule=[ScheduledOut(day_number=s.day_number, day=s.day, results=list(s.results))
                  for s in d.schedule],
        checks=[CheckOut(day=c.day, status=c.status, temperature=c.temperature,
                         symptoms=c.symptoms, recorded_at=c.recorded_at,
                         recorded_by=c.recorded_by) for c in d.checks],
        tests=[TestOut(id=t.id, day_number=t.day_number, sampled_at=t.sampled_at,
                       result=t.result, reported_at=t.reported_at) for t in d.tests],
        period_changes=[ChangeOut(at=h.at, by=h.by, old_end=h.old_end, new_end=h.new_end,
                                  reason=h.reason) for h in d.history],
        release_refused=None if refused is None else ProblemOut(
            code=refused.code, detail_zh=refused.message_zh, detail_en=refused.message_en),
    )  # fmt: skip


@quarantine_api.get("/placements/{placement_id}", response_model=PlacementOut, responses=ERRORS)
def get_placement(ctx: Ctx, call: CallDep, placement_id: PlacementId) -> PlacementOut:
    """A placement: period, test schedule with results, health checks, period changes,
    and why it cannot be released now (null: it can). ``quarantine.read``; audited."""
    return _placement_out(ctx, call, placement_id)


class TestIn(BaseModel):
    __test__ = False
    model_config = ConfigDict(extra="forbid")
    day_number: bounds.Count = Field(ge=1, le=60, description="day N of the schedule")
    sampled_at: bounds.EventInstant = Field(
        description="after the placement's start, not in the future (else 422)"
    )
    result: bounds.Line = Field(max_length=16, description=" | ".join(TEST_RESULTS))


@quarantine_api.post("/placements/{placement_id}/tests", response_model=PlacementOut,
                     responses=WRITE_ERRORS)  # fmt: skip
def post_test(ctx: Ctx, call: CallDep, placement_id: PlacementId, body: TestIn) -> PlacementOut:
    """A test of the schedule (``quarantine.place``). A positive ends the placement,
    registers the person as a case for tracing and raises an alert."""
    record_test(call, placement_id, day_number=body.day_number, sampled_at=body.sampled_at,
                result=body.result, contact_rules=ContactRules.from_pack(ctx.codes.pack),
                codes=ctx.codes)  # fmt: skip
    return _placement_out(ctx, call, placement_id)


class ReleaseOut(BaseModel):
    placement_id: int
    next_placement_id: int | None = Field(description="the next phase (7+3: home monitoring)")
    next_kind: str | None
    next_end: datetime | None


@quarantine_api.post("/placements/{placement_id}/release", response_model=ReleaseOut,
                     responses=WRITE_ERRORS)  # fmt: skip
def post_release(ctx: Ctx, call: CallDep, placement_id: PlacementId) -> ReleaseOut:
    """Release (解除) at the end of the period with the final negative test; the group's
    next phase starts now. ``quarantine.place``. Errors: ``quarantine.release_refused``
    409 with the reason (period not over, final negative test missing),
    ``quarantine.placement_closed`` 409."""
    done = release(call, placement_id, _rules(ctx), codes=ctx.codes, pack_ref=ctx.codes.pack.ref)
    return ReleaseOut(placement_id=done.placement_id, next_placement_id=done.next_placement_id,
                      next_kind=done.next_kind, next_end=done.next_end)  # fmt: skip


class PeriodIn(BaseModel):
    """Exactly one of ``days`` (added to the planned end; negative shortens) and ``new_end``."""

    model_config = ConfigDict(extra="forbid")
    days: Annotated[StrictInt, Field(ge=-60, le=60)] | None = None
    new_end: bounds.PlannedInstant | None = Field(
        None, description="within the pack's longest period from the start (else 422)"
    )
    reason: bounds.Text = Field(min_length=1, max_length=2000)


@quarantine_api.post("/placements/{placement_id}/period", response_model=ChangeOut,
                     responses=WRITE_ERRORS)  # fmt: skip
def post_period(ctx: Ctx, call: CallDep, placement_id: PlacementId, body: PeriodIn) -> ChangeOut:
    """Extend or shorten a period (``quarantine.adjust``) with a reason; every change is
    kept and codes follow. Errors: ``quarantine.period_invalid`` /
    ``quarantine.reason_missing`` 400, ``quarantine.period_too_long`` 422 (the end lies
    beyond the pack's longest period from the start)."""
    c = change_period(call, placement_id, days=body.days, new_end=body.new_end,
                      reason=body.reason, codes=ctx.codes, rules=_rules(ctx))  # fmt: skip
    return ChangeOut(at=c.at, by=c.by, old_end=c.old_end, new_end=c.new_end, reason=c.reason)


class AbscondIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: bounds.Text = Field("", max_length=500)


class AbscondOut(BaseModel):
    alert_id: int


@quarantine_api.post("/placements/{placement_id}/abscond", response_model=AbscondOut,
                     responses=WRITE_ERRORS)  # fmt: skip
def post_abscond(call: CallDep, placement_id: PlacementId, body: AbscondIn) -> AbscondOut:
    """The person left without release (脱管): the placement ends, the room is freed and
    an alert is raised. ``quarantine.place``."""
    alert = abscond(call, placement_id, note=body.note)
    return AbscondOut(alert_id=alert)


# ---- alerts, readiness ----------------------------------------------------------------------


class AlertOut(BaseModel):
    id: int
    kind: str = Field(
        description="absconded | abnormal_check | positive_test | missed_check | not_placed"
    )
    at: datetime
    detail: str
    placement_id: int | None = Field(description="none for not_placed: no placement yet")
    due_at: datetime | None = Field(None, description="not_placed: the placement deadline")
    person_id: int
    name: str
    facility_code: str | None
    room_code: str | None


@quarantine_api.get("/alerts", response_model=list[AlertOut], responses=ERRORS)
def get_alerts(
    call: CallDep,
    kind: Annotated[str | None, Query(max_length=16)] = None,
) -> list[AlertOut]:  # fmt: skip
    """Open quarantine alerts in the jurisdiction, oldest first. ``quarantine.read``;
    audited."""
    rows = alerts_view(call, kind)
    return [
        AlertOut(id=r.alert.id, kind=r.alert.kind, at=r.alert.at, detail=r.alert.detail,
                 placement_id=r.alert.placement_id, due_at=r.alert.due_at,
                 person_id=r.alert.person_id, name=r.name,
                 facility_code=r.facility_code, room_code=r.room_code)
        for r in rows
    ]  # fmt: skip


class RegionOut(BaseModel):
    region_code: str
    name: str
    population: int
    rooms: int = Field(description="available + occupied + standby + activating")
    norm_rooms: float = Field(description="population × the pack's rooms per 10,000")
    per_10000: float | None
    meets_norm: bool
    available: int
    occupied: int
    standby: int
    activating: int = Field(description="free rooms of facilities being activated")
    opens_at: datetime | None = Field(description="when the first activating one opens")
    fangcang: int = Field(description="beds of fangcang hospitals open or activating")
    convertible: int = Field(description="beds surveyed sites would add")
    awaiting: int = Field(description="persons due for a room, within their deadline")
    overdue: int = Field(description="persons due for a room, past their deadline")
    days_left: float | None


@quarantine_api.get("/readiness", response_model=list[RegionOut], responses=ERRORS)
def get_readiness(
    ctx: Ctx, call: CallDep, level: Annotated[str | None, Query(max_length=12)] = None
) -> list[RegionOut]:
    """Readiness per region of the jurisdiction against the norm (pack: 20 rooms per
    10,000 population). No personal data: ``quarantine.read``."""
    rows = readiness_view(call, _rules(ctx), level)
    return [RegionOut.model_validate({k: getattr(r, k) for k in RegionOut.model_fields})
            for r in rows]  # fmt: skip
