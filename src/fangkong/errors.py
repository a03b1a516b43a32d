"""Typed errors with stable machine codes — the one place the exception tree is described.

    FangkongError            code, message in Chinese and English, exit code
    ├── BadInput             exit 2: the caller sent something invalid (file, row, field named)
    │   ├── ImportRejected   exit 2: a bulk import found invalid rows; nothing was written
    │   └── InvalidFields    exit 2: named fields of a request are invalid (HTTP 422)
    ├── CheckFailed          exit 1: a check ran and said no (e.g. an invalid ID number)
    ├── NotFound             exit 2: no such record (or outside the caller's jurisdiction)
    ├── Conflict             exit 2: the change contradicts what is stored
    ├── Unauthenticated      exit 2: no valid login, session or device token (HTTP 401)
    ├── Forbidden            exit 2: logged in, but the role lacks the right (HTTP 403)
    └── TooManyAttempts      exit 2: login rate limit or account lockout (HTTP 429)

Every caller (CLI, HTTP, pages) turns ``code`` into its own status and message; the
rule that raised it lives once, in the service layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one value: a stable code and a bilingual message."""

    code: str
    message_zh: str
    message_en: str

    def text(self, lang: str = "zh+en") -> str:
        """The message in the requested language: ``zh``, ``en`` or ``zh+en``."""
        if lang == "zh":
            return self.message_zh
        if lang == "en":
            return self.message_en
        return f"{self.message_zh} / {self.message_en}"


@dataclass(frozen=True)
class RowProblem:
    """A problem at one row and column of an input file (rows count data rows from 1)."""

    row: int
    column: str
    problem: Problem


class FangkongError(Exception):
    """Base of every error the platform raises on purpose."""

    exit_code = 2
    default_code = "error"

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message_en)
        self.problem = problem

    @property
    def code(self) -> str:
        return self.problem.code

    @classmethod
    def of(cls, code: str, message_zh: str, message_en: str) -> FangkongError:
        return cls(Problem(code, message_zh, message_en))


class BadInput(FangkongError):
    exit_code = 2


class CheckFailed(FangkongError):
    exit_code = 1


class NotFound(FangkongError):
    exit_code = 2


class Conflict(FangkongError):
    exit_code = 2


@dataclass
class _RejectedDetail:
    path: str
    report_path: str | None
    problems: Sequence[RowProblem] = field(default_factory=list)
    rows_read: int = 0


class ImportRejected(BadInput):
    """A bulk import found invalid rows and wrote nothing (see the error report)."""

    def __init__(
        self,
        problem: Problem,
        *,
        path: str,
        report_path: str | None,
        problems: Sequence[RowProblem],
        rows_read: int,
    ) -> None:
        super().__init__(problem)
        self.detail = _RejectedDetail(path, report_path, list(problems), rows_read)


@dataclass(frozen=True)
class FieldProblem:
    """A problem with one named field of a request (``field`` as the caller spelled it)."""

    field: str
    problem: Problem


class InvalidFields(BadInput):
    """One or more fields of a request are invalid; each is named with its problem."""

    def __init__(self, problem: Problem, fields: Sequence[FieldProblem]) -> None:
        super().__init__(problem)
        self.fields = list(fields)


class Unauthenticated(FangkongError):
    exit_code = 2


class Forbidden(FangkongError):
    exit_code = 2


class TooManyAttempts(FangkongError):
    exit_code = 2
