"""Count series files: ISO weeks, daily series, R's start[2], populations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from fangkong.errors import BadInput
from fangkong.surveillance.series import read_series


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_iso_weeks_and_dates_mix_and_rows_may_come_in_any_order(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "series,period,count\n"
        "a,2021-W02,5\nb,2020-12-28,1\na,2020-W53,4\na,2021-01-18,6\nb,2021-W01,2\n"
        "a,2021-01-04,7\n",
    )
    a, b = read_series(path)
    assert (a.name, b.name) == ("a", "b")
    # 2020-W53 is Monday 2020-12-28, 2021-W01 Monday 2021-01-04, 2021-W02 2021-01-11
    assert a.periods == tuple(dt.date(2020, 12, 28) + dt.timedelta(weeks=i) for i in range(4))
    np.testing.assert_array_equal(a.counts, [4, 7, 5, 6])
    assert b.periods == (dt.date(2020, 12, 28), dt.date(2021, 1, 4))
    assert a.start_phase == 53  # R's start[2]: the ISO week of the first period


def test_the_iso_week_gap_is_named(tmp_path: Path) -> None:
    path = _file(tmp_path, "series,period,count\na,2020-W53,4\na,2021-W02,5\n")
    with pytest.raises(BadInput) as caught:
        read_series(path)
    assert caught.value.code == "series.gap"
    assert "2021-01-04" in caught.value.problem.message_en


def test_daily_series(tmp_path: Path) -> None:
    rows = "".join(f"d,{dt.date(2024, 2, 27) + dt.timedelta(days=i)},{i}\n" for i in range(5))
    (s,) = read_series(_file(tmp_path, "series,period,count\n" + rows), freq="day")
    assert s.periods[2] == dt.date(2024, 2, 29)
    assert s.start_phase == 58  # day of the year
    assert s.position(dt.date(2024, 3, 2)) == 4
    assert s.position(dt.date(2024, 3, 3)) is None
    with pytest.raises(BadInput, match="not a whole week"):
        read_series(_file(tmp_path, "series,period,count\n" + rows))


def test_population_is_all_or_nothing(tmp_path: Path) -> None:
    good = "series,period,count,population\na,2024-01-01,1,1000\na,2024-01-08,2,1000.5\n"
    (s,) = read_series(_file(tmp_path, good))
    assert s.population is not None
    np.testing.assert_array_equal(s.population, [1000, 1000.5])
    bad = "series,period,count,population\na,2024-01-01,1,1000\na,2024-01-08,2,\n"
    with pytest.raises(BadInput) as caught:
        read_series(_file(tmp_path, bad))
    assert "row 2" in caught.value.problem.message_en
    assert "population" in caught.value.problem.message_en
    zero = "series,period,count,population\na,2024-01-01,1,0\n"
    with pytest.raises(BadInput, match="positive"):
        read_series(_file(tmp_path, zero))


def test_empty_file_and_messages_in_both_languages(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as caught:
        read_series(_file(tmp_path, "series,period,count\n"))
    assert caught.value.code == "file.empty"
    assert "没有数据行" in caught.value.problem.message_zh
