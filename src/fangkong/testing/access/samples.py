"""Registering a sample (采样): the persons named by registry id, resident ID number or the
health-code QR they showed, then the tube, audited. The route only parses and answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from fangkong.auth.guard import Call, inside
from fangkong.auth.jurisdiction import region_exists
from fangkong.auth.records import PERSON_NOT_FOUND
from fangkong.auth.rights import SAMPLE_COLLECT
from fangkong.errors import FangkongError, FieldProblem, Forbidden, InvalidFields, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.identity.resident_id import check_resident_id
from fangkong.identity.sealing import Sealer
from fangkong.store.schema import persons
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, TubeView, collect


@dataclass(frozen=True)
class SampleRequest:
    """A tube as a sampler sends it. The persons: ``person_ids`` (registry ids),
    ``id_numbers`` (resident ID numbers) and ``tokens`` (health-code QR contents), in
    any mix; ``point`` and ``region_code`` default to the device's venue and region,
    ``collector`` to the caller's name."""

    barcode: str
    collected_at: datetime
    person_ids: Sequence[int] = ()
    id_numbers: Sequence[str] = ()
    tokens: Sequence[str] = ()
    purpose: str = "screening"
    point: str | None = None
    region_code: str | None = None
    collector: str | None = None
    campaign_id: int | None = None


def _required(field: str, problem: Problem) -> InvalidFields:
    return InvalidFields(
        problem, [FieldProblem(field, Problem("value.missing", "必填", "required"))]
    )


def person_ids_by_number(
    call: Call, sealer: Sealer, id_numbers: Sequence[str], field: str
) -> list[int]:
    """Registry ids of persons named by resident ID number (through the sealed lookup hash
    only); a bad or unknown number is named by its place in ``field``."""
    today = call.today()
    hashes: list[bytes] = []
    bad: list[FieldProblem] = []
    for i, number in enumerate(id_numbers):
        check = check_resident_id(number, today=today)
        if not check.valid or check.normalized is None:
            bad.append(FieldProblem(f"{field}.{i}", check.problems[0]))
            continue
        hashes.append(sealer.lookup_hash("document", f"resident_id|CHN|{check.normalized}"))
    if bad:
        raise InvalidFields(
            Problem("request.invalid", "身份证号码有误", "an ID number is invalid"), bad
        )
    with call.engine.connect() as conn:
        found = {
            bytes(h): int(i)
            for i, h in conn.execute(
                select(persons.c.id, persons.c.doc_hash).where(persons.c.doc_hash.in_(hashes))
            )
        }
    missing = [
        FieldProblem(f"{field}.{i}", PERSON_NOT_FOUND)
        for i, h in enumerate(hashes)
        if h not in found
    ]
    if missing:
        raise InvalidFields(
            Problem("testing.person_unknown", "未找到此人员", "no such person"), missing
        )
    return [found[h] for h in hashes]


def person_ids_by_token(
    call: Call, codes: CodeContext, tokens: Sequence[str], field: str
) -> list[int]:
    """Registry ids of persons who showed their health-code QR (a signed, current token);
    a forged, expired or unknown one is named by its place in ``field``."""
    from fangkong.healthcode.qr import verify_token
    from fangkong.healthcode.tables import health_codes

    at = call.now()
    refs: list[bytes] = []
    bad: list[FieldProblem] = []
    for i, token in enumerate(tokens):
        try:
            claims = verify_token(
                codes.qr, token, at, validity_s=codes.qr_validity_s, skew_s=codes.qr_skew_s
            )
        except FangkongError as exc:
            bad.append(FieldProblem(f"{field}.{i}", exc.problem))
            continue
        refs.append(claims.ref)
    if not bad:
        with call.engine.connect() as conn:
            found = {
                bytes(r): int(p)
                for r, p in conn.execute(
                    select(health_codes.c.qr_ref, health_codes.c.person_id).where(
                        health_codes.c.qr_ref.in_(refs)
                    )
                )
            }
        bad = [
            FieldProblem(f"{field}.{i}", PERSON_NOT_FOUND)
            for i, r in enumerate(refs)
            if r not in found
        ]
    if bad:
        raise InvalidFields(
            Problem("request.invalid", "健康码无法识别", "a health-code QR was not accepted"), bad
        )
    return [found[r] for r in refs]


def _sample(call: Call, sealer: Sealer, codes: CodeContext, request: SampleRequest) -> Sample:
    """The sample with its persons resolved and its place filled in (not audited: nothing
    is read or written for anyone yet)."""
    if not request.person_ids and not request.id_numbers and not request.tokens:
        raise _required(
            "person_ids", Problem("request.invalid", "请给出被采样人员", "name the persons sampled")
        )
    people = list(request.person_ids)
    if request.id_numbers:
        people += person_ids_by_number(call, sealer, request.id_numbers, "id_numbers")
    if request.tokens:
        people += person_ids_by_token(call, codes, request.tokens, "tokens")
    actor = call.actor
    region = request.region_code or actor.region_code
    point = request.point or actor.venue_code
    if region is None or point is None:
        missing = "region_code" if region is None else "point"
        raise _required(
            missing, Problem("request.invalid", f"请给出 {missing}", f"{missing} is required")
        )
    return Sample(
        request.barcode,
        people,
        point,
        region,
        request.collector or actor.name,
        request.collected_at,
        request.purpose,
        request.campaign_id,
    )


def collect_sample(
    call: Call,
    rules: TestingRules,
    request: SampleRequest,
    *,
    sealer: Sealer,
    codes: CodeContext,
) -> TubeView:
    """Register a sample (``sample.collect``) at a collection point of the actor's
    jurisdiction (a device: its venue's region). The same sample again changes nothing
    (``TubeView.created`` is false)."""
    sample = _sample(call, sealer, codes, request)
    actor = call.actor

    def body(conn: Connection) -> tuple[TubeView, str]:
        call.require(SAMPLE_COLLECT)
        if region_exists(conn, sample.region_code) and not inside(conn, actor, sample.region_code):
            raise Forbidden(
                Problem(
                    "testing.region_forbidden",
                    f"地区 {sample.region_code} 不在您的辖区内",
                    f"region {sample.region_code} is outside your jurisdiction",
                )
            )
        view = collect(conn, rules, sample, codes=codes, by=actor.name, at=call.at)
        return view, f"{view.pool_size} persons, {len(view.orders_done)} orders met"

    return call.audited("testing.collect", "tube", sample.barcode, body)
