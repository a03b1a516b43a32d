"""Pages for contact tracers (流调): a case's contacts with evidence, filters and a bulk
status form; the transmission graph and the cluster list.

Handlers parse the query or form, call one function of ``fangkong.tracing.access`` (which
checks rights and jurisdiction and audits) and render a template.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong.api.context import AppContext, check_csrf
from fangkong.api.problems import status_of
from fangkong.auth.model import Actor
from fangkong.errors import BadInput, Conflict, NotFound
from fangkong.tracing.access import (
    ChainsView,
    case_contacts_view,
    chains_view,
    change_contact_statuses,
    clusters_view,
)
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import CONTACT_KINDS, STATUSES
from fangkong.web.pages import Address, Caller, Ctx, page, page_lang, session_csrf_basis

tracing_pages = APIRouter(include_in_schema=False)

Filter = Annotated[str | None, Query(max_length=20)]


def _contacts_page(
    request: Request, ctx: AppContext, actor: Actor, address: str, case_id: int,
    kind: str | None, status: str | None, *, code: int = 200, **context: Any,
) -> HTMLResponse:  # fmt: skip
    try:
        view = case_contacts_view(ctx.engine, ctx.keys.audit, actor, case_id, address,
                                  kind=kind, status=status)  # fmt: skip
    except BadInput as exc:
        view = case_contacts_view(ctx.engine, ctx.keys.audit, actor, case_id, address)
        code, context["error"] = 422, exc.problem.text(page_lang(request))
    return page(request, "tracing/case.html", status=code, actor=actor, view=view,
                kinds=CONTACT_KINDS, statuses=STATUSES, **context)  # fmt: skip


@tracing_pages.get("/tracing/cases/{case_id}")
def get_case_contacts(
    request: Request, ctx: Ctx, actor: Caller, address: Address, case_id: int,
    kind: Filter = None, status: Filter = None,
    changed: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:  # fmt: skip
    return _contacts_page(request, ctx, actor, address, case_id, kind, status, changed=changed)


@tracing_pages.post("/tracing/cases/{case_id}/status")
def post_statuses(
    request: Request, ctx: Ctx, actor: Caller, address: Address, case_id: int,
    contact: Annotated[list[int] | None, Form()] = None,
    status: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """The bulk action (批量操作): every ticked contact to one status, with one reason."""
    check_csrf(request, csrf_token, session_csrf_basis(request))
    try:
        n = change_contact_statuses(ctx.engine, ctx.keys.audit, actor, contact or [], status,
                                    reason, address)  # fmt: skip
    except (BadInput, Conflict, NotFound) as exc:
        return _contacts_page(request, ctx, actor, address, case_id, None, None,
                              code=status_of(exc),
                              error=exc.problem.text(page_lang(request)))  # fmt: skip
    return RedirectResponse(f"/tracing/cases/{case_id}?changed={n}", status_code=303)


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
                    "type": "force", "iterations": 300, "static": True,
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
                    "type": "linkpath", "shape": "line",
                    "sourceX": "datum.source.x", "sourceY": "datum.source.y",
                    "targetX": "datum.target.x", "targetY": "datum.target.y",
                }],
            },
        ],
    }  # fmt: skip
    # inside <script type="application/json">: keep "</" from closing the element
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


@tracing_pages.get("/tracing/chains")
def get_chains(request: Request, ctx: Ctx, actor: Caller, address: Address) -> HTMLResponse:
    chains = chains_view(ctx.engine, ctx.keys.audit, actor, address)
    rules = ContactRules.from_pack(ctx.codes.pack)
    found = clusters_view(ctx.engine, ctx.keys.audit, actor, address, rules)
    return page(request, "tracing/chains.html", actor=actor, view=chains, clusters=found,
                graph_spec=graph_spec(chains), window_days=rules.cluster_window_days)  # fmt: skip
