"""Facilities and their rooms (隔离场所与房间): import from a file, edit, list.

A facility row gives room counts by kind; its rooms are made from them, coded
``S00001`` (single), ``F00001`` (family), ``A00001`` (accessible), spread over zones
``Z1..Zn`` in blocks. Re-importing a facility changes its fields and its rooms: new codes
are added; rooms beyond a lowered count go out of service when free (an occupied room is
never touched — it leaves service when it is freed and the count still excludes it).

Import: CSV or Parquet (columns in ``FACILITY_FORMAT``, docs/formats.md), every row
validated (bilingual problems per row and column, an error report beside the file), one
transaction: a bad row means nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from fangkong import clock
from fangkong.errors import BadInput, ImportRejected, NotFound, Problem, RowProblem
from fangkong.quarantine.rules import FACILITY_KINDS, FACILITY_STATUSES, ROOM_KINDS
from fangkong.quarantine.tables import quarantine_facilities, quarantine_rooms
from fangkong.registry.model import ColumnSpec, FileFormat
from fangkong.registry.reader import Source, read_batches, require_file
from fangkong.registry.service import report_path_for, write_report
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import regions
from fangkong.store.tx import Bind, write_transaction

_PREFIX = {"single": "S", "family": "F", "accessible": "A"}
MAX_ROOMS = 20_000  # per kind and facility: a typo (200000) is caught, not built


def _c(name: str, required: bool, help: str, example: str) -> ColumnSpec:
    return ColumnSpec(name, required, help, example)


FACILITY_FORMAT = FileFormat(
    "facilities",
    "code",
    (
        _c("code", True, "facility code: letters, digits, - and _, up to 40", "QF140105001"),
        _c("name", True, "name, up to 200 characters", "迎泽宾馆隔离点"),
        _c("kind", True, "hotel, fangcang or designated_hospital", "hotel"),
        _c("region_code", True, "code of an imported region the facility lies in", "140105"),
        _c("status", True, "standby, activating, open or closing", "open"),
        _c("single_rooms", False, "rooms for one person, a whole number ≥ 0", "180"),
        _c("family_rooms", False, "rooms for a family, a whole number ≥ 0", "20"),
        _c("family_beds", False, "beds per family room (default 3), 2 or more", "3"),
        _c("accessible_rooms", False, "accessible rooms (one bed), a whole number ≥ 0", "4"),
        _c("zones", False, "number of zones (隔离区), default 1", "2"),
        _c("staff", False, "staff on site, a whole number ≥ 0", "35"),
        _c("latitude", False, "WGS 84 degrees, with longitude", "37.8571"),
        _c("longitude", False, "WGS 84 degrees, with latitude", "112.5632"),
        _c("address", False, "street address, up to 300 characters", "迎泽大街 189 号"),
    ),
)


@dataclass(frozen=True)
class FacilityInput:
    """A facility as a file row or a form gives it (room counts by kind)."""

    code: str
    name: str
    kind: str
    region_code: str
    status: str
    single_rooms: int = 0
    family_rooms: int = 0
    family_beds: int = 3
    accessible_rooms: int = 0
    zones: int = 1
    staff: int = 0
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None


@dataclass(frozen=True)
class FacilityView:
    id: int
    code: str
    name: str
    kind: str
    region_code: str
    status: str
    staff: int
    latitude: float | None
    longitude: float | None
    address: str | None
    rooms: Mapping[str, int]  # kind → rooms in service
    free: Mapping[str, int]  # kind → free rooms
    zones: tuple[str, ...]


@dataclass(frozen=True)
class FacilityImport:
    path: Path
    rows_read: int
    inserted: int
    updated: int
    rooms_added: int
    report_path: Path | None


class FacilityUnknown(NotFound):
    """quarantine.facility_unknown: no facility with this code or id."""


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(code, zh, en)


def _bad(column: str, value: object, zh: str, en: str) -> Problem:
    return _p(
        "value.invalid",
        f"{column} 的值 {value!r} 无效：{zh}",
        f"{column} {value!r} is invalid: {en}",
    )


def check_facility(
    cells: Mapping[str, str | None], region_codes: set[str]
) -> tuple[FacilityInput | None, list[tuple[str, Problem]]]:
    """One row's cells → a facility, or the problems (column, problem) found in it."""
    problems: list[tuple[str, Problem]] = []

    def text(col: str, limit: int, required: bool) -> str | None:
        value = cells.get(col)
        if value is None or value == "":
            if required:
                problems.append((col, _p("value.missing", f"{col} 不能为空", f"{col} is required")))
            return None
        if len(value) > limit:
            problems.append(
                (
                    col,
                    _bad(
                        col, value[:20], f"超过 {limit} 个字符", f"longer than {limit} characters"
                    ),
                )
            )
            return None
        return value

    def count(col: str, default: int, low: int, high: int) -> int:
        value = cells.get(col)
        if value is None or value == "":
            return default
        try:
            n = int(value)
        except ValueError:
            n = low - 1
        if not low <= n <= high:
            problems.append(
                (
                    col,
                    _bad(
                        col,
                        value,
                        f"应为 {low} 到 {high} 的整数",
                        f"must be a whole number from {low} to {high}",
                    ),
                )
            )
            return default
        return n

    def degrees(col: str, limit: float) -> float | None:
        value = cells.get(col)
        if value is None or value == "":
            return None
        try:
            x = float(value)
        except ValueError:
            x = limit * 2
        if not -limit <= x <= limit:
            problems.append(
                (
                    col,
                    _bad(col, value, f"应在 ±{limit} 度之间", f"must lie within ±{limit} degrees"),
                )
            )
            return None
        return x

    def choice(col: str, allowed: Sequence[str]) -> str | None:
        value = text(col, 24, True)
        if value is not None and value not in allowed:
            problems.append(
                (
                    col,
                    _bad(
                        col,
                        value,
                        f"应为 {'、'.join(allowed)} 之一",
                        f"must be one of {', '.join(allowed)}",
                    ),
                )
            )
            return None
        return value

    code = text("code", 40, True)
    if code is not None and not all(ch.isalnum() or ch in "-_" for ch in code):
        problems.append(
            (
                "code",
                _bad("code", code, "只能含字母、数字、- 和 _", "only letters, digits, - and _"),
            )
        )
    name = text("name", 200, True)
    kind = choice("kind", FACILITY_KINDS)
    status = choice("status", FACILITY_STATUSES)
    region = text("region_code", 15, True)
    if region is not None and region not in region_codes:
        problems.append(
            (
                "region_code",
                _p(
                    "reference.unknown",
                    f"region_code {region} 不存在：请先导入行政区划",
                    f"region_code {region} does not exist: import the regions first",
                ),
            )
        )
    lat, lon = degrees("latitude", 90.0), degrees("longitude", 180.0)
    if (cells.get("latitude") in (None, "")) != (cells.get("longitude") in (None, "")):
        problems.append(
            (
                "latitude",
                _p("value.invalid", "纬度与经度须同时给出", "latitude and longitude go together"),
            )
        )
    facility = FacilityInput(
        code=code or "",
        name=name or "",
        kind=kind or "",
        region_code=region or "",
        status=status or "",
        single_rooms=count("single_rooms", 0, 0, MAX_ROOMS),
        family_rooms=count("family_rooms", 0, 0, MAX_ROOMS),
        family_beds=count("family_beds", 3, 2, 12),
        accessible_rooms=count("accessible_rooms", 0, 0, MAX_ROOMS),
        zones=count("zones", 1, 1, 100),
        staff=count("staff", 0, 0, 100_000),
        latitude=lat,
        longitude=lon,
        address=text("address", 300, False),
    )
    return (None if problems else facility), problems


def _room_plan(f: FacilityInput) -> list[tuple[str, str, int, str]]:
    """(code, kind, beds, zone) of every room the counts ask for, zones in blocks."""
    plan = []
    counts = {"single": f.single_rooms, "family": f.family_rooms, "accessible": f.accessible_rooms}
    total = sum(counts.values())
    n = 0
    for kind in ROOM_KINDS:
        beds = f.family_beds if kind == "family" else 1
        for i in range(counts[kind]):
            zone = f"Z{1 + n * f.zones // max(total, 1)}"
            plan.append((f"{_PREFIX[kind]}{i + 1:05d}", kind, beds, zone))
            n += 1
    return plan


def save_facility(
    bind: Bind, f: FacilityInput, *, by: str, at: datetime | None = None
) -> tuple[int, bool, int]:
    """Insert or update a facility and its rooms; returns (id, inserted, rooms added)."""
    at = at or clock.now()
    with write_transaction(bind) as conn:
        return _save(conn, f, by, at)


def _save(conn: Connection, f: FacilityInput, by: str, at: datetime) -> tuple[int, bool, int]:
    t = quarantine_facilities
    values = {
        "name": f.name,
        "kind": f.kind,
        "region_code": f.region_code,
        "status": f.status,
        "staff": f.staff,
        "latitude": f.latitude,
        "longitude": f.longitude,
        "address": f.address,
        "updated_at": at,
        "updated_by": by[:80],
    }
    fid = conn.execute(select(t.c.id).where(t.c.code == f.code)).scalar()
    inserted = fid is None
    if fid is None:
        fid = conn.execute(t.insert().values(code=f.code, **values).returning(t.c.id)).scalar_one()
    else:
        conn.execute(update(t).where(t.c.id == fid).values(**values))
    r = quarantine_rooms
    stored = {
        row.code: row
        for row in conn.execute(
            select(r.c.id, r.c.code, r.c.state, r.c.zone, r.c.beds).where(r.c.facility_id == fid)
        )
    }
    plan = _room_plan(f)
    wanted = {code for code, *_ in plan}
    new = [
        {
            "facility_id": fid,
            "code": code,
            "kind": kind,
            "beds": beds,
            "zone": zone,
            "state": "free",
        }
        for code, kind, beds, zone in plan
        if code not in stored
    ]
    if new:
        conn.execute(r.insert(), new)
    for code, _kind, beds, zone in plan:
        old = stored.get(code)
        if old is None:
            continue
        changes: dict[str, Any] = {}
        if old.zone != zone or old.beds != beds:
            changes.update(zone=zone, beds=beds)
        if old.state == "out_of_service":
            changes["state"] = "free"
        if changes:
            conn.execute(update(r).where(r.c.id == old.id).values(**changes))
    gone = [row.id for code, row in stored.items() if code not in wanted and row.state == "free"]
    if gone:
        conn.execute(update(r).where(r.c.id.in_(gone)).values(state="out_of_service"))
    return int(fid), inserted, len(new)


def set_status(bind: Bind, code: str, status: str, *, by: str) -> str:
    """Move a facility to ``status`` (standby → activating → open → closing); returns the
    old status. A closing facility takes no one new; its people stay until released."""
    if status not in FACILITY_STATUSES:
        raise BadInput(
            _bad(
                "status",
                status,
                f"应为 {'、'.join(FACILITY_STATUSES)} 之一",
                f"must be one of {', '.join(FACILITY_STATUSES)}",
            )
        )
    t = quarantine_facilities
    with write_transaction(bind) as conn:
        old = conn.execute(select(t.c.status).where(t.c.code == code)).scalar()
        if old is None:
            raise _unknown(code)
        conn.execute(
            update(t)
            .where(t.c.code == code)
            .values(status=status, updated_at=clock.now(), updated_by=by[:80])
        )
        return str(old)


def _unknown(code: object) -> FacilityUnknown:
    return FacilityUnknown(
        _p(
            "quarantine.facility_unknown",
            f"无此隔离场所（{code}）",
            f"no quarantine facility {code}",
        )
    )


def list_facilities(
    bind: Bind, *, region_codes: Iterable[str] | None = None, code: str | None = None
) -> list[FacilityView]:
    """Facilities (optionally those in ``region_codes``, or one ``code``) with room counts."""
    t = quarantine_facilities
    with write_transaction(bind) as conn:
        q = select(t).order_by(t.c.region_code, t.c.code)
        if region_codes is not None:
            q = q.where(t.c.region_code.in_(list(region_codes)))
        if code is not None:
            q = q.where(t.c.code == code)
        rows = conn.execute(q).all()
        if code is not None and not rows:
            raise _unknown(code)
        return _views(conn, rows)


# what the facility list may be sorted by (its whitelist)
FACILITY_SORTS: listing.Columns = {
    "code": quarantine_facilities.c.code, "name": quarantine_facilities.c.name,
    "kind": quarantine_facilities.c.kind, "status": quarantine_facilities.c.status,
    "region": quarantine_facilities.c.region_code,
}  # fmt: skip


def page_facilities(
    bind: Bind, bounded: Bounded, *, region_codes: Iterable[str] | None = None
) -> tuple[list[FacilityView], int]:
    """One page of the facilities (those in ``region_codes``) by region and code, or by a
    key of :data:`FACILITY_SORTS`, with room counts; and how many there are."""
    t = quarantine_facilities.c
    q = select(quarantine_facilities)
    if region_codes is not None:
        q = q.where(t.region_code.in_(list(region_codes)))
    with write_transaction(bind) as conn:
        rows, total = listing.fetch(conn, q, bounded, FACILITY_SORTS, (t.region_code, t.code))
        return _views(conn, rows), total


def _views(conn: Connection, rows: Sequence[Any]) -> list[FacilityView]:
    """Facility rows with their rooms counted by kind and state, and their zones."""
    r = quarantine_rooms
    ids = [row.id for row in rows]
    counts: dict[int, dict[str, dict[str, int]]] = {i: {} for i in ids}
    zones: dict[int, set[str]] = {i: set() for i in ids}
    if ids:
        for fid, kind, state, zone, n in conn.execute(
            select(r.c.facility_id, r.c.kind, r.c.state, r.c.zone, func.count())
            .where(r.c.facility_id.in_(ids))
            .group_by(r.c.facility_id, r.c.kind, r.c.state, r.c.zone)
        ):
            counts[fid].setdefault(kind, {}).setdefault(state, 0)
            counts[fid][kind][state] += int(n)
            zones[fid].add(zone)
    out = []
    for row in rows:
        c = counts[row.id]
        rooms = {
            k: sum(v for s, v in c.get(k, {}).items() if s != "out_of_service") for k in ROOM_KINDS
        }
        free = {k: c.get(k, {}).get("free", 0) for k in ROOM_KINDS}
        out.append(
            FacilityView(
                row.id,
                row.code,
                row.name,
                row.kind,
                row.region_code,
                row.status,
                row.staff,
                row.latitude,
                row.longitude,
                row.address,
                rooms,
                free,
                tuple(sorted(zones[row.id], key=lambda z: (len(z), z))),
            )
        )
    return out


def import_facilities(
    engine: Engine,
    path: Path,
    *,
    by: str,
    encoding: str = "utf-8",
    on_progress: Callable[[int], None] | None = None,
) -> FacilityImport:
    """Import a facilities file (CSV or Parquet) in one transaction; see docs/formats.md."""
    require_file(path)
    report = report_path_for(path)
    problems: list[RowProblem] = []
    rows_read = inserted = updated = added = 0
    seen: dict[str, int] = {}
    with write_transaction(engine) as conn:
        codes = set(conn.execute(select(regions.c.code)).scalars())
        now = clock.now()
        source = Source(path, FACILITY_FORMAT, encoding)
        for batch in read_batches(source):
            for i in range(batch.length):
                number = batch.first_row + i
                cells = {k: v[i] for k, v in batch.columns.items()}
                rows_read += 1
                facility, found = check_facility(cells, codes)
                code = cells.get("code")
                if code and code in seen:
                    found.append(
                        (
                            "code",
                            _p(
                                "row.duplicate",
                                f"{code} 与第 {seen[code]} 行重复",
                                f"{code} repeats row {seen[code]}",
                            ),
                        )
                    )
                    facility = None
                elif code:
                    seen[code] = number
                problems.extend(RowProblem(number, col, p) for col, p in found)
                if facility is None:
                    continue
                if problems:
                    continue  # after a bad row: keep checking for the report, stop writing
                _, new, rooms = _save(conn, facility, by, now)
                inserted += new
                updated += not new
                added += rooms
            if on_progress is not None:
                on_progress(batch.length)
        problems += source.malformed  # control characters (NUL etc.) in any cell
        if problems:
            write_report(report, problems)  # raising rolls the transaction back
            first = min(problems, key=lambda p: p.row)
            raise ImportRejected(
                _p(
                    "import.rejected",
                    f"{path}：{len({p.row for p in problems})} 行有误，未导入任何数据。错误报告："
                    f"{report}（首个：第 {first.row} 行 {first.column}："
                    f"{first.problem.message_zh}）",
                    f"{path}: {len({p.row for p in problems})} invalid rows; nothing was imported. "
                    f"Error report: {report} (first: row {first.row} {first.column}: "
                    f"{first.problem.message_en})",
                ),
                path=str(path),
                report_path=str(report),
                problems=problems,
                rows_read=rows_read,
            )
    if report.exists():
        report.unlink()
    return FacilityImport(path, rows_read, inserted, updated, added, None)
