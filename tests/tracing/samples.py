"""Small check-in and case files for the file, lake, engine and CLI tests."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from fangkong.tracing.files import CASE_SCHEMA, CHECKIN_SCHEMA

BASE = 1_647_561_600  # 2022-03-18T00:00:00Z
TYPES = ("market", "restaurant", "school", "pharmacy")


def checkins(n: int = 2000, seed: int = 3, persons: int = 150, venues: int = 15) -> pa.Table:
    rng = np.random.default_rng(seed)
    t_in = BASE + rng.integers(0, 86400 * 2, n)
    t_out = t_in + rng.integers(0, 7200, n)
    missing = rng.random(n) < 0.3
    venue = rng.integers(0, venues, n)
    return pa.table(
        [
            pa.array([f"e{i}" for i in range(n)]),
            pa.array([f"p{i}" for i in rng.integers(0, persons, n)]),
            pa.array([f"v{i:03d}" for i in venue]),
            pa.array([TYPES[v % len(TYPES)] for v in venue]),
            pa.array(t_in).cast(pa.timestamp("s", tz="UTC")),
            pa.array(np.where(missing, None, t_out).tolist(), pa.int64()).cast(
                pa.timestamp("s", tz="UTC")
            ),
        ],
        schema=CHECKIN_SCHEMA,
    )


def cases() -> pa.Table:
    return pa.table(
        [
            pa.array(["p1", "p2", "p3", "nobody"]),
            pa.array([BASE, BASE + 3600, BASE, BASE]).cast(pa.timestamp("s", tz="UTC")),
            pa.array([BASE + 86400, None, BASE + 40000, BASE + 100], pa.int64()).cast(
                pa.timestamp("s", tz="UTC")
            ),
        ],
        schema=CASE_SCHEMA,
    )
