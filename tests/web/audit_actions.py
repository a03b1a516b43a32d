"""The actions the code audits, read from its source (for the audit page's vocabulary test).

An action reaches the audit log as the ``action`` argument of ``AuditEvent``, ``audited`` or
``audited_after``, or of a helper that passes its own ``action`` parameter on to one of them
(``records._read``, ``placements._note`` ...). The collector follows those helpers to a fixed
point and returns every literal action, so an action added anywhere is found."""

from __future__ import annotations

import ast
from pathlib import Path

import fangkong

# (callee's name, called as a method) → the position of its action argument
Writers = dict[tuple[str, bool], int]
_WRITERS: Writers = {
    ("AuditEvent", False): 1,
    ("audited", False): 4,  # fangkong.audit.calls
    ("audited_after", False): 4,
    ("audited", True): 0,  # fangkong.auth.guard.Call's methods
    ("audited_after", True): 0,
}


def _key(func: ast.expr) -> tuple[str, bool] | None:
    if isinstance(func, ast.Name):
        return func.id, False
    if isinstance(func, ast.Attribute):
        return func.attr, True
    return None


def _argument(call: ast.Call, position: int) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "action":
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def audited_actions() -> set[str]:
    """Every literal action passed to the audit writer, directly, through a local name
    (``action = "command.wall" if wall else "command.board"``) or through a helper."""
    root = Path(fangkong.__file__).parent
    trees = [ast.parse(p.read_text("utf-8")) for p in root.rglob("*.py")
             if "migrations" not in p.parts]  # fmt: skip
    functions = [n for t in trees for n in ast.walk(t) if isinstance(n, ast.FunctionDef)]
    writers: Writers = dict(_WRITERS)
    found: set[str] = set()
    while True:
        before = len(writers), len(found)
        for func in functions:
            params = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
            if "action" in params and _forwards(func, writers):
                method = params[0] in ("self", "cls")
                writers.setdefault((func.name, method), params.index("action") - method)
            found |= _passed(func, writers)
        if (len(writers), len(found)) == before:
            return found


def _passed(func: ast.FunctionDef, writers: Writers) -> set[str]:
    """The literal actions ``func`` passes to a writer."""
    local: dict[str, set[str]] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            local.setdefault(node.targets[0].id, set()).update(_strings(node.value))
    found: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and (key := _key(node.func)) in writers:
            arg = _argument(node, writers[key])
            if isinstance(arg, ast.Name):
                found |= local.get(arg.id, set())
            elif arg is not None:
                found |= _strings(arg)
    return found


def _strings(node: ast.expr) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _forwards(func: ast.FunctionDef, writers: Writers) -> bool:
    """Whether ``func`` passes its ``action`` parameter to a writer."""
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and (key := _key(node.func)) in writers:
            arg = _argument(node, writers[key])
            if isinstance(arg, ast.Name) and arg.id == "action":
                return True
    return False
