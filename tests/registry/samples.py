"""Small hand-written registry files for import tests (synthetic people only)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from fangkong.identity.resident_id import check_character
from fangkong.registry.model import FORMATS


def resident_id(region: str, born: str, seq: str) -> str:
    first17 = region + born + seq
    return first17 + check_character(first17)


REGIONS = [
    ["140000", "", "province", "山西省", "3000", "", ""],
    ["140100", "140000", "city", "太原市", "3000", "urban", ""],
    ["140105", "140100", "county", "小店区", "3000", "urban", ""],
    ["140105001000", "140105", "township", "坞城街道", "3000", "urban", ""],
    ["140105001001", "140105001000", "community", "双塔社区", "3000", "urban",
     '{"type": "Point", "coordinates": [112.56, 37.85]}'],
    ["140105001001001", "140105001001", "compound", "锦绣苑", "2000", "urban", ""],
    ["140105001001002", "140105001001", "compound", "和平里", "1000", "urban", ""],
]  # fmt: skip

VENUES = [
    ["V1401050001", "坞城路菜市场", "market", "140105001001", "300", "37.8571", "112.5632", ""],
    ["V1401050002", "双塔小学", "school", "140105001001", "900", "37.86", "112.57", "双塔街 1 号"],
    ["V1401050003", "大药房", "pharmacy", "140105001001001", "", "", "", ""],
]  # fmt: skip

ID_A = resident_id("140105", "19800101", "001")  # male
ID_B = resident_id("140105", "19820202", "002")  # female
ID_C = resident_id("140105", "20150303", "013")  # male child
PERSONS = [
    ["resident_id", ID_A, "", "王伟", "", "", "13812341234", "H001", "140105001001001",
     "V1401050001", "T01", "worker"],
    ["resident_id", ID_B, "CHN", "李娜", "F", "1982-02-02", "13912345678", "H001",
     "140105001001001", "", "", "supermarket"],
    ["resident_id", ID_C, "", "王小明", "男", "", "", "H001", "140105001001001", "V1401050002",
     "C06-02", "student"],
    ["passport", "E12345678", "USA", "John Smith", "M", "1975-05-05", "+12025550123", "",
     "140105001001002", "", "", "other"],
]  # fmt: skip


def write_csv(path: Path, kind: str, rows: Sequence[Sequence[str]], *,
              header: Sequence[str] | None = None, encoding: str = "utf-8") -> Path:  # fmt: skip
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header or FORMATS[kind].names)
        writer.writerows(rows)
    return path
