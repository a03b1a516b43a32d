"""The pages of places (issue 19, point 2): ``/regions/{code}`` and ``/venues/{code}``.

Every region and venue shown on a page links here (``web/links.py``). Thin
callers of ``search.places``; a place absent or outside the reader's jurisdiction is
answered with the error page (404), as every record page does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import HTMLResponse

from fangkong.command.model import FIGURE
from fangkong.http.deps import CallDep
from fangkong.search.places import REGION_FIGURES, read_region, read_venue_page
from fangkong.web.pages import page

place_pages = APIRouter(include_in_schema=False)

# the keys' shapes: a region code (6, 12 or 15 digits) and a place code (场所码)
RegionCode = Annotated[str, Path(min_length=1, max_length=15, pattern=r"^[0-9]+$")]
VenueCode = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


@place_pages.get("/regions/{code}")
def get_region(request: Request, call: CallDep, code: RegionCode) -> HTMLResponse:
    found = read_region(call, code)
    figures = [(FIGURE[k], found.figures[k]) for k in REGION_FIGURES if k in found.figures]
    return page(request, "places/region.html", actor=call.actor, r=found, figures=figures)


@place_pages.get("/venues/{code}")
def get_venue(request: Request, call: CallDep, code: VenueCode) -> HTMLResponse:
    return page(request, "places/venue.html", actor=call.actor, v=read_venue_page(call, code))
