"""The one seam between alerts and the statistics library (``fangkong.surveillance``).

Detection methods live in the library, behind its registry (``surveillance.detect``);
alerts never carry copies of them. This module names the methods a pack may choose and
runs one over a count series, evaluating the latest periods that have enough history.
(While the registry is not there, the EARS methods are reached directly.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from fangkong.surveillance.result import Detection

F64 = npt.NDArray[np.float64]


def _registry() -> Any:
    import importlib

    try:
        return importlib.import_module("fangkong.surveillance.detect")
    except ImportError:
        return None


def method_names() -> tuple[str, ...]:
    """The methods the statistics library offers."""
    registry = _registry()
    if registry is None:
        return ("ears-c1", "ears-c2", "ears-c3")
    return tuple(registry.METHODS)


def run_method(
    method: str, counts: F64, evaluate: range, params: Mapping[str, Any], *, freq: str = "day",
    population: F64 | None = None,
) -> Detection:  # fmt: skip
    """``method`` over ``counts`` (a regular, gap-free series), evaluating the 0-based
    periods ``evaluate``. A series too short for the method raises ``ValueError``."""
    registry = _registry()
    if registry is not None:
        return registry.detect(method, counts, evaluate, params, freq=freq,  # type: ignore[no-any-return]
                               population=population)  # fmt: skip
    from fangkong.surveillance.ears import ears

    if not method.startswith("ears-"):
        raise ValueError(f"unknown method {method}")
    return ears(counts, method=method[5:].upper(), range=np.asarray(evaluate, np.int64),  # type: ignore[arg-type]
                **dict(params))  # fmt: skip


def run_latest(
    method: str, counts: F64, periods: int, params: Mapping[str, Any], *, freq: str = "day",
    population: F64 | None = None,
) -> Detection | None:  # fmt: skip
    """The method over the last ``periods`` periods, or over the latest ones that have
    enough history for it; None when even the last period has too little."""
    n = len(counts)
    lo, hi = max(0, n - periods), n - 1

    def attempt(start: int) -> Detection | None:
        try:
            return run_method(method, counts, range(start, n), params, freq=freq,
                              population=population)  # fmt: skip
        except ValueError:
            return None

    found = attempt(lo)
    if found is not None:
        return found
    best = attempt(hi)
    if best is None:
        return None
    lo += 1
    while lo < hi:  # the earliest start that works (more history never hurts)
        mid = (lo + hi) // 2
        got = attempt(mid)
        if got is None:
            lo = mid + 1
        else:
            best, hi = got, mid
    return best
