"""Crossings in files (CSV or JSON), for checkpoints that kept paper or offline records.

CSV: one row per person; the rows of one crossing share its ``ref`` (and checkpoint),
the crossing's own columns are read from its first row. Columns (docs/logistics/crossings.md):

    checkpoint, ref, at, direction, plate, vehicle_kind, cargo_class, origin_region,
    destination_region, history (region codes separated by ;), pass, waited_minutes,
    destination_address, role, id_type, id_number, id_country, name, negative_test_at,
    sample_barcode

JSON: a list of crossings, each as the device API's body (``people`` a list) plus
``checkpoint``. A checkpoint left empty is the command's ``--checkpoint``.

A file is all or nothing: any bad row stops it with the file, the row and the field named
in Chinese and English, and nothing is written (``access.import_file`` records the rows in
one transaction).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fangkong.errors import BadInput, FangkongError, InvalidFields, Problem
from fangkong.logistics.crossing_input import CrossingIn, PersonIn

COLUMNS = (
    "checkpoint", "ref", "at", "direction", "plate", "vehicle_kind", "cargo_class",
    "origin_region", "destination_region", "history", "pass", "waited_minutes",
    "destination_address", "role", "id_type", "id_number", "id_country", "name",
    "negative_test_at", "sample_barcode",
)  # fmt: skip
REQUIRED = ("ref", "at", "plate", "origin_region", "destination_region", "id_type", "id_number",
            "name")  # fmt: skip
MAX_ROWS = 20_000


class CrossingsFileInvalid(BadInput):
    """logistics.file_invalid: a row of a crossings file is bad; nothing was written."""


@dataclass(frozen=True)
class FileCrossing:
    crossing: CrossingIn
    rows: tuple[int, ...]  # the file's row of the crossing (its first) and of each person


def _error(source: str, row: int, field: str, zh: str, en: str) -> CrossingsFileInvalid:
    return CrossingsFileInvalid(
        Problem(
            "logistics.file_invalid",
            f"{source} 第 {row} 行 {field}：{zh}；未导入任何通行记录",
            f"{source} row {row} {field}: {en}; no crossing imported",
        )
    )


def row_error(source: str, fc: FileCrossing, exc: Exception) -> Exception:
    """The error of a crossing refused by the service, named by the file's row and field."""
    if isinstance(exc, InvalidFields) and exc.fields:
        first = exc.fields[0]
        field, row = first.field, fc.rows[0]
        if field.startswith("people[") and "]" in field:
            index = int(field[7 : field.index("]")])
            row = fc.rows[index] if 0 < index < len(fc.rows) else row
            field = field[field.index("]") + 2 :] or "people"
        p = first.problem
        return _error(source, row, field, p.message_zh, p.message_en)
    if isinstance(exc, FangkongError):
        p = exc.problem
        return _error(source, fc.rows[0], "ref", p.message_zh, p.message_en)
    return exc


def _time(source: str, row: int, field: str, text: Any, tz: ZoneInfo) -> datetime:
    try:
        value = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise _error(
            source, row, field, f"应为 ISO 时间，如 2022-04-12T09:30+08:00：{text!r}",
            f"must be an ISO time, e.g. 2022-04-12T09:30+08:00: {text!r}",
        ) from None  # fmt: skip
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _int(source: str, row: int, field: str, text: Any) -> int | None:
    if text is None or text == "":
        return None
    try:
        return int(str(text).strip())
    except ValueError:
        raise _error(
            source, row, field, f"应为整数：{text!r}", f"must be a whole number: {text!r}"
        ) from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _person(source: str, row: int, cells: Mapping[str, Any], tz: ZoneInfo) -> PersonIn:
    shown = _text(cells.get("negative_test_at"))
    return PersonIn(
        role=_text(cells.get("role")) or "driver",
        id_type=_text(cells.get("id_type")) or "",
        id_number=_text(cells.get("id_number")) or "",
        name=_text(cells.get("name")) or "",
        id_country=_text(cells.get("id_country")),
        sex=_text(cells.get("sex")),
        birth_date=_text(cells.get("birth_date")),
        phone=_text(cells.get("phone")),
        negative_test_at=None
        if shown is None
        else _time(source, row, "negative_test_at", shown, tz),
        sample_barcode=_text(cells.get("sample_barcode")),
    )


def _crossing(
    source: str, row: int, cells: Mapping[str, Any], people: list[PersonIn], checkpoint: str,
    tz: ZoneInfo,
) -> CrossingIn:  # fmt: skip
    history = cells.get("history")
    if isinstance(history, str):
        places = [h.strip() for h in history.split(";") if h.strip()]
    elif isinstance(history, list):
        places = [str(h).strip() for h in history]
    elif history is None:
        places = []
    else:
        raise _error(source, row, "history", "应为区划代码列表", "must be a list of region codes")
    return CrossingIn(
        checkpoint_code=_text(cells.get("checkpoint")) or checkpoint,
        ref=_text(cells.get("ref")) or "",
        at=_time(source, row, "at", cells.get("at"), tz),
        direction=_text(cells.get("direction")) or "in",
        plate=_text(cells.get("plate")) or "",
        vehicle_kind=_text(cells.get("vehicle_kind")) or "lorry",
        cargo_class=_text(cells.get("cargo_class")) or "none",
        origin_region=_text(cells.get("origin_region")) or "",
        destination_region=_text(cells.get("destination_region")) or "",
        history=places,
        people=people,
        pass_token=_text(cells.get("pass")),
        waited_minutes=_int(source, row, "waited_minutes", cells.get("waited_minutes")),
        destination_address=_text(cells.get("destination_address")),
    )


def read_crossings(path: Path, *, checkpoint: str = "", tz: ZoneInfo) -> list[FileCrossing]:
    """The crossings of a CSV or JSON file (by its suffix), checked for shape; a bad row is
    ``CrossingsFileInvalid`` naming file, row and field."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CrossingsFileInvalid(
            Problem(
                "logistics.file_unreadable", f"无法读取 {path}：{exc}", f"cannot read {path}: {exc}"
            )
        ) from None
    if path.suffix.lower() == ".json":
        return _from_json(source, text, checkpoint, tz)
    return _from_csv(source, text, checkpoint, tz)


def _from_json(source: str, text: str, checkpoint: str, tz: ZoneInfo) -> list[FileCrossing]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(
            source, exc.lineno, "json", f"JSON 无效：{exc.msg}", f"bad JSON: {exc.msg}"
        ) from None
    if not isinstance(data, list) or len(data) > MAX_ROWS:
        raise _error(source, 1, "json", f"应为至多 {MAX_ROWS} 条通行记录的列表",
                     f"must be a list of at most {MAX_ROWS} crossings")  # fmt: skip
    out = []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, Mapping) or not isinstance(item.get("people"), list):
            raise _error(source, i, "people", "每条记录应为含 people 列表的对象",
                         "each crossing must be an object with a people list")  # fmt: skip
        people = [
            _person(source, i, p if isinstance(p, Mapping) else {}, tz) for p in item["people"]
        ]
        out.append(FileCrossing(_crossing(source, i, item, people, checkpoint, tz),
                                tuple([i] * (len(people) + 1))))  # fmt: skip
    return out


def _from_csv(source: str, text: str, checkpoint: str, tz: ZoneInfo) -> list[FileCrossing]:
    try:
        reader = csv.DictReader(text.splitlines())
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        unknown = [c for c in header if c not in COLUMNS]
        if missing or unknown:
            raise _error(
                source, 0, "header",
                f"表头缺少 {', '.join(missing) or '-'}，未知列 {', '.join(unknown) or '-'}",
                f"header lacks {', '.join(missing) or '-'}, unknown columns "
                f"{', '.join(unknown) or '-'}",
            )  # fmt: skip
        rows: list[dict[str, Any]] = [
            {k.strip(): v for k, v in r.items() if k is not None} for r in reader
        ]
    except csv.Error as exc:
        raise _error(source, 0, "csv", f"CSV 无效：{exc}", f"bad CSV: {exc}") from None
    if len(rows) > MAX_ROWS:
        raise _error(
            source, MAX_ROWS + 1, "rows", f"至多 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows"
        )
    groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for i, cells in enumerate(rows, start=1):
        key = (_text(cells.get("checkpoint")) or checkpoint, _text(cells.get("ref")) or "")
        groups.setdefault(key, []).append((i, cells))
    out = []
    for members in groups.values():
        first_row, first = members[0]
        people = [_person(source, i, cells, tz) for i, cells in members]
        crossing = _crossing(source, first_row, first, people, checkpoint, tz)
        out.append(FileCrossing(crossing, (first_row, *(i for i, _ in members))))
    out.sort(key=lambda fc: fc.rows[0])
    return out
