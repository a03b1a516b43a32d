"""Typed errors of the risk-area capability (stable codes, Chinese and English)."""

from __future__ import annotations

from fangkong.errors import BadInput, Conflict, NotFound, Problem
from fangkong.policy.sections import SectionError


class RiskAreaRulesError(SectionError):
    """The pack's ``[risk_areas]`` section is missing a key or holds a bad value."""


class AreaUnknown(NotFound):
    """No such risk area (or outside the caller's jurisdiction)."""


class NeedUnknown(NotFound):
    """No such need task (or outside the caller's jurisdiction)."""


class DesignationInvalid(BadInput):
    """A designation names a level, granularity or region the pack or registry refuses."""


class NeedInvalid(BadInput):
    """A need task (生活需求/就医) with a bad kind, person or status change."""


class StatusConflict(Conflict):
    """A status change that contradicts the stored status (e.g. a finished task)."""


def problem(code: str, zh: str, en: str) -> Problem:
    return Problem(f"riskarea.{code}", zh, en)
