"""Which periods a method evaluates: its default (every period it can) or the caller's."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def evaluated(
    range: npt.ArrayLike | None, first: int, length: int, needs: str
) -> npt.NDArray[np.int64]:
    """0-based periods to evaluate: ``range``, or ``first..length-1`` when None.

    ``needs`` names the method and its parameters for the error when ``range`` reaches
    before ``first`` (too little history) or past the end of the series.
    """
    idx = (
        np.arange(first, length, dtype=np.int64)
        if range is None
        else np.asarray(range, dtype=np.int64)
    )
    if idx.size == 0:
        raise ValueError("the range of periods to evaluate is empty")
    if idx.min() < first or idx.max() >= length:
        raise ValueError(
            f"{needs} needs {first} periods before the first evaluated one and the range "
            f"must end inside the series (R: 'The vector of observed is too short!')"
        )
    return idx
