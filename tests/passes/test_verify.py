"""``check_pass``: every verdict from a stored pass, on SQLite and PostgreSQL; the token
is the pass's own (a health-code token never passes for it, nor the reverse)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update

from fangkong.healthcode import qr
from fangkong.healthcode.errors import ScanMalformed, TokenForged
from fangkong.passes.model import VERDICTS
from fangkong.passes.rules import PassRules
from fangkong.passes.tables import freight_pass_drivers, freight_passes
from fangkong.passes.token import PassKeys, issue_token
from fangkong.passes.verify import PassCheck, check_pass

from .conftest import T0, add_person

SERIAL = "140000-220412-ABC123"
DRIVERS = (901, 902)


@pytest.fixture
def stored(tree: Engine) -> Engine:
    for pid in (*DRIVERS, 903):
        add_person(tree, pid)
    with tree.begin() as conn:
        pass_id = conn.execute(
            insert(freight_passes).values(
                serial=SERIAL, revision=1, plate="晋A12345", vehicle_kind="lorry",
                cargo_class="key_supplies", carrier=None, origin_region="320100",
                destination_region="140105", via=["130100"], closed_loop=False,
                valid_from=T0, valid_until=T0 + timedelta(days=7), region_code="140000",
                issued_at=T0, issued_by="test", pack_ref="protocol-9",
            ).returning(freight_passes.c.id)
        ).scalar_one()  # fmt: skip
        for pid in DRIVERS:
            conn.execute(insert(freight_pass_drivers).values(
                pass_id=pass_id, person_id=pid, tested_at=T0 - timedelta(hours=20),
                code_colour="green", from_risk_area=False))  # fmt: skip
    return tree


def _check(engine: Engine, keys: PassKeys, rules: PassRules, shown: str, **kw: Any) -> PassCheck:
    args: dict[str, Any] = {
        "plate": "晋A12345", "driver_ids": [901], "checkpoint_region": "140105001",
        "at": T0 + timedelta(days=1),
    }  # fmt: skip
    args.update(kw)
    with engine.connect() as conn:
        return check_pass(conn, shown, keys=keys, rules=rules, **args)


def test_a_genuine_token_for_its_vehicle_driver_and_route_is_valid(
    stored: Engine, keys: PassKeys, rules: PassRules
) -> None:
    token = issue_token(keys, SERIAL, 1)
    got = _check(stored, keys, rules, token)
    assert got == PassCheck("valid", SERIAL, "通行证有效", "the pass is valid")
    # the serial typed from the paper, in any case, and both drivers
    assert _check(stored, keys, rules, SERIAL.lower(), driver_ids=[901, 902]).verdict == "valid"
    # the plate as a person types it
    assert _check(stored, keys, rules, token, plate=" 晋a·12345 ").verdict == "valid"


@pytest.mark.parametrize(
    ("shown", "kw", "verdict"),
    [
        ("", {}, "none"),
        ("   ", {}, "none"),
        ("NO-SUCH-SERIAL", {}, "invalid"),
        ("x" * 120, {}, "invalid"),
        ("token", {"plate": "晋B99999"}, "wrong_vehicle"),
        ("token", {"driver_ids": [903]}, "wrong_driver"),
        ("token", {"driver_ids": [901, 903]}, "wrong_driver"),
        ("token", {"driver_ids": []}, "wrong_driver"),
        ("token", {"checkpoint_region": "140212"}, "wrong_route"),  # 大同: off the route
        ("token", {"checkpoint_region": "130102"}, "valid"),  # a via city (石家庄)
        ("token", {"checkpoint_region": "320115"}, "valid"),  # the origin's city (南京)
        ("token", {"at": T0 + timedelta(days=7, minutes=9)}, "valid"),  # within the grace
        ("token", {"at": T0 + timedelta(days=7, minutes=11)}, "expired"),
        ("token", {"at": T0 - timedelta(minutes=11)}, "invalid"),  # not yet in force
    ],
)
def test_each_verdict(
    stored: Engine, keys: PassKeys, rules: PassRules, shown: str, kw: dict[str, Any],
    verdict: str,
) -> None:  # fmt: skip
    token = issue_token(keys, SERIAL, 1) if shown == "token" else shown
    got = _check(stored, keys, rules, token, **kw)
    assert got.verdict == verdict
    assert got.verdict in VERDICTS
    assert got.reason_zh
    assert got.reason_en
    assert got.reason_zh != got.reason_en


def test_revocation_is_read_at_verify_time_and_judged_at_the_crossings_time(
    stored: Engine, keys: PassKeys, rules: PassRules
) -> None:
    token = issue_token(keys, SERIAL, 1)
    revoked = T0 + timedelta(days=2)
    with stored.begin() as conn:
        conn.execute(update(freight_passes).values(revoked_at=revoked, revoked_by="t",
                                                   revoke_reason="r"))  # fmt: skip
    after = _check(stored, keys, rules, token, at=revoked + timedelta(minutes=1))
    assert (after.verdict, after.serial) == ("revoked", SERIAL)
    assert "2022-04-14 09:00" in after.reason_zh  # local time of the revocation
    # a crossing an offline device sends late, made before the revocation, was valid then
    assert _check(stored, keys, rules, token, at=revoked - timedelta(hours=1)).verdict == "valid"


def test_a_renewed_pass_no_longer_takes_its_old_paper(
    stored: Engine, keys: PassKeys, rules: PassRules
) -> None:
    old = issue_token(keys, SERIAL, 1)
    with stored.begin() as conn:
        conn.execute(update(freight_passes).values(revision=2))
    assert _check(stored, keys, rules, old).verdict == "invalid"
    assert _check(stored, keys, rules, issue_token(keys, SERIAL, 2)).verdict == "valid"


def test_a_forged_or_foreign_token_is_invalid_and_names_no_serial(
    stored: Engine, keys: PassKeys, rules: PassRules
) -> None:
    other = PassKeys.generate()  # another province's key, or a forger's
    forged = _check(stored, keys, rules, issue_token(other, SERIAL, 1))
    assert (forged.verdict, forged.serial) == ("invalid", None)
    assert "伪造" in forged.reason_zh
    token = issue_token(keys, SERIAL, 1)
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    assert _check(stored, keys, rules, flipped).verdict == "invalid"


def test_a_health_code_token_never_passes_for_a_pass_nor_the_reverse(
    stored: Engine, keys: PassKeys, rules: PassRules
) -> None:
    # even signed with the very same key pair: kind, length and domain label differ
    code_token = qr.issue_token(keys, qr.new_ref(), T0)
    got = _check(stored, keys, rules, code_token)
    assert (got.verdict, got.serial) == ("invalid", None)
    pass_token = issue_token(keys, SERIAL, 1)
    for shown in (pass_token, pass_token.ljust(qr.TOKEN_CHARS, "A")[: qr.TOKEN_CHARS]):
        with pytest.raises((ScanMalformed, TokenForged)):
            qr.verify_token(keys, shown, T0, validity_s=60, skew_s=10)


def test_a_closed_loop_pass_says_so(stored: Engine, keys: PassKeys, rules: PassRules) -> None:
    with stored.begin() as conn:
        conn.execute(update(freight_passes).values(closed_loop=True, via=[]))
    got = _check(stored, keys, rules, issue_token(keys, SERIAL, 1))
    assert got.verdict == "valid"
    assert "闭环" in got.reason_zh
    # point-to-point: the former via city is now off the route
    assert _check(stored, keys, rules, SERIAL, checkpoint_region="130102").verdict == (
        "wrong_route"
    )


def test_a_naive_time_is_refused(stored: Engine, keys: PassKeys, rules: PassRules) -> None:
    with pytest.raises(ValueError, match="naive"):
        _check(stored, keys, rules, SERIAL, at=datetime(2022, 4, 13, 9, 0))  # noqa: DTZ001


def test_the_interface_the_crossings_call_is_pinned() -> None:
    import dataclasses
    import inspect

    params = inspect.signature(check_pass).parameters
    assert list(params)[:7] == ["conn", "token_or_serial", "plate", "driver_ids",
                                "checkpoint_region", "at", "keys"]  # fmt: skip
    assert [p.kind.name for p in list(params.values())[2:6]] == ["KEYWORD_ONLY"] * 4
    assert all(params[n].default is None for n in ("keys", "rules", "tz"))
    assert [f.name for f in dataclasses.fields(PassCheck)] == [
        "verdict",
        "serial",
        "reason_zh",
        "reason_en",
    ]
    assert PassCheck.__dataclass_params__.frozen  # type: ignore[attr-defined]
