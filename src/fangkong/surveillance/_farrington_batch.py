"""Farrington over many series and periods at once: periods sharing a reference layout are
batched into one GLM call of many rows (at most ``_MAX_CELLS`` observations a call), and
each method's row function gives threshold, alarm and expected count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fangkong.surveillance._farrington_reference import _layout, _Obs
from fangkong.surveillance._glm import F64, I64, Bools, Counts, Layout

_MAX_CELLS = 3_000_000  # observations per batched GLM call (memory bound)


_RowsFn = Callable[[Layout, Counts, F64 | None, F64, F64, F64], tuple[F64, Bools, Bools, F64]]


@dataclass(frozen=True)
class _Outputs:
    threshold: F64  # (series, periods)
    alarm: Bools
    alarm_defined: Bools
    expected: F64


def _evaluate(
    counts: F64,
    offsets: F64 | None,
    positions: I64,
    obs_of: Callable[[int], _Obs],
    level_to_predict: int,
    limit_period: int,
    rows: _RowsFn,
) -> _Outputs:
    """Run ``rows`` for every series and period, batching periods that share a layout."""
    n_series = counts.shape[0]
    plans: dict[bytes, tuple[Layout, I64, list[int]]] = {}
    for col, k0 in enumerate(positions.tolist()):
        obs = obs_of(k0 + 1)
        order = np.argsort(obs.level, kind="stable")
        key = b"|".join(
            (
                (obs.pos[order] - (k0 + 1)).tobytes(),
                obs.level[order].tobytes(),
                (obs.wtime[order] - obs.wtime0).tobytes(),
            )
        )
        if key not in plans:
            lay, pos1 = _layout(obs, level_to_predict)
            plans[key] = (lay, pos1 - 1 - k0, [])
        plans[key][2].append(col)

    csum = np.concatenate([np.zeros((n_series, 1)), np.cumsum(counts, axis=1)], axis=1)
    first = np.maximum(positions - limit_period + 1, 0)
    recent = csum[:, positions + 1] - csum[:, first]

    m = len(positions)
    out = _Outputs(
        np.full((n_series, m), np.nan),
        np.zeros((n_series, m), dtype=bool),
        np.zeros((n_series, m), dtype=bool),
        np.full((n_series, m), np.nan),
    )
    for lay, rel, cols_list in plans.values():
        cols = np.asarray(cols_list, dtype=np.int64)
        ks = positions[cols]
        total = n_series * len(cols)
        step = max(1, _MAX_CELLS // max(lay.n, 1))
        for lo in range(0, total, step):
            r = np.arange(lo, min(total, lo + step))
            s, c = r // len(cols), r % len(cols)
            at = ks[c][:, None] + rel[None, :]
            res = rows(
                lay,
                Counts.of(counts[s[:, None], at]),
                None if offsets is None else offsets[s[:, None], at],
                np.zeros(len(r)) if offsets is None else offsets[s, ks[c]],
                counts[s, ks[c]],
                recent[s, cols[c]],
            )
            out.threshold[s, cols[c]] = res[0]
            out.alarm[s, cols[c]] = res[1]
            out.alarm_defined[s, cols[c]] = res[2]
            out.expected[s, cols[c]] = res[3]
    return out
