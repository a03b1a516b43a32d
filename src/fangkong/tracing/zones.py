"""Zones of a venue (区域/桌号): the table or private room a check-in was scanned at.

A zone is a short printable code (``Z07``, ``A12``, ``包间3``) from a table code at the
venue; at a venue type whose contact rule has ``close_by_zone``, only those in the same
zone as the case are close contacts (docs/tracing.md). It is optional everywhere: a
check-in without one falls back to the whole-venue rule. Every entry point (files, the
lake, the scan API) checks it with ``zone_problem``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc

from fangkong.errors import Problem

pc: Any = _pc  # the pyarrow-stubs overloads reject valid calls on mixed arrays

MAX_ZONE_LENGTH = 16
NO_ZONE = -1  # the code of a check-in without a zone


def zone_problem(value: str) -> Problem | None:
    """Why ``value`` cannot be a zone (None: it can): 1–16 printable characters."""
    if not value or len(value) > MAX_ZONE_LENGTH or not value.isprintable():
        return Problem(
            "zone.invalid",
            f"区域/桌号应为 1 至 {MAX_ZONE_LENGTH} 个可打印字符，实为 {value[:40]!r}",
            f"a zone (table or room code) must be 1 to {MAX_ZONE_LENGTH} printable "
            f"characters, got {value[:40]!r}",
        )
    return None


def zone_codes(values: Any) -> np.ndarray:
    """Zones (strings or null, a pyarrow array or any sequence) as int64 codes: equal
    strings get equal codes, null gets ``NO_ZONE``."""
    array = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if len(array) == 0:
        return np.zeros(0, np.int64)
    encoded = pc.dictionary_encode(array.cast(pa.string()))
    indices = pc.fill_null(encoded.indices.cast(pa.int64()), NO_ZONE)
    return np.asarray(indices.to_numpy(zero_copy_only=False), np.int64)
