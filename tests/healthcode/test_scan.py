"""Dynamic QR tokens and scan verification, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fangkong.errors import FangkongError
from fangkong.healthcode.codes import issue_qr, record_fact
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys, issue_token, new_ref, qr_image, verify_token
from fangkong.healthcode.scan_verdict import ScanVerdict
from fangkong.healthcode.scanning import perform_scan
from fangkong.healthcode.tables import scans
from fangkong.healthcode.writer import FactInput
from fangkong.policy import Colour
from tests.healthcode.conftest import ID_LI, ID_NOBODY, ID_ZHANG, NOW, World

S = timedelta(seconds=1)


def _code(exc: pytest.ExceptionInfo[FangkongError]) -> str:
    return exc.value.code


def test_token_round_trip_and_refusals() -> None:
    keys, ref = QrKeys.generate(), new_ref()
    token = issue_token(keys, ref, NOW)
    assert len(token) == 114
    assert "=" not in token
    claims = verify_token(keys, token, NOW + 30 * S, validity_s=60, skew_s=10)
    assert claims.ref == ref
    assert claims.issued_at == NOW
    verify_token(keys, token, NOW + 70 * S, validity_s=60, skew_s=10)  # within skew
    cases = {
        "scan.token_expired": (token, NOW + 71 * S),
        "scan.token_not_yet_valid": (token, NOW - 11 * S),
        "scan.token_forged": (issue_token(QrKeys.generate(), ref, NOW), NOW),
        "scan.malformed": (token[:-3], NOW),
    }
    raw = bytearray(base64.urlsafe_b64decode(token + "=="))
    raw[5] ^= 1  # one bit of the reference changed
    cases["scan.token_forged "] = (base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), NOW)
    cases["scan.malformed "] = ("!" * 114, NOW)
    for code, (text, now) in cases.items():
        with pytest.raises(FangkongError) as caught:
            verify_token(keys, text, now, validity_s=60, skew_s=10)
        assert caught.value.code == code.strip()


def test_qr_images(tmp_path: Path) -> None:
    token = issue_token(QrKeys.generate(), new_ref(), NOW)
    png = qr_image(token, tmp_path / "code.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in qr_image(token, tmp_path / "code.svg").read_text()


def _scan(w: World, ctx: CodeContext, venue: str, what: str, event: str) -> ScanVerdict:
    return perform_scan(w.engine, ctx, venue, what, NOW, event, now=NOW)


def test_scan_by_token_is_stored_once(world: World, ctx: CodeContext) -> None:
    token = issue_qr(world.engine, ctx, world.zhang, now=NOW)
    verdict = perform_scan(world.engine, ctx, "V-SCHOOL", token, NOW, "ev-1", now=NOW + 5 * S)
    assert (verdict.colour, verdict.allowed, verdict.flagged) == (Colour.GREEN, True, False)
    assert verdict.masked_name == "张*丰"
    assert verdict.by == "token"
    again = perform_scan(world.engine, ctx, "V-SCHOOL", token, NOW, "ev-1", now=NOW + 500 * S)
    assert again == verdict
    assert again.repeated
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scans)).scalar_one() == 1
    with pytest.raises(FangkongError) as caught:  # same token, new event id: a screenshot
        perform_scan(world.engine, ctx, "V-MARKET", token, NOW, "ev-2", now=NOW + 6 * S)
    assert _code(caught) == "scan.token_replayed"
    with pytest.raises(FangkongError) as caught:  # same event id, other content
        perform_scan(world.engine, ctx, "V-MARKET", token, NOW, "ev-1", now=NOW + 6 * S)
    assert _code(caught) == "scan.event_conflict"


def test_venue_policies(world: World, ctx: CodeContext) -> None:
    record_fact(world.engine, ctx, world.li, FactInput("clinic_visit", NOW - timedelta(hours=1)),
                recorded_by="clinic", now=NOW)  # fmt: skip
    arrival = FactInput(
        "arrival", NOW - timedelta(days=2), detail={"risk": "low", "origin": "上海市"}
    )
    record_fact(world.engine, ctx, world.li, arrival, recorded_by="port", now=NOW)
    school = _scan(world, ctx, "V-SCHOOL", ID_LI, "s1")
    assert (school.colour, school.allowed, school.flagged) == (Colour.YELLOW, False, True)
    assert school.reasons[0].rule_id == "fever_clinic"
    assert "学校不允许黄码进入" in school.notes[-1].zh
    clinic = _scan(world, ctx, "V-FEVER", ID_LI, "s2")
    assert (clinic.allowed, clinic.flagged) == (True, True)
    check = _scan(world, ctx, "V-CHECK", ID_LI, "s3")
    assert "上海市" in check.notes[0].zh
    assert "low-risk" in check.notes[0].en
    market = _scan(world, ctx, "V-MARKET", ID_ZHANG, "s4")  # no policy of its own: default
    assert (market.colour, market.allowed) == (Colour.GREEN, True)
    dry = perform_scan(world.engine, ctx, "V-MARKET", ID_ZHANG, NOW, "s5", now=NOW, dry_run=True)
    assert dry.allowed
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scans)).scalar_one() == 4


@pytest.mark.parametrize(
    ("venue", "what", "code"),
    [("V-NOPE", ID_ZHANG, "scan.venue_unknown"),
     ("V-MARKET", ID_NOBODY, "scan.person_unknown"),
     ("V-MARKET", "110105194912310021", "scan.malformed"),
     ("V-MARKET", "hello", "scan.malformed"),
     ("V-MARKET", "", "scan.malformed")],
)  # fmt: skip
def test_refusals_have_their_own_codes(
    world: World, ctx: CodeContext, venue: str, what: str, code: str
) -> None:
    with pytest.raises(FangkongError) as caught:
        perform_scan(world.engine, ctx, venue, what, NOW, "e1", now=NOW)
    assert caught.value.code == code
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scans)).scalar_one() == 0


def test_expired_and_forged_tokens_are_refused_at_the_door(world: World, ctx: CodeContext) -> None:
    token = issue_qr(world.engine, ctx, world.zhang, now=NOW)
    later = NOW + 120 * S  # shown two minutes after it was issued, scanned live
    with pytest.raises(FangkongError) as caught:
        perform_scan(world.engine, ctx, "V-MARKET", token, later, "e1", now=later)
    assert caught.value.code == "scan.token_expired"
    other = CodeContext(ctx.pack, ctx.sealer, QrKeys.generate())
    forged = issue_qr(world.engine, other, world.zhang, now=NOW)
    with pytest.raises(FangkongError) as caught:
        perform_scan(world.engine, ctx, "V-MARKET", forged, NOW, "e2", now=NOW)
    assert caught.value.code == "scan.token_forged"
    with pytest.raises(FangkongError) as caught:
        perform_scan(world.engine, ctx, "V-MARKET", ID_ZHANG, NOW, "", now=NOW)
    assert caught.value.code == "scan.malformed"


def test_offline_scans_are_checked_at_their_device_time(world: World, ctx: CodeContext) -> None:
    """A scanner offline for hours sends its queue later: each token is checked as of the
    scan's device time, the verdict is the code as it was then, the stored code is not
    touched; beyond ctx.offline_s, and for a token used before, the scan is refused."""
    token = issue_qr(world.engine, ctx, world.zhang, now=NOW)
    with world.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(scans)).scalar_one()
    sent = NOW + timedelta(hours=5)
    verdict = perform_scan(world.engine, ctx, "V-MARKET", token, NOW + 20 * S, "off-1", now=sent)
    assert verdict.device_time == NOW + 20 * S
    assert verdict.received_at == sent
    assert not verdict.repeated
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scans)).scalar_one() == before + 1
    with pytest.raises(FangkongError) as caught:  # the same token again, offline too
        perform_scan(world.engine, ctx, "V-SCHOOL", token, NOW + 30 * S, "off-2", now=sent)
    assert caught.value.code == "scan.token_replayed"
    fresh = issue_qr(world.engine, ctx, world.zhang, now=NOW)
    too_late = NOW + timedelta(seconds=ctx.offline_s + 21)
    with pytest.raises(FangkongError) as caught:
        perform_scan(world.engine, ctx, "V-MARKET", fresh, NOW + 20 * S, "off-3", now=too_late)
    assert caught.value.code == "scan.too_late"
