"""The shared form layer (web/forms.py) as a property: whatever the text and its length,
:func:`parse` does not raise, and every field ends with either a value within its
bounds or an error — never both, never neither."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong import bounds
from fangkong.web import forms

TZ = ZoneInfo("Asia/Shanghai")
FIELDS = (
    forms.text("name", max_length=100, required=True),
    forms.multiline("reason", max_length=2000),
    forms.integer("days", lo=-90, hi=90),
    forms.number("temperature", lo=30.0, hi=45.0),
    forms.day("day", "event"),
    forms.day("born", "birth", required=False),
    forms.instant("starts_at", "planned"),
    forms.choice("status", ("done", "not_done")),
    forms.region("region_code"),
    forms.ids("contact"),
)

texts = st.one_of(
    st.text(max_size=50),
    st.text(alphabet="0123456789-:T +.e", max_size=30),  # near dates and numbers
    st.sampled_from(
        [
            "",
            " ",
            "2022-02-30",
            "2030-01-01",
            "9999-12-31T23:59",
            "nan",
            "inf",
            "1e999",
            "-0",
            "36.6",
            "140102",
            "ZZZ",
            "done",
            "2147483648",
            "\x00",
            "a\r\nb",
            "x" * 2001,
        ]
    ),
    st.integers(min_value=0, max_value=5000).map(lambda n: "字" * n),
)
posted = st.lists(st.tuples(st.sampled_from([f.name for f in FIELDS] + ["other"]), texts),
                  max_size=15)  # fmt: skip


def _within(f: forms.Field, value: object) -> bool:
    if value is None:
        return not f.required
    if f.kind in ("text", "multiline"):
        assert isinstance(value, str)
        multiline = f.kind == "multiline"
        return (
            len(value) <= f.max_length
            and bounds.text_problem(value, "", multiline=multiline) is None
        )
    if f.kind == "choice":
        return value in f.choices
    if f.kind == "region":
        return isinstance(value, str) and value.isdigit() and 2 <= len(value) <= 15
    if f.kind == "int":
        return isinstance(value, int) and f.lo <= value <= f.hi
    if f.kind == "number":
        return isinstance(value, float) and f.lo <= value <= f.hi
    if f.kind == "day":
        return isinstance(value, date) and bounds.date_problem(value, f.window, "") is None
    if f.kind == "instant":
        return (
            isinstance(value, datetime)
            and value.tzinfo is not None
            and (bounds.instant_problem(value, f.window, "") is None)
        )
    assert f.kind == "ids"
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(n, int) and 1 <= n <= bounds.INT32_MAX for n in value)
    )


@settings(max_examples=400, deadline=None)
@given(posted)
def test_parse_never_raises_and_gives_values_within_bounds_or_errors(
    items: list[tuple[str, str]],
) -> None:
    got = forms.parse(FIELDS, items, tz=TZ)
    for f in FIELDS:
        assert (f.name in got.values) != (f.name in got.errors), f.name
        if f.name in got.values:
            assert _within(f, got.values[f.name]), (f.name, got.values[f.name])
        else:
            problem = got.errors[f.name]
            assert problem.message_zh
            assert problem.message_en
    shown = got.shown("f", "en")
    assert set(shown.errors) == set(got.errors)
    assert bool(shown.summary) == bool(got.errors)
    # what was typed is kept, a line break as the browser sent it counted once
    for name in {n for n, _ in items} & set(shown.typed) - {"contact"}:
        first = next(v for n, v in items if n == name)
        assert shown.typed[name] in (first, first.replace("\r\n", "\n"))
