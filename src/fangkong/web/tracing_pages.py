"""Pages for contact tracers (流调): a case's contacts with evidence, filters and a bulk
status form, the steps of its investigation with a button each; the transmission graph
and the cluster list.

Handlers parse the query or form, call one function of ``fangkong.tracing.access`` (which
checks rights and jurisdiction and audits) and render a template.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.guard import Call
from fangkong.command.figures import FigureRules
from fangkong.command.model import FIGURE
from fangkong.errors import BadInput, Conflict, NotFound
from fangkong.http.context import app_context, check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import status_of
from fangkong.tracing.access import (
    CLUSTER_SORTS,
    ChainsView,
    ClusterRow,
    change_contact_statuses,
    page,
    page_clusters,
    read_case_contacts,
    read_chains,
    read_clusters,
)
from fangkong.tracing.management import COUNTS, OVERDUE, STATES
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.steps import NEEDS, STEPS, record_step
from fangkong.tracing.tables import CONTACT_KINDS, STATUSES
from fangkong.web import forms, listing
from fangkong.web.i18n import translations
from fangkong.web.listing import Pager
from fangkong.web.pages import PathId, QueryCount, page_lang, session_csrf_basis
from fangkong.web.pages import page as render_page

tracing_pages = APIRouter(include_in_schema=False)

Filter = Annotated[str | None, Query(max_length=20)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]  # within bounds.OFFSET_BOUNDS
CONTACTS_PER_PAGE = 100
CHAINS_PER_PAGE = 50
CLUSTERS_PER_PAGE = 20
CLUSTERS = listing.ListSpec(CLUSTER_SORTS, size=CLUSTERS_PER_PAGE, prefix="c")


def _page_of(request: Request, prefix: str, size: int, items: Any) -> tuple[Any, Pager]:
    """One page of a list computed in memory (a case's contacts, the chains: graphs, not
    rows), placed by the shared list layer."""
    lst = listing.parse(request, listing.ListSpec((), size=size, prefix=prefix))
    rows, total = page(items, lst.size, lst.offset)
    return rows, lst.pager(total, len(rows))


def _contacts_page(
    request: Request, call: Call, case_id: int, kind: str | None, status: str | None, *,
    code: int = 200, state: str | None = None, **context: Any,
) -> HTMLResponse:  # fmt: skip
    figures = FigureRules.from_pack(app_context(request).codes.pack, call.tz)
    try:
        view = read_case_contacts(call, case_id, kind=kind, status=status, figures=figures,
                                  state=state)  # fmt: skip
    except BadInput as exc:
        view = read_case_contacts(call, case_id, figures=figures)
        code, context["error"] = 422, exc.problem.text(page_lang(request))
    rows, pager = _page_of(request, "", CONTACTS_PER_PAGE, view.contacts)
    view = replace(view, contacts=tuple(rows))
    lang = page_lang(request)
    counts = [(k, FIGURE[f"contacts.{k}"].label(lang), view.counts.get(k, 0)) for k in COUNTS]
    return render_page(request, "tracing/case.html", status=code, actor=call.actor, view=view,
                       kinds=CONTACT_KINDS, statuses=STATUSES, pager=pager, counts=counts,
                       states=(*STATES, OVERDUE), steps=[s.key for s in STEPS], needs=NEEDS,
                       **context)  # fmt: skip


@tracing_pages.get("/tracing/cases/{case_id}")
def get_case_contacts(
    request: Request, call: CallDep, case_id: PathId,
    kind: Filter = None, status: Filter = None, state: Filter = None,
    changed: QueryCount = None, page: PageNo = 1,
    stamped: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:  # fmt: skip
    step = stamped if stamped in {s.key for s in STEPS} else None
    return _contacts_page(request, call, case_id, kind, status, changed=changed,
                          state=state, stamped=step)  # fmt: skip


@tracing_pages.post("/tracing/cases/{case_id}/steps/{step}")
def post_step(
    request: Request, call: CallDep, case_id: PathId, step: Annotated[str, Path(max_length=20)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """A step of the investigation done now (流调处置节点): the button stamps the system
    clock's time; there is no time to type."""
    check_csrf(request, csrf_token, session_csrf_basis(request))
    try:
        record_step(call, case_id, step)
    except (BadInput, Conflict) as exc:
        return _contacts_page(request, call, case_id, None, None, code=status_of(exc),
                              step_error=exc.problem.text(page_lang(request)))  # fmt: skip
    return RedirectResponse(f"/tracing/cases/{case_id}?stamped={step}", status_code=303)


BULK_FIELDS = (forms.ids("contact"), forms.choice("status", STATUSES),
               forms.multiline("reason", required=True))  # fmt: skip


@tracing_pages.post("/tracing/cases/{case_id}/status")
def post_statuses(
    request: Request, call: CallDep, case_id: PathId, posted: forms.Posted
) -> Response:
    """The bulk action (批量操作): every ticked contact to one status, with one reason."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(BULK_FIELDS, posted.items, tz=call.tz)
    if got.run(lambda v: change_contact_statuses(call, v["contact"], v["status"], v["reason"]),
               (BadInput, Conflict, NotFound)):  # fmt: skip
        return RedirectResponse(f"/tracing/cases/{case_id}?changed={got.result}", status_code=303)
    status, context = got.refused("bulk", page_lang(request))
    return _contacts_page(request, call, case_id, None, None, code=status, changed=None,
                          **context)  # fmt: skip


def graph_spec(view: ChainsView) -> str:
    """A Vega force-directed graph: one node per case (coloured by chain), one edge per
    link case → case that was its close contact."""
    index: dict[int, int] = {}
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for chain in view.chains:
        for case in chain.cases:
            index[case] = len(nodes)
            nodes.append({"case": case, "name": view.names.get(case, str(case)),
                          "chain": chain.number, "root": case in chain.roots})  # fmt: skip
        edges += [{"source": index[a], "target": index[b]} for a, b in chain.links]
    spec = {
        "$schema": "https://vega.github.io/schema/vega/v6.json",
        "width": 640,
        "height": 420,
        "autosize": "none",
        "signals": [{"name": "cx", "update": "width / 2"}, {"name": "cy", "update": "height / 2"}],
        "data": [
            {"name": "node-data", "values": nodes},
            {"name": "link-data", "values": edges},
        ],
        "scales": [{"name": "colour", "type": "ordinal", "domain": {"data": "node-data",
                    "field": "chain"}, "range": {"scheme": "category10"}}],
        "marks": [
            {
                "name": "nodes", "type": "symbol", "zindex": 1,
                "from": {"data": "node-data"},
                "encode": {"enter": {
                    "fill": {"scale": "colour", "field": "chain"},
                    "stroke": {"value": "#222"},
                    "strokeWidth": {"signal": "datum.root ? 2 : 0"},
                    "size": {"value": 220},
                    "tooltip": {"signal": "datum.name + ' (#' + datum.case + ')'"},
                }},
                "transform": [{
                    # the links' source/target become node objects when the force has
                    # run: the link paths below wait for it (``require``), else they are
                    # drawn from indices ("Mundefined,undefined")
                    "type": "force", "iterations": 300, "static": True, "signal": "force",
                    "forces": [
                        {"force": "center", "x": {"signal": "cx"}, "y": {"signal": "cy"}},
                        {"force": "collide", "radius": 12},
                        {"force": "nbody", "strength": -40},
                        {"force": "link", "links": "link-data", "distance": 40},
                    ],
                }],
            },
            {
                "type": "path", "from": {"data": "link-data"},
                "interactive": False,
                "encode": {"update": {"stroke": {"value": "#999"},
                                      "strokeWidth": {"value": 1.5}}},
                "transform": [{
                    "type": "linkpath", "require": {"signal": "force"}, "shape": "line",
                    "sourceX": "datum.source.x", "sourceY": "datum.source.y",
                    "targetX": "datum.target.x", "targetY": "datum.target.y",
                }],
            },
        ],
    }  # fmt: skip
    # inside <script type="application/json">: keep "</" from closing the element
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


def growth_spec(clusters: Any, first: int, lang: str = "en") -> str:
    """A Vega-Lite line chart: cases per day of each cluster on the page (numbered as in
    the table), by onset (else sampling) date."""
    values = [
        {"cluster": f"#{first + i}", "date": d.isoformat(), "cases": n}
        for i, cl in enumerate(clusters) for d, n in cl.growth
    ]  # fmt: skip
    gettext = translations(lang).gettext
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container", "height": 220,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "date", "type": "temporal", "title": None},
            "y": {"field": "cases", "type": "quantitative", "title": None,
                  "axis": {"tickMinStep": 1}},
            "color": {"field": "cluster", "type": "nominal", "title": None,
                      "sort": None},
            "tooltip": [{"field": "cluster", "title": gettext("Cluster")},
                        {"field": "date", "type": "temporal", "title": gettext("Date")},
                        {"field": "cases", "title": gettext("Cases")}],
        },
    }  # fmt: skip
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


@tracing_pages.get("/tracing/chains")
def get_chains(
    request: Request, ctx: Ctx, call: CallDep, page: PageNo = 1, cpage: PageNo = 1
) -> HTMLResponse:
    """The chains of one page (drawn as a graph) and one page of clusters with growth."""
    chains = read_chains(call)
    rules = ContactRules.from_pack(ctx.codes.pack)
    found: list[ClusterRow] = read_clusters(call, rules)
    shown, chain_pager = _page_of(request, "", CHAINS_PER_PAGE, chains.chains)
    view = ChainsView(tuple(shown), chains.names)
    lst = listing.parse(request, CLUSTERS)
    clusters, total = page_clusters(found, lst.bounded)
    cluster_pager = lst.pager(total, len(clusters))
    return render_page(
        request, "tracing/chains.html", status=lst.status, actor=call.actor, view=view,
        clusters=clusters, clusters_list=lst,
        graph_spec=graph_spec(view), window_days=rules.cluster_window_days,
        growth_spec=growth_spec(clusters, cluster_pager.first, page_lang(request)),
        pager=chain_pager, cluster_pager=cluster_pager,
    )  # fmt: skip
