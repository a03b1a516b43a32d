"""Hypothesis strategies: random fact histories on a coarse time grid (ties and exact
boundaries are frequent, which is where single and bulk evaluation could disagree)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from fangkong.healthcode.facts import (
    ArrivalFact,
    CaseFact,
    Enrolment,
    ExposureFact,
    ManualFact,
    PeriodFact,
    PersonFacts,
    ResidenceFact,
    TestFact,
)
from fangkong.healthcode.writer import FactInput
from fangkong.policy.model import Colour

T0 = datetime(2022, 6, 1, tzinfo=UTC)
GROUPS = ("general", "key_daily", "key_twice_weekly", "not_in_pack")

# 12-hour steps over 15 days, plus an odd minute now and then
times = st.builds(
    lambda step, minute: T0 + timedelta(hours=12 * step, minutes=minute),
    st.integers(0, 30),
    st.sampled_from([0, 0, 0, 1, 30]),
)
maybe_time = st.none() | times


@st.composite
def tests(draw: st.DrawFn) -> TestFact:
    sampled = draw(times)
    result = draw(st.sampled_from(["negative", "negative", "positive", "pending"]))
    reported = None
    if result != "pending":
        reported = sampled + timedelta(hours=draw(st.sampled_from([0, 6, 12, 24, 36])))
    return TestFact(sampled, result, reported, draw(st.booleans()))


small = {"max_size": 2}
person_facts = st.builds(
    PersonFacts,
    cases=st.lists(
        st.builds(CaseFact, st.sampled_from(["confirmed", "asymptomatic", "suspected"]),
                  times, maybe_time), **small
    ).map(tuple),
    exposures=st.lists(
        st.builds(ExposureFact, st.sampled_from(["close_contact", "contact_of_contact",
                                                 "companion"]), times), **small
    ).map(tuple),
    arrivals=st.lists(
        st.builds(ArrivalFact, st.sampled_from(["high", "medium", "low", "inbound"]), times,
                  st.sampled_from(["", "上海市"])), **small
    ).map(tuple),
    tests=st.lists(tests(), max_size=6).map(tuple),
    enrolment=st.none() | st.builds(Enrolment, st.sampled_from(GROUPS), times),
    residences=st.lists(
        st.builds(ResidenceFact, st.sampled_from(["high", "medium"]), times, maybe_time),
        **small,
    ).map(tuple),
    clinic_visits=st.lists(times, **small).map(tuple),
    periods=st.lists(
        st.builds(PeriodFact, st.sampled_from(["centralised_quarantine", "home_quarantine",
                                               "home_monitoring"]), times, maybe_time), **small
    ).map(tuple),
    manual=st.lists(
        st.builds(ManualFact, st.sampled_from(list(Colour)), times, maybe_time,
                  st.just("人工核实"), st.just("checked by hand"), st.just("officer")),
        **small,
    ).map(tuple),
)  # fmt: skip


def as_inputs(facts: PersonFacts, tag: str) -> list[FactInput]:
    """Facts to store for a drawn history; ``tag`` makes their client event ids unique. A
    case's discharge is stored as its own fact (which closes the latest case open then)."""
    out: list[FactInput] = []
    for c in facts.cases:
        out.append(FactInput("case", c.diagnosed_at, None, {"status": c.status}))
        if c.discharged_at is not None:
            out.append(FactInput("discharge", c.discharged_at))
    out += [FactInput(x.kind, x.exposed_at) for x in facts.exposures]
    out += [FactInput("arrival", a.arrived_at, None, {"risk": a.risk, "origin": a.origin})
            for a in facts.arrivals]  # fmt: skip
    for k, t in enumerate(facts.tests):
        detail: dict[str, object] = {"result": t.result, "pooled": t.pooled,
                                     "sample_id": f"{tag}-s{k}"}  # fmt: skip
        if t.reported_at is not None:
            detail["reported_at"] = t.reported_at.isoformat()
        out.append(FactInput("test", t.sampled_at, None, detail))
    if facts.enrolment is not None:
        e = facts.enrolment
        out.append(FactInput("enrolment", e.since, None, {"group": e.group}))
    out += [FactInput("residence", r.since, r.until, {"level": r.level, "area": r.area})
            for r in facts.residences]  # fmt: skip
    out += [FactInput("clinic_visit", v) for v in facts.clinic_visits]
    out += [FactInput("period", q.start, q.end, {"period": q.kind, "place": q.place})
            for q in facts.periods]  # fmt: skip
    out += [
        FactInput("manual", m.since, m.until, {"colour": m.colour.label, "note_zh": m.note_zh,
                  "note_en": m.note_en, "decided_by": m.decided_by})
        for m in facts.manual
    ]  # fmt: skip
    return [replace(f, client_event_id=f"{tag}-{k}") for k, f in enumerate(out)]
