"""The road-status page (道路通行状态): a map of the checkpoints coloured by state, each a
link to its page, and the list of states (``road.read``; jurisdiction). Handlers parse the
query, call ``fangkong.roads.access`` and render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from fangkong.http.deps import CallDep
from fangkong.roads.access import STATUS_SORTS, read_road_status
from fangkong.roads.map import COLOURS, project
from fangkong.roads.state import STATES
from fangkong.web import listing
from fangkong.web.pages import page

roads_pages = APIRouter(include_in_schema=False)

STATUS_LIST = listing.ListSpec(tuple(STATUS_SORTS))
MAP_WIDTH, MAP_HEIGHT = 640, 480


@roads_pages.get("/roads")
def get_roads(
    request: Request, call: CallDep, state: Annotated[str | None, Query(max_length=24)] = None
) -> HTMLResponse:
    """The map of every checkpoint in the jurisdiction and one page of the list."""
    chosen = state if state in STATES else None
    lst = listing.parse(request, STATUS_LIST)
    everything, _ = read_road_status(call)
    rows, total = read_road_status(call, state=chosen, bounded=lst.bounded)
    points = project([(r.code, r.latitude, r.longitude) for r in everything],
                     width=MAP_WIDTH, height=MAP_HEIGHT)  # fmt: skip
    by_code = {r.code: r for r in everything}
    counts = {s: sum(r.state == s for r in everything) for s in STATES}
    as_of = max((r.as_of for r in everything if r.as_of is not None), default=None)
    return page(request, "roads/status.html", status=lst.status, actor=call.actor,
                points=[(p, by_code[p.code]) for p in points], colours=COLOURS,
                states=STATES, counts=counts, rows=rows, total=total, chosen=chosen,
                as_of=as_of, lst=lst, pager=lst.pager(total, len(rows)),
                width=MAP_WIDTH, height=MAP_HEIGHT)  # fmt: skip
