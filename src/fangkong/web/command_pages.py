"""Pages of the command centre (指挥调度).

The situation board (态势看板): ``/command`` — the board of the reader's region, ``?region=``
to drill down (province → city → county → township), ``?day=`` for another day; every
number links to the list behind it when the reader may open it. ``/command/wall`` — the
command room's wall: large type, refreshed every ``wall_refresh_seconds``, figures only
(no names, not even the reader's), ``command.read`` and nothing else.

Daily briefings (日报): ``/command/briefings`` — the jurisdiction's past briefings and a
button writing today's (CSRF, audited); ``/command/briefings/{id}`` the stored file as
written, ``…/csv`` its tables.

Tasks (任务): the list of the caller's jurisdiction (filters, by deadline, overdue marked),
one task with its history and a status form, the assign form for commanders (交办).
Handlers parse the query or form, call one function of ``fangkong.command.access_*``
(rights, jurisdiction, audit) and render a template; kinds and statuses are shown with
the labels of ``command.model`` in the page's language.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds
from fangkong.auth.guard import Call
from fangkong.auth.rights import TASK_ASSIGN, TASK_CHANGE
from fangkong.command import access_tasks
from fangkong.command.access_accountability import MAX_DAYS, accountability
from fangkong.command.access_board import BoardView, board
from fangkong.command.access_briefing import list_briefings, read_briefing, write_briefing
from fangkong.command.accountability import RANK_SORTS, role_label, sort_ranks, what_label
from fangkong.command.board import Board
from fangkong.command.model import (
    FIGURE,
    FIGURE_GROUPS,
    FIGURES,
    MEASURES,
    MISSED,
    STATUS,
    TASK_KINDS,
    TASK_STATUSES,
    TRANSITIONS,
    beyond,
)
from fangkong.command.rules import CommandRules
from fangkong.command.tables import EVIDENCE_MAX
from fangkong.command.tasks import DETAIL_MAX, NOTE_MAX, TITLE_MAX
from fangkong.command.timeliness import DEFAULT_DAYS
from fangkong.errors import BadInput, NotFound
from fangkong.healthcode.evaluator import fmt_time
from fangkong.http.context import app_context, check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.supply.rules import SupplyRules
from fangkong.web import forms, listing
from fangkong.web.alert_pages import rule_names
from fangkong.web.labels import label, names, readable
from fangkong.web.links import venue_link
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis
from fangkong.web.pages import page as render_page

command_pages = APIRouter(include_in_schema=False)

Filter = Annotated[str | None, Query(max_length=24)]
TASKS_PER_PAGE = 50


def _labels(lang: str) -> dict[str, Any]:
    """The vocabularies a task template shows, in the page's language."""
    return {
        "kind_names": {k.key: k.label(lang) for k in TASK_KINDS},
        "status_names": names("task_status", lang),
        "missed_name": MISSED.label(lang),
        "role_names": names("role", lang),
    }


# a raised task's parameter → the vocabulary its value is said in (others are shown as kept:
# names, counts); "area_id", "title" and "detail" are not facts of their own
PARAM_VALUES = {"severity": "alert_severity", "stage": "arrival_stage", "level": "risk_level",
                "to": "risk_level"}  # fmt: skip
PARAM_VALUES["cause"] = "supply_cause"  # issue 20: a supply floor's cause
PARAM_HIDDEN = frozenset({"area_id", "title", "detail"})


def task_facts(request: Request, params: dict[str, Any]) -> list[tuple[str, Markup | str]]:
    """A raised task's parameters as a reader says them: each key by its label and each
    value by its vocabulary, the pack's names (alert rules, need kinds), a link or a time
    in the system's zone — never a stored key or an ISO timestamp."""
    lang = page_lang(request)
    pack = app_context(request).codes.pack
    out: list[tuple[str, Markup | str]] = []
    for key, value in params.items():
        if key in PARAM_HIDDEN or value is None:
            continue
        shown: Markup | str
        if key == "alert":
            shown = Markup('<a href="/alerts/{}">#{}</a>').format(int(value), int(value))
        elif key == "rule":
            shown = rule_names(request).get(str(value)) or readable(str(value), "alert_rule")
        elif key == "need":
            kind = RiskAreaRules.from_pack(pack).need_kinds.get(str(value))
            shown = (kind.label_zh if lang == "zh" else kind.label_en) if kind else str(value)
        elif key == "point":
            shown = venue_link(str(value))
        elif key == "good":  # issue 20: a supply task's good, by the pack's name
            good = SupplyRules.from_pack(pack).goods.get(str(value))
            shown = good.label(lang) if good else readable(str(value), "good")
        elif key in ("due_at", "run_out"):
            shown = _moment(str(value), app_context(request).codes.tz)
        elif key in PARAM_VALUES:
            shown = label(str(value), PARAM_VALUES[key], lang)
        else:
            shown = str(value)
        out.append((label(key, "task_param", lang), shown))
    return out


SOURCE_LINKS = {"alert": "/alerts/{}", "arrival": "/arrivals/travellers/{}"}


def task_source(source_type: str, source_id: str) -> Markup:
    """What a raised task came from, without its stored key: the source's number (a link
    where the source has a page) and the day a region's day stands for; a traveller's
    stage or a period's start after the slash are said by the task's facts instead."""
    first, _, rest = source_id.partition("/")
    if source_type == "region_day" or not first.isdigit():  # "<county>/<date>": the unit
        return Markup("{}").format(rest or first)  # names the region; the day is the fact
    link = SOURCE_LINKS.get(source_type)
    if link is None:
        return Markup("#{}").format(first)
    return Markup('<a href="{}">#{}</a>').format(link.format(int(first)), first)


def _moment(text: str, tz: Any) -> str:
    """A stored ISO date or time as the pages show times (a day stays a day)."""
    if len(text) == 10:
        return text
    try:
        return fmt_time(datetime.fromisoformat(text), tz)
    except ValueError:
        return text


# ---- tasks (任务) ---------------------------------------------------------------------------


TASKS = listing.ListSpec(
    ("id", "deadline", "status", "region", "role", "kind"), size=TASKS_PER_PAGE
)


def _tasks_page(request: Request, call: Call, filters: dict[str, Any], *,
                code: int = 200, **context: Any) -> HTMLResponse:  # fmt: skip
    lang = page_lang(request)
    lst = listing.parse(request, TASKS)
    code = max(code, lst.status)
    try:
        bounds.refuse(*(bounds.text_problem(v or "", k) for k, v in filters.items()
                        if isinstance(v, str)))  # fmt: skip
        rows, total = access_tasks.list_tasks(call, **filters, bounded=lst.bounded)
    except BadInput as exc:
        code, context["error"] = 422, exc.problem.text(lang)
        rows, total = access_tasks.list_tasks(call, bounded=replace(lst.bounded, offset=0))
    names = access_tasks.region_names(
        call, [c for t in rows for c in (t.region_code, t.origin_region_code)]
    )
    units = access_tasks.units_below(call) if call.actor.can(TASK_ASSIGN) else []
    return render_page(request, "command/tasks.html", status=code, actor=call.actor, rows=rows,
                total=total, filters=filters, names=names, units=units,
                lst=lst, pager=lst.pager(total, len(rows)), kinds=TASK_KINDS,
                statuses=TASK_STATUSES, limits={"title": TITLE_MAX, "detail": DETAIL_MAX},
                **_labels(lang), **context)  # fmt: skip


@command_pages.get("/command/tasks")
def get_tasks(
    request: Request, call: CallDep,
    region: Filter = None, status: Filter = None, kind: Filter = None,
    open_only: Annotated[bool, Query()] = False, overdue: Annotated[bool, Query()] = False,
    owing: Annotated[bool, Query()] = False,
) -> HTMLResponse:  # fmt: skip
    filters = {"region": region or None, "status": status or None, "kind": kind or None,
               "open_only": open_only, "overdue": overdue, "owing": owing}  # fmt: skip
    return _tasks_page(request, call, filters)


def assign_fields() -> tuple[forms.Field, ...]:
    return (
        forms.region("region_code"),
        forms.text("role", max_length=40),
        forms.text("title", max_length=TITLE_MAX, required=True),
        forms.multiline("detail", max_length=DETAIL_MAX),
        forms.instant("deadline", "planned", required=False),  # empty: the pack's deadline
    )


@command_pages.post("/command/tasks")
def post_assign(request: Request, call: CallDep, posted: forms.Posted) -> Response:
    """A commander sets a task (交办) for a unit below."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(assign_fields(), posted.items, tz=call.tz)
    rules = CommandRules.from_pack(app_context(request).codes.pack)
    if got.run(lambda v: access_tasks.assign_task(
        call, rules, region_code=v["region_code"], role=v["role"], title=v["title"],
        detail=v["detail"] or "", deadline_at=v["deadline"],
    ), (BadInput,)):  # fmt: skip
        return RedirectResponse(f"/command/tasks/{got.result.id}?changed=open", status_code=303)
    code, context = got.refused("assign", page_lang(request))
    return _tasks_page(request, call, {}, code=code, assign_error=context["error"],
                       shown=context["shown"], form=context["shown"].typed)  # fmt: skip


def _task_page(request: Request, call: Call, task_id: int, *, code: int = 200,
               **context: Any) -> HTMLResponse:  # fmt: skip
    detail = access_tasks.read_task(call, task_id)
    task = detail.task
    codes = [task.region_code, task.origin_region_code]
    codes += [c for h in detail.history for c in (h.from_region, h.to_region) if c]
    moves = [s for s in TRANSITIONS.get(task.status, ())
             if call.actor.can(TASK_ASSIGN if s == "cancelled" else TASK_CHANGE)]  # fmt: skip
    return render_page(request, "command/task.html", status=code, actor=call.actor, t=task,
                history=detail.history, names=access_tasks.region_names(call, codes),
                moves=moves, limits={"note": NOTE_MAX, "evidence": EVIDENCE_MAX},
                facts=task_facts(request, dict(task.params)),
                source=task_source(task.source_type or "", str(task.source_id or "")),
                **_labels(page_lang(request)), **context)  # fmt: skip


@command_pages.get("/command/tasks/{task_id}")
def get_task(
    request: Request, call: CallDep, task_id: PathId,
    changed: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:  # fmt: skip
    return _task_page(request, call, task_id, changed=changed if changed in STATUS else None)


TASK_STATUS_FIELDS = (
    forms.choice("status", tuple(STATUS)),
    forms.multiline("note", max_length=NOTE_MAX),
    forms.multiline("evidence", max_length=EVIDENCE_MAX),
)


@command_pages.post("/command/tasks/{task_id}/status")
def post_status(request: Request, call: CallDep, task_id: PathId, posted: forms.Posted) -> Response:
    """签收 / 办理 / 办结 (with evidence) / 撤销 (with a note)."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(TASK_STATUS_FIELDS, posted.items, tz=call.tz)
    if got.run(lambda v: access_tasks.change_status(call, task_id, v["status"], note=v["note"],
                                                    evidence=v["evidence"])):  # fmt: skip
        status = got.values["status"]
        return RedirectResponse(f"/command/tasks/{task_id}?changed={status}", status_code=303)
    code, context = got.refused("task-status-form", page_lang(request))
    return _task_page(request, call, task_id, code=code, **context)


Region = Annotated[str | None, Query(max_length=15)]


Days = Annotated[int, Query(ge=1, le=MAX_DAYS)]
# the ranking is sorted, not paged: one row per county of the region
RANKS = listing.ListSpec(tuple(RANK_SORTS), size=max(listing.PAGE_SIZES))


@command_pages.get("/command/accountability")
def get_accountability(
    request: Request, ctx: Ctx, call: CallDep, region: Region = None, days: Days = DEFAULT_DAYS,
    last: date | None = None,
) -> HTMLResponse:  # fmt: skip
    """Counties ranked by timeliness and tasks on time, the measures per county with
    their labels, the ten worst gaps with their owners, a period filter and the CSV."""
    lang = page_lang(request)
    report = accountability(call, ctx.codes.pack, region=region or None, days=days, last=last)

    def role(name: str | None) -> str:  # through the one layer: no role's key on the page
        return role_label(None, lang) if name is None else label(name, "role", lang)

    lst = listing.parse(request, RANKS)
    ranks = sort_ranks(report.ranks, lst.sort, lst.descending)
    gaps = [{"gap": g, "what": what_label(g, lang), "role": role(g.role)} for g in report.gaps]
    return page(request, "command/accountability.html", status=lst.status, actor=call.actor,
                report=report, ranks=ranks, lst=lst, t=report.timeliness, measures=MEASURES,
                gaps=gaps, region=region or "", days=days, last=last, max_days=MAX_DAYS,
                role_label=role)  # fmt: skip


@command_pages.get("/command/accountability.csv")
def get_accountability_csv(
    request: Request, ctx: Ctx, call: CallDep, region: Region = None, days: Days = DEFAULT_DAYS,
    last: date | None = None,
) -> Response:  # fmt: skip
    """The ranking and the gaps as CSV for the meeting (labels in the page's language)."""
    report = accountability(call, ctx.codes.pack, region=region or None, days=days, last=last)
    p = report.timeliness.period
    name = f"accountability-{report.timeliness.region_code}-{p.first}-{p.last}.csv"
    return Response(
        "\ufeff" + report.to_csv(page_lang(request)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


RegionQuery = Annotated[str | None, Query(max_length=15)]


DayQuery = Annotated[date | None, Query()]


# the columns of the drill-down table (every figure is on the child's own board)
CHILD_KEYS = ("cases.new", "cases.cumulative", "cases.found_community", "contacts.awaiting",
              "contacts.overdue", "risk_areas.high", "testing.late_tubes", "arrivals.overdue",
              "work.tasks_overdue")  # fmt: skip


def shown(value: float | None, unit: str, bound: float | None = None) -> str:
    """A figure as people read it: counts whole, shares in percent, days to one decimal
    (whole days whole); past its ``bound`` (``board.bounds_of``) "> N"."""
    if value is None:
        return "—"
    if beyond(value, bound):
        return f"> {bound:g}"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "days" and not float(value).is_integer():
        return f"{value:,.1f}"
    return f"{round(value):,}"


def curve_spec(b: Board, lang: str) -> str:
    """Vega-Lite: new cases per day, stacked: found under control and in the community."""
    controlled = FIGURE["cases.found_controlled"].label(lang)
    community = FIGURE["cases.found_community"].label(lang)
    values = [
        {"day": p.day.isoformat(), "found": name, "cases": n}
        for p in b.curve
        for name, n in ((controlled, p.controlled), (community, p.community))
    ]
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container", "height": 220, "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "day", "type": "ordinal", "title": None,
                  "axis": {"labelAngle": -45}},
            "y": {"field": "cases", "type": "quantitative",
                  "title": FIGURE["cases.new"].label(lang)},
            "color": {"field": "found", "type": "nominal", "title": None,
                      "scale": {"domain": [controlled, community],
                                "range": ["#7a8699", "#c62828"]},
                      "legend": {"orient": "top"}},
        },
    }  # fmt: skip
    # inside <script type="application/json">: keep "</" from closing the element
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


def _view(ctx: Ctx, call: CallDep, region: str | None, day: date | None, *,
          wall: bool) -> BoardView:  # fmt: skip
    return board(call, CommandRules.from_pack(ctx.codes.pack), region=region, day=day, wall=wall)


@command_pages.get("/command")
def get_board(
    request: Request, ctx: Ctx, call: CallDep, region: RegionQuery = None, day: DayQuery = None
) -> HTMLResponse:
    view = _view(ctx, call, region, day, wall=False)
    lang = page_lang(request)
    return page(request, "command/board.html", actor=call.actor, view=view, b=view.board,
                groups=FIGURE_GROUPS, figures=FIGURES, child_keys=CHILD_KEYS, figure=FIGURE,
                shown=shown, spec=curve_spec(view.board, lang))  # fmt: skip


@command_pages.get("/command/wall")
def get_wall(request: Request, ctx: Ctx, call: CallDep, region: RegionQuery = None) -> HTMLResponse:
    view = _view(ctx, call, region, None, wall=True)
    lang = page_lang(request)
    return page(request, "command/wall.html", actor=None, view=view, b=view.board,
                groups=FIGURE_GROUPS, figures=FIGURES, shown=shown,
                spec=curve_spec(view.board, lang))  # fmt: skip


# ---- daily briefings (日报) ------------------------------------------------------------------

# the stored file is a whole document of its own: it may style itself and show its inline
# SVG, and nothing else (no script, no fetch, no form)
BRIEFING_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                "frame-ancestors 'none'; form-action 'none'; base-uri 'none'")  # fmt: skip


def _briefings_page(request: Request, call: CallDep, *, status: int = 200,
                    **context: object) -> HTMLResponse:  # fmt: skip
    rows = list_briefings(call)
    context = {"region": call.actor.region_code or ""} | context
    return page(request, "command/briefings.html", status=status, actor=call.actor, rows=rows,
                **context)  # fmt: skip


@command_pages.get("/command/briefings")
def get_briefings(
    request: Request, call: CallDep,
    written: Annotated[int | None, Query(ge=0, le=10_000)] = None,
) -> HTMLResponse:  # fmt: skip
    """Past briefings of the jurisdiction, newest day first; a button writes today's."""
    return _briefings_page(request, call, written=written)


BRIEFING_FIELDS = (forms.region("region"), forms.choice("cities", ("true",), required=False))
BRIEFING_REGION = {"command.region_unknown": "region"}  # the refusal that names the field


@command_pages.post("/command/briefings")
def post_briefing(request: Request, ctx: Ctx, call: CallDep, posted: forms.Posted) -> Response:
    """Write today's briefing (the system clock's day) of a region, in the page's language."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    lang = page_lang(request)
    got = forms.parse(BRIEFING_FIELDS, posted.items, tz=call.tz)
    rules = CommandRules.from_pack(ctx.codes.pack)
    if got.run(lambda v: write_briefing(call, rules, region_code=v["region"], lang=lang,
                                        cities=v["cities"] == "true"),
               (BadInput, NotFound)):  # fmt: skip
        written = len(got.result)
        return RedirectResponse(f"/command/briefings?written={written}", status_code=303)
    status, context = got.refused(
        "write-briefing", lang, None, {"command.region_unknown": "region"}
    )
    region = context["shown"].value("region")
    return _briefings_page(request, call, status=status, **context, **{"region": region})


@command_pages.get("/command/briefings/{briefing_id}")
def get_briefing(call: CallDep, briefing_id: PathId) -> HTMLResponse:
    """The stored briefing file as written (self-contained HTML)."""
    stored = read_briefing(call, briefing_id)
    return HTMLResponse(stored.html, headers={"Content-Security-Policy": BRIEFING_CSP})


@command_pages.get("/command/briefings/{briefing_id}/csv")
def get_briefing_csv(call: CallDep, briefing_id: PathId) -> Response:
    """The stored briefing's tables as CSV (for the meeting's spreadsheet)."""
    stored = read_briefing(call, briefing_id)
    name = f"briefing-{stored.entry.region_code}-{stored.entry.day.isoformat()}.csv"
    return Response("\ufeff" + stored.csv, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
