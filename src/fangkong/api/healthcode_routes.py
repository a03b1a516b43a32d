"""The health-code API (健康码, ``/api/v1``): a person's code and its QR image, and the
documented scan route.

Routes parse, call one function of ``fangkong.healthcode.access`` (rights, jurisdiction,
masking, audit) and answer. A scanner's ``POST /api/v1/scan`` is answered in front of
FastAPI by ``fangkong.api.scan_endpoint``; the route here documents it (OpenAPI) and
answers what that layer passes on. The scan's wire models (``ScanIn``, ``ScanOut``) are
in ``fangkong.api.routes``, where the scan endpoint reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from fangkong import bounds
from fangkong.api.routes import ERRORS, SCAN_PATH, ReasonOut, ScanIn, ScanOut
from fangkong.healthcode.access import (
    CodeView,
    ScanRequest,
    code_qr_token,
    qr_png,
    read_code,
    scan_at_venue,
)
from fangkong.http.deps import CallDep, Caller, Ctx
from fangkong.http.problems import negotiate

healthcode_api = APIRouter(prefix="/api/v1", tags=["api"])

_PROBLEM = {"model": dict[str, Any], "description": "problem+json (RFC 9457)"}
SCAN_ERRORS: dict[int | str, dict[str, Any]] = dict.fromkeys((400, 401, 403, 404, 409, 422),
                                                              _PROBLEM)  # fmt: skip
PersonId = Annotated[int, Path(**bounds.ID_BOUNDS, description="the person's row id")]


class CodeOut(BaseModel):
    person_id: int
    name: str
    masked: bool = Field(description="true when the name is masked (脱敏)")
    reasons_masked: bool = Field(description="true without code.read_full: no sentences")
    colour: str
    reasons: list[ReasonOut]
    next_change_at: datetime | None = Field(description="if nothing else happens")
    next_colour: str | None
    evaluated_at: datetime
    pack: str

    @classmethod
    def of(cls, v: CodeView, lang: str) -> CodeOut:
        return cls(
            person_id=v.person_id, name=v.name, masked=v.identity_masked,
            reasons_masked=v.reasons_masked, colour=v.colour.label,
            reasons=[ReasonOut.of(r, lang) for r in v.reasons], next_change_at=v.next_change_at,
            next_colour=None if v.next_colour is None else v.next_colour.label,
            evaluated_at=v.evaluated_at, pack=v.pack_ref,
        )  # fmt: skip


@healthcode_api.post(SCAN_PATH.removeprefix("/api/v1"), response_model=ScanOut,
                     responses=SCAN_ERRORS)  # fmt: skip
def post_scan(request: Request, ctx: Ctx, actor: Caller, body: ScanIn) -> ScanOut:
    """A scan at the device's venue (token scope ``scan``) → the verdict staff act on.

    Stored as a check-in event; a resent ``event_id`` returns the stored verdict
    (``repeated``) and stores nothing. Refusals are problems with their own ``code``:
    ``scan.malformed`` 400, ``scan.token_forged`` / ``scan.token_expired`` /
    ``scan.token_not_yet_valid`` / ``scan.zone_invalid`` /
    ``scan.device_time_invalid`` 422, ``scan.token_replayed`` /
    ``scan.event_conflict`` 409, ``scan.venue_unknown`` / ``scan.person_unknown`` 404,
    ``scan.venue_mismatch`` / ``token.scope`` 403."""
    scan = ScanRequest(body.venue_code, body.device_time, body.event_id, body.token,
                       body.id_number, body.zone)  # fmt: skip
    verdict = scan_at_venue(ctx.engine, ctx.codes, actor, scan, writer=ctx.scan_writer)
    return ScanOut.of(verdict, negotiate(request.headers.get("accept-language")))


@healthcode_api.get("/persons/{person_id}/code", response_model=CodeOut, responses=ERRORS)
def get_person_code(request: Request, ctx: Ctx, call: CallDep, person_id: PersonId) -> CodeOut:
    """A person's health code now: colour, reasons (language of Accept-Language), next
    change. Right ``code.read``; sentences need ``code.read_full``. Audited."""
    view = read_code(call, ctx.codes, person_id)
    return CodeOut.of(view, negotiate(request.headers.get("accept-language")))


@healthcode_api.get(
    "/persons/{person_id}/code/qr.png",
    responses={**ERRORS, 200: {"content": {"image/png": {}}, "description": "QR image"}},
    response_class=Response,
)
def get_person_code_qr(ctx: Ctx, call: CallDep, person_id: PersonId) -> Response:
    """The person's dynamic QR code (a signed token, valid a short while). Audited."""
    token = code_qr_token(call, ctx.codes, person_id)
    return Response(qr_png(token), media_type="image/png")
