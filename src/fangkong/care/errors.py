"""Typed errors of the care capability (stable codes, Chinese and English)."""

from __future__ import annotations

from fangkong.errors import BadInput, Conflict, NotFound, Problem
from fangkong.policy.sections import SectionError


class CareRulesError(SectionError):
    """The pack's ``[care]`` section is missing a key or holds a bad value."""


class NeedUnknown(NotFound):
    """No such medical need (or outside the caller's jurisdiction)."""


class WardUnknown(NotFound):
    """No such designated ward (or outside the caller's jurisdiction)."""


class NeedInvalid(BadInput):
    """A need with a bad kind, person, area, detail or outcome."""


class WardInvalid(BadInput):
    """A ward with a bad code, region, beds or position."""


class NeedConflict(Conflict):
    """A change the need's status does not allow (a finished need, a second plan)."""


class NoTransfer(Conflict):
    """No green-channel transfer can be planned: no ward, no vehicle, or too late."""


def problem(code: str, zh: str, en: str) -> Problem:
    return Problem(f"care.{code}", zh, en)
