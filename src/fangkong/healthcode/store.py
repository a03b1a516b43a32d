"""Facts as stored (``person_facts`` rows) ↔ the evaluator's ``PersonFacts``.

Row kinds and their ``detail`` (docs/policy.md): ``case`` {status}; ``discharge`` {};
``close_contact`` / ``contact_of_contact`` / ``companion`` {}; ``arrival`` {risk,
origin}; ``test`` {result, reported_at, pooled, sample_id}; ``enrolment`` {group};
``residence`` {level, area}; ``clinic_visit`` {}; ``period`` {period, place};
``manual`` {colour, note_zh, note_en, decided_by}. ``starts_at`` is the fact's time,
``ends_at`` its planned end where it has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fangkong.errors import Problem
from fangkong.healthcode.errors import FactInvalid
from fangkong.healthcode.facts import (
    ArrivalFact,
    CaseFact,
    Enrolment,
    ExposureFact,
    ManualFact,
    PeriodFact,
    PersonFacts,
    ResidenceFact,
    TestFact,
)
from fangkong.policy.model import (
    ARRIVAL_RISKS,
    CASE_STATUSES,
    COLOUR_NAMES,
    EXPOSURE_KINDS,
    PERIODS,
    RISK_LEVELS,
    Colour,
)

FACT_KINDS = (
    "case",
    "discharge",
    *EXPOSURE_KINDS,
    "arrival",
    "test",
    "enrolment",
    "residence",
    "clinic_visit",
    "period",
    "manual",
)
_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "case": {"status": CASE_STATUSES},
    "arrival": {"risk": ARRIVAL_RISKS},
    "test": {"result": ("negative", "positive", "pending")},
    "residence": {"level": RISK_LEVELS},
    "period": {"period": PERIODS},
    "manual": {"colour": COLOUR_NAMES},
}


@dataclass(frozen=True)
class FactRow:
    id: int
    kind: str
    starts_at: datetime
    ends_at: datetime | None
    detail: Mapping[str, Any]


def invalid(zh: str, en: str) -> FactInvalid:
    return FactInvalid(Problem("fact.invalid", zh, en))


def checked_keys(kind: str) -> tuple[str, ...]:
    """The detail keys ``check_fact`` reads for this kind."""
    keys = tuple(_CHOICES.get(kind, {}))
    return (*keys, "reported_at") if kind == "test" else keys


def check_fact(
    kind: str, starts_at: datetime, ends_at: datetime | None, detail: Mapping[str, Any]
) -> None:
    """Refuse a fact the evaluator could not read (kind, times, detail values)."""
    if kind not in FACT_KINDS:
        raise invalid(
            f"未知的事实类型 {kind}（可选：{'、'.join(FACT_KINDS)}）",
            f"unknown fact kind {kind} (one of: {', '.join(FACT_KINDS)})",
        )
    if starts_at.tzinfo is None or (ends_at is not None and ends_at.tzinfo is None):
        raise invalid("时间须带时区", "times must carry a time zone")
    for key, allowed in _CHOICES.get(kind, {}).items():
        if detail.get(key) not in allowed:
            raise invalid(
                f"{kind}.{key} 的值 {detail.get(key)!r} 无效，可选：{'、'.join(allowed)}",
                f"{kind}.{key} = {detail.get(key)!r} is not one of: {', '.join(allowed)}",
            )
    if kind == "test" and detail.get("result") != "pending":
        reported = detail.get("reported_at")
        if not isinstance(reported, str):
            raise invalid("检测结果须有报告时间 reported_at", "a test result needs reported_at")
        try:
            when = datetime.fromisoformat(reported)
        except ValueError as exc:
            raise invalid("reported_at 不是 ISO 时间", "reported_at is not an ISO time") from exc
        if when.tzinfo is None:
            raise invalid("reported_at 须带时区", "reported_at must carry a time zone")


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def facts_from_rows(rows: Iterable[FactRow]) -> PersonFacts:
    """The evaluator's view of one person's (not voided) fact rows, in id order."""
    rows = sorted(rows, key=lambda r: r.id)
    cases: list[CaseFact] = []
    discharges: list[datetime] = []
    tests: dict[Any, TestFact] = {}
    out: dict[str, list[Any]] = {
        k: [] for k in ("exposures", "arrivals", "residences", "visits", "periods", "manual")
    }
    enrolment: Enrolment | None = None
    for r in rows:
        d = r.detail
        if r.kind == "case":
            cases.append(CaseFact(d["status"], r.starts_at, r.ends_at))
        elif r.kind == "discharge":
            discharges.append(r.starts_at)
        elif r.kind in EXPOSURE_KINDS:
            out["exposures"].append(ExposureFact(r.kind, r.starts_at))  # type: ignore[arg-type]
        elif r.kind == "arrival":
            out["arrivals"].append(ArrivalFact(d["risk"], r.starts_at, d.get("origin", "")))
        elif r.kind == "test":
            key = d.get("sample_id") or ("row", r.id)  # a later row for a sample replaces it
            tests[key] = TestFact(
                r.starts_at, d["result"], _time(d.get("reported_at")), bool(d.get("pooled"))
            )
        elif r.kind == "enrolment":
            if enrolment is None or r.starts_at >= enrolment.since:
                enrolment = Enrolment(str(d["group"]), r.starts_at)
        elif r.kind == "residence":
            out["residences"].append(
                ResidenceFact(d["level"], r.starts_at, r.ends_at, d.get("area", ""))
            )
        elif r.kind == "clinic_visit":
            out["visits"].append(r.starts_at)
        elif r.kind == "period":
            out["periods"].append(
                PeriodFact(d["period"], r.starts_at, r.ends_at, d.get("place", ""))
            )
        elif r.kind == "manual":
            out["manual"].append(
                ManualFact(
                    Colour.parse(d["colour"]),
                    r.starts_at,
                    r.ends_at,
                    d.get("note_zh", ""),
                    d.get("note_en", ""),
                    d.get("decided_by", ""),
                )
            )
    return PersonFacts(
        cases=tuple(_discharged(cases, discharges)),
        exposures=tuple(out["exposures"]),
        arrivals=tuple(out["arrivals"]),
        tests=tuple(tests.values()),
        enrolment=enrolment,
        residences=tuple(out["residences"]),
        clinic_visits=tuple(out["visits"]),
        periods=tuple(out["periods"]),
        manual=tuple(out["manual"]),
    )


def _discharged(cases: list[CaseFact], discharges: list[datetime]) -> list[CaseFact]:
    """A discharge closes the latest case diagnosed before it that is still open."""
    cases = sorted(cases, key=lambda c: c.diagnosed_at)
    for when in sorted(discharges):
        for i in range(len(cases) - 1, -1, -1):
            c = cases[i]
            if c.diagnosed_at <= when and c.discharged_at is None:
                cases[i] = CaseFact(c.status, c.diagnosed_at, when)
                break
    return cases
