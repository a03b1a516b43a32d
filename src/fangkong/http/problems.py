"""Errors as ``application/problem+json`` (RFC 9457), in the language the caller asked for.

Every typed error keeps its stable ``code``; the status comes from its class. A request
that fails validation names each field at fault in ``errors``; no error ever carries a
stack trace or echoes the value that was sent (it may be an ID number).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from fangkong.errors import (
    BadInput,
    CheckFailed,
    Conflict,
    FangkongError,
    Forbidden,
    InvalidFields,
    NotFound,
    Problem,
    TooManyAttempts,
    Unauthenticated,
)

MEDIA_TYPE = "application/problem+json"
LANGS = ("zh", "en")

_STATUS: tuple[tuple[type[FangkongError], int], ...] = (
    (InvalidFields, 422),
    (BadInput, 400),
    (CheckFailed, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (TooManyAttempts, 429),
)

_TITLES: dict[int, tuple[str, str]] = {
    400: ("请求有误", "Bad request"),
    401: ("需要登录", "Authentication required"),
    403: ("无权访问", "Forbidden"),
    404: ("未找到", "Not found"),
    405: ("不支持此方法", "Method not allowed"),
    409: ("数据冲突", "Conflict"),
    422: ("输入有误", "Invalid input"),
    429: ("尝试次数过多", "Too many attempts"),
    500: ("服务器内部错误", "Internal server error"),
    503: ("服务暂不可用", "Service unavailable"),
}

# pydantic error types → Chinese; English uses pydantic's own message (never the input)
_VALIDATION_ZH: dict[str, str] = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "string_type": "应为文本",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "string_pattern_mismatch": "格式不对",
    "greater_than_equal": "数值太小",
    "greater_than": "数值太小",
    "less_than_equal": "数值太大",
    "less_than": "数值太大",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "extra_forbidden": "不允许的字段",
    "bool_parsing": "应为 true 或 false",
    "timezone_aware": "须带时区（如 +08:00）",
    "datetime_parsing": "应为 ISO 8601 时间",
    "datetime_from_date_parsing": "应为 ISO 8601 时间",
    "datetime_type": "应为 ISO 8601 时间",
}


def title(status: int) -> tuple[str, str]:
    """The short Chinese and English title of an HTTP status."""
    return _TITLES.get(status, ("错误", "Error"))


def status_of(error: FangkongError) -> int:
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 400


def negotiate(accept_language: str | None, default: str = "zh") -> str:
    """``zh`` or ``en``: the first of them in Accept-Language by preference (q), else zh."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and q > 0:
            ranked.append((-q, i, primary))
    return sorted(ranked)[0][2] if ranked else default


def problem_response(
    status: int,
    problem: Problem,
    lang: str,
    *,
    instance: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    zh, en = _TITLES.get(status, ("错误", "Error"))
    body: dict[str, Any] = {
        "type": f"urn:fangkong:problem:{problem.code}",
        "title": zh if lang == "zh" else en,
        "status": status,
        "code": problem.code,
        "detail": problem.text(lang),
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_errors(error: FangkongError, lang: str) -> list[dict[str, Any]]:
    if not isinstance(error, InvalidFields):
        return []
    return [
        {"field": f.field, "code": f.problem.code, "detail": f.problem.text(lang)}
        for f in error.fields
    ]


def from_error(error: FangkongError, lang: str, instance: str) -> JSONResponse:
    status = status_of(error)
    headers = {"WWW-Authenticate": 'Bearer realm="fangkong"'} if status == 401 else None
    return problem_response(
        status,
        error.problem,
        lang,
        instance=instance,
        errors=field_errors(error, lang),
        headers=headers,
    )


REQUEST_INVALID = Problem(
    "request.invalid", "请求中有字段无效", "some fields of the request are invalid"
)


def from_validation(
    exc: RequestValidationError,
    lang: str,
    instance: str,
    *,
    problem: Problem = REQUEST_INVALID,
    status: int = 422,
) -> JSONResponse:
    """The fields at fault, under ``problem`` (a route may keep its own code for them)."""
    errors = []
    for e in exc.errors():
        loc = [str(x) for x in e.get("loc", ())]
        field = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
        kind = str(e.get("type", "invalid"))
        ctx = e.get("ctx") or {}
        zh = str(ctx["zh"]) if "zh" in ctx else _VALIDATION_ZH.get(kind, "值无效")
        detail = zh if lang == "zh" else str(e.get("msg", "invalid value"))
        errors.append({"field": field, "code": f"value.{kind}", "detail": f"{field}: {detail}"})
    return problem_response(status, problem, lang, instance=instance, errors=errors)


def from_http(exc: StarletteHTTPException, lang: str, instance: str) -> JSONResponse:
    zh, en = _TITLES.get(exc.status_code, ("错误", "Error"))
    problem = Problem(f"http.{exc.status_code}", zh, en)
    return problem_response(
        exc.status_code, problem, lang, instance=instance, headers=getattr(exc, "headers", None)
    )


def internal(lang: str, instance: str) -> JSONResponse:
    problem = Problem(
        "internal",
        "服务器内部错误，已记录；请稍后再试",
        "internal error, logged; please try again later",
    )
    return problem_response(500, problem, lang, instance=instance)


# ---- what the OpenAPI says about errors -----------------------------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457): a stable `code`, `detail` in zh or en (Accept-Language)",
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:fangkong:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "code": {"type": "string", "description": "stable machine code"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the path of the request"},
        "errors": {
            "type": "array",
            "description": "each field at fault (invalid input only)",
            "items": {
                "type": "object",
                "required": ["field", "code", "detail"],
                "properties": {
                    "field": {"type": "string", "description": "e.g. rows.3.person_id"},
                    "code": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}
PROBLEM_REF = "#/components/schemas/Problem"
_DEFAULT_422 = ("HTTPValidationError", "ValidationError")
# every JSON API operation may answer these: bad input (400 from a service, 422 from
# validation), no or a bad credential, a missing right or CSRF token, a record that does
# not exist or lies outside the caller's jurisdiction; writes also a conflict
_API_STATUSES = (400, 401, 403, 404, 422)
_WRITE_STATUSES = (409,)
_WRITE_METHODS = ("post", "put", "patch", "delete")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status answered as problem+json."""
    return {s: _problem_response(s) for s in statuses}


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": f"{title(status)[1]} — problem+json (RFC 9457)",
        "content": {MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    }


def document_problems(spec: dict[str, Any], api_prefix: str = "/api/") -> dict[str, Any]:
    """Make ``spec`` (FastAPI's OpenAPI) say what the server does: every error status an
    operation answers, each as ``application/problem+json`` with the Problem schema, and
    FastAPI's own 422 schema (which this server never sends) gone."""
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses: dict[str, Any] = op["responses"]
            wanted = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
            if path.startswith(api_prefix):
                wanted.update(_API_STATUSES)
                if method in _WRITE_METHODS:
                    wanted.update(_WRITE_STATUSES)
            elif op.get("parameters") or op.get("requestBody"):
                wanted.add(422)
            for status in sorted(wanted):
                responses[str(status)] = _problem_response(status)
            op["responses"] = dict(sorted(responses.items()))
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in _DEFAULT_422:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    return spec
