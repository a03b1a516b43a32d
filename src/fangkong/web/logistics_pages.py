"""Logistics pages: the checkpoints (卡口) of the caller's jurisdiction and one checkpoint's
desk (查验台) — a phone-width form to record a crossing (plate, people by ID number,
origin, history, destination, cargo, the pass's QR text) answering the outcome in words
for each person, and today's crossings. Thin callers of ``logistics.access``.

The form carries a ``ref`` drawn with the page, so a form sent twice (a double tap, a
reload) records one crossing and answers its stored outcome.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from fangkong.auth.guard import Call
from fangkong.auth.rights import LOGISTICS_CROSSING
from fangkong.errors import BadInput, Conflict, FangkongError, FieldProblem, InvalidFields
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.logistics import access
from fangkong.logistics.checkpoints import CHECKPOINT_SORTS
from fangkong.logistics.crossing_input import CrossingIn, PersonIn
from fangkong.logistics.model import CARGO_CLASSES, DIRECTIONS, VEHICLE_KINDS
from fangkong.logistics.rules import LogisticsRules
from fangkong.logistics.stored import CROSSING_SORTS
from fangkong.web import forms, listing
from fangkong.web.pages import page, page_lang, session_csrf_basis

logistics_pages = APIRouter(include_in_schema=False)

CHECKPOINTS = listing.ListSpec(tuple(CHECKPOINT_SORTS), size=50)
CROSSINGS = listing.ListSpec(tuple(CROSSING_SORTS), sort="at", descending=True, size=20)
FORM = "crossing"
SLOTS = 4  # people rows drawn; the pack's max_people is checked by the service
_PEOPLE = re.compile(r"^people\[(\d+)\](?:\.(\w+))?$")
_PERSON_FIELDS = ("id_number", "name", "negative_test_at")


def _fields(max_waited: int) -> tuple[forms.Field, ...]:
    people = []
    for i in range(1, SLOTS + 1):
        people += [
            forms.text(f"p{i}_id_number", max_length=40, required=i == 1),
            forms.text(f"p{i}_name", max_length=100, required=i == 1),
            forms.instant(f"p{i}_negative_test_at", "device", required=False),
        ]
    return (
        forms.text("ref", max_length=64, required=True),
        forms.text("plate", max_length=16, required=True),
        forms.choice("direction", DIRECTIONS),
        forms.choice("vehicle_kind", VEHICLE_KINDS),
        forms.choice("cargo_class", CARGO_CLASSES),
        forms.region("origin_region"),
        forms.region("destination_region"),
        forms.text("history", max_length=400),
        forms.text("pass", max_length=2000),
        forms.integer("waited_minutes", lo=0, hi=max_waited, required=False),
        *people,
    )


def _form_field(name: str) -> str:
    """A service's field name (``people[2].id_number``) as the form's (``p2_id_number``)."""
    m = _PEOPLE.match(name)
    if m:
        index, attr = int(m.group(1)), m.group(2) or "id_number"
        attr = attr if attr in _PERSON_FIELDS else "id_number"
        return f"p{min(max(index, 1), SLOTS)}_{attr}"
    if name == "people":
        return "p1_id_number"
    if name.startswith("history["):
        return "history"
    return name


def _on_form(exc: FangkongError) -> FangkongError:
    if isinstance(exc, InvalidFields):
        return InvalidFields(
            exc.problem, [FieldProblem(_form_field(f.field), f.problem) for f in exc.fields]
        )
    return exc


def _crossing(code: str, v: dict[str, Any], at: Any) -> CrossingIn:
    people: list[PersonIn] = []
    for i in range(1, SLOTS + 1):
        number = v.get(f"p{i}_id_number")
        if not number:
            continue
        people.append(
            PersonIn(
                role="driver" if not people else "passenger",
                id_type="resident_id",
                id_number=number,
                name=v.get(f"p{i}_name") or "",
                negative_test_at=v.get(f"p{i}_negative_test_at"),
            )
        )
    history = [h for h in re.split(r"[\s,;，；、]+", v.get("history") or "") if h]
    return CrossingIn(
        checkpoint_code=code,
        ref=v["ref"],
        at=at,
        direction=v["direction"],
        plate=v["plate"],
        vehicle_kind=v["vehicle_kind"],
        cargo_class=v["cargo_class"],
        origin_region=v["origin_region"],
        destination_region=v["destination_region"],
        history=history,
        people=people,
        pass_token=v.get("pass"),
        waited_minutes=v.get("waited_minutes"),
    )


@logistics_pages.get("/logistics/checkpoints")
def get_checkpoints(request: Request, call: CallDep) -> HTMLResponse:
    """The checkpoints of the caller's jurisdiction (one page, sortable)."""
    lst = listing.parse(request, CHECKPOINTS)
    rows, total = access.checkpoints(call, lst.bounded)
    return page(request, "logistics/checkpoints.html", status=lst.status, actor=call.actor,
                rows=rows, lst=lst, pager=lst.pager(total, len(rows)))  # fmt: skip


def _desk(
    request: Request, ctx: Any, call: Call, code: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    lst = listing.parse(request, CROSSINGS)
    desk = access.desk(call, code, lst.bounded)
    rules = LogisticsRules.from_pack(ctx.codes.pack)
    context.setdefault("ref", secrets.token_hex(8))
    return page(request, "logistics/desk.html", status=max(status, lst.status),
                actor=call.actor, desk=desk, lst=lst, pager=lst.pager(desk.total,
                len(desk.crossings)), slots=SLOTS, rules=rules, directions=DIRECTIONS,
                vehicle_kinds=VEHICLE_KINDS, cargo_classes=CARGO_CLASSES,
                **context)  # fmt: skip


@logistics_pages.get("/logistics/checkpoints/{code}")
def get_desk(request: Request, ctx: Ctx, call: CallDep, code: str) -> HTMLResponse:
    """A checkpoint's desk: the crossing form and today's crossings."""
    return _desk(request, ctx, call, code[:40])


@logistics_pages.post("/logistics/checkpoints/{code}")
def post_crossing(
    request: Request, ctx: Ctx, call: CallDep, code: str, posted: forms.Posted
) -> Response:
    """Record a crossing from the desk's form; the outcome is drawn on the page."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    call.require(LOGISTICS_CROSSING)  # before reading the form: nothing to correct
    rules = LogisticsRules.from_pack(ctx.codes.pack)
    got = forms.parse(_fields(rules.max_waited_minutes), posted.items, tz=call.tz)
    code = code[:40]
    for i in range(2, SLOTS + 1):  # a passenger's number needs a name, and the reverse
        number, name = got.values.get(f"p{i}_id_number"), got.values.get(f"p{i}_name")
        if bool(number) != bool(name) and got.ok:
            got.fail(f"p{i}_name" if number else f"p{i}_id_number", forms.REQUIRED)

    def act(v: dict[str, Any]) -> Any:
        try:
            return access.record(call, ctx.codes, _crossing(code, v, call.now()), via="form",
                                 home=ctx.settings.home)  # fmt: skip
        except (BadInput, Conflict) as exc:
            raise _on_form(exc) from exc

    if got.run(act):
        return _desk(request, ctx, call, code, result=got.result)
    status, context = got.refused(FORM, page_lang(request))
    return _desk(request, ctx, call, code, status=status, ref=got.values.get("ref")
                 or secrets.token_hex(8), **context)  # fmt: skip
