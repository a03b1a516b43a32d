"""What every detection method returns: thresholds and alarms over the evaluated periods."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Detection:
    """Result of one method on one series, for the evaluated periods only.

    ``index`` are positions (0-based) in the input series; ``threshold`` is R's
    ``upperbound`` (NaN where R gives NA); ``alarm`` is R's alarm with NA as False and
    ``alarm_defined`` False there. ``expected`` is the method's expected count when it
    has one (NaN otherwise). ``params`` are the parameters in force, R's names in
    snake_case, defaults filled in, so an alert can show exactly what was run.
    """

    method: str
    index: npt.NDArray[np.int64]
    observed: F64
    threshold: F64
    alarm: Bools
    alarm_defined: Bools
    expected: F64
    params: Mapping[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def build(
        cls,
        method: str,
        index: npt.ArrayLike,
        observed: npt.ArrayLike,
        threshold: npt.ArrayLike,
        alarm: npt.ArrayLike,
        *,
        alarm_defined: npt.ArrayLike | None = None,
        expected: npt.ArrayLike | None = None,
        params: Mapping[str, object] | None = None,
    ) -> Detection:
        idx = np.asarray(index, dtype=np.int64)
        thr = np.asarray(threshold, dtype=np.float64)
        defined = ~np.isnan(thr) if alarm_defined is None else np.asarray(alarm_defined, dtype=bool)
        exp = np.full(len(idx), np.nan) if expected is None else np.asarray(expected, np.float64)
        return cls(
            method=method,
            index=idx,
            observed=np.asarray(observed, dtype=np.float64),
            threshold=thr,
            alarm=np.asarray(alarm, dtype=bool) & defined,
            alarm_defined=defined,
            expected=exp,
            params=dict(params or {}),
        )
