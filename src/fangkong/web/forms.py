"""Page forms in one place (表单): a form is a tuple of :class:`Field`; :func:`parse` turns
the posted text into values within their bounds, or a problem per field; the page is
then drawn again with what was typed and each error next to its field, in the reader's
language (:class:`Shown`, the partial ``_field.html``).

Every handler of a page form reads the body through :data:`Posted` (never FastAPI's
``Form(max_length=…)``, whose refusal is a bare 422 page that loses what was typed), so
a too-long text, a date that cannot be, a future date where the past is meant, a number
out of range or a region code that cannot be one is answered on the form itself. The
bounds are those of the API (``fangkong.bounds``: the system clock and the input windows
of the settings).

:func:`parse` never raises, whatever the text or its length: it returns either values
that lie within the bounds of their fields or at least one error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Annotated, Any, Literal

from fastapi import Depends, Request

from fangkong import bounds
from fangkong.errors import BadInput, Conflict, FangkongError, Problem
from fangkong.http.problems import status_of

Kind = Literal["text", "multiline", "int", "number", "day", "instant", "choice", "region", "ids"]

_SHOWN_MAX = 40  # characters of a bad value quoted back in a message
_REGION = re.compile(r"^[0-9]{2,15}$")  # the shape; whether it exists for the actor: the service


@dataclass(frozen=True)
class Field:
    """One field of a form: its name in the body, its kind and its bounds."""

    name: str
    kind: Kind = "text"
    required: bool = False
    max_length: int = 200
    lo: float = 0
    hi: float = bounds.INT32_MAX
    window: bounds.Kind = "event"
    choices: tuple[str, ...] = ()


def text(name: str, *, max_length: int = 200, required: bool = False) -> Field:
    """One line of text (no line breaks, no control characters)."""
    return Field(name, "text", required, max_length)


def multiline(name: str, *, max_length: int = 2000, required: bool = False) -> Field:
    """Free text over several lines (a reason, a note)."""
    return Field(name, "multiline", required, max_length)


def integer(name: str, *, lo: int, hi: int, required: bool = True) -> Field:
    return Field(name, "int", required, 20, lo, hi)


def number(name: str, *, lo: float, hi: float, required: bool = False) -> Field:
    """A decimal number (a temperature, a coordinate)."""
    return Field(name, "number", required, 30, lo, hi)


def day(name: str, window: bounds.Kind = "event", *, required: bool = True) -> Field:
    """A calendar date (YYYY-MM-DD) within the window of ``window``."""
    return Field(name, "day", required, 10, window=window)


def instant(name: str, window: bounds.Kind = "event", *, required: bool = True) -> Field:
    """A local date and time (``datetime-local``), read in the region's time zone."""
    return Field(name, "instant", required, 30, window=window)


def choice(name: str, choices: Iterable[str], *, required: bool = True) -> Field:
    return Field(name, "choice", required, 40, choices=tuple(choices))


def region(name: str, *, required: bool = True) -> Field:
    """A region code (2–15 digits). Whether it exists is the service's answer, the same
    for a region outside the actor's jurisdiction (nothing leaks); a handler puts that
    answer next to the field (``Parsed.refused``'s ``fields_of``)."""
    return Field(name, "region", required, 15)


def ids(name: str, *, required: bool = True) -> Field:
    """Row ids (ticked boxes); when required, at least one."""
    return Field(name, "ids", required, 20, 1, bounds.INT32_MAX)


def _problem(code: str, zh: str, en: str) -> Problem:
    return Problem(f"form.{code}", zh, en)


def _quoted(raw: str) -> str:
    cut = raw if len(raw) <= _SHOWN_MAX else raw[:_SHOWN_MAX] + "…"
    return repr(cut)


REQUIRED = _problem("required", "请填写此项", "this field is required")
NONE_TICKED = _problem("none_ticked", "请至少选择一项", "tick at least one")


def too_long(limit: int, given: int) -> Problem:
    return _problem(
        "too_long",
        f"最多 {limit} 个字符（现有 {given} 个）",
        f"at most {limit} characters ({given} given)",
    )


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)


def _out_of_range(lo: float, hi: float) -> Problem:
    a, b = _num(lo), _num(hi)
    return _problem("out_of_range", f"应在 {a} 到 {b} 之间", f"must be between {a} and {b}")


@dataclass
class Parsed:
    """What :func:`parse` found: the typed text, the values, the errors (field → problem)."""

    typed: dict[str, str | list[str]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Problem] = field(default_factory=dict)
    refusal: FangkongError | None = None  # the service's, kept by :meth:`run`
    result: Any = None  # what the action of :meth:`run` returned

    @property
    def ok(self) -> bool:
        return not self.errors

    def run(
        self, action: Callable[[dict[str, Any]], Any],
        refusals: tuple[type[FangkongError], ...] = (BadInput, Conflict),
    ) -> bool:  # fmt: skip
        """``action(values)`` when the form parsed; whether it was done (its answer in
        :attr:`result`). A refusal of the service of the kinds ``refusals`` is kept for
        :meth:`refused`, which draws it; any other error goes on up."""
        if not self.ok:
            return False
        try:
            self.result = action(self.values)
        except refusals as exc:
            self.refusal = exc
            return False
        return True

    def fail(self, name: str, problem: Problem) -> None:
        """Put a problem found later (by the service) next to its field."""
        self.errors.setdefault(name, problem)
        self.values.pop(name, None)

    def shown(self, form_id: str, lang: str) -> Shown:
        messages = {k: p.text(lang) for k, p in self.errors.items()}
        summary = FIX_BELOW.text(lang) if messages else ""
        return Shown(form_id, dict(self.typed), messages, summary)

    def refused(
        self, form_id: str, lang: str, exc: FangkongError | None = None,
        fields_of: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        """The status and the template context (``shown``, ``error``) of a refused form.

        A service's refusal goes next to its field when it names one (``InvalidFields``)
        or when ``fields_of`` maps its code to one; otherwise it is the form's one error."""
        error = None
        status = 422
        exc = exc if exc is not None else self.refusal
        if exc is not None:
            status = status_of(exc)
            named = [(f.field, f.problem) for f in getattr(exc, "fields", [])]
            if not named and fields_of and exc.code in fields_of:
                named = [(fields_of[exc.code], exc.problem)]
            named = [(n, p) for n, p in named if n in self.typed]
            for name, problem in named:
                self.fail(name, problem)
            if not named:
                error = exc.problem.text(lang)
        return status, {"shown": self.shown(form_id, lang), "error": error}


@dataclass(frozen=True)
class Shown:
    """One form as a template draws it again: its id, what was typed, the errors."""

    id: str
    typed: Mapping[str, str | list[str]]
    errors: Mapping[str, str]
    summary: str = ""

    def value(self, name: str, default: object = "") -> object:
        return self.typed.get(name, default)


def _one(f: Field, raw: str, tz: tzinfo) -> Any:
    """The value of ``raw`` for ``f`` (not empty, not too long), or a :class:`Problem`."""
    kind = f.kind
    if kind in ("text", "multiline", "choice", "region"):
        found = bounds.text_problem(raw, "", multiline=kind == "multiline")
        if found is not None:
            return found
        if kind == "choice" and raw not in f.choices:
            return _problem(
                "choice", f"不是可选项：{_quoted(raw)}", f"not one of the choices: {_quoted(raw)}"
            )
        if kind == "region" and not _REGION.match(raw):
            return _problem("region", f"不是地区代码：{_quoted(raw)}（2–15 位数字）",
                            f"not a region code: {_quoted(raw)} (2 to 15 digits)")  # fmt: skip
        return raw
    if kind in ("int", "ids"):
        if not re.fullmatch(r"[+-]?[0-9]{1,19}", raw):
            return _problem(
                "int", f"应为整数：{_quoted(raw)}", f"not a whole number: {_quoted(raw)}"
            )
        n = int(raw)
        return n if f.lo <= n <= f.hi else _out_of_range(f.lo, f.hi)
    if kind == "number":
        try:
            x = float(raw)
        except ValueError:
            x = math.nan
        if not math.isfinite(x):
            return _problem("number", f"应为数值：{_quoted(raw)}", f"not a number: {_quoted(raw)}")
        return x if f.lo <= x <= f.hi else _out_of_range(f.lo, f.hi)
    if kind == "day":
        try:
            d = date.fromisoformat(raw)
        except ValueError:
            return _problem("date", f"不是有效日期：{_quoted(raw)}（格式 2022-03-01）",
                            f"not a valid date: {_quoted(raw)} (as 2022-03-01)")  # fmt: skip
        return bounds.date_problem(d, f.window, "", tz=tz) or d  # the page's own zone
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        return _problem("instant", f"不是有效时间：{_quoted(raw)}（格式 2022-03-01T08:00）",
                        f"not a valid time: {_quoted(raw)} (as 2022-03-01T08:00)")  # fmt: skip
    t = t.replace(tzinfo=tz) if t.tzinfo is None else t
    return bounds.instant_problem(t, f.window, "") or t


def parse(
    fields: Iterable[Field],
    items: Iterable[tuple[str, object]],
    *,
    tz: tzinfo,
) -> Parsed:
    """The posted ``items`` (name, text) read by ``fields``: values or errors per field.

    Never raises. A field left empty and not required is ``None`` (``[]`` for ids)."""
    posted: dict[str, list[str]] = {}
    for name, value in items:
        posted.setdefault(name, []).append(value if isinstance(value, str) else "")
    out = Parsed()
    for f in fields:
        raws = posted.get(f.name, [])
        if f.kind == "ids":
            out.typed[f.name] = list(raws)
            found = [_one(f, r.strip()[:30], tz) for r in raws]
            bad = next((p for p in found if isinstance(p, Problem)), None)
            if bad is None and f.required and not found:
                bad = NONE_TICKED
            if bad is not None:
                out.errors[f.name] = bad
            else:
                out.values[f.name] = found
            continue
        raw = raws[0] if raws else ""
        if f.kind == "multiline":  # a browser sends CRLF; its maxlength counted one
            raw = raw.replace("\r\n", "\n")
        out.typed[f.name] = raw
        raw = raw.strip()
        if len(raw) > f.max_length:
            out.errors[f.name] = too_long(f.max_length, len(raw))
        elif not raw:
            if f.required:
                out.errors[f.name] = REQUIRED
            else:
                out.values[f.name] = None
        else:
            value = _one(f, raw, tz)
            if isinstance(value, Problem):
                out.errors[f.name] = value
            else:
                out.values[f.name] = value
    return out


@dataclass(frozen=True)
class PostedForm:
    """A page form's body as (name, text) pairs, read once."""

    items: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str:
        return next((v for k, v in self.items if k == name), "")

    @property
    def csrf(self) -> str:
        return self.get("csrf_token")[:200]


async def _read_form(request: Request) -> PostedForm:
    data = await request.form()
    return PostedForm(tuple((k, v if isinstance(v, str) else "") for k, v in data.multi_items()))


Posted = Annotated[PostedForm, Depends(_read_form)]
"""The body of a page form, for a handler to give to :func:`parse`."""

FIX_BELOW = _problem(
    "fix_below", "请更正下面标出的字段。", "Please correct the fields marked below."
)
