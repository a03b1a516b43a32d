"""The intake job on both backends: the surge ladder in order (open rooms in the county,
then the city, then the province; standby after its lead time; fangcang from the survey
after its activation days; home quarantine only for the groups the pack allows), contact
statuses, periods from the last exposure, cases isolated, not_placed alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, exists, select, update

from fangkong.quarantine.intake import run_intake
from fangkong.quarantine.survey import SiteInput, save_site
from fangkong.quarantine.tables import (
    quarantine_alerts,
    quarantine_facilities,
    quarantine_placements,
)
from fangkong.tracing.tables import tracing_cases, tracing_contacts
from tests.quarantine.helpers import COUNTY_A, COUNTY_B, add, hotel
from tests.quarantine.surge_helpers import (
    COUNTY_C,
    P9,
    active,
    add_city,
    apart,
    case,
    contacts,
    ctx,
    rules,
    statuses,
)

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY = timedelta(days=1)


def _facility(engine: Engine, code: str) -> tuple[str, datetime | None, str]:
    f = quarantine_facilities.c
    with engine.connect() as conn:
        row = conn.execute(select(f.status, f.opens_at, f.kind).where(f.code == code)).one()
    return row.status, row.opens_at, row.kind


def _where(engine: Engine, people: list[int]) -> list[str | None]:
    """The facility code (or "home") of each person's active placement."""
    f = quarantine_facilities.c
    placed = active(engine)
    with engine.connect() as conn:
        codes = dict(conn.execute(select(f.id, f.code)).all())
    return [None if p not in placed else codes.get(placed[p].facility_id, "home") for p in people]


def _gym(engine: Engine, code: str, region: str) -> None:
    # 6,000 m² × 0.6 ÷ 6 m² a bed = 600 beds; 60 toilets × 10 = 600: a fangcang of 600
    # beds in 3 zones (one per 250 beds), so cases and contacts each have their own
    save_site(
        engine,
        SiteInput(code, f"{code} 体育馆", "gym", region, 6000.0, 60, "grid", "road", 3.0),
        by="t",
    )


def _surge_world(engine: Engine) -> list[int]:
    add_city(engine)
    add(
        engine,
        hotel("HA", COUNTY_A, single=1),
        hotel("HB", COUNTY_B, single=1),
        hotel("HC", COUNTY_C, single=1),
        hotel("SA", COUNTY_A, single=1, status="standby"),
        hotel("DH", "140100", single=2, kind="designated_hospital"),  # the cases' (city)
    )
    _gym(engine, "GA", COUNTY_A)
    people = apart(engine, COUNTY_A)
    return people


def test_the_ladder_in_order(province: Engine) -> None:
    people = _surge_world(province)
    source, wave, later = people[0], people[1:7], people[7:10]
    cid = case(province, source, reported=T0 - timedelta(hours=2))
    contacts(province, cid, wave, exposed=T0 - DAY, found=T0 - timedelta(hours=1))
    out = run_intake(province, ctx(), P9, at=T0, by="t", forecast=False)
    # own county, then the same city, then the province: open rooms, nearest reach first
    assert _where(province, wave[:3]) == ["HA", "HB", "HC"]
    assert (out.placed, out.transferred) == ({"hotel": 3, "designated_hospital": 1}, 2)
    assert out.cases_isolated == 1
    # the standby hotel is called: it opens after the pack's lead time (12 h) and the
    # next person waits for it (before the 24 h deadline)
    status, opens, _ = _facility(province, "SA")
    assert (status, opens) == ("activating", T0 + timedelta(hours=12))
    assert (out.standby_activated, out.awaiting) == (1, 1)
    # the surveyed gym becomes a fangcang, open after the survey's 2 activation days: too
    # late for the deadline, so the last two go home (the pack allows it for contacts)
    status, opens, kind = _facility(province, "FCGA")
    assert (status, opens, kind) == ("activating", T0 + 2 * DAY, "fangcang")
    assert out.fangcang_activated == 1
    assert _where(province, wave[3:]) == [None, "home", "home"]
    assert (out.home_fallback, out.home_orders, out.alerts_raised) == (2, 2, 0)
    assert set(statuses(province, wave).values()) == {"quarantined", "identified"}
    assert statuses(province, wave[3:4]) == {wave[3]: "identified"}
    # 12 h later the standby hotel is open and takes the one waiting
    half = run_intake(province, ctx(), P9, at=T0 + timedelta(hours=12), by="t", forecast=False)
    assert (half.opened, half.placed) == (1, {"hotel": 1})
    assert _where(province, wave[3:4]) == ["SA"]
    assert statuses(province, wave[3:4]) == {wave[3]: "quarantined"}
    # two days on, the hotels are full: new close contacts go to the fangcang (the pack's
    # surge kind for close contacts), not home; their case too (its own kinds, the
    # nearest in reach), in a zone of its own
    cid2 = case(province, people[10], reported=T0 + 2 * DAY)
    contacts(province, cid2, later, exposed=T0 + 2 * DAY - timedelta(hours=3), found=T0 + 2 * DAY)
    two = run_intake(province, ctx(), P9, at=T0 + 2 * DAY, by="t", forecast=False)
    assert (two.opened, two.placed) == (1, {"fangcang": 4})
    assert _where(province, later) == ["FCGA"] * 3
    assert two.home_fallback == 0


def test_home_fallback_only_for_groups_the_pack_allows(province: Engine) -> None:
    people = _surge_world(province)
    cid = case(province, people[0], reported=T0 - timedelta(hours=2))
    wave = people[1:7]
    contacts(province, cid, wave, exposed=T0 - DAY, found=T0 - timedelta(hours=1))
    strict = rules(home_fallback={"groups": [], "when": "no_room_by_deadline"})
    out = run_intake(province, ctx(), strict, at=T0, by="t", forecast=False)
    assert (out.home_fallback, out.home_orders) == (0, 0)
    assert _where(province, wave[4:]) == [None, None]
    # an alert with the deadline names each of the two no room reaches in time
    a = quarantine_alerts.c
    with province.connect() as conn:
        rows = conn.execute(
            select(a.person_id, a.kind, a.due_at, a.placement_id, a.resolved_at).order_by(a.id)
        ).all()
    assert sorted(r.person_id for r in rows) == sorted(wave[4:])
    assert {(r.kind, r.due_at, r.placement_id, r.resolved_at) for r in rows} == {
        ("not_placed", T0 - timedelta(hours=2) + DAY, None, None)
    }
    assert (out.alerts_raised, out.overdue) == (2, 0)
    # after the deadline they are overdue; their alerts are not raised twice. The one
    # waiting for the standby hotel (open at 12 h) is placed now, after its deadline: the
    # job did not run in between, so the placement is late and recorded as such
    late = run_intake(province, ctx(), strict, at=T0 + DAY, by="t", forecast=False)
    assert (late.overdue, late.late, late.alerts_raised) == (2, 1, 1)
    # the fangcang opens: they are placed, their alerts resolved, and the placement
    # counted late
    done = run_intake(province, ctx(), strict, at=T0 + 2 * DAY, by="t", forecast=False)
    assert (done.placed, done.alerts_resolved) == ({"fangcang": 2}, 2)
    assert (done.late, done.alerts_raised) == (2, 0)
    with province.connect() as conn:
        left = conn.execute(select(a.id).where(a.resolved_at.is_(None))).all()
        alerts = conn.execute(select(a.id)).all()
    assert (left, len(alerts)) == ([], 3)


def test_no_room_now_sends_contacts_home_at_once(province: Engine) -> None:
    people = _surge_world(province)
    cid = case(province, people[0], reported=T0)
    contacts(province, cid, people[1:6], exposed=T0 - DAY, found=T0)
    now = rules(home_fallback={"groups": ["close_contact"], "when": "no_room_now"})
    out = run_intake(province, ctx(), now, at=T0, by="t", forecast=False)
    # three open rooms in reach; the standby hotel is still called for later, but
    # nobody waits for it
    assert out.placed == {"hotel": 3, "designated_hospital": 1}
    assert (out.home_fallback, out.awaiting) == (2, 0)
    assert out.standby_activated == 1


def test_the_reach_follows_the_pack(province: Engine) -> None:
    people = _surge_world(province)
    cid = case(province, people[0], reported=T0)
    contacts(province, cid, people[1:4], exposed=T0 - DAY, found=T0)
    county_only = rules(reach=["county"], home_fallback={"groups": [], "when": "no_room_now"})
    out = run_intake(province, ctx(), county_only, at=T0, by="t", forecast=False)
    assert (out.placed, out.transferred) == ({"hotel": 1}, 0)
    assert out.cases_waiting == 1  # the designated hospital lies beyond the county's reach
    assert _where(province, people[1:4])[0] == "HA"


def test_periods_count_from_the_last_exposure_and_placements_from_now(province: Engine) -> None:
    people = _surge_world(province)
    cid = case(province, people[0], reported=T0)
    exposed = T0 - 2 * DAY - timedelta(hours=5)
    close = contacts(province, cid, people[1:2], exposed=exposed, found=T0)
    coc = contacts(
        province, cid, people[2:4], exposed=T0 - DAY, found=T0, kind="contact_of_contact"
    )
    # one found after the whole 7+3: nothing is due
    contacts(province, cid, people[4:5], exposed=T0 - 11 * DAY, found=T0)
    out = run_intake(province, ctx(), P9, at=T0, by="t", forecast=False)
    placed = active(province)
    p = placed[people[1]]
    assert (p.kind, p.starts_at, p.period_from) == ("centralised", T0, exposed)
    assert p.planned_end == exposed + 7 * DAY  # v9: 7 days from the last exposure
    for person in coc:  # contacts of close contacts: 7 days at home (protocol-9)
        assert placed[person].kind == "home_quarantine"
        assert placed[person].planned_end == T0 - DAY + 7 * DAY
    assert out.period_over == 1
    assert people[4] not in placed
    assert (out.home_orders, out.placed) == (2, {"hotel": 1, "designated_hospital": 1})
    assert statuses(province, [*close, *coc]) == dict.fromkeys([*close, *coc], "quarantined")


def test_cases_are_isolated_and_contacts_who_became_cases_converted(province: Engine) -> None:
    add(
        province,
        hotel("HA", COUNTY_A, single=2),
        hotel("DH", "140100", single=2, kind="designated_hospital"),
    )
    people = apart(province, COUNTY_A)
    cid = case(province, people[0], reported=T0)
    contacts(province, cid, people[1:2], exposed=T0 - DAY, found=T0)
    first = run_intake(province, ctx(), P9, at=T0, by="t", forecast=False)
    assert (first.cases_isolated, first.placed) == (1, {"designated_hospital": 1, "hotel": 1})
    assert active(province)[people[0]].risk_group == "case"
    with province.connect() as conn:
        isolated = conn.execute(
            select(tracing_cases.c.isolated_at).where(tracing_cases.c.person_id == people[0])
        ).scalar_one()
    assert isolated == T0  # tracing's window of the case closes at its isolation
    # the close contact is registered as a case: the next run ends the contact's
    # placement (converted) and isolates the case in the designated hospital
    case(province, people[1], reported=T0 + DAY)
    second = run_intake(province, ctx(), P9, at=T0 + DAY, by="t", forecast=False)
    assert (second.ended, second.cases_isolated) == (1, 1)
    now = active(province)[people[1]]
    assert (now.risk_group, now.kind) == ("case", "centralised")
    q = quarantine_placements.c
    with province.connect() as conn:
        old = conn.execute(
            select(q.status).where(q.person_id == people[1], q.risk_group == "close_contact")
        ).scalar_one()
    assert old == "converted"


def test_a_standby_without_lead_time_takes_people_in_the_same_run(province: Engine) -> None:
    people = _surge_world(province)
    cid = case(province, people[0], reported=T0)
    wave = people[1:5]
    contacts(province, cid, wave, exposed=T0 - DAY, found=T0)
    at_once = rules(standby_activation_hours=0)
    out = run_intake(province, ctx(), at_once, at=T0, by="t", forecast=False)
    assert (out.standby_activated, out.opened) == (1, 1)
    assert _where(province, wave) == ["HA", "HB", "HC", "SA"]
    assert out.awaiting == 0


def test_a_contact_of_a_contact_found_close_is_placed_as_close(province: Engine) -> None:
    add(province, hotel("DH", "140100", single=2, kind="designated_hospital"))
    people = apart(province, COUNTY_A)
    cid = case(province, people[0], reported=T0)
    (person,) = contacts(province, cid, people[1:2], exposed=T0 - DAY, found=T0,
                         kind="contact_of_contact")  # fmt: skip
    strict = rules(home_fallback={"groups": [], "when": "no_room_now"})
    run_intake(province, ctx(), strict, at=T0, by="t", forecast=False)
    assert active(province)[person].risk_group == "contact_of_contact"  # home, 7 days
    # tracing finds them close now: the home order is cancelled; no room, no fallback
    with province.begin() as conn:
        conn.execute(update(tracing_contacts).where(tracing_contacts.c.person_id == person)
                     .values(kind="close"))  # fmt: skip
    one = run_intake(province, ctx(), strict, at=T0 + DAY, by="t", forecast=False)
    assert (one.ended, one.alerts_raised) == (1, 1)
    assert person not in active(province)
    # still due on the next run (not dropped), and placed once a room exists
    add(province, hotel("HA", COUNTY_A, single=1))
    two = run_intake(province, ctx(), strict, at=T0 + DAY + timedelta(hours=6), by="t",
                     forecast=False)  # fmt: skip
    assert two.placed == {"hotel": 1}
    assert active(province)[person].risk_group == "close_contact"


def test_cases_get_the_deadline_when_the_pack_lists_them(province: Engine) -> None:
    people = apart(province, COUNTY_A)
    case(province, people[0], reported=T0)
    listed = rules(deadline_groups=["close_contact", "case"])
    out = run_intake(province, ctx(), listed, at=T0, by="t", forecast=False)
    assert (out.cases_waiting, out.alerts_raised) == (1, 1)  # no bed anywhere, nothing comes
    a = quarantine_alerts.c
    with province.connect() as conn:
        due = conn.execute(select(a.due_at).where(a.person_id == people[0])).scalar_one()
    assert due == T0 + DAY
    assert run_intake(province, ctx(), P9, at=T0, by="t", forecast=False).alerts_raised == 0


def test_due_reads_only_contacts_not_already_as_severely_placed(
    province: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``due_for_placement`` leaves out in SQL the contacts already placed under a group
    as severe as theirs (issue 19: most of them, at 1,000,000 persons); what it finds is
    what reading every contact finds: placed close contacts and contacts of contacts,
    one now found close (under a less severe group), one whose order was cancelled, and
    open ones with no room."""
    from fangkong.quarantine import demand

    add(province, hotel("HA", COUNTY_A, single=4),
        hotel("DH", "140100", single=2, kind="designated_hospital"))  # fmt: skip
    people = apart(province, COUNTY_A)
    cid = case(province, people[0], reported=T0)
    contacts(province, cid, people[1:4], exposed=T0 - DAY, found=T0)
    contacts(province, cid, people[4:7], exposed=T0 - DAY, found=T0,
                   kind="contact_of_contact")  # fmt: skip
    strict = rules(home_fallback={"groups": [], "when": "no_room_now"})
    run_intake(province, ctx(), strict, at=T0, by="t", forecast=False)
    with province.begin() as conn:  # found close: under a less severe group now
        conn.execute(update(tracing_contacts).where(tracing_contacts.c.person_id == people[4])
                     .values(kind="close"))  # fmt: skip
    run_intake(province, ctx(), strict, at=T0 + DAY, by="t", forecast=False)  # cancels one
    with province.begin() as conn:  # and one more found close, left under its order
        conn.execute(update(tracing_contacts).where(tracing_contacts.c.person_id == people[5])
                     .values(kind="close"))  # fmt: skip
    contacts(province, cid, people[7:9], exposed=T0, found=T0 + DAY)  # open, no room yet
    at = T0 + DAY + timedelta(hours=2)
    with province.connect() as conn:
        got = demand.due_for_placement(conn, strict, at=at)
    nobody = exists().where(quarantine_placements.c.id.is_(None))  # never: every row read
    monkeypatch.setattr(demand, "_settled", lambda *_: nobody)
    with province.connect() as conn:
        every = demand.due_for_placement(conn, strict, at=at)
    assert got == every
    assert {d.person_id for d in got.due} >= {people[5], *people[7:9]}
    assert len(active(province)) >= 4  # some were placed: left out by the SQL
