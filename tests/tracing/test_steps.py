"""The steps of a case's investigation (``fangkong.tracing.steps``): each stamped with the
system clock and the actor, a second call keeps the first stamp, the report waits for
the core facts, rights and jurisdiction as for the other tracing actions, one audit row
per call (refusals too). Both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from fangkong import clock
from fangkong.auth.guard import Call
from fangkong.auth.model import Actor
from fangkong.auth.rights import FACT_RECORD, PERSON_READ, PERSON_WRITE
from fangkong.errors import Forbidden
from fangkong.policy.loader import load_pack
from fangkong.store.schema import audit_log
from fangkong.tracing.cases import CaseUnknown, get_case, register_case
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.steps import STEPS, StepInvalid, StepOutOfOrder, record_step
from tests.api.helpers import person_ids

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
KEY = b"k" * 32
RIGHTS = frozenset({PERSON_READ, FACT_RECORD, PERSON_WRITE})


def _call(engine: Engine, region: str | None = "140102", rights: frozenset[str] = RIGHTS,
          name: str = "tracer1") -> Call:  # fmt: skip
    return Call(engine, KEY, Actor("user", name, rights, region))


def _case(engine: Engine, county: str) -> int:
    rules = ContactRules.from_pack(load_pack("protocol-9"))
    with clock.frozen(T0):
        case = register_case(engine, person_ids(engine, county)[0], rules,
                             sampled=date(2026, 11, 19))  # fmt: skip
    return case.id


def _audits(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.outcome, audit_log.c.detail)
            .where(audit_log.c.action == "tracing.step")
            .order_by(audit_log.c.seq)
        ).all()
    return [(r.actor, r.outcome, r.detail) for r in rows]


def test_each_step_is_stamped_by_the_clock_once(province: Engine) -> None:
    case = _case(province, "140102")
    call = _call(province)
    for i, s in enumerate(STEPS):
        with clock.frozen(T0 + timedelta(hours=i + 1)):
            stamp = record_step(call, case, s.key)
        assert (stamp.at, stamp.by, stamp.new) == (T0 + timedelta(hours=i + 1), "tracer1", True)
    # again, later, by someone else: the first stamp stays
    with clock.frozen(T0 + timedelta(hours=30)):
        again = record_step(_call(province, name="tracer2"), case, "verified")
    assert (again.at, again.by, again.new) == (T0 + timedelta(hours=1), "tracer1", False)
    view = get_case(province, case)
    assert (view.verified_at, view.on_site_at, view.core_facts_at, view.report_at) == tuple(
        T0 + timedelta(hours=i) for i in (1, 2, 3, 4)
    )
    assert view.report_by == "tracer1"
    audits = _audits(province)
    assert len(audits) == 5
    assert audits[-1] == ("tracer2", "ok", "verified: already stamped")
    assert audits[0] == ("tracer1", "ok", "verified: stamped")


def test_a_pinned_call_stamps_its_business_time(province: Engine) -> None:
    case = _case(province, "140102")
    at = T0 + timedelta(minutes=95)
    stamp = record_step(_call(province).at_time(at), case, "on_site")
    assert stamp.at == at


def test_the_report_waits_for_the_core_facts(province: Engine) -> None:
    case = _case(province, "140102")
    with pytest.raises(StepOutOfOrder) as refused:
        record_step(_call(province), case, "report")
    assert refused.value.problem.code == "tracing.step_out_of_order"
    assert "核心信息查清" in refused.value.problem.text("zh")
    assert get_case(province, case).report_at is None
    record_step(_call(province), case, "core_facts")
    assert record_step(_call(province), case, "report").new


def test_rights_jurisdiction_and_bad_steps_are_refused_and_audited(province: Engine) -> None:
    case = _case(province, "140102")
    with pytest.raises(Forbidden):  # reading is not enough
        record_step(_call(province, rights=frozenset({PERSON_READ, FACT_RECORD})), case,
                    "verified")  # fmt: skip
    with pytest.raises(CaseUnknown):  # another county's tracer: answered as absent
        record_step(_call(province, region="140121"), case, "verified")
    with pytest.raises(CaseUnknown):
        record_step(_call(province), 999_999, "verified")
    with pytest.raises(StepInvalid):
        record_step(_call(province), case, "teatime")
    assert get_case(province, case).verified_at is None
    outcomes = [o for _, o, _ in _audits(province)]
    assert outcomes[0] == "forbidden"
    assert outcomes[1] == "out_of_jurisdiction"
    assert len(outcomes) == 4
