"""Crossings (车辆通行查验): record a vehicle through a checkpoint, idempotent by its ref.

A device (token scope ``checkpoint``), a file or the desk's page sends one crossing: the
plate, the people (driver, passengers, by identity document), origin, travel history,
destination, cargo and the pass's QR text. The flow, one transaction::

    check the values (bounds: ref, plate, region codes, people ≤ max_people, the device's
        time within its window — a late, offline submission is accepted while inside it)
      ─▶ (checkpoint, ref) stored before: the stored outcome, nothing written (a resent
         crossing with other values is a conflict, nothing is silently replaced)
      ─▶ people sealed and matched to the registry by sealed document (created if absent,
         as arrivals registers travellers: registry.persons.find_or_create_by_document)
      ─▶ facts: each person's code colour (healthcode's stored code), a negative test
         within test_valid_hours (testing's results, or the one the person shows from
         another province: 互认), a stay in a risk area (riskareas.touching over the
         history window); the pass verified by one call (``verify_pass``: passes'
         ``check_pass``) — 'none' when no pass is shown or no verifier is given
      ─▶ the outcome (logistics.check, pure)
      ─▶ the crossing and its people stored; people without a valid test sampled through
         testing's own collection (the result flows and a positive is chased: 即走即追);
         people for the closed loop handed to arrivals as a highway manifest from the
         checkpoint's venue (its own service), their traveller id kept

``counts_by_hour`` gives throughput per checkpoint per hour (road status reads it).
The checkpoint registry (``add_checkpoint``, ``list_checkpoints``...) is here too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, bindparam, select

from fangkong import bounds
from fangkong.arrivals.manifests import ManifestHeader, register_manifest
from fangkong.arrivals.rules import ArrivalRules
from fangkong.errors import BadInput, Conflict, FieldProblem, InvalidFields, NotFound, Problem
from fangkong.healthcode.codes import stored_colours
from fangkong.healthcode.context import CodeContext
from fangkong.identity.sealing import Sealer
from fangkong.logistics.check import CrossingCheck, PersonCheck, PersonFacts, check_crossing
from fangkong.logistics.model import (
    CARGO_CLASSES,
    CHECKPOINT_KINDS,
    DIRECTIONS,
    PASS_VERDICTS,
    PERSON_ROLES,
    VEHICLE_KINDS,
)
from fangkong.logistics.rules import LogisticsRules
from fangkong.logistics.tables import checkpoints, crossing_people, crossings
from fangkong.registry.persons import find_or_create_by_document
from fangkong.registry.reader import Batch
from fangkong.registry.validate.cells import Context
from fangkong.registry.validate.persons import check_persons
from fangkong.riskareas.touching import levels_touching
from fangkong.settings import default_tz
from fangkong.store.listing import Bounded, fetch
from fangkong.store.schema import persons, regions, venues
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, collect
from fangkong.testing.validity import latest_negative

REF = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")
REGION = re.compile(r"[0-9]{6,12}")
# 省份简称 + 发牌机关代号 + 4–6 位（不含 I、O），新能源 6 位，挂/学/警/港/澳/领 尾字
PLATE = re.compile(
    "[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    "[A-Z][A-HJ-NP-Z0-9]{4,6}[挂学警港澳领]?"
)
MAX_HISTORY = 60  # places in a travel history
ARRIVAL_VIA = {"api": "api", "file": "import", "form": "form"}


class CheckpointUnknown(NotFound):
    """logistics.checkpoint_unknown: no checkpoint with this code (or for this venue)."""


class CrossingConflict(Conflict):
    """logistics.crossing_conflict: the ref is taken by another crossing at this checkpoint."""


class CheckpointConflict(Conflict):
    """logistics.checkpoint_conflict: the code or the venue belongs to another checkpoint."""


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(f"logistics.{code}", zh, en)


# ---- the wire-neutral shapes --------------------------------------------------------------


@dataclass(frozen=True)
class PersonIn:
    """A driver or passenger as the device, file or desk gives them."""

    role: str  # driver | passenger
    id_type: str
    id_number: str
    name: str
    id_country: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    phone: str | None = None
    # the sampling time of a negative test the person shows from elsewhere (互认)
    negative_test_at: datetime | None = None
    sample_barcode: str | None = None  # the tube scanned when sampled (else one is named)


@dataclass(frozen=True)
class CrossingIn:
    checkpoint_code: str
    ref: str  # the device's idempotency key
    at: datetime  # when the vehicle crossed (the device's clock)
    direction: str
    plate: str
    vehicle_kind: str
    cargo_class: str
    origin_region: str
    destination_region: str
    history: Sequence[str]
    people: Sequence[PersonIn]
    pass_token: str | None = None  # the pass's QR text or serial
    waited_minutes: int | None = None
    destination_address: str | None = None


@dataclass(frozen=True)
class PersonOut:
    person_id: int
    role: str
    code_colour: str
    test_valid: bool
    from_risk_area: bool
    sampled: bool
    outcome: str
    traveller_id: int | None
    sample_barcode: str | None
    rule_id: str
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class CrossingOut:
    id: int
    checkpoint_code: str
    ref: str
    at: datetime
    plate: str
    outcome: str
    pass_verdict: str
    pass_serial: str | None
    pass_reason_zh: str
    pass_reason_en: str
    priority: bool
    rule_id: str
    reason_zh: str
    reason_en: str
    people: tuple[PersonOut, ...]
    created: bool = True  # False: sent before, the stored outcome


class PassVerdict(Protocol):
    """What passes' ``check_pass`` answers (``fangkong.passes.verify.PassCheck``)."""

    @property
    def verdict(self) -> str: ...
    @property
    def serial(self) -> str | None: ...
    @property
    def reason_zh(self) -> str: ...
    @property
    def reason_en(self) -> str: ...


# check_pass(conn, token_or_serial, *, plate, driver_ids, checkpoint_region, at)
PassVerifier = Callable[..., PassVerdict]

_NO_PASS = ("未出示通行证", "no pass shown")
_UNVERIFIED = (
    "通行证暂无法核验，按无通行证查验",
    "the pass cannot be verified yet: checked as none",
)


# ---- checking the values ------------------------------------------------------------------


def normalise_plate(text: str) -> str:
    """A plate as typed → its stored form (spaces, dots and dashes dropped, upper case)."""
    return re.sub(r"[\s·.\-]", "", text or "").upper()


def _problems(c: CrossingIn, rules: LogisticsRules, now: datetime) -> list[FieldProblem]:
    bad: list[FieldProblem] = []

    def add(name: str, code: str, zh: str, en: str) -> None:
        bad.append(FieldProblem(name, _p(code, f"{name}：{zh}", f"{name}: {en}")))

    if not REF.fullmatch(c.ref or ""):
        add(
            "ref",
            "ref",
            "应为 1–64 位字母、数字或 _ . : -",
            "must be 1–64 letters, digits or _ . : -",
        )
    if not PLATE.fullmatch(normalise_plate(c.plate)):
        add(
            "plate",
            "plate",
            "车牌号格式无效（如 晋A12345）",
            "is not a plate number (e.g. 晋A12345)",
        )
    for name, value, allowed in (
        ("direction", c.direction, DIRECTIONS),
        ("vehicle_kind", c.vehicle_kind, VEHICLE_KINDS),
        ("cargo_class", c.cargo_class, CARGO_CLASSES),
    ):
        if value not in allowed:
            add(
                name,
                name,
                f"应为 {'、'.join(allowed)} 之一",
                f"must be one of {', '.join(allowed)}",
            )
    for name, value in (("origin_region", c.origin_region),
                        ("destination_region", c.destination_region)):  # fmt: skip
        if not REGION.fullmatch(value or ""):
            add(name, "region", "应为 6–12 位区划代码", "must be a 6–12 digit region code")
    if len(c.history) > MAX_HISTORY:
        add("history", "history", f"最多 {MAX_HISTORY} 处", f"at most {MAX_HISTORY} places")
    for i, place in enumerate(c.history, start=1):
        if not isinstance(place, str) or not REGION.fullmatch(place):
            add(
                f"history[{i}]",
                "region",
                "应为 6–12 位区划代码",
                "must be a 6–12 digit region code",
            )
    if c.at.tzinfo is None:
        add("at", "at", "须带时区", "must carry a time zone")
    elif (late := bounds.instant_problem(c.at, "device", "at", now=now)) is not None:
        bad.append(FieldProblem("at", late))
    if c.waited_minutes is not None and not 0 <= c.waited_minutes <= rules.max_waited_minutes:
        add("waited_minutes", "waited", f"应为 0–{rules.max_waited_minutes} 分钟",
            f"must be 0–{rules.max_waited_minutes} minutes")  # fmt: skip
    if c.pass_token is not None and not 1 <= len(c.pass_token.strip()) <= 2000:
        add("pass", "pass", "通行证内容应为 1–2000 个字符", "the pass must be 1–2000 characters")
    if c.destination_address is not None and not 1 <= len(c.destination_address) <= 300:
        add("destination_address", "address", "应为 1–300 个字符", "must be 1–300 characters")
    if not 1 <= len(c.people) <= rules.max_people:
        add("people", "people", f"应为 1–{rules.max_people} 人（政策包 max_people）",
            f"must be 1–{rules.max_people} people (pack max_people)")  # fmt: skip
    elif not any(p.role == "driver" for p in c.people):
        add("people", "driver", "至少一名司机", "needs a driver")
    for i, p in enumerate(c.people, start=1):
        if p.role not in PERSON_ROLES:
            add(
                f"people[{i}].role",
                "role",
                "应为 driver 或 passenger",
                "must be driver or passenger",
            )
        if p.sample_barcode is not None and not CODE.fullmatch(p.sample_barcode):
            add(f"people[{i}].sample_barcode", "barcode", "应为 1–40 位字母、数字、- 或 _",
                "must be 1–40 letters, digits, - or _")  # fmt: skip
        if p.negative_test_at is not None and (
            p.negative_test_at.tzinfo is None
            or bounds.instant_problem(p.negative_test_at, "device", "negative_test_at", now=now)
        ):
            add(f"people[{i}].negative_test_at", "test_at", "应为带时区的采样时间，不晚于现在",
                "must be a sampling time with a zone, not in the future")  # fmt: skip
    return bad


def _invalid(c: CrossingIn, bad: Sequence[FieldProblem]) -> InvalidFields:
    zh = "；".join(f.problem.message_zh for f in bad[:5])
    en = "; ".join(f.problem.message_en for f in bad[:5])
    return InvalidFields(
        _p(
            "crossing_invalid",
            f"通行记录 {c.ref!r} 未登记：{zh}",
            f"crossing {c.ref!r} not recorded: {en}",
        ),
        list(bad),
    )


def _sealed_people(
    c: CrossingIn, sealer: Sealer, today: Any
) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    cols = ("id_type", "id_number", "id_country", "name", "sex", "birth_date", "phone")
    n = len(c.people)
    text: dict[str, list[str | None]] = {
        col: [(getattr(p, col) or None) for p in c.people] for col in cols
    }
    for col in ("household_code", "residence_code", "venue_code", "unit_code", "occupation"):
        text[col] = [None] * n
    checked = check_persons(Batch(1, text, n), Context(today=today, sealer=sealer))
    bad = [FieldProblem(f"people[{r.row}].{r.column}", r.problem) for r in checked.problems]
    rows = sorted(checked.rows, key=lambda r: int(r["_row"]))
    seen: dict[bytes, int] = {}
    for r in rows:
        i = int(r["_row"])
        if r["doc_hash"] in seen:
            bad.append(
                FieldProblem(
                    f"people[{i}].id_number",
                    _p("person_twice", "同一人出现两次", "the same person appears twice"),
                )
            )
        seen[r["doc_hash"]] = i
    return rows, bad


# ---- the checkpoint registry --------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointIn:
    code: str
    name: str
    kind: str
    region_code: str
    road: str
    latitude: float
    longitude: float
    lanes: int = 1
    venue_code: str | None = None


def add_checkpoint(conn: Connection, cp: CheckpointIn) -> bool:
    """Add a checkpoint (True), or find it already stored as given (False); the same code
    with other values, or a venue another checkpoint holds, is a conflict."""
    bad: list[FieldProblem] = []

    def add(name: str, zh: str, en: str) -> None:
        bad.append(FieldProblem(name, _p("checkpoint_invalid", f"{name}：{zh}", f"{name}: {en}")))

    if not CODE.fullmatch(cp.code or ""):
        add("code", "应为 1–40 位字母、数字、- 或 _", "must be 1–40 letters, digits, - or _")
    if not cp.name or not cp.name.strip() or len(cp.name) > 100:
        add("name", "应为 1–100 个字符", "must be 1–100 characters")
    if cp.kind not in CHECKPOINT_KINDS:
        add("kind", f"应为 {'、'.join(CHECKPOINT_KINDS)} 之一",
            f"must be one of {', '.join(CHECKPOINT_KINDS)}")  # fmt: skip
    if not cp.road or not cp.road.strip() or len(cp.road) > 60:
        add("road", "应为 1–60 个字符", "must be 1–60 characters")
    if not (-90 <= cp.latitude <= 90 and -180 <= cp.longitude <= 180):
        add("latitude", "经纬度超出范围", "latitude or longitude out of range")
    if not 1 <= cp.lanes <= 64:
        add("lanes", "应为 1–64", "must be 1–64")
    known = conn.execute(select(regions.c.code).where(regions.c.code == cp.region_code)).first()
    if known is None:
        add(
            "region_code",
            f"区划 {cp.region_code!r} 不存在",
            f"region {cp.region_code!r} is unknown",
        )
    if cp.venue_code is not None:
        venue = conn.execute(select(venues.c.code).where(venues.c.code == cp.venue_code)).first()
        if venue is None:
            add(
                "venue_code",
                f"场所 {cp.venue_code!r} 不存在",
                f"venue {cp.venue_code!r} is unknown",
            )
    if bad:
        raise InvalidFields(
            _p(
                "checkpoint_invalid",
                "卡口未保存：" + "；".join(f.problem.message_zh for f in bad),
                "checkpoint not saved: " + "; ".join(f.problem.message_en for f in bad),
            ),
            bad,
        )
    values = {
        "code": cp.code,
        "name": cp.name.strip(),
        "kind": cp.kind,
        "region_code": cp.region_code,
        "road": cp.road.strip(),
        "latitude": float(cp.latitude),
        "longitude": float(cp.longitude),
        "venue_code": cp.venue_code,
        "lanes": cp.lanes,
    }
    old = conn.execute(select(checkpoints).where(checkpoints.c.code == cp.code)).first()
    if old is not None:
        if {k: getattr(old, k) for k in values} != values:
            raise CheckpointConflict(
                _p(
                    "checkpoint_conflict",
                    f"卡口 {cp.code} 已存在，内容不同",
                    f"checkpoint {cp.code} exists with other values",
                )
            )
        return False
    if cp.venue_code is not None:
        holder = conn.execute(
            select(checkpoints.c.code).where(checkpoints.c.venue_code == cp.venue_code)
        ).scalar()
        if holder is not None:
            raise CheckpointConflict(
                _p(
                    "checkpoint_conflict",
                    f"场所 {cp.venue_code} 已属于卡口 {holder}",
                    f"venue {cp.venue_code} already belongs to checkpoint {holder}",
                )
            )
    conn.execute(checkpoints.insert().values(**values))
    return True


_CHECKPOINT = select(checkpoints).where(checkpoints.c.code == bindparam("code"))
_BY_VENUE = select(checkpoints).where(checkpoints.c.venue_code == bindparam("venue"))
_STORED = select(crossings).where(
    crossings.c.checkpoint_code == bindparam("cp"), crossings.c.ref == bindparam("ref")
)
_REGION = select(regions.c.code).where(regions.c.code == bindparam("code"))
_INSERT = crossings.insert().returning(crossings.c.id)
_INSERT_PEOPLE = crossing_people.insert()


def get_checkpoint(conn: Connection, code: str) -> Row[Any]:
    row = conn.execute(_CHECKPOINT, {"code": code}).first()
    if row is None:
        raise CheckpointUnknown(
            _p("checkpoint_unknown", f"无此卡口 {code!r}", f"no checkpoint {code!r}")
        )
    return row


def checkpoint_of_venue(conn: Connection, venue_code: str | None) -> Row[Any]:
    """The checkpoint a device's venue belongs to."""
    row = conn.execute(_BY_VENUE, {"venue": venue_code}).first() if venue_code else None
    if row is None:
        raise CheckpointUnknown(
            _p(
                "checkpoint_unknown",
                f"场所 {venue_code!r} 不属于任何卡口",
                f"venue {venue_code!r} belongs to no checkpoint",
            )
        )
    return row


CHECKPOINT_SORTS = {
    "code": checkpoints.c.code,
    "name": checkpoints.c.name,
    "kind": checkpoints.c.kind,
    "road": checkpoints.c.road,
    "region": checkpoints.c.region_code,
}


def list_checkpoints(
    conn: Connection, *, regions_in: Any = None, bounded: Bounded | None = None
) -> tuple[list[Row[Any]], int]:
    """Checkpoints (inside ``regions_in``, a subquery of region codes, when given)."""
    query = select(checkpoints)
    if regions_in is not None:
        query = query.where(checkpoints.c.region_code.in_(regions_in))
    return fetch(conn, query, bounded, CHECKPOINT_SORTS, [checkpoints.c.code])


CROSSING_SORTS = {
    "at": crossings.c.at,
    "plate": crossings.c.plate,
    "outcome": crossings.c.outcome,
    "cargo": crossings.c.cargo_class,
    "pass": crossings.c.pass_verdict,
}


def list_crossings(
    conn: Connection, checkpoint_code: str, *, since: datetime, until: datetime,
    bounded: Bounded | None = None,
) -> tuple[list[Row[Any]], int]:  # fmt: skip
    """The crossings of one checkpoint in [since, until), latest first."""
    query = select(crossings).where(
        crossings.c.checkpoint_code == checkpoint_code,
        crossings.c.at >= since,
        crossings.c.at < until,
    )
    return fetch(conn, query, bounded, CROSSING_SORTS, [crossings.c.at.desc(), crossings.c.id])


def people_of(conn: Connection, crossing_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
    """Crossing id → its people rows, driver first."""
    out: dict[int, list[Row[Any]]] = {}
    if not crossing_ids:
        return out
    for r in conn.execute(
        select(crossing_people)
        .where(crossing_people.c.crossing_id.in_(list(crossing_ids)))
        .order_by(crossing_people.c.crossing_id, crossing_people.c.id)
    ):
        out.setdefault(int(r.crossing_id), []).append(r)
    return out


# ---- recording ----------------------------------------------------------------------------


@dataclass
class _Facts:
    colours: dict[int, str] = field(default_factory=dict)
    tested: dict[int, bool] = field(default_factory=dict)
    risk: dict[int, tuple[str, str] | None] = field(default_factory=dict)


def _facts(conn: Connection, c: CrossingIn, ids: Sequence[int], rules: LogisticsRules) -> _Facts:
    facts = _Facts()
    valid_since = c.at - timedelta(hours=rules.test_valid_hours)
    negatives = latest_negative(conn, ids, since=valid_since, until=c.at)
    window = c.at - timedelta(days=rules.history_days)
    places = [c.origin_region, *c.history]
    touched = levels_touching(conn, places, window, c.at)
    worst = max(
        (touched[p] for p in places if p in touched),
        key=lambda t: ("low", "medium", "high").index(t[0]),
        default=None,
    )
    colours = stored_colours(conn, ids)
    for pid, p in zip(ids, c.people, strict=True):
        facts.colours[pid] = colours.get(pid, "none")
        shown = p.negative_test_at is not None and valid_since <= p.negative_test_at <= c.at
        facts.tested[pid] = pid in negatives or shown
        facts.risk[pid] = worst  # the vehicle's history is each of its people's
    return facts


def _barcode(c: CrossingIn, index: int) -> str:
    digest = hashlib.blake2b(
        f"{c.checkpoint_code}|{c.ref}|{index}".encode(), digest_size=12
    ).hexdigest()
    return f"LG{digest.upper()}"


def _verify(
    conn: Connection, c: CrossingIn, plate: str, driver_ids: Sequence[int], region: str,
    verify_pass: PassVerifier | None,
) -> tuple[str, str | None, str, str]:  # fmt: skip
    if c.pass_token is None or not c.pass_token.strip():
        return "none", None, *_NO_PASS
    if verify_pass is None:
        return "none", None, *_UNVERIFIED
    got = verify_pass(
        conn, c.pass_token.strip(), plate=plate, driver_ids=list(driver_ids),
        checkpoint_region=region, at=c.at,
    )  # fmt: skip
    verdict = got.verdict if got.verdict in PASS_VERDICTS else "invalid"
    serial = (got.serial or None) and str(got.serial)[:32]
    return verdict, serial, got.reason_zh, got.reason_en


def record_crossing(
    conn: Connection,
    crossing: CrossingIn,
    *,
    at: datetime,
    actor: str,
    via: str,
    rules: LogisticsRules,
    sealer: Sealer,
    codes: CodeContext | None = None,
    arrival_rules: ArrivalRules | None = None,
    testing_rules: TestingRules | None = None,
    verify_pass: PassVerifier | None = None,
    tz: ZoneInfo | None = None,
) -> CrossingOut:
    """Record one crossing and act on its outcome (see the module docstring), inside the
    caller's transaction; ``at`` is when it is recorded (the crossing's own time is
    ``crossing.at``). The same (checkpoint, ref) again returns the stored outcome."""
    tz = tz or (codes.tz if codes is not None else default_tz())
    bad = _problems(crossing, rules, at)
    if bad:
        raise _invalid(crossing, bad)
    cp = get_checkpoint(conn, crossing.checkpoint_code)
    plate = normalise_plate(crossing.plate)
    sealed, bad = _sealed_people(crossing, sealer, at.astimezone(tz).date())
    if bad:
        raise _invalid(crossing, bad)
    old = conn.execute(_STORED, {"cp": cp.code, "ref": crossing.ref}).first()
    if old is not None:
        return _replayed(conn, old, crossing, plate, sealed, rules)
    in_province = crossing.destination_region
    known = conn.execute(_REGION, {"code": in_province}).first()
    residence = in_province if known is not None else cp.region_code
    ids, _ = find_or_create_by_document(conn, sealed, [residence] * len(sealed), at)
    facts = _facts(conn, crossing, ids, rules)
    drivers = [pid for pid, p in zip(ids, crossing.people, strict=True) if p.role == "driver"]
    verdict, serial, pass_zh, pass_en = _verify(
        conn, crossing, plate, drivers, cp.region_code, verify_pass
    )
    person_facts = [
        PersonFacts(
            p.role,
            facts.colours[pid],
            facts.tested[pid],
            *(facts.risk[pid] or (None, "")),
        )
        for pid, p in zip(ids, crossing.people, strict=True)
    ]
    outcome = check_crossing(
        person_facts,
        rules,
        cargo_class=crossing.cargo_class,
        verdict=verdict,
        direction=crossing.direction,
    )
    crossing_id = int(
        conn.execute(
            _INSERT,
            {
                "checkpoint_code": cp.code,
                "ref": crossing.ref,
                "at": crossing.at.astimezone(UTC),
                "direction": crossing.direction,
                "plate": plate,
                "vehicle_kind": crossing.vehicle_kind,
                "cargo_class": crossing.cargo_class,
                "origin_region": crossing.origin_region,
                "destination_region": crossing.destination_region,
                "history": list(crossing.history),
                "pass_serial": serial,
                "pass_verdict": verdict,
                "outcome": outcome.outcome,
                "waited_minutes": crossing.waited_minutes,
                "recorded_at": at,
                "recorded_by": actor[:80],
                "via": via,
            },
        ).scalar_one()
    )
    barcodes = _sample(conn, crossing, cp, ids, outcome, rules, codes, testing_rules, actor, at)
    travellers = _hand_over(
        conn, crossing, crossing_id, cp, residence, ids, outcome, rules, sealer, codes,
        arrival_rules, actor, via, tz, at,
    )  # fmt: skip
    conn.execute(
        _INSERT_PEOPLE,
        [
            {
                "crossing_id": crossing_id,
                "person_id": pid,
                "role": p.role,
                "code_colour": f.colour,
                "test_valid": f.test_valid,
                "from_risk_area": o.from_risk_area,
                "sampled": o.sampled,
                "traveller_id": travellers.get(pid),
                "sample_barcode": barcodes.get(pid),
            }
            for pid, p, f, o in zip(ids, crossing.people, person_facts, outcome.people, strict=True)
        ],
    )
    return _out(
        crossing_id, cp.code, crossing.ref, crossing.at, plate, outcome, verdict, serial,
        pass_zh, pass_en, ids, crossing.people, person_facts, travellers, barcodes, True,
    )  # fmt: skip


def _sample(
    conn: Connection, c: CrossingIn, cp: Row[Any], ids: Sequence[int], outcome: CrossingCheck,
    rules: LogisticsRules, codes: CodeContext | None, testing_rules: TestingRules | None,
    actor: str, at: datetime,
) -> dict[int, str]:  # fmt: skip
    """Sample each person the check samples (即采即走) through testing's own collection."""
    barcodes: dict[int, str] = {}
    wanted = [(i, pid, p) for i, (pid, p, o) in
              enumerate(zip(ids, c.people, outcome.people, strict=True)) if o.sampled]  # fmt: skip
    if not wanted:
        return barcodes
    trules = testing_rules or (TestingRules.from_pack(codes.pack) if codes is not None else None)
    if trules is None:
        raise BadInput(
            _p("no_testing_rules", "采样需要检测规则", "sampling needs the testing rules")
        )
    for i, pid, p in wanted:
        barcode = p.sample_barcode or _barcode(c, i)
        collect(
            conn,
            trules,
            Sample(
                barcode=barcode,
                person_ids=[pid],
                point=f"{cp.name}"[:80],
                region_code=cp.region_code,
                collector=actor[:80] or "checkpoint",
                collected_at=c.at,
                purpose=rules.sample_purpose,
            ),
            codes=codes,
            by=actor,
            at=at,
        )
        barcodes[pid] = barcode
    return barcodes


def _hand_over(
    conn: Connection, c: CrossingIn, crossing_id: int, cp: Row[Any], destination: str,
    ids: Sequence[int], outcome: CrossingCheck, rules: LogisticsRules, sealer: Sealer,
    codes: CodeContext | None, arrival_rules: ArrivalRules | None, actor: str, via: str,
    tz: ZoneInfo, at: datetime,
) -> dict[int, int]:  # fmt: skip
    """Hand the people of the closed loop to arrivals: a highway manifest from the
    checkpoint's venue, registered by arrivals' own service (never lost between stages)."""
    loop = [(pid, p, o) for pid, p, o in zip(ids, c.people, outcome.people, strict=True)
            if o.closed_loop]  # fmt: skip
    if not loop:
        return {}
    arules = arrival_rules or (ArrivalRules.from_pack(codes.pack) if codes is not None else None)
    if arules is None:
        raise BadInput(
            _p(
                "no_arrival_rules",
                "闭环移交需要入境规则",
                "the closed loop needs the arrival rules",
            )
        )
    if cp.venue_code is None:
        raise BadInput(
            _p(
                "no_arrival_point",
                f"卡口 {cp.code} 未绑定场所：无法移交闭环（请为卡口登记其场所）",
                f"checkpoint {cp.code} has no venue: cannot hand people to the closed loop "
                "(register the checkpoint's venue)",
            )
        )
    start = (c.at - timedelta(days=rules.history_days)).astimezone(tz).date().isoformat()
    end = c.at.astimezone(tz).date().isoformat()
    touched = levels_touching(conn, [c.origin_region, *c.history], c.at - timedelta(
        days=rules.history_days), c.at)  # fmt: skip
    places = list(dict.fromkeys([c.origin_region, *c.history]))
    history = [
        {"place": place, "from": start, "to": end, "level": touched.get(place, (None,))[0]}
        for place in places
    ]
    address = c.destination_address or f"{cp.name}（过境车辆 {normalise_plate(c.plate)}）"
    rows = [
        {
            "id_type": p.id_type,
            "id_number": p.id_number,
            "id_country": p.id_country,
            "name": p.name,
            "sex": p.sex,
            "birth_date": p.birth_date,
            "phone": p.phone,
            "arrived_at": c.at.isoformat(),
            "destination_region": destination,
            "destination_address": address[:300],
            "travel_history": history,
        }
        for _, p, _ in loop
    ]
    got = register_manifest(
        conn,
        ManifestHeader(
            f"crossing-{crossing_id}", "highway", normalise_plate(c.plate), cp.venue_code
        ),
        rows,
        arules,
        sealer=sealer,
        codes=codes,
        by=actor,
        via=ARRIVAL_VIA.get(via, "api"),
        source=f"crossing {c.ref}",
        tz=tz,
        at=at,
    )
    return {pid: tid for (pid, _, _), tid in zip(loop, got.traveller_ids, strict=True)}


def _out(
    crossing_id: int, checkpoint: str, ref: str, at: datetime, plate: str,
    outcome: CrossingCheck, verdict: str, serial: str | None, pass_zh: str, pass_en: str,
    ids: Sequence[int], people: Sequence[Any], facts: Sequence[PersonFacts],
    travellers: Mapping[int, int], barcodes: Mapping[int, str], created: bool,
) -> CrossingOut:  # fmt: skip
    return CrossingOut(
        crossing_id, checkpoint, ref, at, plate, outcome.outcome, verdict, serial, pass_zh,
        pass_en, outcome.priority, outcome.rule_id, outcome.reason_zh, outcome.reason_en,
        tuple(
            _person_out(pid, p.role, f, o, travellers.get(pid), barcodes.get(pid))
            for pid, p, f, o in zip(ids, people, facts, outcome.people, strict=True)
        ),
        created,
    )  # fmt: skip


def _person_out(
    pid: int, role: str, f: PersonFacts, o: PersonCheck, traveller: int | None,
    barcode: str | None,
) -> PersonOut:  # fmt: skip
    return PersonOut(
        pid, role, f.colour, f.test_valid, o.from_risk_area, o.sampled, o.outcome, traveller,
        barcode, o.rule_id, o.reason_zh, o.reason_en,
    )  # fmt: skip


def _replayed(
    conn: Connection, old: Row[Any], c: CrossingIn, plate: str, sealed: Sequence[Mapping[str, Any]],
    rules: LogisticsRules,
) -> CrossingOut:  # fmt: skip
    """A crossing sent again: the stored outcome if it is the same crossing, else a conflict."""
    stored = people_of(conn, [int(old.id)]).get(int(old.id), [])
    hashes = {
        int(i): bytes(h)
        for i, h in conn.execute(
            select(persons.c.id, persons.c.doc_hash).where(
                persons.c.id.in_([int(r.person_id) for r in stored])
            )
        )
    }
    same = (
        old.plate == plate
        and old.at == c.at.astimezone(UTC)
        and old.direction == c.direction
        and [(r.role, hashes.get(int(r.person_id))) for r in stored]
        == [(p.role, s["doc_hash"]) for p, s in zip(c.people, sealed, strict=True)]
    )
    if not same:
        raise CrossingConflict(
            _p(
                "crossing_conflict",
                f"通行记录号 {c.ref} 已用于本卡口的另一辆车或另一时间",
                f"crossing {c.ref} is already used at this checkpoint by another vehicle or time",
            )
        )
    return stored_crossing(conn, old, rules, people=stored)


def stored_crossing(
    conn: Connection, row: Row[Any], rules: LogisticsRules, *, people: Sequence[Row[Any]] | None
    = None,
) -> CrossingOut:  # fmt: skip
    """A stored crossing as an outcome, the sentences computed again from its stored facts
    (a stay in a risk area reads as the most severe level of the pack's closed loop)."""
    rows = people if people is not None else people_of(conn, [int(row.id)]).get(int(row.id), [])
    level = rules.closed_loop_levels[0] if rules.closed_loop_levels else None
    facts = [
        PersonFacts(r.role, r.code_colour, bool(r.test_valid), level if r.from_risk_area else None)
        for r in rows
    ]
    check = check_crossing(
        facts,
        rules,
        cargo_class=row.cargo_class,
        verdict=row.pass_verdict,
        direction=row.direction,
    )
    # the stored outcome stands (the pack may have changed since): only the sentences are new
    people_out = tuple(
        PersonOut(
            int(r.person_id),
            r.role,
            r.code_colour,
            bool(r.test_valid),
            bool(r.from_risk_area),
            bool(r.sampled),
            _stored_outcome(row.outcome, r),
            r.traveller_id,
            r.sample_barcode,
            o.rule_id,
            o.reason_zh,
            o.reason_en,
        )
        for r, o in zip(rows, check.people, strict=True)
    )
    shown = row.pass_verdict
    verdict_zh, verdict_en = _NO_PASS if shown == "none" else ("", "")
    return CrossingOut(
        int(row.id), row.checkpoint_code, row.ref, row.at, row.plate, row.outcome,
        row.pass_verdict, row.pass_serial, verdict_zh, verdict_en, check.priority,
        check.rule_id, check.reason_zh, check.reason_en, people_out, created=False,
    )  # fmt: skip


def _stored_outcome(crossing_outcome: str, person: Row[Any]) -> str:
    """A person's outcome as their stored row says it."""
    if crossing_outcome == "turned_back":
        return "turned_back"
    if person.traveller_id is not None:
        return "closed_loop"
    return "sampled_released" if person.sampled else "passed"


def counts_by_hour(
    conn: Connection, since: datetime, until: datetime
) -> dict[tuple[str, datetime], int]:
    """(checkpoint code, the hour's start in UTC) → crossings in that hour, for crossings
    at or after ``since`` and before ``until``."""
    out: dict[tuple[str, datetime], int] = {}
    for code, at in conn.execute(
        select(crossings.c.checkpoint_code, crossings.c.at).where(
            crossings.c.at >= since, crossings.c.at < until
        )
    ):
        hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        out[(code, hour)] = out.get((code, hour), 0) + 1
    return out
