"""The JSON API (``/api/v1``) and the health endpoints. Routes parse input and call one
service function each; errors become problem+json in ``fangkong.server.app``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from fangkong import bounds
from fangkong.auth.audit_reads import audit_rows
from fangkong.auth.records import (
    lookup_person,
    read_person,
    read_summary,
    read_venue,
)
from fangkong.auth.rights import SCAN_SUBMIT
from fangkong.errors import Forbidden, Problem
from fangkong.healthcode.access import SCAN_SCOPE, ReasonView
from fangkong.healthcode.evaluator import Reason
from fangkong.healthcode.scan_verdict import ScanVerdict
from fangkong.http.context import (
    session_csrf,
)
from fangkong.http.deps import CallDep, Caller, Ctx
from fangkong.http.problems import negotiate, problem_response
from fangkong.store import migrate
from fangkong.store.engine import ping

api = APIRouter(prefix="/api/v1", tags=["api"])
health = APIRouter(tags=["health"])


_PROBLEM = {"model": dict[str, Any], "description": "problem+json (RFC 9457)"}
ERRORS: dict[int | str, dict[str, Any]] = dict.fromkeys((401, 403, 404, 422, 429), _PROBLEM)
SCAN_PATH = "/api/v1/scan"
SCAN_BODY_MALFORMED = Problem("scan.malformed", "扫码请求格式有误", "the scan request is malformed")


class SessionOut(BaseModel):
    username: str
    role: str | None
    region_code: str | None
    rights: list[str]
    csrf_token: str | None


class PersonOut(BaseModel):
    id: int
    masked: bool = Field(description="true when names and numbers are masked (脱敏)")
    name: str
    sex: str
    birth: str = Field(description="date of birth, or only the year when masked")
    id_type: str
    id_number: str
    id_country: str
    phone: str | None
    residence_code: str | None
    residence_name: str | None
    household_code: str | None
    venue_code: str | None
    occupation: str


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: bounds.Line = Field(min_length=1, max_length=40, description="resident ID number")


class VenueOut(BaseModel):
    code: str
    name: str
    type: str
    region_code: str
    capacity: int | None


class AreaOut(BaseModel):
    code: str
    name: str
    persons: int


class SummaryOut(BaseModel):
    region_code: str | None
    region_name: str | None
    persons: int
    households: int
    venues: int
    by_area: list[AreaOut]


class DeviceOut(BaseModel):
    device: str
    scope: str | None
    venue: VenueOut
    expires_at: datetime | None


class ScanIn(BaseModel):
    """One scan. Exactly one of ``token`` (the QR content) and ``id_number``."""

    model_config = ConfigDict(extra="forbid")
    token: bounds.Line | None = Field(None, min_length=1, max_length=200, description="QR content")
    id_number: bounds.Line | None = Field(
        None, min_length=1, max_length=40, description="resident ID number (no phone, card shown)"
    )
    venue_code: bounds.Line = Field(min_length=1, max_length=40, description="the device's venue")
    device_time: AwareDatetime = Field(
        description="ISO 8601 with offset, the device's clock: at most FANGKONG_DEVICE_AHEAD_"
        "SECONDS ahead of the system's (else 422 scan.device_time_invalid)"
    )
    event_id: bounds.Line = Field(
        min_length=1, max_length=64, description="client event id: a resent scan changes nothing"
    )
    zone: str | None = Field(
        None,
        description="区域/桌号: the table or private room of a table code, 1–16 printable "
        "characters (else 422 scan.zone_invalid); stored with the scan",
    )


class ReasonOut(BaseModel):
    rule: str
    colour: str
    since: datetime
    until: datetime | None
    text: str | None = Field(description="the reason, in the request's language (null: masked)")
    clears: str | None = Field(description="what clears it (null: masked)")

    @classmethod
    def of(cls, r: Reason | ReasonView, lang: str) -> ReasonOut:
        zh = lang == "zh"
        return cls(
            rule=r.rule_id, colour=r.colour.label, since=r.since, until=r.until,
            text=r.text_zh if zh else r.text_en, clears=r.clears_zh if zh else r.clears_en,
        )  # fmt: skip


class ScanOut(BaseModel):
    event_id: str
    venue_code: str
    venue_type: str
    colour: str
    allowed: bool = Field(description="may enter under the venue's policy")
    flagged: bool = Field(description="staff should look (e.g. a fever clinic's yellow/red)")
    masked_name: str
    reasons: list[ReasonOut]
    notes: list[str] = Field(description="for staff: arrivals, refusals")
    pack: str
    device_time: datetime
    received_at: datetime
    by: str = Field(description="token or id_number")
    repeated: bool = Field(description="true: a resent event id, answered from storage")

    @classmethod
    def of(cls, v: ScanVerdict, lang: str) -> ScanOut:
        return cls(
            event_id=v.client_event_id, venue_code=v.venue_code, venue_type=v.venue_type,
            colour=v.colour.label, allowed=v.allowed, flagged=v.flagged,
            masked_name=v.masked_name, reasons=[ReasonOut.of(r, lang) for r in v.reasons],
            notes=[n.zh if lang == "zh" else n.en for n in v.notes], pack=v.pack_ref,
            device_time=v.device_time, received_at=v.received_at, by=v.by, repeated=v.repeated,
        )  # fmt: skip


class AuditOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    address: str
    detail: str | None


@health.get("/health", summary="Liveness: the process answers")
def get_health() -> dict[str, str]:
    return {"status": "ok"}


@health.get(
    "/ready",
    summary="Readiness: the database answers and its schema is current",
    responses={503: _PROBLEM},
)
def get_ready(request: Request, ctx: Ctx) -> JSONResponse:
    lang = negotiate(request.headers.get("accept-language"))
    try:
        ping(ctx.engine)
        current = migrate.current_revision(ctx.engine)
    except SQLAlchemyError:
        problem = Problem("ready.database", "数据库无法连接", "the database does not answer")
        return problem_response(503, problem, lang, instance="/ready")
    if current != migrate.head_revision():
        problem = Problem(
            "ready.schema",
            "数据库结构不是最新，请运行 fangkong db upgrade",
            "the schema is not current: run `fangkong db upgrade`",
        )
        return problem_response(503, problem, lang, instance="/ready")
    return JSONResponse({"status": "ready", "schema": current})


@api.get("/session", response_model=SessionOut, responses=ERRORS)
def get_session(request: Request, actor: Caller) -> SessionOut:
    """Who is logged in, their rights, and the CSRF token for state-changing calls."""
    return SessionOut(
        username=actor.name,
        role=actor.role,
        region_code=actor.region_code,
        rights=sorted(actor.rights),
        csrf_token=session_csrf(request),
    )


@api.get("/summary", response_model=SummaryOut, responses=ERRORS)
def get_summary(call: CallDep) -> SummaryOut:
    """Key numbers of the caller's jurisdiction: persons, households, venues."""
    return SummaryOut.model_validate(asdict(read_summary(call)))


@api.get("/persons/{person_id}", response_model=PersonOut, responses=ERRORS)
def get_person(
    ctx: Ctx,
    call: CallDep,
    person_id: Annotated[int, Path(**bounds.ID_BOUNDS, description="the person's row id")],
) -> PersonOut:
    """One person, masked unless the caller may read in full. Audited."""
    view = read_person(call, ctx.sealer, person_id)
    return PersonOut.model_validate(asdict(view))


@api.post("/persons/lookup", response_model=PersonOut, responses=ERRORS)
def post_person_lookup(ctx: Ctx, call: CallDep, body: LookupIn) -> PersonOut:
    """Find a person by resident ID number (sent in the body, never in the URL). Audited."""
    view = lookup_person(call, ctx.sealer, body.id_number)
    return PersonOut.model_validate(asdict(view))


@api.get("/venues/{code}", response_model=VenueOut, responses=ERRORS)
def get_venue(call: CallDep, code: Annotated[str, Path(max_length=40)]) -> VenueOut:
    """A venue in the caller's jurisdiction (a device: only its own venue)."""
    return VenueOut.model_validate(asdict(read_venue(call, code)))


@api.get("/scan/device", response_model=DeviceOut, responses=ERRORS)
def get_scan_device(call: CallDep) -> DeviceOut:
    """For a scanner (token scope ``scan``): the venue it is bound to and its expiry."""
    actor = call.actor
    if actor.kind != "device" or not actor.can(SCAN_SUBMIT) or actor.venue_code is None:
        raise Forbidden(SCAN_SCOPE)
    venue = read_venue(call, actor.venue_code)
    return DeviceOut(
        device=actor.name,
        scope=actor.scope,
        venue=VenueOut.model_validate(asdict(venue)),
        expires_at=actor.expires_at,
    )


@api.get("/audit", response_model=list[AuditOut], responses=ERRORS)
def get_audit(
    call: CallDep,
    person: Annotated[int | None, Query(**bounds.ID_BOUNDS, description="person row id")] = None,
    user: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditOut]:
    """The audit log, newest first (right ``audit.read``)."""
    rows = audit_rows(call, person=person, user=user, limit=limit)
    return [AuditOut.model_validate(asdict(r)) for r in rows]
