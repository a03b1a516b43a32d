"""A crossing as a device, a file or the desk gives it (车辆通行查验的输入): the wire-neutral
shapes (``CrossingIn``, ``PersonIn``, and the answer ``CrossingOut``), the bounds every
value is checked against, and the people checked and sealed by the registry's own checks
(``check_persons``) before anything is looked up or stored. See ``crossings`` for the flow.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from fangkong import bounds
from fangkong.errors import Conflict, FieldProblem, InvalidFields, Problem
from fangkong.identity.sealing import Sealer
from fangkong.logistics.model import (
    CARGO_CLASSES,
    DIRECTIONS,
    PERSON_ROLES,
    VEHICLE_KINDS,
)
from fangkong.logistics.rules import LogisticsRules
from fangkong.registry.reader import Batch
from fangkong.registry.validate.cells import Context
from fangkong.registry.validate.persons import check_persons

REF = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")
REGION = re.compile(r"[0-9]{6,12}")
# 省份简称 + 发牌机关代号 + 4–6 位（不含 I、O），新能源 6 位，挂/学/警/港/澳/领 尾字
PLATE = re.compile(
    "[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    "[A-Z][A-HJ-NP-Z0-9]{4,6}[挂学警港澳领]?"
)
MAX_HISTORY = 60  # places in a travel history


class CrossingConflict(Conflict):
    """logistics.crossing_conflict: the ref is taken by another crossing at this checkpoint."""


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


_PERSON_COLS = ("id_type", "id_number", "id_country", "name", "sex", "birth_date", "phone")
_NO_REFS = ("household_code", "residence_code", "venue_code", "unit_code", "occupation")
# A person as checked and sealed, by a keyed hash of the values sent and the day (a driver
# crosses checkpoints all day; checking a resident ID and sealing it is a fifth of a
# crossing's work). Bounded, and emptied past the bound; the key holds no identifier.
_CHECKED: dict[bytes, tuple[dict[str, Any] | None, tuple[tuple[str, Problem], ...]]] = {}
_CHECKED_MAX = 50_000


_MEMO_KEYS: dict[int, tuple[Sealer, bytes]] = {}


def _person_key(p: Any, sealer: Sealer, today: Any) -> bytes:
    got = _MEMO_KEYS.get(id(sealer))
    if got is None or got[0] is not sealer:  # a key of the sealer's: no guessing the keys
        if len(_MEMO_KEYS) > 64:  # a server has one sealer; tests make many
            _MEMO_KEYS.clear()
        got = _MEMO_KEYS[id(sealer)] = (sealer, sealer.lookup_hash("crossing-memo", "key"))
    values = "\x1f".join(str(getattr(p, col) or "") for col in _PERSON_COLS)
    return hashlib.blake2b(f"{today}\x1e{values}".encode(), digest_size=16, key=got[1]).digest()


def _check_people(
    people: Sequence[Any], sealer: Sealer, today: Any
) -> list[tuple[dict[str, Any] | None, tuple[tuple[str, Problem], ...]]]:
    """Each person checked and sealed by ``check_persons`` (registry's own checks):
    the row (None if refused) and the problems (column, problem) of each."""
    n = len(people)
    text: dict[str, list[str | None]] = {
        col: [(getattr(p, col) or None) for p in people] for col in _PERSON_COLS
    }
    for col in _NO_REFS:
        text[col] = [None] * n
    checked = check_persons(Batch(1, text, n), Context(today=today, sealer=sealer))
    rows: list[dict[str, Any] | None] = [None] * n
    problems: list[list[tuple[str, Problem]]] = [[] for _ in range(n)]
    for r in checked.rows:
        rows[int(r["_row"]) - 1] = r
    for prob in checked.problems:
        problems[prob.row - 1].append((prob.column, prob.problem))
    return [(rows[i], tuple(problems[i])) for i in range(n)]


def _sealed_people(
    c: CrossingIn, sealer: Sealer, today: Any
) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    """The crossing's people checked and sealed as the registry checks persons (each
    person's check remembered for the day: ``_CHECKED``), a person sent twice refused."""
    keys = [_person_key(p, sealer, today) for p in c.people]
    missing = [i for i, k in enumerate(keys) if k not in _CHECKED]
    if missing:
        fresh = _check_people([c.people[i] for i in missing], sealer, today)
        if len(_CHECKED) + len(missing) > _CHECKED_MAX:
            _CHECKED.clear()
        for i, got in zip(missing, fresh, strict=True):
            _CHECKED[keys[i]] = got
    bad: list[FieldProblem] = []
    rows: list[dict[str, Any]] = []
    seen: dict[bytes, int] = {}
    for i, key in enumerate(keys, start=1):
        row, problems = _CHECKED.get(key) or _check_people([c.people[i - 1]], sealer, today)[0]
        bad.extend(FieldProblem(f"people[{i}].{column}", problem) for column, problem in problems)
        if row is None:
            continue
        first = seen.setdefault(row["doc_hash"], i)
        if first != i:  # as the registry's check of a batch names a repeated document
            shown = "证件 / document"
            bad.append(
                FieldProblem(
                    f"people[{i}].id_number",
                    Problem("row.duplicate", f"{shown} 与第 {first} 行重复",
                            f"{shown} repeats row {first}"),
                )
            )  # fmt: skip
            continue
        rows.append({**row, "_row": i})
    return rows, bad


# ---- the checkpoint registry --------------------------------------------------------------
