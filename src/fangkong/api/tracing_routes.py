"""The contact-tracing API (流调, ``/api/v1/tracing``): register and trace a case, a case's
contacts with their evidence (paged), the steps of its investigation, contact status
changes, chains and clusters.

Routes parse input and call one function of ``fangkong.tracing.access`` — the same the
tracer pages call — which checks rights and jurisdiction and writes one audit row per
call. People use the session cookie (and ``X-CSRF-Token`` on POST); a case or contact
outside the caller's jurisdiction answers 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from fangkong import bounds
from fangkong.api.routes import ERRORS
from fangkong.errors import FieldProblem, InvalidFields, Problem
from fangkong.http.deps import CallDep, Ctx
from fangkong.tracing.access import (
    MAX_BULK,
    change_contact_statuses,
    page,
    read_case_contacts,
    read_chains,
    read_clusters,
    register_and_trace,
)
from fangkong.tracing.lake import CheckinLake
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.steps import STEP, STEPS, record_step
from fangkong.tracing.tables import STATUSES

tracing_api = APIRouter(prefix="/api/v1/tracing", tags=["tracing"])

_PROBLEM = {"model": dict[str, Any], "description": "problem+json (RFC 9457)"}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 400: _PROBLEM, 409: _PROBLEM}
MAX_PAGE = 500
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"rows per page (≤ {MAX_PAGE})")]
Offset = Annotated[int, Query(**bounds.OFFSET_BOUNDS, description="rows to skip")]
Filter = Annotated[str | None, Query(max_length=20)]


class CaseIn(BaseModel):
    """A case to register: onset date, or sampling date for an asymptomatic infection (the
    infectious window reaches back the pack's days from it); isolated_at closes it."""

    model_config = ConfigDict(extra="forbid")
    person_id: bounds.RowId = Field(description="registry id of the person")
    onset_date: bounds.EventDate | None = Field(None, description="not before the birth date")
    sample_date: bounds.EventDate | None = Field(None, description="not before the birth date")
    isolated_at: bounds.EventInstant | None = None
    trace: bounds.Flag = Field(True, description="trace now over the check-in lake")


class CaseOut(BaseModel):
    id: int
    person_id: int
    onset_date: date | None
    sample_date: date | None
    isolated_at: datetime | None
    infectious_from: datetime
    infectious_until: datetime | None
    traced_at: datetime | None
    verified_at: datetime | None = Field(description="case verified (审核); null: not yet")
    verified_by: str | None = None
    on_site_at: datetime | None = Field(description="team on site (到达现场); null: not yet")
    on_site_by: str | None = None
    core_facts_at: datetime | None = Field(
        description="core facts established (核心信息); null: not yet"
    )
    core_facts_by: str | None = None
    report_at: datetime | None = Field(description="report filed (流调报告); null: not yet")
    report_by: str | None = None


class StepOut(BaseModel):
    case_id: int
    step: str = Field(description=" | ".join(s.key for s in STEPS))
    label_zh: str
    label_en: str
    at: datetime = Field(description="when it was recorded (the system clock then)")
    by: str
    new: bool = Field(description="false: it was recorded before; the first stamp is kept")


class TracedOut(BaseModel):
    found: dict[str, int] = Field(description="persons found by kind (close, general, ...)")
    new_contacts: dict[str, int] = Field(description="contact records created, by kind")
    exposures_new: int
    facts: int = Field(description="exposure facts handed to health codes")
    codes_changed: int


class RegisteredOut(BaseModel):
    case: CaseOut
    traced: TracedOut | None = Field(description="null: registered without tracing")


class ExposureOut(BaseModel):
    kind: str
    setting: str = Field(description="venue, household, class, workplace or vehicle")
    place_code: str | None = Field(description="venue, household, or venue#unit (class/team)")
    overlap_start: datetime
    overlap_end: datetime
    overlap_seconds: int


class ContactOut(BaseModel):
    id: int
    person_id: int
    name: str = Field(description="masked without person.read_full or outside jurisdiction")
    kind: str
    status: str
    first_exposure_at: datetime
    last_exposure_at: datetime
    editable: bool = Field(description="inside the caller's jurisdiction")
    exposures: list[ExposureOut]


class ContactsOut(BaseModel):
    case: CaseOut
    total: int
    limit: int
    offset: int
    contacts: list[ContactOut]


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_ids: list[bounds.RowId] = Field(min_length=1, max_length=MAX_BULK)
    status: bounds.Line = Field(max_length=24, description=" | ".join(STATUSES))
    reason: bounds.Text = Field(min_length=1, max_length=2000)


class StatusOut(BaseModel):
    changed: int


class CaseRefOut(BaseModel):
    id: int
    name: str


class ChainOut(BaseModel):
    number: int
    cases: list[CaseRefOut]
    roots: list[int] = Field(description="cases no other case named as a close contact")
    links: list[tuple[int, int]] = Field(description="(case, a close contact who became one)")


class ChainsOut(BaseModel):
    total: int
    limit: int
    offset: int
    chains: list[ChainOut]


class DayOut(BaseModel):
    date: date
    cases: int


class ClusterOut(BaseModel):
    cases: list[int]
    size: int
    venues: dict[str, int] = Field(description="place code → cases linked there")
    households: list[str]
    first_case_at: datetime
    last_case_at: datetime
    growth: list[DayOut] = Field(description="cases per day by onset (else sampling) date")
    out_of_range: list[int] = Field(
        default_factory=list,
        description="cases whose stored onset (else sampling) date is outside the input "
        "window: left out of the growth, flagged",
    )


class ClustersOut(BaseModel):
    total: int
    limit: int
    offset: int
    window_days: int
    clusters: list[ClusterOut]


def _case_out(case: Any) -> CaseOut:
    return CaseOut(**{name: getattr(case, name) for name in CaseOut.model_fields})


@tracing_api.post("/cases", response_model=RegisteredOut, responses=WRITE_ERRORS, status_code=201)
def post_case(ctx: Ctx, call: CallDep, body: CaseIn) -> JSONResponse:
    """Register a case (登记病例) for a person inside the caller's jurisdiction and, unless
    ``trace`` is false, trace it (流调) over the check-in lake, the household, class,
    office team and manifests; contacts go to health codes. Needs ``person.read``,
    ``fact.record`` and ``person.write``. Registering the same facts again changes
    nothing. Errors: ``tracing.case_undated`` 400 (no onset or sampling date),
    ``tracing.person_unknown`` 404."""
    if body.onset_date is None and body.sample_date is None:
        missing = Problem("value.missing", "须有发病或采样日期", "onset_date or sample_date")
        raise InvalidFields(
            Problem("tracing.case_undated", "病例须有发病日期或采样日期",
                    "a case needs an onset or a sampling date"),
            [FieldProblem("onset_date", missing), FieldProblem("sample_date", missing)],
        )  # fmt: skip
    rules = ContactRules.from_pack(ctx.codes.pack)
    lake = CheckinLake.at_home(ctx.settings.home)
    done = register_and_trace(
        call, ctx.codes, rules, body.person_id,
        onset=body.onset_date, sampled=body.sample_date, isolated_at=body.isolated_at,
        source=lake if body.trace and lake.files() else None,
    )  # fmt: skip
    traced = None
    if done.traced is not None:
        t = done.traced
        traced = TracedOut(found=dict(t.found), new_contacts=dict(t.new_contacts),
                           exposures_new=t.exposures_new, facts=done.facts,
                           codes_changed=done.codes_changed)  # fmt: skip
    out = RegisteredOut(case=_case_out(done.case), traced=traced)
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


@tracing_api.get("/cases/{case_id}/contacts", response_model=ContactsOut, responses=ERRORS)
def get_contacts(
    call: CallDep, case_id: Annotated[int, Path(**bounds.ID_BOUNDS)],
    kind: Filter = None, status: Filter = None, limit: Limit = 100, offset: Offset = 0,
) -> ContactsOut:  # fmt: skip
    """A case's contacts with the evidence linking them to it, close contacts first, one
    page at a time (``total`` counts them all). ``kind``: close, contact_of_contact or
    general; ``status``: identified, notified, quarantined, monitoring, released,
    became_case or lost. Names are masked without ``person.read_full``. Errors:
    ``tracing.case_unknown`` 404, ``tracing.kind_invalid``/``tracing.status_invalid`` 400."""
    view = read_case_contacts(call, case_id, kind=kind, status=status)
    rows, total = page(view.contacts, limit, offset)
    contacts = [
        ContactOut(
            id=r.contact.id, person_id=r.contact.person_id, name=r.name, kind=r.contact.kind,
            status=r.contact.status, first_exposure_at=r.contact.first_exposure_at,
            last_exposure_at=r.contact.last_exposure_at, editable=r.editable,
            exposures=[ExposureOut(kind=e.kind, setting=e.setting, place_code=e.place_code,
                                   overlap_start=e.overlap_start, overlap_end=e.overlap_end,
                                   overlap_seconds=e.overlap_seconds)
                       for e in r.contact.exposures],
        )
        for r in rows
    ]  # fmt: skip
    return ContactsOut(case=_case_out(view.case), total=total, limit=limit, offset=offset,
                       contacts=contacts)  # fmt: skip


StepName = Annotated[str, Path(max_length=20, description=" | ".join(s.key for s in STEPS))]


@tracing_api.post("/cases/{case_id}/steps/{step}", response_model=StepOut,
                  responses=WRITE_ERRORS)  # fmt: skip
def post_step(
    call: CallDep, case_id: Annotated[int, Path(**bounds.ID_BOUNDS)], step: StepName
) -> StepOut:
    """Record a step of the case's investigation as done now (流调处置节点): ``verified``
    (审核), ``on_site`` (流调队伍到达现场), ``core_facts`` (核心信息查清), ``report``
    (流调报告提交). The time is the system clock's when the call arrives — there is no
    time to send. Recording a step again keeps the first stamp (``new`` false). Needs
    ``person.read``, ``fact.record`` and ``person.write``. Errors: ``tracing.step_invalid``
    400, ``tracing.case_unknown`` 404 (also outside the jurisdiction),
    ``tracing.step_out_of_order`` 409 (the report before the core facts)."""
    stamp = record_step(call, case_id, step)
    s = STEP[stamp.step]
    assert stamp.at is not None  # noqa: S101 - stamped above
    assert stamp.by is not None  # noqa: S101
    return StepOut(case_id=stamp.case_id, step=s.key, label_zh=s.zh, label_en=s.en,
                   at=stamp.at, by=stamp.by, new=stamp.new)  # fmt: skip


@tracing_api.post("/contacts/status", response_model=StatusOut, responses=WRITE_ERRORS)
def post_status(call: CallDep, body: StatusIn) -> StatusOut:
    """Move contacts to one status (批量操作), all or none, each change kept in the
    contact's history. Errors: ``tracing.transition_refused`` 409 (e.g. released →
    notified), ``tracing.status_invalid`` 400, ``tracing.contact_unknown`` 404 (also for
    a contact outside the jurisdiction)."""
    changed = change_contact_statuses(call, body.contact_ids, body.status, body.reason)
    return StatusOut(changed=changed)


@tracing_api.get("/chains", response_model=ChainsOut, responses=ERRORS)
def get_chains(call: CallDep, limit: Limit = 100, offset: Offset = 0) -> ChainsOut:
    """Transmission chains (传播链) of the cases inside the jurisdiction, largest first."""
    view = read_chains(call)
    chains, total = page(view.chains, limit, offset)
    return ChainsOut(
        total=total, limit=limit, offset=offset,
        chains=[ChainOut(number=ch.number,
                         cases=[CaseRefOut(id=c, name=view.names.get(c, str(c)))
                                for c in ch.cases],
                         roots=list(ch.roots), links=list(ch.links)) for ch in chains],
    )  # fmt: skip


@tracing_api.get("/clusters", response_model=ClustersOut, responses=ERRORS)
def get_clusters(ctx: Ctx, call: CallDep, limit: Limit = 100, offset: Offset = 0) -> ClustersOut:
    """Clusters (聚集性疫情) of two cases or more inside the jurisdiction, largest first,
    with the venues and households linking them and their growth: cases per day."""
    rules = ContactRules.from_pack(ctx.codes.pack)
    found = read_clusters(call, rules)
    rows, total = page(found, limit, offset)
    return ClustersOut(
        total=total, limit=limit, offset=offset, window_days=rules.cluster_window_days,
        clusters=[ClusterOut(cases=list(c.cases), size=c.size, venues=dict(c.venues),
                             households=list(c.households), first_case_at=c.first_case_at,
                             last_case_at=c.last_case_at,
                             growth=[DayOut(date=d, cases=n) for d, n in c.growth],
                             out_of_range=list(c.out_of_range))
                  for c in rows],
    )  # fmt: skip
