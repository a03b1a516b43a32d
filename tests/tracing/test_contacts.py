"""Contact management on both backends: dedupe, statuses, idempotent re-trace, hand-off,
chains. A small world: A and G are cases; C met both at the market (close), E met A
briefly (general), B lives with A (close by household), D lives with C and F works with
C (contacts of a close contact under protocol-9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from sqlalchemy import Engine, func, select

from fangkong.healthcode.codes import current_code
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.healthcode.tables import person_facts
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.policy.model import Colour
from fangkong.store.schema import households, persons, regions, venues
from fangkong.tracing.cases import register_case
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.files import CHECKIN_SCHEMA
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.statuses import (
    StatusInvalid,
    TransitionRefused,
    set_contact_status,
    status_history,
)
from fangkong.tracing.tables import (
    tracing_cases,
    tracing_contact_changes,
    tracing_contacts,
    tracing_exposures,
)
from fangkong.tracing.trace_job import trace_case
from fangkong.tracing.views import case_chains, clusters, contacts_of_case

SEALER = Sealer(bytes(range(32)))
AT = datetime(2022, 3, 20, 13, 0, tzinfo=UTC)


def _t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 3, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    engine: Engine
    ids: dict[str, int]  # letter → person id


def _world(engine: Engine) -> World:
    with engine.begin() as conn:
        conn.execute(regions.insert().values(code="140102", level="county", name="某区"))
        for code in ("H1", "H2", "H3"):
            conn.execute(households.insert().values(code=code, residence_code="140102"))
        for code, kind in (("V-MARKET", "market"), ("V-OFFICE", "workplace")):
            conn.execute(venues.insert().values(code=code, name=code, type=kind,
                                                region_code="140102"))  # fmt: skip
        homes = {"A": "H1", "B": "H1", "C": "H2", "D": "H2", "E": None, "F": None, "G": "H3"}
        work = {"C": "V-OFFICE", "F": "V-OFFICE"}
        ids = {}
        for i, (letter, home) in enumerate(homes.items()):
            number = f"P{i:07d}"
            ids[letter] = conn.execute(
                persons.insert().values(
                    doc_type="passport", doc_country="FRA",
                    doc_hash=SEALER.lookup_hash("document", f"passport|FRA|{number}"),
                    doc_sealed=SEALER.seal("document", number), name=f"Person {letter}",
                    sex="M", birth_date=date(1980, 1, 1), occupation="other",
                    household_code=home, residence_code="140102", venue_code=work.get(letter),
                ).returning(persons.c.id)
            ).scalar_one()  # fmt: skip
    return World(engine, ids)


@pytest.fixture
def world(engine: Engine) -> World:
    return _world(engine)


def _checkins(w: World) -> CheckinSource:
    stays = [  # letter, venue, in, out
        ("A", "V-MARKET", _t(18, 10), _t(18, 11)),
        ("C", "V-MARKET", _t(18, 10, 30), _t(18, 11, 30)),  # 30 min with A: close
        ("E", "V-MARKET", _t(18, 10, 55), _t(18, 11, 30)),  # 5 min with A: general
        ("G", "V-MARKET", _t(18, 10), _t(18, 10, 40)),  # 40 min with A: close
        ("G", "V-MARKET", _t(19, 9), _t(19, 10)),
        ("C", "V-MARKET", _t(19, 9, 15), _t(19, 10)),  # 45 min with G, a day later
    ]
    table = pa.table(
        [
            pa.array([f"e{i}" for i in range(len(stays))]),
            pa.array([str(w.ids[s[0]]) for s in stays]),
            pa.array([s[1] for s in stays]),
            pa.array(["restaurant"] * len(stays)),
            pa.array([s[2] for s in stays], pa.timestamp("s", tz="UTC")),
            pa.array([s[3] for s in stays], pa.timestamp("s", tz="UTC")),
        ],
        schema=CHECKIN_SCHEMA,
    )
    return CheckinSource.from_table(table, ContactRules.shipped("protocol-9"))


def _codes(pack: str) -> CodeContext:
    return CodeContext(pack=load_pack(pack), sealer=SEALER, qr=QrKeys.generate())


def _case(
    w: World, letter: str, sampled: date, isolated: datetime, pack: str = "protocol-9"
) -> int:
    rules = ContactRules.shipped(pack)
    return register_case(w.engine, w.ids[letter], rules, sampled=sampled, isolated_at=isolated,
                         at=AT).id  # fmt: skip


def _contact(w: World, letter: str) -> tuple[int, str, str, datetime]:
    with w.engine.connect() as conn:
        r = conn.execute(
            select(tracing_contacts).where(tracing_contacts.c.person_id == w.ids[letter])
        ).one()
    return r.id, r.kind, r.status, r.last_exposure_at


def _facts(w: World, letter: str, kind: str) -> list[datetime]:
    with w.engine.connect() as conn:
        return list(
            conn.execute(
                select(person_facts.c.starts_at)
                .where(person_facts.c.person_id == w.ids[letter], person_facts.c.kind == kind)
                .order_by(person_facts.c.starts_at)
            ).scalars()
        )


def test_a_person_met_by_two_cases_is_one_contact_driven_by_the_latest_exposure(
    world: World,
) -> None:
    rules, codes, source = (
        ContactRules.shipped("protocol-9"),
        _codes("protocol-9"),
        _checkins(world),
    )
    a = _case(world, "A", date(2022, 3, 20), _t(20, 12))
    g = _case(world, "G", date(2022, 3, 20), _t(20, 12))
    trace_case(world.engine, a, source, rules, codes=codes, at=AT)
    _, kind, _, first_last = _contact(world, "C")
    assert (kind, first_last) == ("close", _t(18, 11))
    assert _facts(world, "C", "close_contact") == [_t(18, 11)]
    trace_case(world.engine, g, source, rules, codes=codes, at=AT)
    cid, kind, _, last = _contact(world, "C")
    assert (kind, last) == ("close", _t(19, 10))  # G's exposure came a day later
    with world.engine.connect() as conn:
        n = conn.execute(
            select(func.count()).select_from(tracing_contacts)
            .where(tracing_contacts.c.person_id == world.ids["C"])
        ).scalar_one()  # fmt: skip
        cases_of_c = set(
            conn.execute(
                select(tracing_exposures.c.case_id).where(tracing_exposures.c.contact_id == cid)
            ).scalars()
        )
    assert n == 1
    assert cases_of_c == {a, g}
    # the latest fact is the one the code rules read (only the latest exposure counts)
    assert _facts(world, "C", "close_contact")[-1] == _t(19, 10)
    # E only met A briefly: a general contact, no fact, code not touched
    assert _contact(world, "E")[1] == "general"
    assert _facts(world, "E", "close_contact") == []


def test_status_moves_are_checked_and_kept(world: World) -> None:
    rules = ContactRules.shipped("protocol-9")
    a = _case(world, "A", date(2022, 3, 20), _t(20, 12))
    trace_case(world.engine, a, _checkins(world), rules, at=AT)
    cid = _contact(world, "C")[0]
    with pytest.raises(TransitionRefused) as refused:
        set_contact_status(world.engine, cid, "released", by="tracer1", reason="done", at=AT)
    assert refused.value.code == "tracing.transition_refused"
    assert "identified" in refused.value.problem.message_en
    with pytest.raises(StatusInvalid):
        set_contact_status(world.engine, cid, "sleeping", by="tracer1", reason="x", at=AT)
    with pytest.raises(StatusInvalid):
        set_contact_status(world.engine, cid, "notified", by="tracer1", reason="  ", at=AT)
    for status in ("notified", "quarantined", "monitoring", "released"):
        set_contact_status(world.engine, cid, status, by="tracer1", reason=f"to {status}", at=AT)
    with pytest.raises(TransitionRefused):
        set_contact_status(world.engine, cid, "quarantined", by="tracer1", reason="x", at=AT)
    history = status_history(world.engine, cid)
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "identified"), ("identified", "notified"), ("notified", "quarantined"),
        ("quarantined", "monitoring"), ("monitoring", "released"),
    ]  # fmt: skip
    assert {h.by for h in history[1:]} == {"tracer1"}
    assert _contact(world, "C")[2] == "released"


def _snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    tables = (tracing_contacts, tracing_exposures, tracing_contact_changes, person_facts)
    with engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in tables
        }


def test_a_second_trace_changes_nothing(world: World) -> None:
    rules, codes, source = (
        ContactRules.shipped("protocol-9"),
        _codes("protocol-9"),
        _checkins(world),
    )
    a = _case(world, "A", date(2022, 3, 20), _t(20, 12))
    first = trace_case(world.engine, a, source, rules, codes=codes, at=AT)
    assert first.exposures_new > 0
    before = _snapshot(world.engine)
    again = trace_case(world.engine, a, source, rules, codes=codes, at=AT)
    assert (again.exposures_new, again.exposures_updated, again.facts_new) == (0, 0, 0)
    assert sum(again.new_contacts.values()) == 0
    assert _snapshot(world.engine) == before
    # once the close contacts are quarantined, their contacts' exposure has ended too:
    # a later re-trace finds the same
    for letter in ("B", "C", "G"):
        set_contact_status(world.engine, _contact(world, letter)[0], "quarantined",
                           by="tracer1", reason="quarantine hotel", at=AT)  # fmt: skip
    before = _snapshot(world.engine)
    later = trace_case(world.engine, a, source, rules, codes=codes, at=AT + timedelta(hours=5))
    assert (later.exposures_new, later.exposures_updated, later.facts_new) == (0, 0, 0)
    assert _snapshot(world.engine) == before


@pytest.mark.parametrize("pack", ["protocol-9", "twenty-measures"])
def test_hand_off_turns_codes_by_the_pack(world: World, pack: str) -> None:
    rules, codes = ContactRules.shipped(pack), _codes(pack)
    a = _case(world, "A", date(2022, 3, 20), _t(20, 12), pack)
    outcome = trace_case(world.engine, a, _checkins(world), rules, codes=codes, at=AT)
    assert outcome.facts_new > 0
    for close in ("B", "C", "G"):  # household, market, market
        code = current_code(world.engine, world.ids[close])
        assert code is not None, close
        assert code.colour is Colour.RED, close
    e_code = current_code(world.engine, world.ids["E"])  # general: no fact, a green code
    assert e_code is not None
    assert (e_code.colour, e_code.reasons) == (Colour.GREEN, ())
    a_code = current_code(world.engine, world.ids["A"])  # registered: the case fact
    assert a_code is not None
    assert a_code.colour is Colour.RED
    assert [r.rule_id for r in a_code.reasons] == ["case"]
    d_code = current_code(world.engine, world.ids["D"])
    if pack == "protocol-9":  # C's household and workplace: 7 days home quarantine, red
        assert _contact(world, "D")[1] == _contact(world, "F")[1] == "contact_of_contact"
        assert d_code is not None
        assert d_code.colour is Colour.RED
        assert outcome.found["contact_of_contact"] == 2
    else:  # twenty-measures no longer traces contacts of close contacts
        assert outcome.found["contact_of_contact"] == 0
        assert d_code is not None
        assert d_code.colour is Colour.GREEN
        with world.engine.connect() as conn:
            kinds = set(conn.execute(select(tracing_contacts.c.kind)).scalars())
        assert "contact_of_contact" not in kinds


def test_a_contact_who_becomes_a_case_links_the_chains(world: World) -> None:
    rules, source = ContactRules.shipped("protocol-9"), _checkins(world)
    a = _case(world, "A", date(2022, 3, 20), _t(20, 12))
    trace_case(world.engine, a, source, rules, at=AT)
    assert [ch.cases for ch in case_chains(world.engine)] == [(a,)]
    g_contact = _contact(world, "G")[0]
    g = _case(world, "G", date(2022, 3, 21), _t(21, 12))
    assert _contact(world, "G")[2] == "became_case"
    assert status_history(world.engine, g_contact)[-1].to_status == "became_case"
    trace_case(world.engine, g, source, rules, at=AT + timedelta(days=1))
    chains = case_chains(world.engine)
    assert len(chains) == 1
    assert chains[0].cases == tuple(sorted((a, g)))
    assert chains[0].roots == (a,)
    assert chains[0].links == ((a, g),)
    # the market links them as a cluster too
    found = clusters(world.engine, source, rules)
    assert [(c.cases, dict(c.venues)) for c in found] == [(tuple(sorted((a, g))), {"V-MARKET": 2})]
    listed = contacts_of_case(world.engine, a)
    assert [c.kind for c in listed][:1] == ["close"]
    c_view = next(c for c in listed if c.person_id == world.ids["C"])
    assert [(e.setting, e.place_code, e.overlap_seconds) for e in c_view.exposures] == [
        ("venue", "V-MARKET", 1800)
    ]
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tracing_cases)).scalar_one() == 2


def test_a_traced_restaurant_names_close_contacts_by_table(world: World) -> None:
    """Stored on both backends: A's table (C) close, the next table (E, G) general even
    after an hour, B without a table code close (the whole restaurant); a re-trace keeps
    the same rows."""
    from fangkong.tracing.files import ZONED_CHECKIN_SCHEMA

    stays = [  # letter, zone, in, out
        ("A", "Z01", _t(18, 12), _t(18, 13)),
        ("C", "Z01", _t(18, 12), _t(18, 13)),
        ("E", "Z02", _t(18, 12), _t(18, 13)),
        ("G", "Z03", _t(18, 12, 10), _t(18, 13)),
        ("B", None, _t(18, 12, 30), _t(18, 13)),
    ]
    table = pa.table(
        [
            pa.array([f"z{i}" for i in range(len(stays))]),
            pa.array([str(world.ids[s[0]]) for s in stays]),
            pa.array(["V-MARKET"] * len(stays)),  # the code does not matter: the type does
            pa.array(["restaurant"] * len(stays)),
            pa.array([s[2] for s in stays], pa.timestamp("s", tz="UTC")),
            pa.array([s[3] for s in stays], pa.timestamp("s", tz="UTC")),
            pa.array([s[1] for s in stays], pa.string()),
        ],
        schema=ZONED_CHECKIN_SCHEMA,
    )
    rules = ContactRules.shipped("protocol-9")
    source = CheckinSource.from_table(table, rules)
    a = _case(world, "A", date(2022, 3, 20), _t(20, 12))
    first = trace_case(world.engine, a, source, rules, at=AT)
    with world.engine.connect() as conn:
        venue_kinds = dict(conn.execute(
            select(tracing_contacts.c.person_id, tracing_exposures.c.kind)
            .join(tracing_contacts, tracing_contacts.c.id == tracing_exposures.c.contact_id)
            .where(tracing_exposures.c.setting == "venue")
        ).all())  # fmt: skip
    letter = {v: k for k, v in world.ids.items()}
    assert {letter[p]: k for p, k in venue_kinds.items()} == {
        "C": "close", "E": "general", "G": "general", "B": "close",
    }  # fmt: skip
    assert first.exposures_new > 0
    again = trace_case(world.engine, a, source, rules, at=AT)
    assert (again.exposures_new, again.exposures_updated) == (0, 0)
