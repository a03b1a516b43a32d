"""Manifest rows (旅客名单) read and checked, before anything is stored: the CSV columns
(docs/formats.md), ``read_file``, the travel history (``parse_history``), and the check of
every row — identity columns through the registry's own person checks (ID numbers,
phones, sealing: ``fangkong.registry.validate.check_persons``), arrival columns here —
into clean rows or row problems (``ManifestRejected`` names row, column and problem in
zh + en). Storing a manifest is ``manifests.import_manifest``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fangkong import bounds
from fangkong.arrivals.decision import Stay
from fangkong.errors import BadInput, FieldProblem, InvalidFields, Problem, RowProblem
from fangkong.identity.documents import country_alpha3
from fangkong.identity.sealing import Sealer
from fangkong.registry.reader import Batch
from fangkong.registry.validate.cells import Context
from fangkong.registry.validate.persons import check_persons

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
_PLACE = re.compile(r"[0-9]{6,15}|[A-Za-z]{3}")
_SHOWN = 5


class ManifestRejected(InvalidFields):
    """arrivals.manifest_invalid: rows with problems; nothing was written."""

    def __init__(self, problem: Problem, rows: Sequence[RowProblem]) -> None:
        super().__init__(
            problem, [FieldProblem(f"row {r.row}: {r.column}", r.problem) for r in rows]
        )
        self.rows = list(rows)


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(f"arrivals.{code}", zh, en)


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
