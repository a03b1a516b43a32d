"""Accountability as people reach it: right, jurisdiction, bounds, audit (守土有责).

::

    actor ─▶ command.read? ── no ─▶ Forbidden (403)
             region inside the actor's subtree? ── no ─▶ NotFound (as absent)
             days in 1..92, last day not after today? ── no ─▶ BadInput (422)
                 ▼ timeliness per county, ranking, gaps ─▶ one audit row

The report holds counts and region names only (no personal data): ``command.read``
suffices. The counties are those under the region asked (default: the caller's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from fangkong import bounds
from fangkong.auth.guard import Call, hidden, inside
from fangkong.auth.rights import COMMAND_READ
from fangkong.command.accountability import Gap, Rank, gaps, ranking, to_csv
from fangkong.command.rules import CommandRules
from fangkong.command.timeliness import DEFAULT_DAYS, Timeliness, timeliness
from fangkong.errors import BadInput, NotFound, Problem
from fangkong.store.schema import regions

REGION_MAX = 15  # regions.code
MAX_DAYS = 92  # a quarter: the longest period a meeting looks back on


class RegionUnknown(NotFound):
    pass


@dataclass(frozen=True)
class Accountability:
    timeliness: Timeliness
    ranks: list[Rank]
    gaps: list[Gap]

    def to_csv(self, lang: str = "zh") -> str:
        return to_csv(self.timeliness, self.ranks, self.gaps, lang)


def _root(conn: Connection) -> str | None:
    row = conn.execute(
        select(regions.c.code).where(regions.c.parent_code.is_(None)).order_by(regions.c.code)
    ).first()
    return None if row is None else str(row[0])


def _unknown(code: str) -> RegionUnknown:
    return RegionUnknown(
        Problem("command.region_unknown", f"无此地区（{code}）", f"no region {code}")
    )


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise BadInput(Problem("command.days_invalid", f"天数应在 1 至 {MAX_DAYS} 之间",
                               f"days must lie between 1 and {MAX_DAYS}"))  # fmt: skip
    return days


def accountability(
    call: Call,
    pack: Any,
    *,
    region: str | None = None,
    days: int = DEFAULT_DAYS,
    last: date | None = None,
) -> Accountability:
    """Ranking and gaps for the counties under ``region`` (default: the caller's region,
    or the province) over ``days`` local days ending ``last`` (default: today)."""
    call.require(COMMAND_READ)
    check_days(days)
    today = call.today()
    if last is not None:
        bounds.refuse(bounds.date_problem(last, "event", "last", now=call.now()))
    if last is not None and last > today:
        raise BadInput(Problem("command.date_invalid", "截止日期不能晚于今天",
                               "the last day cannot lie after today"))  # fmt: skip
    targets = CommandRules.from_pack(pack).timeliness
    now = call.now()

    if region is not None and (not region or len(region) > REGION_MAX or not region.isalnum()):
        raise _unknown(region[:REGION_MAX])

    def body(conn: Connection) -> tuple[Accountability, str | None, str | None]:
        code = region or call.actor.region_code or _root(conn)
        if code is None:
            raise _unknown("-")
        known = conn.execute(select(regions.c.code).where(regions.c.code == code)).first()
        if known is None:
            raise _unknown(code)
        if not inside(conn, call.actor, code):
            raise hidden(_unknown(code))
        t = timeliness(conn, code, targets, now=now, tz=call.tz, days=days, last=last or today)
        period = f"{t.period.first.isoformat()}..{t.period.last.isoformat()}"
        return Accountability(t, ranking(t), gaps(conn, t)), code, period

    return call.audited("command.accountability", "region", region, body)
