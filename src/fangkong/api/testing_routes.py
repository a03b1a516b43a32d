"""The testing API (核酸检测, ``/api/v1``): lab results in batches, samples, tube custody,
reading a tube and a person's tests, campaign progress.

Routes parse the body and call one function of ``fangkong.testing.access`` (rights,
jurisdiction, audit). Lab systems and sampling points authenticate with a device token
(scopes ``lab`` and ``sampling``); staff with the session cookie and ``X-CSRF-Token``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from fangkong import bounds
from fangkong.api.routes import ERRORS
from fangkong.http.deps import CallDep, Ctx
from fangkong.testing.access.campaigns import campaign_progress
from fangkong.testing.access.custody import MAX_TUBES, receive_tubes, ship_tubes
from fangkong.testing.access.results import MAX_ROWS, post_lab_results
from fangkong.testing.access.samples import SampleRequest, collect_sample
from fangkong.testing.access.tubes import person_tests, read_tube
from fangkong.testing.rules import TestingRules
from fangkong.testing.tables import PURPOSES
from fangkong.tracing.rules import ContactRules

testing_api = APIRouter(prefix="/api/v1", tags=["testing"])

_PROBLEM = {"model": dict[str, Any], "description": "problem+json (RFC 9457)"}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 400: _PROBLEM, 409: _PROBLEM}
Barcode = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Cell = str | float | int | bool | None


class ResultsIn(BaseModel):
    """One batch from a lab system. Each row: ``barcode``, ``run``, ``tested_at`` (ISO
    8601 with offset), ``ct_orf1ab`` and ``ct_n`` (a number, or null/empty: not
    detected), optionally ``valid`` (false: the sample was unusable)."""

    model_config = ConfigDict(extra="forbid")
    lab: bounds.Line = Field(
        min_length=1, max_length=40, description="code of the lab (testing_labs)"
    )
    rows: list[dict[str, Cell]] = Field(min_length=1, max_length=MAX_ROWS)


class ResolvedOut(BaseModel):
    batches: int
    results: int
    retests_ordered: int
    facts: int
    cases: int
    codes_changed: int


class ResultsOut(BaseModel):
    batch_id: int
    rows: int
    inserted: int = Field(description="new results")
    repeated: int = Field(description="rows resent unchanged (same tube and run)")
    resolved: ResolvedOut | None = Field(description="null: nothing new to act on")


class SampleIn(BaseModel):
    """A tube as a sampler registers it. The persons: ``person_ids`` (registry ids),
    ``id_numbers`` (resident ID numbers, matched through the sealed hash) and ``tokens``
    (the health-code QR each showed), in any mix."""

    model_config = ConfigDict(extra="forbid")
    barcode: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    person_ids: list[bounds.RowId] = Field(default_factory=list, max_length=50)
    id_numbers: list[Annotated[bounds.Line, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=50
    )
    tokens: list[Annotated[bounds.Line, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50, description="health-code QR contents shown"
    )
    collected_at: bounds.EventInstant
    purpose: bounds.Line = Field("screening", max_length=24, description=" | ".join(PURPOSES))
    point: bounds.Line | None = Field(
        None, min_length=1, max_length=80, description="collection point (a device: its venue)"
    )
    region_code: bounds.Line | None = Field(
        None, min_length=1, max_length=20, description="where (a device: its venue's region)"
    )
    collector: bounds.Line | None = Field(None, min_length=1, max_length=80)
    campaign_id: bounds.RowId | None = None


class TubeOut(BaseModel):
    barcode: str
    pool_size: int
    purpose: str
    point: str
    region_code: str
    collected_at: datetime
    campaign_id: int | None
    lab_code: str | None
    shipped_at: datetime | None
    received_at: datetime | None
    flag: str | None
    orders_met: int = Field(description="open test orders this sample fulfilled")


class CustodyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lab: bounds.Line = Field(min_length=1, max_length=40)
    barcodes: list[Annotated[bounds.Line, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=MAX_TUBES
    )
    at: bounds.EventInstant | None = Field(None, description="when (default: now)")


class CustodyOut(BaseModel):
    changed: int
    already: int = Field(description="tubes that had already been handed over")


class MemberOut(BaseModel):
    person_id: int
    name: str


class ResultOut(BaseModel):
    run: str
    outcome: str
    ct_orf1ab: float | None
    ct_n: float | None
    tested_at: datetime
    batch_id: int


class TubeDetailOut(BaseModel):
    barcode: str
    pool_size: int
    purpose: str
    point: str
    region_code: str
    collector: str
    collected_at: datetime
    campaign_id: int | None
    lab_code: str | None
    shipped_at: datetime | None
    received_at: datetime | None
    flag: str | None
    state: str = Field(description="collected | in_transit | received | tested")
    masked: bool = Field(description="true when names are masked (脱敏)")
    members: list[MemberOut]
    results: list[ResultOut]


class PersonTestOut(BaseModel):
    barcode: str
    pool_size: int
    purpose: str
    point: str
    collected_at: datetime
    state: str
    outcome: str | None
    flag: str | None


class OrderOut(BaseModel):
    id: int
    reason: str
    due_from: datetime
    due_by: datetime
    status: str
    single_tube: bool


class PersonTestsOut(BaseModel):
    person_id: int
    name: str
    masked: bool
    tests: list[PersonTestOut]
    orders: list[OrderOut]


def _rules(ctx: Ctx) -> TestingRules:
    return TestingRules.from_pack(ctx.codes.pack)


@testing_api.post("/lab/results", response_model=ResultsOut, responses=WRITE_ERRORS)
def post_results_batch(ctx: Ctx, call: CallDep, body: ResultsIn) -> ResultsOut:
    """A batch of results from a lab system (device token of scope ``lab``, or a user
    with ``result.post``), for a lab in the caller's jurisdiction. All rows or none;
    resending a row (same tube and run, same values) changes nothing. Then positive
    pools order retests and codes change. Errors: ``results.invalid`` /
    ``results.tube_unknown`` / ``results.repeated`` 422 with ``errors`` naming
    ``rows.<i>.<field>`` (i from 0), ``results.conflict`` 409 (the same tube and run
    already hold another result), ``testing.lab_unknown`` 404."""
    pack = ctx.codes.pack
    posted = post_lab_results(
        call,
        TestingRules.from_pack(pack),
        body.rows,
        body.lab,
        codes=ctx.codes,
        contact_rules=ContactRules.from_pack(pack),
    )
    b, r = posted.batch, posted.resolved
    resolved = None
    if r is not None:
        resolved = ResolvedOut(
            batches=r.batches,
            results=r.results,
            retests_ordered=r.retests_ordered,
            facts=r.facts,
            cases=len(r.cases),
            codes_changed=r.codes_changed,
        )
    return ResultsOut(
        batch_id=b.batch_id,
        rows=b.rows,
        inserted=b.inserted,
        repeated=b.repeated,
        resolved=resolved,
    )


def _tube_out(v: Any, orders_met: int = 0) -> dict[str, Any]:
    keys = (
        "barcode",
        "pool_size",
        "purpose",
        "point",
        "region_code",
        "collected_at",
        "campaign_id",
        "lab_code",
        "shipped_at",
        "received_at",
        "flag",
    )
    return {k: getattr(v, k) for k in keys} | {"orders_met": orders_met}


@testing_api.post("/samples", response_model=TubeOut, responses=WRITE_ERRORS, status_code=201)
def post_sample(ctx: Ctx, call: CallDep, body: SampleIn) -> JSONResponse:
    """Register a sample (采样): a single tube or a pool (device token of scope
    ``sampling``, or a user with ``sample.collect``). 201 when new, 200 when the same
    sample was sent before; ``testing.tube_conflict`` 409 when the barcode holds another
    sample; ``testing.sample_invalid`` 400 (a pool larger than the pack allows...)."""
    request = SampleRequest(
        body.barcode,
        body.collected_at,
        body.person_ids,
        body.id_numbers,
        body.tokens,
        body.purpose,
        body.point,
        body.region_code,
        body.collector,
        body.campaign_id,
    )
    view = collect_sample(call, _rules(ctx), request, sealer=ctx.sealer, codes=ctx.codes)
    out = TubeOut.model_validate(_tube_out(view, len(view.orders_done)))
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if view.created else 200)


@testing_api.post("/tubes/ship", response_model=CustodyOut, responses=WRITE_ERRORS)
def post_ship(call: CallDep, body: CustodyIn) -> CustodyOut:
    """Tubes leave their collection point for a lab (转运, ``sample.collect``); all or
    none; resending is harmless. ``testing.custody_conflict`` 409: a tube is with
    another lab or the time is before its collection."""
    out = ship_tubes(call, body.barcodes, body.lab, at=body.at)
    return CustodyOut.model_validate(asdict(out))


@testing_api.post("/tubes/receive", response_model=CustodyOut, responses=WRITE_ERRORS)
def post_receive(call: CallDep, body: CustodyIn) -> CustodyOut:
    """A lab signs for tubes (签收, ``result.post``: device scope ``lab``)."""
    out = receive_tubes(call, body.barcodes, body.lab, at=body.at)
    return CustodyOut.model_validate(asdict(out))


@testing_api.get("/tubes/{barcode}", response_model=TubeDetailOut, responses=ERRORS)
def get_tube(call: CallDep, barcode: Barcode) -> TubeDetailOut:
    """A tube collected in the caller's jurisdiction: custody, results, members (names
    masked without ``person.read_full``). Right ``testing.read``. Audited."""
    d = read_tube(call, barcode)
    t = d.tube
    return TubeDetailOut(
        **{k: v for k, v in _tube_out(t).items() if k != "orders_met"},
        collector=t.collector,
        state=d.state,
        masked=d.masked,
        members=[MemberOut(person_id=m.person_id, name=m.name) for m in d.members],
        results=[ResultOut.model_validate(asdict(r)) for r in d.results],
    )


PersonId = Annotated[int, Path(**bounds.ID_BOUNDS, description="the person's row id")]


@testing_api.get("/persons/{person_id}/tests", response_model=PersonTestsOut, responses=ERRORS)
def get_person_tests(call: CallDep, person_id: PersonId) -> PersonTestsOut:
    """A person's tubes (newest first) with outcomes, and their test orders. Rights
    ``testing.read`` and ``person.read``; the person lives in the caller's jurisdiction.
    Audited."""
    v = person_tests(call, person_id)
    return PersonTestsOut(
        person_id=v.person_id,
        name=v.name,
        masked=v.masked,
        tests=[PersonTestOut.model_validate(asdict(t)) for t in v.tests],
        orders=[OrderOut.model_validate(asdict(o)) for o in v.orders],
    )


class CoverageOut(BaseModel):
    code: str
    name: str
    residents: int
    sampled: int


class ProgressOut(BaseModel):
    campaign_id: int
    name: str
    region_code: str
    starts_at: datetime
    target_hours: float
    pool_size: int
    population: int
    sampled: int
    tubes: int
    in_transit: int
    received: int
    tested: int
    positive_pools: int
    late: int
    lost: int
    compounds: list[CoverageOut]
    forecast_hours: float | None = Field(
        description="hours from the start to every result at the sampling pace so far"
    )
    on_track: bool | None = Field(description="the forecast is within the target")


@testing_api.get("/campaigns/{campaign_id}/progress", response_model=ProgressOut, responses=ERRORS)
def get_campaign_progress(
    ctx: Ctx, call: CallDep, campaign_id: Annotated[int, Path(**bounds.ID_BOUNDS)]
) -> ProgressOut:
    """Live numbers of a campaign over a region of the caller's jurisdiction (counts
    only; right ``testing.read``) and the forecast at the pace so far."""
    p, f = campaign_progress(call, _rules(ctx), campaign_id)
    fields = {k: v for k, v in asdict(p).items() if k in ProgressOut.model_fields}
    return ProgressOut(
        **fields,
        forecast_hours=None if f is None else f.results_hours,
        on_track=None if f is None else f.meets_target,
    )
