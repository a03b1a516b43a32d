"""The one place inputs are bounded: windows around the system's clock, ids, text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from fangkong import bounds, clock

NOW = datetime(2022, 4, 8, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture(autouse=True)
def _windows() -> Iterator[None]:
    bounds.configure(past_days=730, future_days=90, device_ahead_seconds=300,
                     timezone="Asia/Shanghai")  # fmt: skip
    with clock.frozen(NOW):
        yield
    bounds.configure()


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: bounds.RowId
    onset: bounds.EventDate | None = None
    device_time: bounds.DeviceInstant | None = None
    new_end: bounds.PlannedInstant | None = None
    born: bounds.BirthDate | None = None
    masked: bounds.Flag = False
    reason: bounds.Text = ""
    name: bounds.Line = ""


def _errors(**fields: object) -> list[str]:
    try:
        Body.model_validate_json(_json(fields))
    except ValidationError as exc:
        return [str(e["type"]) for e in exc.errors()]
    return []


def _json(fields: dict[str, object]) -> str:
    import json

    return json.dumps({"person_id": 1, **fields}, default=str)


def test_replayed_2022_dates_pass_while_the_clock_stands_in_2022() -> None:
    assert _errors(onset="2022-04-01", device_time="2022-04-08T12:04:00+08:00") == []
    assert _errors(new_end="2022-06-30T00:00:00+08:00", born="1931-02-03") == []


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("onset", "9999-12-31", "date_too_late"),
        ("onset", "0001-01-01", "date_too_early"),
        ("onset", "2022-04-09", "date_too_late"),  # tomorrow in Shanghai
        ("onset", "2020-04-07", "date_too_early"),  # 731 days back
        ("device_time", "9999-01-01T00:00:00+00:00", "date_too_late"),
        ("device_time", "2022-04-08T12:05:01+08:00", "date_too_late"),  # 5 min 1 s ahead
        ("new_end", "9999-12-31T00:00:00+08:00", "date_too_late"),
        ("new_end", "2022-07-08T00:00:00+08:00", "date_too_late"),  # 91 days ahead
        ("born", "1899-12-31", "date_too_early"),
        ("born", "2022-04-09", "date_too_late"),
    ],
)
def test_a_date_outside_its_window_is_refused(field: str, value: str, kind: str) -> None:
    assert _errors(**{field: value}) == [kind]


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"person_id": 2**63}, "less_than_equal"),
        ({"person_id": 2**31}, "less_than_equal"),
        ({"person_id": 0}, "greater_than_equal"),
        ({"person_id": True}, "int_type"),
        ({"person_id": "5"}, "int_type"),
        ({"masked": 0}, "bool_type"),
        ({"reason": "a\x00b"}, "text_control"),
        ({"name": "two\nlines"}, "text_control"),
    ],
)
def test_ids_flags_and_text_are_strict(fields: dict[str, object], kind: str) -> None:
    assert _errors(**fields) == [kind]


def test_a_note_keeps_its_line_breaks() -> None:
    assert _errors(reason="first line\nsecond line\twith a tab") == []


def test_the_refusal_names_the_window_in_both_languages() -> None:
    problem = bounds.date_problem(date(9999, 12, 31), "event", "onset_date")
    assert problem is not None
    assert problem.code == "value.date_too_late"
    assert problem.message_zh == "onset_date：已发生的日期不能晚于 2022-04-08"
    assert problem.message_en == "onset_date: an event's date cannot be after 2022-04-08"


def test_the_windows_follow_the_settings() -> None:
    bounds.configure(past_days=10, device_ahead_seconds=0, timezone="Asia/Shanghai")
    assert bounds.date_problem(NOW.date() - timedelta(days=11), "event", "d") is not None
    assert bounds.date_problem(NOW.date() - timedelta(days=10), "event", "d") is None
    assert bounds.instant_problem(NOW + timedelta(seconds=1), "device", "t") is not None


def test_stored_values_out_of_their_window_are_recognised_for_flagging() -> None:
    assert bounds.in_window(date(2022, 4, 1), "event")
    assert not bounds.in_window(date(9999, 12, 31), "event")
    assert not bounds.in_window(datetime(9999, 12, 31), "planned")  # noqa: DTZ001 (stored UTC)
    assert bounds.in_window(None, "planned")
