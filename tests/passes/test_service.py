"""Issue and revoke on SQLite and PostgreSQL: the pack's rules refuse what does not
qualify (every refusal named, in both languages); an issued pass verifies."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from fangkong.errors import Conflict, InvalidFields, NotFound
from fangkong.identity.sealing import Sealer
from fangkong.passes import service
from fangkong.passes.rules import PassRules
from fangkong.passes.service import DriverIn, PassRequest
from fangkong.passes.token import PassKeys, issue_token
from fangkong.passes.verify import check_pass
from fangkong.store.listing import Bounded
from fangkong.store.schema import persons

from .conftest import T0, TZ, resident_id

DRIVER = DriverIn(resident_id("320102", 1), "张三", T0 - timedelta(hours=30))
REQUEST = PassRequest(
    plate="晋a·12345", vehicle_kind="lorry", cargo_class="key_supplies",
    origin_region="320100", destination_region="140105", valid_from=T0,
    valid_until=T0 + timedelta(days=10), region_code="140000", drivers=(DRIVER,),
    via=("130100",), carrier="太原蔬菜物流有限公司",
)  # fmt: skip


def _issue(engine: Engine, rules: PassRules, sealer: Sealer, req: PassRequest = REQUEST,
           **kw: Any) -> service.Issued:  # fmt: skip
    with engine.begin() as conn:
        return service.issue(conn, req, at=kw.get("at", T0), by="commander", rules=rules,
                             sealer=sealer, tz=TZ)  # fmt: skip


def _refusals(engine: Engine, rules: PassRules, sealer: Sealer, req: PassRequest) -> set[str]:
    with pytest.raises(InvalidFields) as err:
        _issue(engine, rules, sealer, req)
    for f in err.value.fields:
        assert f.problem.message_zh != f.problem.message_en
    return {f.field for f in err.value.fields}


def test_an_issued_pass_verifies_and_its_driver_is_a_registry_person(
    tree: Engine, rules: PassRules, sealer: Sealer, keys: PassKeys
) -> None:
    issued = _issue(tree, rules, sealer)
    assert issued.created_persons == 1
    assert not issued.closed_loop
    with tree.connect() as conn:
        view = service.read_pass(conn, issued.serial)
        got = check_pass(conn, issue_token(keys, issued.serial, issued.revision),
                         plate="晋A12345", driver_ids=list(issued.driver_ids),
                         checkpoint_region="140105001", at=T0 + timedelta(hours=3),
                         keys=keys, rules=rules)  # fmt: skip
        sealed = conn.execute(select(persons.c.doc_sealed).where(
            persons.c.id == issued.driver_ids[0])).scalar_one()  # fmt: skip
    assert got.verdict == "valid"
    assert (view.plate, view.via, view.pack_ref) == ("晋A12345", ("130100",), rules.source)
    assert view.drivers[0].name == "张三"
    assert DRIVER.id_number.encode() not in bytes(sealed)  # the document is sealed
    # the same driver on a second pass is the same person
    again = _issue(tree, rules, sealer, replace(REQUEST, plate="晋A54321"))
    assert (again.created_persons, again.driver_ids) == (0, issued.driver_ids)
    assert again.serial != issued.serial


def test_what_does_not_qualify_is_refused_field_by_field(
    tree: Engine, rules: PassRules, sealer: Sealer
) -> None:
    stale = replace(DRIVER, tested_at=T0 - timedelta(hours=49))  # 48 h: 互认 but not older
    red = replace(DRIVER, id_number=resident_id("320102", 2), code_colour="red")
    bad = replace(
        REQUEST, plate="A1", cargo_class="ordinary", vehicle_kind="car",
        origin_region="32", valid_until=T0 + timedelta(days=31), drivers=(stale, red),
    )  # fmt: skip
    assert _refusals(tree, rules, sealer, bad) == {
        "plate", "cargo_class", "vehicle_kind", "origin_region", "valid_until",
        "drivers.0.tested_at", "drivers.1.code_colour",
    }  # fmt: skip
    four = tuple(replace(DRIVER, id_number=resident_id("320102", i)) for i in range(1, 5))
    assert _refusals(tree, rules, sealer, replace(REQUEST, drivers=four)) == {"drivers"}
    dup = replace(REQUEST, drivers=(DRIVER, DRIVER))  # check_persons sees the repeat
    assert _refusals(tree, rules, sealer, dup) == {"drivers.1.id_number"}
    wrong_id = replace(DRIVER, id_number="320102198001010010")
    assert _refusals(tree, rules, sealer, replace(REQUEST, drivers=(wrong_id,))) == {
        "drivers.0.id_number"
    }
    with tree.connect() as conn:
        assert conn.execute(select(func.count()).select_from(persons)).scalar_one() == 0


def test_a_driver_from_a_risk_area_travels_point_to_point(
    tree: Engine, rules: PassRules, sealer: Sealer
) -> None:
    risky = replace(DRIVER, from_risk_area=True)
    with_via = replace(REQUEST, drivers=(risky,))
    assert _refusals(tree, rules, sealer, with_via) == {"via"}
    issued = _issue(tree, rules, sealer, replace(with_via, via=()))
    assert issued.closed_loop
    refusing = replace(rules, risk_area_drivers="refuse")
    assert _refusals(tree, refusing, sealer, replace(with_via, via=())) == {
        "drivers.0.from_risk_area"
    }


def test_revoke_once_with_a_reason_then_verify_says_revoked(
    tree: Engine, rules: PassRules, sealer: Sealer, keys: PassKeys
) -> None:
    issued = _issue(tree, rules, sealer)
    at = T0 + timedelta(days=1)
    with tree.begin() as conn, pytest.raises(InvalidFields):
        service.revoke(conn, issued.serial, reason="  ", at=at, by="commander")
    with tree.begin() as conn:
        view = service.revoke(conn, issued.serial, reason="驾驶员核酸阳性", at=at, by="commander")
    assert (view.revoked_at, view.revoke_reason) == (at, "驾驶员核酸阳性")
    with tree.begin() as conn, pytest.raises(Conflict):
        service.revoke(conn, issued.serial, reason="again", at=at, by="commander")
    with tree.begin() as conn, pytest.raises(NotFound):
        service.revoke(conn, "NO-SUCH", reason="x", at=at, by="commander")
    with tree.connect() as conn:
        got = check_pass(conn, issued.serial, plate="晋A12345", driver_ids=issued.driver_ids,
                         checkpoint_region="140105", at=at + timedelta(minutes=1), keys=keys,
                         rules=rules)  # fmt: skip
    assert got.verdict == "revoked"


def test_the_list_pages_and_filters_by_status_at_a_time(
    tree: Engine, rules: PassRules, sealer: Sealer
) -> None:
    first = _issue(tree, rules, sealer)
    later = replace(REQUEST, plate="晋A54321", valid_from=T0 + timedelta(days=2))
    _issue(tree, rules, sealer, later)
    at = T0 + timedelta(days=1)
    with tree.begin() as conn:
        service.revoke(conn, first.serial, reason="r", at=at, by="c")
    with tree.connect() as conn:
        for status, plates in (("revoked", ["晋A12345"]), ("pending", ["晋A54321"]),
                               ("valid", []), (None, ["晋A54321", "晋A12345"])):  # fmt: skip
            page = Bounded(sort="plate", descending=True)
            rows, total = service.page_passes(conn, page, at=at + timedelta(hours=1),
                                              status=status)  # fmt: skip
            assert [r.plate for r in rows] == plates
            assert total == len(plates)
        rows, _ = service.page_passes(conn, None, at=at, plate="晋a 54321")
        assert [r.plate for r in rows] == ["晋A54321"]
        rows, _ = service.page_passes(conn, None, at=at, where=lambda c: c == "140105")
        assert rows == []


def test_renewal_is_a_new_revision_with_fresh_tests(
    tree: Engine, rules: PassRules, sealer: Sealer, keys: PassKeys
) -> None:
    issued = _issue(tree, rules, sealer)
    driver = issued.driver_ids[0]
    at = T0 + timedelta(days=5)
    until = at + timedelta(days=20)
    with tree.begin() as conn, pytest.raises(InvalidFields) as err:
        service.renew(conn, issued.serial, valid_until=until, tested={}, at=at, rules=rules)
    assert [f.field for f in err.value.fields] == ["drivers.0.tested_at"]
    with tree.begin() as conn, pytest.raises(InvalidFields) as err:
        service.renew(conn, issued.serial, valid_until=at + timedelta(days=31),
                      tested={driver: at - timedelta(hours=2)}, at=at, rules=rules)  # fmt: skip
    assert [f.field for f in err.value.fields] == ["valid_until"]
    with tree.begin() as conn:
        fresh = {driver: at - timedelta(hours=2)}
        view = service.renew(conn, issued.serial, valid_until=until, tested=fresh, at=at,
                             rules=rules)  # fmt: skip
    assert (view.revision, view.valid_from, view.valid_until) == (2, at, until)
    assert view.drivers[0].tested_at == at - timedelta(hours=2)
    later = at + timedelta(days=10)  # past the first period, inside the renewed one
    with tree.connect() as conn:
        args: dict[str, Any] = {"plate": "晋A12345", "driver_ids": [driver],
                                "checkpoint_region": "140105", "at": later, "keys": keys,
                                "rules": rules}  # fmt: skip
        assert check_pass(conn, issue_token(keys, issued.serial, 1), **args).verdict == "invalid"
        assert check_pass(conn, issue_token(keys, issued.serial, 2), **args).verdict == "valid"
    with tree.begin() as conn:
        service.revoke(conn, issued.serial, reason="r", at=later, by="c")
    with tree.begin() as conn, pytest.raises(Conflict):
        service.renew(conn, issued.serial, valid_until=until,
                      tested={driver: later}, at=later, rules=rules)  # fmt: skip
