"""The health-code evaluator (赋码): facts + time + policy pack → colour, reasons, next change.

Each rule of the pack turns the person's facts into *intervals*: a colour from ``start``
until ``end`` (``None``: until something clears it). The code at time t is the most
severe colour among the intervals holding t; each interval holding ``at`` is a reason.

::

    facts ──rule──▶ intervals ──max colour at t──▶ colour(t)
                        │ holding ``at``              │ first t > at with colour(t) ≠ colour(at)
                        ▼                              ▼
                     reasons (zh/en)             next_change_at ("if nothing else happens")

``next_change_at`` is found here the plain way — try every interval boundary after
``at`` in order — and in ``bulk.py`` by a vectorised formula; a property test proves
them equal. Facts dated after ``at`` are ignored (see ``facts.py``).

``review_at`` is when the explanation may next differ with no new fact recorded: the
first instant after ``at`` at which an interval starts or ends (a reason starts or ends,
the colour or next change may move) or a stored fact becomes visible (a fact starting
after ``at``, a sample taken or a result reported after ``at``: it can start, end or
re-word a reason — a negative gives an interval its ``until``). Until then the decision,
reasons and their texts included, is exactly the one made at ``at``; the service stores
it and re-explains a code when it is reached (``service.recompute_all``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fangkong import bounds
from fangkong.healthcode.facts import PersonFacts, TestFact
from fangkong.policy.model import Colour, Pack, Rule, Text
from fangkong.policy.templates import render
from fangkong.settings import default_tz

HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)
_FAR = datetime.max.replace(tzinfo=UTC)
_DEFAULT_TZ = default_tz()
T = TypeVar("T")


@dataclass(frozen=True)
class Interval:
    """A colour a rule gives from ``start`` until ``end`` (``None``: until cleared)."""

    rule: Rule
    colour: Colour
    start: datetime
    end: datetime | None
    text: Text
    clears: Text
    values: dict[str, Any] = field(default_factory=dict)

    def holds(self, t: datetime) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True)
class Reason:
    """Why the code has its colour: the rule, a sentence, since/until, what clears it."""

    rule_id: str
    colour: Colour
    since: datetime
    until: datetime | None
    text_zh: str
    text_en: str
    clears_zh: str
    clears_en: str

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "colour": self.colour.label,
            "since": self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "zh": self.text_zh,
            "en": self.text_en,
            "clears_zh": self.clears_zh,
            "clears_en": self.clears_en,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reason:
        until = data.get("until")
        return cls(
            data["rule"],
            Colour.parse(data["colour"]),
            datetime.fromisoformat(data["since"]),
            None if until is None else datetime.fromisoformat(until),
            data["zh"],
            data["en"],
            data["clears_zh"],
            data["clears_en"],
        )


@dataclass(frozen=True)
class Decision:
    """The code at ``evaluated_at``: colour, every reason, when it changes and to what."""

    colour: Colour
    reasons: tuple[Reason, ...]
    next_change_at: datetime | None
    next_colour: Colour | None
    evaluated_at: datetime
    pack_ref: str
    review_at: datetime | None = None  # nothing of this decision can change before it

    def explain(self, lang: str = "zh+en", tz: ZoneInfo = _DEFAULT_TZ) -> str:
        """The full explanation as lines of text, in ``zh``, ``en`` or both."""
        langs = ["zh", "en"] if lang == "zh+en" else [lang]
        lines: list[str] = []
        for lg in langs:
            zh = lg == "zh"
            head = (
                f"{self.colour.zh}（{fmt_time(self.evaluated_at, tz)}，政策包 {self.pack_ref}）"
                if zh
                else f"{self.colour.label} code ({fmt_time(self.evaluated_at, tz)}, "
                f"policy pack {self.pack_ref})"
            )
            lines.append(head)
            if not self.reasons:
                lines.append("  无风险记录" if zh else "  no risk on record")
            for r in self.reasons:
                mark = r.colour.zh if zh else r.colour.label
                lines.append(f"  [{mark}] {r.rule_id}: {r.text_zh if zh else r.text_en}")
                lines.append(f"      {'解除条件' if zh else 'cleared by'}: "
                             f"{r.clears_zh if zh else r.clears_en}")  # fmt: skip
            if self.next_change_at is not None and self.next_colour is not None:
                when = fmt_time(self.next_change_at, tz)
                lines.append(
                    f"  如无新情况，将于 {when} 转为{self.next_colour.zh}"
                    if zh
                    else f"  if nothing else happens, turns {self.next_colour.label} at {when}"
                )
        return "\n".join(lines)


def fmt_time(t: datetime, tz: ZoneInfo = _DEFAULT_TZ) -> str:
    # a stored time at the end of the calendar is shown unconverted, not a 500 (issue 16)
    return bounds.local(t, tz).strftime("%Y-%m-%d %H:%M")


# ---- choosing the facts that count -----------------------------------------------------


def latest(items: Iterable[T], key: Callable[[T], tuple[Any, ...]]) -> T | None:
    """The item with the greatest key (start, end with open ends last, …), or None."""
    best: T | None = None
    best_key: tuple[Any, ...] | None = None
    for item in items:
        k = key(item)
        if best_key is None or k > best_key:
            best, best_key = item, k
    return best


def _open(t: datetime | None) -> datetime:
    return _FAR if t is None else t


def _negatives(tests: Sequence[TestFact], at: datetime) -> list[TestFact]:
    return [
        t
        for t in tests
        if t.result == "negative" and t.reported_at is not None and t.reported_at <= at
    ]


def first_clearing(
    negatives: Sequence[TestFact], threshold: datetime | None, *, individual: bool = False
) -> datetime | None:
    """When the first negative result sampled at or after ``threshold`` was reported."""
    if threshold is None:
        return None
    times = [
        t.reported_at
        for t in negatives
        if t.sampled_at >= threshold and t.reported_at is not None and not (individual and t.pooled)
    ]
    return min(times) if times else None


def _later(a: datetime, b: datetime | None) -> datetime | None:
    """The end of an interval that needs both ``a`` passed and ``b`` happened."""
    return None if b is None else max(a, b)


# ---- rules → intervals -------------------------------------------------------------------


class _Person:
    """The facts of one person as they stand at ``at``, with the derived quantities."""

    def __init__(self, facts: PersonFacts, at: datetime) -> None:
        self.facts = facts
        self.at = at
        self.negatives = _negatives(facts.tests, at)
        case = latest(
            (c for c in facts.cases if c.diagnosed_at <= at),
            lambda c: (c.diagnosed_at, _open(c.discharged_at)),
        )
        self.case = case
        self.anchors: dict[str, tuple[datetime, str]] = {}
        for kind in ("close_contact", "contact_of_contact", "companion"):
            e = latest(
                (x for x in facts.exposures if x.kind == kind and x.exposed_at <= at),
                lambda x: (x.exposed_at,),
            )
            if e is not None:
                self.anchors[kind] = (e.exposed_at, "")
        for risk in ("high", "medium", "low", "inbound"):
            a = latest(
                (x for x in facts.arrivals if x.risk == risk and x.arrived_at <= at),
                lambda x: (x.arrived_at,),
            )
            if a is not None:
                self.anchors[f"arrival_{risk}"] = (a.arrived_at, a.origin)
        if case is not None and case.discharged_at is not None:
            self.anchors["discharge"] = (case.discharged_at, "")


def intervals(facts: PersonFacts, at: datetime, pack: Pack) -> list[Interval]:
    """Every interval the pack's rules give this person, as the facts stand at ``at``."""
    person = _Person(facts, at)
    out: list[Interval] = []
    for rule in pack.rules:
        out.extend(_RULES[rule.kind](rule, person, pack))
    return [i for i in out if i.end is None or i.start < i.end]


def _case(rule: Rule, p: _Person, pack: Pack) -> list[Interval]:
    if p.case is None:
        return []
    c = p.case
    return [
        Interval(
            rule, rule.colour, c.diagnosed_at, c.discharged_at, rule.text, rule.clears,
            {"status": _STATUS[c.status]},
        )
    ]  # fmt: skip


def _managed(rule: Rule, p: _Person, pack: Pack) -> list[Interval]:
    if rule.trigger not in p.anchors:
        return []
    anchor, origin = p.anchors[rule.trigger]
    out = []
    offset = timedelta(0)
    last = len(rule.phases) - 1
    for i, phase in enumerate(rule.phases):
        start = anchor + offset
        phase_end = start + phase.hours * HOUR
        end: datetime | None = phase_end
        release_from = None
        if i == last and rule.release_test_day is not None:
            release_from = start + (rule.release_test_day - 1) * 24 * HOUR
            end = _later(phase_end, first_clearing(p.negatives, release_from))
        values = {
            "days": _days(phase.hours),
            "anchor": anchor,
            "origin": origin or None,
            "release_from": release_from or phase_end,
            "phase_end": phase_end,
        }
        out.append(Interval(rule, phase.colour, start, end, phase.text, phase.clears, values))
        offset += phase.hours * HOUR
    return out


def _test_clearance(rule: Rule, p: _Person, pack: Pack) -> list[Interval]:
    if rule.trigger not in p.anchors:
        return []
    anchor, origin = p.anchors[rule.trigger]
    # the earliest negative after the anchor, then each next one at least gap_hours later
    threshold: datetime | None = anchor
    for _ in range(rule.tests - 1):
        floor = threshold
        sampled = [t.sampled_at for t in p.negatives if floor is not None and t.sampled_at >= floor]
        threshold = min(sampled) + rule.gap_hours * HOUR if sampled else None
    window_end = anchor + rule.window_hours * HOUR
    end = first_clearing(p.negatives, threshold)
    values = {
        "anchor": anchor,
        "origin": origin or None,
        "tests": str(rule.tests),
        "gap_hours": str(rule.gap_hours),
        "window_end": window_end,
    }
    return [Interval(rule, rule.colour, window_end, end, rule.text, rule.clears, values)]


def _positive(rule: Rule, p: _Person, pack: Pack) -> list[Interval]:
    positives = [
        t
        for t in p.facts.tests
        if t.result == "positive"
        and t.pooled == rule.pooled
        and t.reported_at is not None
        and t.reported_at <= p.at
    ]
    pos = latest(positives, lambda t: (t.sampled_at, t.reported_at))
    if pos is None or pos.reported_at is None:
        return []
    end = first_clearing(p.negatives, pos.sampled_at + TICK, individual=True)
    values = {"sampled": pos.sampled_at}
    return [Interval(rule, rule.colour, pos.reported_at, end, rule.text, rule.clears, values)]


def _required_testing(rule: Rule, p: _Person, pack: Pack) -> list[Interval]:
    e = p.facts.enrolment
    if e is None or e.since > p.at or e.group not in pack.testing_groups:
        return []
    group = pack.testing_groups[e.group]
    samples = [t.sampled_at for t in p.facts.tests if t.sampled_at <= p.at]
    last = max(samples) if samples else None
    base = e.since if last is None else max(last, e.since)
    start = base + (group.interval_hours + rule.grace_hours) * HOUR
    values = {
        "group": group.label,
        "interval_hours": str(group.interval_hours),
        "last_sample": last,
    }
    return [Interval(rule, rule.colour, start, None, rule.text, rule.clears, values)]


def _residence(rule: Rule, p: _Person, pack: Pack) -> list[Interval]:
    r = latest(
        (x for x in p.facts.residences if x.level == rule.level and x.since <= p.at),
        lambda x: (x.since, _open(x.until)),
    )
    if r is None:
        return []
    values = {"area": r.area or None}
    return [Interval(rule, rule.colour, r.since, r.until, rule.text, rule.clears, values)]


def _fever_clinic(rule: Rule, p: _Person, pack: Pack) -> list[Interval]:
    visits = [v for v in p.facts.clinic_visits if v <= p.at]
    if not visits:
        return []
    v = max(visits)
    end = first_clearing(p.negatives, v)
    return [Interval(rule, rule.colour, v, end, rule.text, rule.clears, {"visited": v})]


def _period(rule: Rule, p: _Person, pack: Pack) -> list[Interval]:
    q = latest(
        (x for x in p.facts.periods if x.kind == rule.period and x.start <= p.at),
        lambda x: (x.start, _open(x.end)),
    )
    if q is None:
        return []
    values = {"place": q.place or None}
    return [Interval(rule, rule.colour, q.start, q.end, rule.text, rule.clears, values)]


def _manual(rule: Rule, p: _Person, pack: Pack) -> list[Interval]:
    m = latest(
        (x for x in p.facts.manual if x.since <= p.at),
        lambda x: (x.since, _open(x.until), x.colour),
    )
    if m is None or m.colour == Colour.GREEN:
        return []
    note = Text(m.note_zh or m.note_en, m.note_en or m.note_zh)
    values = {"note": note, "decided_by": m.decided_by or None}
    return [Interval(rule, m.colour, m.since, m.until, rule.text, rule.clears, values)]


_RULES: dict[str, Callable[[Rule, _Person, Pack], list[Interval]]] = {
    "case": _case,
    "managed_period": _managed,
    "test_clearance": _test_clearance,
    "positive_test": _positive,
    "required_testing": _required_testing,
    "risk_residence": _residence,
    "fever_clinic": _fever_clinic,
    "period": _period,
    "manual": _manual,
}

_STATUS = {
    "confirmed": Text("确诊病例", "confirmed case"),
    "asymptomatic": Text("无症状感染者", "asymptomatic infection"),
    "suspected": Text("疑似病例", "suspected case"),
}


def _days(hours: int) -> str:
    return str(hours // 24) if hours % 24 == 0 else f"{hours / 24:g}"


# ---- intervals → colour, reasons, next change ---------------------------------------------


def colour_at(items: Sequence[Interval], t: datetime) -> Colour:
    return max((i.colour for i in items if i.holds(t)), default=Colour.GREEN)


def next_change(items: Sequence[Interval], at: datetime) -> tuple[datetime | None, Colour | None]:
    """The first time after ``at`` at which the colour differs, and the colour then."""
    now = colour_at(items, at)
    bounds = sorted({i.start for i in items if i.start > at} | {
        i.end for i in items if i.end is not None and i.end > at
    })  # fmt: skip
    for t in bounds:
        c = colour_at(items, t)
        if c != now:
            return t, c
    return None, None


def evaluate(
    facts: PersonFacts, at: datetime, pack: Pack, *, tz: ZoneInfo = _DEFAULT_TZ
) -> Decision:
    """The health code of one person at ``at`` under ``pack``, with every reason."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: evaluate at an aware time")
    items = intervals(facts, at, pack)
    active = sorted(
        (i for i in items if i.holds(at)), key=lambda i: (-i.colour, i.start, i.rule.id)
    )
    when, then = next_change(items, at)
    return Decision(
        colour=colour_at(items, at),
        reasons=tuple(_reason(i, tz) for i in active),
        next_change_at=when,
        next_colour=then,
        evaluated_at=at,
        pack_ref=pack.ref,
        review_at=review_time(facts, items, at),
    )


def fact_times(facts: PersonFacts) -> Iterator[datetime]:
    """Every instant at which one of these facts becomes visible to the rules."""
    for c in facts.cases:
        yield c.diagnosed_at
    yield from (x.exposed_at for x in facts.exposures)
    yield from (a.arrived_at for a in facts.arrivals)
    for t in facts.tests:
        yield t.sampled_at
        if t.reported_at is not None:
            yield t.reported_at
    if facts.enrolment is not None:
        yield facts.enrolment.since
    yield from (r.since for r in facts.residences)
    yield from facts.clinic_visits
    yield from (q.start for q in facts.periods)
    yield from (m.since for m in facts.manual)


def review_time(facts: PersonFacts, items: Sequence[Interval], at: datetime) -> datetime | None:
    """The first instant after ``at`` at which the decision made at ``at`` may change
    without a new fact: an interval's start or end, or a fact becoming visible. Every
    use of ``at`` by the rules is one of these filters, so between ``at`` and this time
    the intervals, and with them colour, reasons and next change, stay as they are."""
    bounds = (t for i in items for t in (i.start, i.end) if t is not None)
    return min((t for t in chain(bounds, fact_times(facts)) if t > at), default=None)


_NONE = Text("未登记", "not recorded")
_OPEN = Text("另行通知", "further notice")


_REASONS: dict[tuple[Any, ...], Reason] = {}  # rendered reasons, shared by many persons
_REASONS_MAX = 50_000


def _reason(i: Interval, tz: ZoneInfo) -> Reason:
    """The reason of an interval, rendered in both languages. Residents of one area, the
    contacts of one case, the guests of one site share theirs: rendered once, reused
    (a pure function of the rule's texts, the interval and its values)."""
    try:
        key: tuple[Any, ...] | None = (
            i.rule.id, i.colour, i.start, i.end, i.text, i.clears, str(tz),
            tuple(sorted(i.values.items())),
        )  # fmt: skip
        hash(key)
    except TypeError:  # a value that is not hashable: render it afresh
        key = None
    if key is not None:
        found = _REASONS.get(key)
        if found is not None:
            return found
    reason = _render_reason(i, tz)
    if key is not None:
        if len(_REASONS) >= _REASONS_MAX:
            _REASONS.clear()
        _REASONS[key] = reason
    return reason


def _render_reason(i: Interval, tz: ZoneInfo) -> Reason:
    texts = {}
    for lang in ("zh", "en"):
        values = {"since": _show(i.start, lang, tz), "until": _show(i.end, lang, tz, _OPEN)}
        for key, value in i.values.items():
            values[key] = _show(value, lang, tz)
        texts[lang] = (
            render(getattr(i.text, lang), values),
            render(getattr(i.clears, lang), values),
        )
    return Reason(
        i.rule.id, i.colour, i.start, i.end, texts["zh"][0], texts["en"][0],
        texts["zh"][1], texts["en"][1],
    )  # fmt: skip


def _show(value: Any, lang: str, tz: ZoneInfo, missing: Text = _NONE) -> str:
    if value is None:
        return str(getattr(missing, lang))
    if isinstance(value, datetime):
        return fmt_time(value, tz)
    if isinstance(value, Text):
        return str(getattr(value, lang))
    return str(value)
