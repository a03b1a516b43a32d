"""Early-warning statistics (监测预警): a pure library over count series.

No database and no I/O: arrays in, :class:`Detection` out. Aberration detection methods
follow R ``surveillance`` 1.20.3 (R's code where its documentation differs, see
``docs/surveillance.md``); the reproduction number follows R ``EpiEstim`` 2.2-4.
"""

from fangkong.surveillance.result import Detection

__all__ = ["Detection"]
