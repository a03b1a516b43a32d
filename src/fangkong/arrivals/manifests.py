"""Manifests in (旅客名单): validate every row, then register the travellers atomically.

A manifest comes from a flight, a train or a highway checkpoint, by the API (a device
token bound to the arrival point) or a file (CSV, columns in docs/formats.md). The flow::

    rows ─▶ identity columns through the registry's own person checks (ID numbers, phones,
            sealing: fangkong.registry.validate.check_persons) + arrival columns here
         ─▶ any bad row: ManifestRejected naming row, column and problem in zh + en;
            nothing is written
         ─▶ one transaction: the manifest (by ``ref``), per traveller (by manifest and
            sealed document): the registry person found by ``doc_hash`` or created
            (residence = the destination region, occupation other), the risk decision,
            the arrival fact for the health code, the first stage and its deadline,
            a hand-off when the destination lies in another jurisdiction
         ─▶ codes re-evaluated for the travellers registered

Sending the same manifest again changes nothing; a traveller sent again with other data
is a row problem (nothing is silently replaced: correct it by hand and re-send).

We create registry persons for travellers the registry lacks, rather than keeping
travellers apart, because every other capability (codes, tests, quarantine, tracing)
works on ``persons.id``; such a person's residence is the destination region, so the
jurisdiction that receives them sees them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from fangkong import bounds, clock
from fangkong.arrivals.decision import AreaHistory, Decision, Stay, decide
from fangkong.arrivals.loop import enter_stage, open_handoff
from fangkong.arrivals.rules import ArrivalRules
from fangkong.arrivals.tables import MODES, manifests, travellers
from fangkong.errors import BadInput, Conflict, FieldProblem, InvalidFields, Problem, RowProblem
from fangkong.healthcode.service import CodeContext, evaluate_person
from fangkong.healthcode.writer import FactInput, write_facts
from fangkong.identity.documents import country_alpha3
from fangkong.identity.sealing import Sealer
from fangkong.registry.reader import Batch
from fangkong.registry.validate.cells import Context
from fangkong.registry.validate.persons import check_persons
from fangkong.store.schema import persons, regions, venues
from fangkong.store.tx import write_transaction

COLUMNS = (
    "id_type",
    "id_number",
    "id_country",
    "name",
    "sex",
    "birth_date",
    "phone",
    "arrived_at",
    "destination_region",
    "destination_address",
    "travel_history",
)
REQUIRED = (
    "id_type",
    "id_number",
    "name",
    "arrived_at",
    "destination_region",
    "destination_address",
)
_IDENTITY = ("id_type", "id_number", "id_country", "name", "sex", "birth_date", "phone")
_REGISTRY_COLUMNS = ("household_code", "residence_code", "venue_code", "unit_code", "occupation")
_REF = re.compile(r"[A-Za-z0-9_.:-]{1,80}")
_PLACE = re.compile(r"[0-9]{6,15}|[A-Za-z]{3}")
_SHOWN = 5


class ManifestRejected(InvalidFields):
    """arrivals.manifest_invalid: rows with problems; nothing was written."""

    def __init__(self, problem: Problem, rows: Sequence[RowProblem]) -> None:
        super().__init__(
            problem, [FieldProblem(f"row {r.row}: {r.column}", r.problem) for r in rows]
        )
        self.rows = list(rows)


class ManifestConflict(Conflict):
    """arrivals.manifest_conflict: the ref is taken by a manifest of another point or carrier."""


@dataclass(frozen=True)
class ManifestHeader:
    ref: str  # the sender's manifest id, e.g. CA1234-20220318
    mode: str  # flight | train | highway
    carrier: str  # flight or train number, or the checkpoint's lane
    point_code: str  # the arrival point (a venue)


@dataclass(frozen=True)
class ManifestOutcome:
    manifest_id: int
    ref: str
    rows: int
    registered: int
    unchanged: int
    persons_created: int
    handoffs: int
    by_risk: Mapping[str, int] = field(default_factory=dict)
    traveller_ids: tuple[int, ...] = ()


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(f"arrivals.{code}", zh, en)


def _bad_header(field_name: str, zh: str, en: str) -> InvalidFields:
    return InvalidFields(
        _p("manifest_invalid", f"名单信息 {field_name}：{zh}", f"manifest {field_name}: {en}"),
        [FieldProblem(field_name, _p("manifest_invalid", zh, en))],
    )


# ---- reading ---------------------------------------------------------------------------------


def read_file(path: Path) -> list[dict[str, Any]]:
    """The rows of a manifest CSV as text cells (empty → None); a bad header is BadInput."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in REQUIRED if c not in header]
            unknown = [c for c in header if c not in COLUMNS]
            if missing or unknown:
                raise BadInput(
                    _p(
                        "manifest_header",
                        f"{path}：表头缺少 {', '.join(missing) or '-'}，未知列 "
                        f"{', '.join(unknown) or '-'}（列见 docs/formats.md）",
                        f"{path}: header lacks {', '.join(missing) or '-'}, unknown columns "
                        f"{', '.join(unknown) or '-'} (columns: docs/formats.md)",
                    )
                )
            return [
                {
                    k.strip(): (v.strip() or None) if isinstance(v, str) else None
                    for k, v in row.items()
                    if k is not None
                }
                for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(
            _p("manifest_unreadable", f"无法读取 {path}：{exc}", f"cannot read {path}: {exc}")
        ) from None


# ---- validating ------------------------------------------------------------------------------


def _time(value: Any, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).astimezone(ZoneInfo("UTC"))
    except OverflowError:  # 0001-01-01T00:00+08:00 has no UTC instant
        return None


def _day_bound(value: str, tz: ZoneInfo, end: bool) -> datetime | None:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return _time(value, tz)
    if bounds.date_problem(day, "event", "") is not None:
        return None  # year 1 or 9999 cannot be computed with; reported as bad dates
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return (start + timedelta(days=1, microseconds=-1) if end else start).astimezone(
        ZoneInfo("UTC")
    )


def parse_history(value: Any, tz: ZoneInfo) -> tuple[list[Stay], list[Problem]]:
    """``PLACE@FROM[/TO][=LEVEL];…`` (CSV) or a list of {place, from, to, level} (API)."""
    items: list[Mapping[str, Any]] = []
    if value is None or value == "" or value == []:
        return [], []
    if isinstance(value, str):
        for part in value.split(";"):
            part = part.strip()
            if not part:
                continue
            declared = None
            if "=" in part:
                part, declared = part.rsplit("=", 1)
            place, _, when = part.partition("@")
            first, _, last = when.partition("/")
            items.append({"place": place, "from": first, "to": last or first, "level": declared})
    elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        items = list(value)
    else:
        return [], [_p("history_shape", "旅居史格式无效", "travel history has a bad shape")]
    stays: list[Stay] = []
    problems: list[Problem] = []
    for i, item in enumerate(items, start=1):
        place = str(item.get("place") or "").strip().upper()
        start = _day_bound(str(item.get("from") or ""), tz, end=False)
        end = _day_bound(str(item.get("to") or item.get("from") or ""), tz, end=True)
        level = item.get("level") or None
        if not _PLACE.fullmatch(place) or (place.isalpha() and country_alpha3(place) != place):
            problems.append(
                _p(
                    "history_place",
                    f"第 {i} 处地点 {place!r} 应为 6–15 位区划代码或三字母国家代码",
                    f"place {i} {place!r} must be a 6–15 digit "
                    "region code or a 3-letter country code",
                )
            )
        elif place == "CHN":
            problems.append(
                _p(
                    "history_place",
                    f"第 {i} 处：国内地点请填区划代码",
                    f"place {i}: give a region code for places in China",
                )
            )
        if start is None or end is None or end < start:
            problems.append(
                _p(
                    "history_dates",
                    f"第 {i} 处日期无效（YYYY-MM-DD[/YYYY-MM-DD]，"
                    f"{bounds.windows().date_range('event')[0]} 以来）",
                    f"place {i}: bad dates (YYYY-MM-DD[/YYYY-MM-DD], "
                    f"since {bounds.windows().date_range('event')[0]})",
                )
            )
        if level is not None and level not in ("high", "medium", "low"):
            problems.append(
                _p(
                    "history_level",
                    f"第 {i} 处风险等级应为 high/medium/low",
                    f"place {i}: level must be high, medium or low",
                )
            )
        if start is not None and end is not None and end >= start:
            stays.append(Stay(place, start, end, level))
    return stays, problems


@dataclass
class _Clean:
    row: int
    person: dict[str, Any]  # the registry person's fields (sealed)
    arrived_at: datetime
    destination_region: str
    address: str
    stays: list[Stay]
    content: bytes


def _validate(
    rows: Sequence[Mapping[str, Any]],
    region_codes: set[str],
    sealer: Sealer,
    tz: ZoneInfo,
    today: date,
) -> tuple[list[_Clean], list[RowProblem]]:
    n = len(rows)
    text = {c: [_cell(r.get(c)) for r in rows] for c in _IDENTITY}
    for c in _REGISTRY_COLUMNS:
        text[c] = [None] * n
    ctx = Context(today=today, region_codes=region_codes, sealer=sealer)
    checked = check_persons(Batch(1, text, n), ctx, screen=False)
    problems = list(checked.problems)
    for c in COLUMNS:  # identity cells are checked by check_persons
        if c not in _IDENTITY:
            problems += [RowProblem(i + 1, c, bounds.text_column_problem(c))
                         for i in bounds.control_rows([_cell(r.get(c)) for r in rows])]  # fmt: skip
    people = {int(p.pop("_row")): p for p in checked.rows}
    clean = []
    for i, r in enumerate(rows, start=1):
        bad: list[RowProblem] = []
        arrived = _time(r.get("arrived_at"), tz)
        if arrived is not None and (
            late := bounds.instant_problem(arrived, "device", "arrived_at")
        ):
            bad.append(RowProblem(i, "arrived_at", late))
            arrived = None
        elif arrived is None:
            bad.append(
                RowProblem(
                    i,
                    "arrived_at",
                    _p(
                        "arrived_at",
                        "抵达时间应为 ISO 时间，如 2022-03-18T09:30+08:00",
                        "arrived_at must be an ISO time, e.g. 2022-03-18T09:30+08:00",
                    ),
                )
            )
        dest = _cell(r.get("destination_region"))
        if dest is None or dest not in region_codes:
            bad.append(
                RowProblem(
                    i,
                    "destination_region",
                    _p(
                        "destination",
                        f"目的地区划 {dest!r} 不存在",
                        f"destination region {dest!r} is unknown",
                    ),
                )
            )
        address = _cell(r.get("destination_address"))
        if address is None or len(address) > 300:
            bad.append(
                RowProblem(
                    i,
                    "destination_address",
                    _p(
                        "address",
                        "目的地址须为 1–300 个字符",
                        "destination_address must be 1–300 characters",
                    ),
                )
            )
        stays, history_problems = parse_history(r.get("travel_history"), tz)
        bad += [RowProblem(i, "travel_history", p) for p in history_problems]
        problems += bad
        if bad or i not in people or arrived is None or dest is None or address is None:
            continue
        content = json.dumps(
            [
                *(str(r.get(c)) for c in COLUMNS if c != "travel_history"),
                [(s.place, s.start.isoformat(), s.end.isoformat(), s.declared) for s in stays],
            ],
            ensure_ascii=False,
        ).encode()
        clean.append(
            _Clean(
                i,
                people[i],
                arrived,
                dest,
                address,
                stays,
                hashlib.blake2b(content, digest_size=32).digest(),
            )
        )
    return clean, problems


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _rejected(source: str, rows: list[RowProblem]) -> ManifestRejected:
    rows.sort(key=lambda r: (r.row, r.column))
    shown = rows[:_SHOWN]
    zh = "；".join(f"第 {r.row} 行 {r.column}：{r.problem.message_zh}" for r in shown)
    en = "; ".join(f"row {r.row} {r.column}: {r.problem.message_en}" for r in shown)
    more = len(rows) - len(shown)
    return ManifestRejected(
        _p(
            "manifest_invalid",
            f"{source}：{len(rows)} 处错误，未登记任何旅客。{zh}"
            + (f"（另有 {more} 处）" if more else ""),
            f"{source}: {len(rows)} problems, no traveller registered. {en}"
            + (f" (and {more} more)" if more else ""),
        ),
        rows,
    )


def _check_header(conn: Connection, header: ManifestHeader, rules: ArrivalRules) -> Any:
    if not _REF.fullmatch(header.ref or ""):
        raise _bad_header(
            "ref", "应为 1–80 位字母、数字或 _ . : -", "must be 1–80 letters, digits or _ . : -"
        )
    if header.mode not in MODES:
        raise _bad_header(
            "mode", f"应为 {'、'.join(MODES)} 之一", f"must be one of {', '.join(MODES)}"
        )
    if not header.carrier or not header.carrier.strip() or len(header.carrier) > 40:
        raise _bad_header("carrier", "应为 1–40 个字符", "must be 1–40 characters")
    point = conn.execute(select(venues).where(venues.c.code == header.point_code)).first()
    if point is None or point.type not in rules.point_venue_types:
        raise _bad_header(
            "point_code",
            f"{header.point_code!r} 不是入境/来返卡口（场所类型 "
            f"{'、'.join(rules.point_venue_types)}）",
            f"{header.point_code!r} is not "
            f"an arrival point (venue types {', '.join(rules.point_venue_types)})",
        )
    return point


# ---- registering -----------------------------------------------------------------------------


def import_manifest(
    engine: Engine,
    header: ManifestHeader,
    rows: Sequence[Mapping[str, Any]],
    rules: ArrivalRules,
    *,
    sealer: Sealer,
    codes: CodeContext | None = None,
    by: str,
    via: str = "import",
    source: str = "manifest",
    tz: ZoneInfo | None = None,
    at: datetime | None = None,
) -> ManifestOutcome:
    """Validate and register a manifest (see the module docstring); all or nothing."""
    at = at or clock.now()
    tz = tz or (codes.tz if codes else ZoneInfo("Asia/Shanghai"))
    with write_transaction(engine) as conn:
        point = _check_header(conn, header, rules)
        region_codes = set(conn.execute(select(regions.c.code)).scalars())
        clean, problems = _validate(rows, region_codes, sealer, tz, at.astimezone(tz).date())
        if problems:
            raise _rejected(source, problems)
        manifest_id = _manifest(conn, header, by, at)
        stored = {
            bytes(r.doc_hash): (int(r.id), bytes(r.content_hash))
            for r in conn.execute(
                select(travellers.c.id, travellers.c.doc_hash, travellers.c.content_hash).where(
                    travellers.c.manifest_id == manifest_id
                )
            )
        }
        changed = [
            RowProblem(
                c.row,
                "id_number",
                _p(
                    "traveller_changed",
                    "此旅客已按本名单登记，内容不同：请核对后人工更正",
                    "this traveller is registered on this "
                    "manifest with other data: check and correct by hand",
                ),
            )
            for c in clean
            if c.person["doc_hash"] in stored and stored[c.person["doc_hash"]][1] != c.content
        ]
        if changed:
            raise _rejected(source, changed)
        fresh = [c for c in clean if c.person["doc_hash"] not in stored]
        for c in fresh:
            c.person["_destination"] = c.destination_region
        history = AreaHistory.load(conn)
        person_ids, created = _persons(conn, [c.person for c in fresh], at)
        ids: list[int] = []
        by_risk: dict[str, int] = {}
        handoffs = 0
        for c, pid in zip(fresh, person_ids, strict=True):
            decision = decide(c.stays, c.arrived_at, history, rules, point_name=point.name, tz=tz)
            tid, handed = _register(
                conn,
                manifest_id,
                point,
                c,
                pid,
                decision,
                history,
                rules,
                sealer,
                by,
                via,
                at,
                codes,
            )
            ids.append(tid)
            handoffs += handed
            by_risk[decision.rule.risk] = by_risk.get(decision.rule.risk, 0) + 1
        if codes is not None:
            for pid in sorted(set(person_ids)):
                evaluate_person(conn, codes, pid, at=at, trigger="arrivals:manifest")
    return ManifestOutcome(
        manifest_id,
        header.ref,
        len(rows),
        len(fresh),
        len(clean) - len(fresh),
        created,
        handoffs,
        by_risk,
        tuple(ids),
    )


def _manifest(conn: Connection, header: ManifestHeader, by: str, at: datetime) -> int:
    old = conn.execute(select(manifests).where(manifests.c.ref == header.ref)).first()
    if old is not None:
        if (old.mode, old.carrier, old.point_code) != (
            header.mode,
            header.carrier.strip(),
            header.point_code,
        ):
            raise ManifestConflict(
                _p(
                    "manifest_conflict",
                    f"名单号 {header.ref} 已用于另一航班/车次或卡口",
                    f"manifest {header.ref} is already used by another carrier or point",
                )
            )
        return int(old.id)
    return int(
        conn.execute(
            manifests.insert()
            .values(
                ref=header.ref,
                mode=header.mode,
                carrier=header.carrier.strip(),
                point_code=header.point_code,
                received_at=at,
                received_by=by[:80],
            )
            .returning(manifests.c.id)
        ).scalar_one()
    )


def _persons(conn: Connection, people: list[dict[str, Any]], at: datetime) -> tuple[list[int], int]:
    """Registry ids by sealed document; persons the registry lacks are created."""
    hashes = [p["doc_hash"] for p in people]
    found = (
        {
            bytes(h): int(i)
            for h, i in conn.execute(
                select(persons.c.doc_hash, persons.c.id).where(persons.c.doc_hash.in_(hashes))
            )
        }
        if hashes
        else {}
    )
    created = 0
    out = []
    for p in people:
        if p["doc_hash"] not in found:
            values = {
                k: p.get(k)
                for k in (
                    "doc_type",
                    "doc_country",
                    "doc_hash",
                    "doc_sealed",
                    "name",
                    "sex",
                    "birth_date",
                    "phone_hash",
                    "phone_sealed",
                )
            }
            values.update(
                occupation="other", residence_code=p["_destination"], created_at=at, updated_at=at
            )
            found[p["doc_hash"]] = int(
                conn.execute(persons.insert().values(**values).returning(persons.c.id)).scalar_one()
            )
            created += 1
        out.append(found[p["doc_hash"]])
    return out, created


def _register(
    conn: Connection,
    manifest_id: int,
    point: Any,
    c: _Clean,
    person_id: int,
    decision: Decision,
    history: AreaHistory,
    rules: ArrivalRules,
    sealer: Sealer,
    by: str,
    via: str,
    at: datetime,
    codes: CodeContext | None,
) -> tuple[int, int]:
    rule = decision.rule
    point_region = history.at_level(point.region_code, rules.handoff_level) or point.region_code
    dest_region = history.at_level(c.destination_region, rules.handoff_level)
    dest_region = dest_region or c.destination_region
    pack_ref = f"{codes.pack.name}@{codes.pack.version}" if codes else rules.source
    tid = int(
        conn.execute(
            travellers.insert()
            .values(
                manifest_id=manifest_id,
                person_id=person_id,
                doc_hash=c.person["doc_hash"],
                content_hash=c.content,
                phone_hash=c.person.get("phone_hash"),
                phone_sealed=c.person.get("phone_sealed"),
                address_sealed=sealer.seal("address", c.address),
                point_code=point.code,
                arrived_at=c.arrived_at,
                destination_region=c.destination_region,
                history=[
                    {
                        "place": p.stay.place,
                        "name": p.name,
                        "level": p.level,
                        "from": p.stay.start.isoformat(),
                        "to": p.stay.end.isoformat(),
                        "declared": p.stay.declared,
                    }
                    for p in decision.places
                ],
                risk=decision.risk,
                management=rule.management,
                rule_id=rule.rule_id,
                reason_zh=decision.reason_zh,
                reason_en=decision.reason_en,
                landing_test=rule.landing_test,
                transfer=rule.transfer,
                stage="registered",
                stage_since=at,
                due_at=None,
                responsible_region=point_region,
                pack_ref=pack_ref[:80],
                created_at=at,
            )
            .returning(travellers.c.id)
        ).scalar_one()
    )
    if rule.code is not None:
        detail = {"risk": rule.code, "origin": decision.origin or point.name}
        fact = FactInput("arrival", c.arrived_at, None, detail, f"arrival-{tid}")
        write_facts(conn, [(person_id, fact)], recorded_by=by, now=at)
    enter_stage(conn, tid, None, "registered", rules, at=at, by=by, via=via)
    handed = 0
    if dest_region != point_region:
        open_handoff(conn, tid, point_region, dest_region, rules, at=at)
        handed = 1
    return tid, handed
