"""Typed errors of the command capability (stable codes, Chinese and English)."""

from __future__ import annotations

from fangkong.errors import BadInput, Conflict, NotFound, Problem


class TaskUnknown(NotFound):
    """No such task (or outside the caller's jurisdiction)."""


class TaskInvalid(BadInput):
    """A task with a bad kind, source, region, deadline, or a change missing its note."""


class TaskConflict(Conflict):
    """A status change the task's stored status does not allow (e.g. a finished task)."""


def problem(code: str, zh: str, en: str) -> Problem:
    return Problem(f"command.{code}", zh, en)
