"""``fangkong id``: check identity documents."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from fangkong import clock
from fangkong.cli_support import err, message, out, settings
from fangkong.errors import Problem
from fangkong.identity.documents import DocumentType, check_document, country_alpha2
from fangkong.identity.phone import check_phone

app = typer.Typer(
    help="Identity documents: check resident ID numbers, phones, passports. 证件核验.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Identity documents: check resident ID numbers, phones, passports. 证件核验."""


class CheckType(StrEnum):
    AUTO = "auto"
    PHONE = "phone"
    RESIDENT_ID = DocumentType.RESIDENT_ID.value
    PASSPORT = DocumentType.PASSPORT.value
    HK_MACAO_PERMIT = DocumentType.HK_MACAO_PERMIT.value
    TAIWAN_PERMIT = DocumentType.TAIWAN_PERMIT.value
    FOREIGN_PERMANENT_ID = DocumentType.FOREIGN_PERMANENT_ID.value
    OTHER = DocumentType.OTHER.value


@dataclass(frozen=True)
class Verdict:
    """One checked value as the command reports it."""

    value: str
    kind: str
    valid: bool
    normalized: str | None
    birth_date: date | None
    sex: str | None
    problems: tuple[Problem, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "kind": self.kind,
            "valid": self.valid,
            "normalized": self.normalized,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "problems": [
                {"code": p.code, "message_zh": p.message_zh, "message_en": p.message_en}
                for p in self.problems
            ],
        }


_ID_LIKE = re.compile(r"[0-9Xx]+")
_MOBILE_LIKE = re.compile(r"1[0-9]{10}")


@app.command("check")
def check_command(
    values: Annotated[list[str], typer.Argument(metavar="VALUE", help="Numbers to check.")],
    kind: Annotated[
        CheckType,
        typer.Option(
            "--type",
            case_sensitive=False,
            help="What the values are. auto: + or 1 and 10 digits → phone; "
            "other digits (and X) → resident ID.",
        ),
    ] = CheckType.AUTO,
    country: Annotated[
        str | None,
        typer.Option("--country", help="Country of the document (ISO 3166-1 alpha-3 or -2)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """Check ID numbers, phones and documents; exit 1 if any is invalid. 核验证件号码."""
    config = settings()
    today = _today(config.timezone)
    verdicts = [
        check_value(v, kind, country=country, today=today, phone_region=config.phone_region)
        for v in values
    ]
    if as_json:
        out.print(
            json.dumps([v.as_json() for v in verdicts], ensure_ascii=False, indent=2),
            markup=False,
            emoji=False,
        )
    else:
        for verdict in verdicts:
            _print_line(verdict)
    if not all(v.valid for v in verdicts):
        raise typer.Exit(1)


def check_value(
    value: str, kind: CheckType, *, country: str | None, today: date, phone_region: str
) -> Verdict:
    """Check one value as ``kind`` (``auto`` guesses from its shape)."""
    chosen = detect_kind(value) if kind is CheckType.AUTO else kind
    if chosen is None:
        return Verdict(value, "unknown", False, None, None, None, (_kind_unknown(value),))
    if chosen is CheckType.PHONE:
        region = (country_alpha2(country) if country else None) or phone_region
        phone = check_phone(value, region=region)
        return Verdict(value, "phone", phone.valid, phone.e164, None, None, phone.problems)
    doc = check_document(chosen.value, value, country, today=today)
    detail = doc.resident_id
    return Verdict(
        value,
        chosen.value,
        doc.valid,
        doc.normalized,
        detail.birth_date if detail else None,
        detail.sex if detail else None,
        doc.problems,
    )


def detect_kind(value: str) -> CheckType | None:
    """Phone for ``+…`` or 1 and 10 digits; resident ID for other digits (and X)."""
    text = value.strip()
    if text.startswith("+") or _MOBILE_LIKE.fullmatch(text):
        return CheckType.PHONE
    if _ID_LIKE.fullmatch(text):
        return CheckType.RESIDENT_ID
    return None


def _today(timezone: str) -> date:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        err.print(f"设置错误 / bad setting FANGKONG_TIMEZONE: {timezone}", markup=False)
        raise typer.Exit(2) from exc
    return clock.today(zone)


def _print_line(verdict: Verdict) -> None:
    parts = [verdict.value, "valid" if verdict.valid else "invalid"]
    # Show the stored form when it differs: a converted 15-digit ID, a phone in E.164.
    if verdict.normalized and verdict.normalized != verdict.value.strip():
        parts.append(verdict.normalized)
    if verdict.birth_date is not None:
        parts += [verdict.birth_date.isoformat(), verdict.sex or ""]
    out.print("  ".join(parts), markup=False, emoji=False)
    for problem in verdict.problems:
        out.print(f"    {problem.code}  {message(problem)}", markup=False, emoji=False)


def _kind_unknown(value: str) -> Problem:
    return Problem(
        "identity.kind_unknown",
        f"无法判断 {value.strip()!r} 是哪种号码，请用 --type 指定",
        f"cannot tell what kind of number {value.strip()!r} is; use --type",
    )
