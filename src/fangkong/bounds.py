"""Bounds on every value a person, a file or a device sends — one place.

Every date, instant, integer and text that enters through the API, a page, a file or a
device upload is checked here before any service sees it:

* **Integers** are bounded to the column they land in: row ids are 32-bit on PostgreSQL
  (``1 ≤ id ≤ 2**31 − 1``), counts and offsets likewise; a JSON ``true`` is not an id
  and ``0`` is not a boolean (strict types for request bodies).
* **Dates and instants** are measured against the system's clock (``fangkong.clock``), so
  replayed 2022 data is accepted while the clock stands in 2022. Each kind of value has
  its window (:class:`Windows`, from the settings):

  ==========  ==========================================  ==============================
  kind        examples                                    window
  ==========  ==========================================  ==============================
  event       onset, sample date, check day, result time  ``past_days`` back … now (+ the
                                                          device skew for instants)
  device      a scanner's or lab system's own clock       ``past_days`` back … now +
                                                          ``device_ahead_seconds``
  planned     a quarantine end, a period's start          ``past_days`` back …
                                                          ``future_days`` ahead (a
                                                          capability may narrow it: a
                                                          quarantine end within the
                                                          pack's longest period)
  birth       a date of birth                             1900-01-01 … today
  ==========  ==========================================  ==============================

* **Text** carries no control characters (NUL and the C0/C1 range); one-line fields
  refuse line breaks and tabs too.

A refusal names the field and says what range was expected, in Chinese and English;
through the API it is a problem+json ``422`` with the stable code
``value.<kind>`` (``value.date_too_early``, ``value.date_too_late``,
``value.text_control``). The same checks serve files (:func:`date_problem` and friends
return a :class:`~fangkong.errors.Problem` for a ``RowProblem``) and pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, Field, StrictBool, StrictInt
from pydantic_core import PydanticCustomError

from fangkong import clock
from fangkong.errors import Problem

if TYPE_CHECKING:
    from fangkong.settings import Settings

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
EARLIEST_BIRTH = date(1900, 1, 1)

Kind = Literal["event", "device", "planned", "birth"]

_KIND_TEXT: dict[str, tuple[str, str]] = {
    "event": ("已发生的日期", "an event's date"),
    "device": ("设备时间", "a device's clock"),
    "planned": ("计划日期", "a planned date"),
    "birth": ("出生日期", "a date of birth"),
}


@dataclass(frozen=True)
class Windows:
    """How far from the system's clock each kind of value may lie (see the module doc)."""

    past_days: int = 730
    future_days: int = 90
    device_ahead_seconds: int = 300
    tz: tzinfo = UTC  # the region's time zone once configured from the settings

    def range_of(self, kind: Kind, now: datetime | None = None) -> tuple[datetime, datetime]:
        """The earliest and latest instant (aware UTC) a value of ``kind`` may take."""
        now = now or clock.now()
        if kind == "birth":
            earliest = datetime.combine(EARLIEST_BIRTH, time(), self.tz).astimezone(UTC)
            return earliest, now
        earliest = now - timedelta(days=self.past_days)
        if kind == "planned":
            return earliest, now + timedelta(days=self.future_days)
        return earliest, now + timedelta(seconds=self.device_ahead_seconds)

    def date_range(
        self, kind: Kind, now: datetime | None = None, tz: tzinfo | None = None
    ) -> tuple[date, date]:
        """The same window as local calendar dates in the region's time zone (or ``tz``:
        the zone the caller's page showed its dates in)."""
        lo, hi = self.range_of(kind, now)
        zone = tz or self.tz
        return lo.astimezone(zone).date(), hi.astimezone(zone).date()


_windows = Windows()


def configure(
    *,
    past_days: int | None = None,
    future_days: int | None = None,
    device_ahead_seconds: int | None = None,
    timezone: str | None = None,
) -> None:
    """Set this process's windows (from the settings, at server or command start)."""
    global _windows
    base = Windows()
    _windows = Windows(
        past_days=base.past_days if past_days is None else past_days,
        future_days=base.future_days if future_days is None else future_days,
        device_ahead_seconds=(
            base.device_ahead_seconds if device_ahead_seconds is None else device_ahead_seconds
        ),
        tz=ZoneInfo(timezone) if timezone else base.tz,
    )


def configure_from(settings: Settings) -> None:
    """Set the windows from the settings (``FANGKONG_INPUT_*``, the region's time zone)."""
    configure(
        past_days=settings.input_past_days,
        future_days=settings.input_future_days,
        device_ahead_seconds=settings.device_ahead_seconds,
        timezone=settings.timezone,
    )


def windows() -> Windows:
    """The windows in force in this process."""
    return _windows


# ---------------------------------------------------------------- checks that return problems


def _named(code: str, field: str, zh: str, en: str) -> Problem:
    """A problem whose messages start with the field's name (none when ``field`` is empty)."""
    return Problem(code, f"{field}：{zh}" if field else zh, f"{field}: {en}" if field else en)


def _too_early(field: str, kind: Kind, earliest: object) -> Problem:
    zh, en = _KIND_TEXT[kind]
    return _named(
        "value.date_too_early",
        field,
        f"{zh}不能早于 {earliest}",
        f"{en} cannot be before {earliest}",
    )


def _too_late(field: str, kind: Kind, latest: object) -> Problem:
    zh, en = _KIND_TEXT[kind]
    return _named(
        "value.date_too_late", field, f"{zh}不能晚于 {latest}", f"{en} cannot be after {latest}"
    )


def date_problem(
    value: date, kind: Kind, field: str, *, now: datetime | None = None,
    tz: tzinfo | None = None,
) -> Problem | None:  # fmt: skip
    """Why the local date ``value`` (a date in ``tz``, default the region's) is outside
    the window of ``kind``, or None."""
    lo, hi = _windows.date_range(kind, now, tz)
    if value < lo:
        return _too_early(field, kind, lo.isoformat())
    if value > hi:
        return _too_late(field, kind, hi.isoformat())
    return None


def instant_problem(
    value: datetime, kind: Kind, field: str, *, now: datetime | None = None
) -> Problem | None:
    """Why the aware instant ``value`` is outside the window of ``kind``, or None."""
    lo, hi = _windows.range_of(kind, now)
    if value < lo:
        return _too_early(field, kind, lo.astimezone(_windows.tz).isoformat(timespec="minutes"))
    if value > hi:
        return _too_late(field, kind, hi.astimezone(_windows.tz).isoformat(timespec="minutes"))
    return None


def in_window(value: date | datetime | None, kind: Kind, *, now: datetime | None = None) -> bool:
    """Whether a stored value lies in its window (pages flag those that do not)."""
    if value is None:
        return True
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return instant_problem(aware, kind, "", now=now) is None
    return date_problem(value, kind, "", now=now) is None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def text_problem(value: str, field: str, *, multiline: bool = False) -> Problem | None:
    """Why ``value`` cannot be stored as text (a control character), or None."""
    pattern = _CONTROL if multiline else _CONTROL_LINE
    if pattern.search(value):
        return _named(
            "value.text_control",
            field,
            "不能含控制字符" + ("" if multiline else "（含换行、制表符）"),
            "control characters are not allowed"
            + ("" if multiline else " (line breaks and tabs included)"),
        )
    return None


def int_problem(value: int, field: str, *, lo: int = 1, hi: int = INT32_MAX) -> Problem | None:
    """Why ``value`` does not fit its column (``lo``…``hi``), or None."""
    if lo <= value <= hi:
        return None
    return _named(
        "value.out_of_range", field, f"应在 {lo} 到 {hi} 之间", f"must be between {lo} and {hi}"
    )


# ---------------------------------------------------------------- pydantic types for requests


def _raise(problem: Problem) -> None:
    raise PydanticCustomError(
        problem.code.removeprefix("value."),
        problem.message_en.replace("{", "{{").replace("}", "}}"),
        {"zh": problem.message_zh},
    )


def _dates(kind: Kind) -> AfterValidator:
    def check(value: date) -> date:
        if (problem := date_problem(value, kind, "")) is not None:
            _raise(problem)
        return value

    return AfterValidator(check)


def _instants(kind: Kind) -> AfterValidator:
    def check(value: datetime) -> datetime:
        if (problem := instant_problem(value, kind, "")) is not None:
            _raise(problem)
        return value

    return AfterValidator(check)


def _text(multiline: bool) -> AfterValidator:
    def check(value: str) -> str:
        if (problem := text_problem(value, "", multiline=multiline)) is not None:
            _raise(problem)
        return value

    return AfterValidator(check)


EventDate = Annotated[date, _dates("event")]
"""A local date something happened (onset, sample, check day): ``past_days`` … today."""
EventInstant = Annotated[AwareDatetime, _instants("event")]
"""An instant something happened (collected, reported, isolated)."""
DeviceInstant = Annotated[AwareDatetime, _instants("device")]
"""A device's own clock: at most ``device_ahead_seconds`` ahead of the system's."""
PlannedInstant = Annotated[AwareDatetime, _instants("planned")]
"""An instant planned ahead (a period's end): at most ``future_days`` ahead."""
PlannedDate = Annotated[date, _dates("planned")]
BirthDate = Annotated[date, _dates("birth")]

RowId = Annotated[StrictInt, Field(ge=1, le=INT32_MAX)]
"""A row id in a JSON body: a whole number 1 … 2**31−1 (``true`` and ``"5"`` refused)."""
Count = Annotated[StrictInt, Field(ge=0, le=INT32_MAX)]
Flag = StrictBool
"""A boolean in a JSON body: ``true`` or ``false`` only (``0``, ``"yes"`` refused)."""
Line = Annotated[str, _text(multiline=False)]
"""One line of text (a name, a code, a reason's title): no control characters."""
Text = Annotated[str, _text(multiline=True)]
"""Free text (a note, a reason): line breaks allowed, other control characters not."""

# bounds for path and query parameters (strings parsed by the framework, so not strict)
ID_BOUNDS: dict[str, int] = {"ge": 1, "le": INT32_MAX}
OFFSET_BOUNDS: dict[str, int] = {"ge": 0, "le": INT32_MAX}


# ---------------------------------------------------------------- dates sent as text (API)
# Some request bodies carry dates as text because the service that reads them also reads
# files (manifests, signal counts) and reports a bad format itself, per row. These types
# leave the format to that service and bound only what parses.


def _iso_value(value: str) -> date | datetime | None:
    text = value.strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        return None


def _text_dates(kind: Kind) -> AfterValidator:
    def check(value: str) -> str:
        if (problem := text_problem(value, "")) is not None:
            _raise(problem)
        parsed = _iso_value(value)
        if isinstance(parsed, datetime) and parsed.tzinfo is not None:
            problem = instant_problem(parsed, kind, "")
        elif parsed is not None:
            day = parsed.date() if isinstance(parsed, datetime) else parsed
            problem = date_problem(day, kind, "")
        if problem is not None:
            _raise(problem)
        return value

    return AfterValidator(check)


EventDateText = Annotated[str, _text_dates("event")]
"""A date or instant sent as text (``YYYY-MM-DD`` or ISO 8601): bounded like an event
when it parses; a bad format is left to the service that reads it (and names it)."""
BirthDateText = Annotated[str, _text_dates("birth")]


def sane_date_problem(value: date, field: str, *, now: datetime | None = None) -> Problem | None:
    """Why ``value`` cannot be any date a service computes with: before 1900-01-01 or past
    the planned window's end (a service checks this much on every path — replayed and
    simulated data included — while the API applies the narrower window of the kind)."""
    if value < EARLIEST_BIRTH:
        return _too_early(field, "event", EARLIEST_BIRTH.isoformat())
    latest = _windows.date_range("planned", now)[1]
    if value > latest:
        return _too_late(field, "event", latest.isoformat())
    return None


# ---------------------------------------------------------------- columns of files, stored rows
# (files, forms and stored records; the request types above are the API's)

# the characters ``text_problem`` refuses in free text, once for Python and once for Arrow (RE2)
_CONTROL_RE2 = r"[\x{00}-\x{08}\x{0b}\x{0c}\x{0e}-\x{1f}\x{7f}-\x{9f}]"
OUT_OF_RANGE_ZH = "日期超出范围"
OUT_OF_RANGE_EN = "date out of range"


def control_rows(values: Sequence[str | None]) -> list[int]:
    """Indices of the cells holding a control character (line breaks and tabs allowed).

    One pass over the joined column decides the common case (no control character
    anywhere); only then are the cells looked at one by one.
    """
    if not _CONTROL.search("".join(filter(None, values))):
        return []
    return [i for i, v in enumerate(values) if v and _CONTROL.search(v)]


def control_rows_arrow(values: Any) -> list[int]:
    """The same for an Arrow string column (vectorised: RE2 over the column)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return []
    hits = pc.fill_null(pc.match_substring_regex(values, _CONTROL_RE2), False)
    if not pc.any(hits).as_py():
        return []
    return [int(i) for i in np.flatnonzero(hits.to_numpy(zero_copy_only=False))]


def text_column_problem(field: str) -> Problem:
    """The problem of a file cell holding a control character (see ``control_rows``)."""
    return _named("value.text_control", field, "不能含控制字符",
                  "control characters are not allowed")  # fmt: skip


def window_rows_arrow(values: Any, kind: Kind, field: str) -> list[tuple[int, Problem]]:
    """Rows of an Arrow date32 or timestamp column outside the window of ``kind``
    (vectorised: two comparisons over the column), each with its problem."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(values.type):
        lo, hi = _windows.range_of(kind)
        low, high = pa.scalar(lo, values.type), pa.scalar(hi, values.type)
        early, late = _too_early_instant(field, kind, lo), _too_late_instant(field, kind, hi)
    else:
        dlo, dhi = _windows.date_range(kind)
        low, high = pa.scalar(dlo, values.type), pa.scalar(dhi, values.type)
        early = _too_early(field, kind, dlo.isoformat())
        late = _too_late(field, kind, dhi.isoformat())
    out: list[tuple[int, Problem]] = []
    for mask, problem in ((pc.less(values, low), early), (pc.greater(values, high), late)):
        hits = pc.fill_null(mask, False)
        if pc.any(hits).as_py():
            out += [(int(i), problem) for i in np.flatnonzero(hits.to_numpy(zero_copy_only=False))]
    return sorted(out, key=lambda item: item[0])


def _too_early_instant(field: str, kind: Kind, lo: datetime) -> Problem:
    return _too_early(field, kind, lo.astimezone(_windows.tz).isoformat(timespec="minutes"))


def _too_late_instant(field: str, kind: Kind, hi: datetime) -> Problem:
    return _too_late(field, kind, hi.astimezone(_windows.tz).isoformat(timespec="minutes"))


def local(value: datetime, tz: tzinfo) -> datetime:
    """``value`` in the zone ``tz``; at the ends of the calendar (a stored 9999-12-31
    23:59 UTC is in year 10000 in Shanghai) the stored instant itself, unconverted."""
    try:
        return value.astimezone(tz)
    except OverflowError:
        return value


def refuse(*problems: Problem | None) -> None:
    """Raise the first problem found as ``BadInput`` (a page re-renders its form with it)."""
    from fangkong.errors import BadInput

    for problem in problems:
        if problem is not None:
            raise BadInput(problem)


# ---------------------------------------------------------------- a request's path and query


def request_problem(path: str, query: Iterable[tuple[str, str]]) -> Problem | None:
    """Why a request's (decoded) path or query parameters cannot be served: a control
    character in the path or in a parameter's name or value (a NUL cannot even reach
    PostgreSQL), naming the parameter; or None. Checked once for every request before
    any route reads its parameters."""
    if _CONTROL_LINE.search(path):
        return _named("value.text_control", "path", "网址中不能含控制字符",
                      "control characters are not allowed in the address")  # fmt: skip
    for name, value in query:
        if (problem := text_problem(name + value, name if name.isprintable() else "?")) is not None:
            return problem
    return None
