"""The case page's management column: each contact's centralised quarantine, home order
or none, what is overdue (placement past the deadline, lost, an open quarantine alert),
a link to the person, the management filter kept with paging, and the counts at the top
equal to the command board's for the same contacts. Both backends.

The world, around "now" (the clock): case K of county 140102 reported an hour ago, and
an old case reported before the placement deadline; K's close contacts are one in a
hotel room (with a missed health check), one under a home order, one awaiting within
the deadline, one awaiting past it (first reported by the old case) and one lost."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong import clock
from fangkong.command.figures import FigureRules, compute_figures
from fangkong.command.tables import command_figures
from fangkong.quarantine.tables import (
    quarantine_alerts,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.tracing.tables import tracing_cases, tracing_contacts, tracing_exposures
from tests.api.codes import codes_of
from tests.api.helpers import logged_in, make_app, person_identity, person_ids
from tests.command.board_world import put

COUNTY = "140102"


@dataclass(frozen=True)
class World:
    app: FastAPI
    engine: Engine
    case: int
    contacts: dict[str, int]  # role → contact id
    persons: dict[str, int]  # role → person id
    now: datetime


def _contact(conn: sa.Connection, case: int, pid: int, status: str, found: datetime) -> int:
    cid = put(conn, tracing_contacts, person_id=pid, kind="close", status=status,
              identified_at=found, first_exposure_at=found - timedelta(hours=20),
              last_exposure_at=found - timedelta(hours=20), status_at=found)  # fmt: skip
    _expose(conn, case, cid, found)
    return cid


def _expose(conn: sa.Connection, case: int, contact: int, found: datetime) -> None:
    put(conn, tracing_exposures, case_id=case, contact_id=contact, kind="close",
        setting="household", overlap_start=found - timedelta(hours=21),
        overlap_end=found - timedelta(hours=20), overlap_seconds=3600, found_at=found)  # fmt: skip


def _case(conn: sa.Connection, pid: int, reported: datetime) -> int:
    return put(conn, tracing_cases, person_id=pid, registered_at=reported,
               sample_date=(reported - timedelta(days=1)).date(),
               infectious_from=reported - timedelta(days=3))  # fmt: skip


def _place(conn: sa.Connection, pid: int, kind: str, starts: datetime, **more: object) -> int:
    return put(conn, quarantine_placements, person_id=pid, kind=kind, risk_group="close_contact",
               status="active", active=True, starts_at=starts, created_at=starts,
               planned_end=starts + timedelta(days=7), test_days="[]", **more)  # fmt: skip


def build(engine: Engine, app: FastAPI, *, extra: int = 0) -> World:
    """The world of the module docstring, plus ``extra`` contacts awaiting placement, of
    the county's persons not yet a case or a contact (the browser test's world has some)."""
    now = clock.now().replace(microsecond=0)
    hours = FigureRules.from_pack(codes_of(app).pack, UTC).placement_deadline_hours
    with engine.connect() as conn:
        taken = {*conn.execute(select(tracing_contacts.c.person_id)).scalars(),
                 *conn.execute(select(tracing_cases.c.person_id)).scalars()}  # fmt: skip
    people = [p for p in person_ids(engine, COUNTY) if p not in taken]
    roles = ("case", "old", "placed", "home", "awaiting", "overdue", "lost")
    pid = dict(zip(roles, people, strict=False))
    with engine.begin() as conn:
        case = _case(conn, pid["case"], now - timedelta(hours=1))
        old = _case(conn, pid["old"], now - timedelta(hours=hours + 10))
        recent = now - timedelta(minutes=30)
        cid = {
            "placed": _contact(conn, case, pid["placed"], "quarantined", recent),
            "home": _contact(conn, case, pid["home"], "quarantined", recent),
            "awaiting": _contact(conn, case, pid["awaiting"], "identified", recent),
            "overdue": _contact(conn, case, pid["overdue"], "notified", recent),
            "lost": _contact(conn, case, pid["lost"], "lost", recent),
        }
        _expose(conn, old, cid["overdue"], now - timedelta(hours=hours + 5))  # first found by it
        hotel = put(conn, quarantine_facilities, code=f"H-{pid['case']}", name="Hotel Fenjiang",
                    kind="hotel", status="open", region_code=COUNTY)  # fmt: skip
        room = put(conn, quarantine_rooms, facility_id=hotel, code="R-305", kind="single",
                   beds=1, state="occupied")  # fmt: skip
        placement = _place(conn, pid["placed"], "centralised", now - timedelta(minutes=20),
                           facility_id=hotel, room_id=room)  # fmt: skip
        _place(conn, pid["home"], "home_quarantine", now - timedelta(minutes=20),
               region_code=COUNTY)  # fmt: skip
        put(conn, quarantine_alerts, placement_id=placement, person_id=pid["placed"],
            kind="missed_check", at=now - timedelta(minutes=10), due_at=None, detail="",
            resolved_at=None, resolved_by=None)  # fmt: skip
        for n, p in enumerate(people[len(roles) : len(roles) + extra]):
            cid[f"extra{n}"] = _contact(conn, case, p, "identified", recent)
    return World(app, engine, case, cid, pid, now)


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> World:
    app = make_app(province, tmp_path)
    return build(province, app)


def _row(html: str, contact: int) -> str:
    found = re.search(rf'<tr id="contact-{contact}".*?</tr>', html, re.S)
    assert found, contact
    return found.group(0)


def _counts(html: str) -> dict[str, int]:
    return {k: int(n.replace(",", "")) for k, n in
            re.findall(r'id="count-(\w+)"><dt>[^<]*</dt><dd>([\d,]+)</dd>', html)}  # fmt: skip


EXPECTED = {  # role → (management text, overdue texts) in Chinese
    "placed": ("集中隔离", ("未完成健康监测",)),
    "home": ("居家隔离", ()),
    "awaiting": ("待安置", ()),
    "overdue": ("待安置", ("超时未安置",)),
    "lost": ("待安置", ("失访",)),
}


def test_each_contact_shows_its_management_and_what_is_overdue(world: World) -> None:
    epi = logged_in(world.app, "epi")
    html = epi.get(f"/tracing/cases/{world.case}").text
    for role, (state, overdue) in EXPECTED.items():
        row = _row(html, world.contacts[role])
        cell = re.search(r'class="management">(.*?)</td>', row, re.S)
        assert cell
        assert cell.group(1).startswith(state), (role, cell.group(1))
        late = re.search(r'class="overdue">(.*?)</td>', row, re.S)
        assert late
        badges = tuple(re.findall(r'<span class="badge">([^<]*)</span>', late.group(1)))
        assert badges == overdue, (role, badges)
        name = person_identity(world.engine, world.persons[role])[1]
        assert f'href="/persons/{world.persons[role]}" class="person">{name}</a>' in row
    placed = _row(html, world.contacts["placed"])
    facility = f'href="/quarantine/facilities/H-{world.persons["case"]}"'
    for text in ("Hotel Fenjiang", facility, "房间 R-305", "计划解除"):
        assert text in placed, text
    assert _counts(html) == {"identified": 5, "placed": 1, "home_orders": 1, "awaiting": 3,
                             "overdue": 1}  # fmt: skip

    en = logged_in(world.app, "epi")
    en.cookies.set("fk_lang", "en")
    english = en.get(f"/tracing/cases/{world.case}").text
    for text in ("Centralised quarantine", "Home quarantine", "Awaiting placement",
                 "Placement overdue", "Lost to follow-up", "Missed health check",
                 "room R-305"):  # fmt: skip
        assert text in english, text
    for stored in ("centralised<", "home_quarantine<", "missed_check<", ">awaiting", ">lost<"):
        assert stored not in english, stored


def test_the_counts_equal_the_board(world: World) -> None:
    html = logged_in(world.app, "epi").get(f"/tracing/cases/{world.case}").text
    rules = FigureRules.from_pack(codes_of(world.app).pack, UTC)
    at = clock.now()
    with world.engine.begin() as conn:
        compute_figures(conn, rules, day=at.date(), at=at)
        f = command_figures.c
        board = {
            str(k).removeprefix("contacts."): int(v)
            for k, v in conn.execute(
                select(f.key, f.value).where(f.region_code == COUNTY, f.key.like("contacts.%"))
            )
        }
    assert board == _counts(html)
    assert board["overdue"] == 1  # the world has something to compare


def test_the_management_filter(world: World) -> None:
    epi = logged_in(world.app, "epi")
    url = f"/tracing/cases/{world.case}"

    def shown(state: str) -> set[str]:
        html = epi.get(url, params={"state": state}).text
        assert f'<option value="{state}" selected>' in html  # kept in the form
        return {r for r, c in world.contacts.items() if f'id="contact-{c}"' in html}

    assert shown("overdue") == {"placed", "overdue", "lost"}  # missed check, deadline, lost
    assert shown("awaiting") == {"awaiting", "overdue", "lost"}
    assert shown("centralised") == {"placed"}
    assert shown("home_quarantine") == {"home"}
    assert shown("none") == set()
    html = epi.get(url, params={"state": "overdue"}).text
    assert _counts(html)["identified"] == 5  # the counts stay those of the whole case
    bad = epi.get(url, params={"state": "asleep"})
    assert bad.status_code == 422
    assert "status-error" in bad.text


# read or written on their own schedule, not per page: the clock's stored setting when its
# short cache runs out, a session's last use at most every 30 s (auth.sessions)
HOUSEKEEPING = ("system_clock", "user_sessions")


def _statements(world: World) -> list[str]:
    seen: list[str] = []

    def count(*args: object) -> None:
        sql = str(args[2])
        if not any(table in sql for table in HOUSEKEEPING):
            seen.append(sql.split("FROM")[0][:60])
        elif seen and seen[-1] == "BEGIN":  # the housekeeping write's own transaction
            seen.pop()

    client = logged_in(world.app, "epi")
    sa.event.listen(world.engine, "before_cursor_execute", count)
    try:
        assert client.get(f"/tracing/cases/{world.case}").status_code == 200
    finally:
        sa.event.remove(world.engine, "before_cursor_execute", count)
    return seen


def test_the_page_runs_the_same_queries_for_5_or_50_contacts(
    province: Engine, tmp_path: Path
) -> None:
    app = make_app(province, tmp_path)
    small = build(province, app)
    few = _statements(small)
    large = build(province, app, extra=45)
    assert len(large.contacts) == 50
    assert _statements(large) == few
    assert len(few) < 20
