"""The board as readers reach it: right, jurisdiction, bounds, audit (态势看板).

::

    actor ─▶ command.read? ── no ─▶ Forbidden (403)
             region (default: the reader's own, else the province) inside the reader's
             jurisdiction? ── no ─▶ NotFound, as for a region that does not exist
                 ▼
             the board (counts only) + the links the reader may follow ─▶ one audit row

The wall mode reads the same board without links: it needs ``command.read`` and nothing
else, and shows no personal data (the board has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from fangkong import bounds
from fangkong.auth.guard import Call, hidden, inside
from fangkong.auth.model import Actor
from fangkong.auth.rights import COMMAND_READ
from fangkong.command.board import (
    LINKS,
    Board,
    Region,
    bounds_of,
    read_board,
    region_of,
    top_region,
)
from fangkong.command.rules import CommandRules
from fangkong.errors import BadInput, NotFound, Problem

__all__ = ["BoardView", "RegionUnknown", "board", "links_for"]


class RegionUnknown(NotFound):
    """command.region_unknown: no such region (or one outside the reader's jurisdiction)."""


def _missing(code: str) -> Problem:
    return Problem("command.region_unknown", f"无此地区 {code}", f"no region {code}")


@dataclass(frozen=True)
class BoardView:
    board: Board
    links: dict[str, str]  # figure key -> the list behind it (only those the reader may open)
    curve_days: int
    wall_refresh_seconds: int


def links_for(actor: Actor, region_code: str) -> dict[str, str]:
    """The lists behind the figures that ``actor`` may open, filtered to the region."""
    return {
        key: link.path.format(region=region_code)
        for key, link in LINKS.items()
        if all(actor.can(r) for r in link.rights)
    }


def _check(region: str | None, day: date | None, call: Call) -> None:
    problems = []
    if region is not None:
        problems.append(bounds.text_problem(region, "region"))
        if len(region) > 15:
            problems.append(Problem("value.too_long", "地区代码过长", "region code too long"))
    if day is not None:
        problems.append(bounds.sane_date_problem(day, "day", now=call.now()))
    for problem in problems:
        if problem is not None:
            raise BadInput(problem)


def _region(conn: Connection, call: Call, code: str | None) -> Region:
    wanted = code or call.actor.region_code
    found = region_of(conn, wanted) if wanted else top_region(conn)
    if found is None:
        raise RegionUnknown(_missing(wanted or "—"))
    if not inside(conn, call.actor, found.code):
        raise hidden(RegionUnknown(_missing(found.code)))
    return found


def board(
    call: Call, rules: CommandRules, *, region: str | None = None, day: date | None = None,
    wall: bool = False,
) -> BoardView:  # fmt: skip
    """The board of ``region`` (default: the reader's own) on ``day`` (default: the latest
    computed day on or before the clock's today); the wall (``wall``) carries no links."""

    def body(conn: Connection) -> tuple[BoardView, str | None, str | None]:
        call.require(COMMAND_READ)
        _check(region, day, call)
        found = _region(conn, call, region)
        shown = read_board(conn, found, day=day, today=call.today(),
                           curve_days=rules.curve_days, top=call.actor.region_code,
                           bounds=bounds_of(rules))  # fmt: skip
        links = {} if wall else links_for(call.actor, found.code)
        view = BoardView(shown, links, rules.curve_days, rules.wall_refresh_seconds)
        detail = shown.day.isoformat() if shown.day else "no figures"
        return view, found.code, detail

    action = "command.wall" if wall else "command.board"
    return call.audited(action, "region", region, body)
