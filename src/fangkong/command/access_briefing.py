"""Briefings as staff reach them (``command.read``): the list and the stored files of the
caller's jurisdiction, the briefing's numbers and tables, and writing today's.

A briefing holds aggregates and overdue tasks by unit, no personal data, so reading it
needs ``command.read`` only. A briefing of a region outside the jurisdiction answers as
one that does not exist (``hidden``). Writing is audited (``command.briefing``), also
when refused; a rewrite of the same region and day replaces its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, select

from fangkong.auth.guard import Call, hidden, inside, within
from fangkong.auth.rights import COMMAND_READ
from fangkong.command.briefing import (
    Briefing,
    Composed,
    Written,
    briefing_day,
    build_briefing,
    compose,
    region_unknown,
    store_all,
)
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_briefings
from fangkong.errors import FangkongError, NotFound, Problem
from fangkong.store.schema import regions

LIST_LIMIT = 500  # rows of the list, newest first


@dataclass(frozen=True)
class BriefingEntry:
    """A briefing as listed: which region and day, when and by whom it was written."""

    id: int
    region_code: str
    region_name: str
    region_level: str
    day: date
    written_at: datetime
    written_by: str


@dataclass(frozen=True)
class StoredBriefing:
    entry: BriefingEntry
    html: str
    csv: str


class BriefingUnknown(NotFound):
    """No briefing of that id (or one outside the caller's jurisdiction)."""


def _unknown(briefing_id: int) -> BriefingUnknown:
    return BriefingUnknown(Problem("command.briefing_unknown", f"无此日报（{briefing_id}）",
                                   f"no briefing {briefing_id}"))  # fmt: skip


def _entries(conn: Connection, call: Call, *, briefing_id: int | None = None,
             region_code: str | None = None) -> list[BriefingEntry]:  # fmt: skip
    query = (
        select(command_briefings.c.id, command_briefings.c.region_code, regions.c.name,
               regions.c.level, command_briefings.c.day, command_briefings.c.written_at,
               command_briefings.c.written_by)
        .join(regions, regions.c.code == command_briefings.c.region_code)
        .where(within(call.actor, command_briefings.c.region_code))
        .order_by(command_briefings.c.day.desc(), command_briefings.c.region_code)
        .limit(LIST_LIMIT)
    )  # fmt: skip
    if briefing_id is not None:
        query = query.where(command_briefings.c.id == briefing_id)
    if region_code is not None:
        query = query.where(command_briefings.c.region_code == region_code)
    return [
        BriefingEntry(int(r.id), str(r.region_code), str(r.name), str(r.level), r.day,
                      r.written_at, str(r.written_by))
        for r in conn.execute(query)
    ]  # fmt: skip


def list_briefings(call: Call, *, region_code: str | None = None) -> list[BriefingEntry]:
    """Past briefings of the caller's jurisdiction, newest day first."""
    call.require(COMMAND_READ)
    with call.engine.connect() as conn:
        return _entries(conn, call, region_code=region_code)


def read_briefing(call: Call, briefing_id: int) -> StoredBriefing:
    """The stored HTML and CSV of one briefing of the caller's jurisdiction."""
    call.require(COMMAND_READ)
    with call.engine.connect() as conn:
        found = _entries(conn, call, briefing_id=briefing_id)
        row = conn.execute(
            select(command_briefings.c.html, command_briefings.c.csv,
                   command_briefings.c.path, command_briefings.c.region_code)
            .where(command_briefings.c.id == briefing_id)
        ).first()  # fmt: skip
    if row is None:
        raise _unknown(briefing_id)
    if not found:
        raise hidden(_unknown(briefing_id))
    html = row.html if row.html is not None else Path(row.path).read_text("utf-8")
    return StoredBriefing(found[0], str(html), str(row.csv or ""))


def briefing_numbers(
    call: Call, rules: CommandRules, briefing_id: int, lang: str
) -> tuple[BriefingEntry, Briefing]:
    """A stored briefing's numbers and tables, rebuilt from the figures of its region and
    day as of when it was written (the stored HTML and CSV are the record)."""
    entry = read_briefing(call, briefing_id).entry
    with call.engine.connect() as conn:
        b = build_briefing(conn, rules, region_code=entry.region_code, day=entry.day,
                           at=entry.written_at, lang=lang, tz=call.tz)  # fmt: skip
    return entry, b


def write_briefing(
    call: Call,
    rules: CommandRules,
    *,
    region_code: str,
    day: date | None = None,
    lang: str = "zh",
    cities: bool = False,
    out_dir: Path | None = None,
    stem: str | None = None,
) -> list[Written]:
    """Write (or rewrite) the briefing of a region of the caller's jurisdiction for
    ``day`` (default: the day just ended by the clock, ``briefing.briefing_day``), with
    ``cities`` one per child city too;
    stored, and with ``out_dir`` written as files. Audited, also when refused."""
    at = call.now()
    when = day or briefing_day(call.today())

    def check(conn: Connection) -> None:
        call.require(COMMAND_READ)
        exists = conn.execute(
            select(regions.c.code).where(regions.c.code == region_code)
        ).first()  # fmt: skip
        if exists is None:
            raise region_unknown(region_code)
        if not inside(conn, call.actor, region_code):
            raise hidden(region_unknown(region_code))

    # build and draw on a reading connection: the write lock is held only to store
    composed: list[Composed] = []
    try:
        with call.engine.connect() as conn:
            check(conn)
            composed = compose(conn, rules, region_code=region_code, day=when, at=at,
                               lang=lang, cities=cities, tz=call.tz)  # fmt: skip
    except FangkongError:
        pass  # refused: the audited body below raises it again and records it

    def body(conn: Connection) -> tuple[list[Written], str]:
        check(conn)
        done = store_all(conn, composed, by=call.actor.name, out_dir=out_dir, stem=stem)
        return done, f"{when.isoformat()} {lang}: {len(done)} briefings"

    return call.audited("command.briefing", "region", region_code[:80], body)
