"""The supply desk (保供台, issue 20): days of supply by region × good with the floors
breached marked, the open floor alerts, deliveries to sealed areas with a confirm button,
a report form; the outlets with an add form. ``supply.read`` to see, ``supply.report``
to report, ``supply.manage`` for outlets and deliveries.

Handlers parse the query or form, call one function of ``fangkong.supply.access`` and
render a template under ``templates/supply/``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.guard import Call
from fangkong.errors import BadInput, Conflict, FieldProblem, InvalidFields, NotFound
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.supply import access
from fangkong.supply.service import DELIVERY_SORTS, MAX_AMOUNT, OUTLET_SORTS, OutletIn, SupplyPolicy
from fangkong.supply.tables import DELIVERY_STATUSES, OUTLET_KINDS
from fangkong.web import forms, listing
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis

supply_pages = APIRouter(include_in_schema=False)

DELIVERIES = listing.ListSpec(tuple(DELIVERY_SORTS), sort="day")
OUTLETS = listing.ListSpec(tuple(OUTLET_SORTS), sort="code")
Region = Annotated[str | None, Query(max_length=15, pattern=r"^[0-9]{2,15}$")]
Status = Annotated[str | None, Query(max_length=12)]


def _policy(ctx: Any, call: Call) -> SupplyPolicy:
    return SupplyPolicy.from_pack(ctx.codes.pack, call.tz)


def report_fields(goods: list[str]) -> tuple[forms.Field, ...]:
    return (forms.text("outlet_code", max_length=40, required=True), forms.choice("good", goods),
            forms.day("date"), forms.number("stock", lo=0, hi=MAX_AMOUNT, required=True),
            forms.number("sales", lo=0, hi=MAX_AMOUNT, required=True))  # fmt: skip


def _desk(request: Request, ctx: Any, call: Call, *, region: str | None = None,
          status_filter: str | None = None, code: int = 200, error: str | None = None,
          done: str | None = None, shown: forms.Shown | None = None) -> HTMLResponse:  # fmt: skip
    policy = _policy(ctx, call)
    lst = listing.parse(request, DELIVERIES)
    status = status_filter if status_filter in DELIVERY_STATUSES else None
    desk = access.read_desk(call, policy, region=region, bounded=lst.bounded, status=status)
    return page(request, "supply/desk.html", status=max(code, lst.status), actor=call.actor,
                desk=desk, goods=policy.supply.goods, lst=lst, status_filter=status,
                statuses=DELIVERY_STATUSES, pager=lst.pager(desk.deliveries_total,
                                                            len(desk.deliveries)),
                error=error, done=done, shown=shown, region=region)  # fmt: skip


@supply_pages.get("/supply")
def get_desk(
    request: Request, ctx: Ctx, call: CallDep, region: Region = None, status: Status = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:  # fmt: skip
    """The supply desk of the actor's jurisdiction, or of ``region`` inside it."""
    return _desk(request, ctx, call, region=region, status_filter=status, done=done)


@supply_pages.post("/supply/reports")
def post_report(request: Request, ctx: Ctx, call: CallDep, posted: forms.Posted) -> Response:
    """A report typed on the desk (one outlet, one good, one day)."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    policy = _policy(ctx, call)
    got = forms.parse(report_fields(list(policy.supply.goods)), posted.items, tz=call.tz)

    def send(v: dict[str, Any]) -> object:
        row = {**v, "date": v["date"].isoformat()}
        try:
            return access.submit_reports(call, policy, [row], via="form")
        except InvalidFields as exc:  # the service names reports[0].field: the form's field
            fields = [FieldProblem(f.field.removeprefix("reports[0]."), f.problem)
                      for f in exc.fields]  # fmt: skip
            raise InvalidFields(exc.problem, fields) from None

    if got.run(send, (BadInput, Conflict, NotFound)):
        return RedirectResponse("/supply?done=report", status_code=303)
    code, context = got.refused("report", page_lang(request))
    return _desk(request, ctx, call, code=code, **context)


@supply_pages.post("/supply/deliveries/{delivery_id}/confirm")
def post_confirm(request: Request, ctx: Ctx, call: CallDep, delivery_id: PathId,
                 posted: forms.Posted) -> Response:  # fmt: skip
    """Confirm a delivery made (the quantity planned, or the one typed)."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse((forms.number("quantity", lo=0, hi=MAX_AMOUNT),), posted.items,
                      tz=call.tz)  # fmt: skip
    if got.run(lambda v: access.confirm(call, _policy(ctx, call), delivery_id, v["quantity"]),
               (BadInput, Conflict, NotFound)):  # fmt: skip
        return RedirectResponse("/supply?done=delivered", status_code=303)
    lang = page_lang(request)
    error = (got.refusal.problem.text(lang) if got.refusal is not None
             else " ".join(p.text(lang) for p in got.errors.values()))  # fmt: skip
    code = 404 if isinstance(got.refusal, NotFound) else 422
    return _desk(request, ctx, call, code=code, error=error)


# ---- outlets -----------------------------------------------------------------------------------

OUTLET_FIELDS = (forms.text("code", max_length=40, required=True),
                 forms.text("name", max_length=100, required=True),
                 forms.choice("kind", OUTLET_KINDS), forms.region("region_code"),
                 forms.text("venue_code", max_length=40))  # fmt: skip


def _outlets(
    request: Request, call: Call, *, code: int = 200, error: str | None = None,
    shown: forms.Shown | None = None, done: str | None = None,
) -> HTMLResponse:  # fmt: skip
    lst = listing.parse(request, OUTLETS)
    rows, total = access.read_outlets(call, bounded=lst.bounded)
    return page(request, "supply/outlets.html", status=max(code, lst.status), actor=call.actor,
                rows=rows, lst=lst, pager=lst.pager(total, len(rows)), kinds=OUTLET_KINDS,
                error=error, shown=shown, done=done)  # fmt: skip


@supply_pages.get("/supply/outlets")
def get_outlets(
    request: Request, call: CallDep, done: Annotated[str | None, Query(max_length=40)] = None
) -> HTMLResponse:
    """The outlets of the jurisdiction; the add form (``supply.manage``)."""
    return _outlets(request, call, done=done)


@supply_pages.post("/supply/outlets")
def post_outlet(request: Request, call: CallDep, posted: forms.Posted) -> Response:
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(OUTLET_FIELDS, posted.items, tz=call.tz)
    if got.run(lambda v: access.add_outlet(call, OutletIn(
            v["code"], v["name"], v["kind"], v["region_code"], v["venue_code"])),
            (BadInput, Conflict, NotFound)):  # fmt: skip
        return RedirectResponse(f"/supply/outlets?done={got.values['code']}", status_code=303)
    code, context = got.refused("outlet", page_lang(request))
    return _outlets(request, call, code=code, **context)
