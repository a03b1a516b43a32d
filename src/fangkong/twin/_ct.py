"""PCR in the twin (核酸检测): each infection's Ct course and what the lab measures.

A course is drawn once per infection (``draw_courses``) and read on any day
(``course_ct``)::

    Ct
    40 ┤●╲                        ╱●──── limit of detection: nothing to find
       │   ╲                    ╱
    35 ┤┄┄┄┄╲┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄╱┄┄┄┄┄ positive below ct_threshold
       │     ╲              ╱
       │       ╲  ●      ╱        clearance: peak → limit over an individual
       │         ╲╱ peak           number of days
       └─┬────────┬─────────┬──── days
       infection  onset + offset  peak + clearance

A sample's measured Ct is the course plus per-sample noise; nothing is detected when the
course is at the limit (no RNA), when the noisy value reaches the limit, or when the
sample misses (``1 − sensitivity``). A pooled tube reads its lowest member, diluted.
The twin's own tests and ``Twin.assay`` share these functions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fangkong.twin.scenario import Testing

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]


def draw_courses(
    infected_on: Ints, onset: Ints, testing: Testing, rng: np.random.Generator
) -> tuple[F32, F32, F32]:
    """Peak Ct, day of the peak and day the course is back at the limit, per infection.

    The peak comes ``peak_after_onset_days`` after onset (onset is at least a day after
    infection, so the proliferation phase is never empty); clearance lasts a lognormal
    number of days.
    """
    c = testing.ct_course
    k = len(infected_on)
    lod = c.limit_of_detection
    peak = np.clip(rng.normal(c.peak_ct_mean, c.peak_ct_sd, k), 0.0, lod - 0.5)
    lo, hi = c.peak_after_onset_days
    t_peak = onset + rng.uniform(lo, hi, k)
    t_peak = np.maximum(t_peak, infected_on + 0.5)
    clearance = _lognormal(c.clearance_days_mean, c.clearance_days_sd, k, rng)
    t_end = t_peak + np.maximum(clearance, 0.5)
    return peak.astype(np.float32), t_peak.astype(np.float32), t_end.astype(np.float32)


def _lognormal(mean: float, sd: float, size: int, rng: np.random.Generator) -> Floats:
    sigma2 = np.log1p((sd / mean) ** 2)
    mu = np.log(mean) - sigma2 / 2
    out: Floats = rng.lognormal(mu, np.sqrt(sigma2), size)
    return out


def course_ct(
    day: int, infected_on: npt.NDArray[np.integer], peak: F32, t_peak: F32, t_end: F32, lod: float
) -> Floats:
    """Each course's Ct on ``day``; inf outside (infection day, end) — nothing to detect."""
    t = float(day)
    start = infected_on.astype(np.float64)
    peak64, tp, te = peak.astype(np.float64), t_peak.astype(np.float64), t_end.astype(np.float64)
    inside = (t > start) & (t < te)
    rise = np.where(inside & (t <= tp), (t - start) / np.where(tp > start, tp - start, 1.0), 1.0)
    fall = np.where(inside & (t > tp), (t - tp) / np.where(te > tp, te - tp, 1.0), 0.0)
    ct = np.where(t <= tp, lod - (lod - peak64) * rise, peak64 + (lod - peak64) * fall)
    out: Floats = np.where(inside, ct, np.inf)
    return out


def measure(course: Floats, noise: Floats, u: Floats, sensitivity: float, lod: float) -> Floats:
    """Measured Ct of single samples: course + noise, inf where nothing is detected."""
    ct = course + noise
    found = np.isfinite(course) & (ct < lod) & (u < sensitivity)
    out: Floats = np.where(found, ct, np.inf)
    return out


def tube_cts(member_ct: Floats, tube: Ints, dilution_ct: float, lod: float) -> Floats:
    """Ct of each tube 0..max(tube): its lowest member, + ``dilution_ct`` when it holds
    more than one sample; inf when nothing is detected (diluted to the limit or beyond)."""
    n = int(tube.max(initial=-1)) + 1
    ct = np.full(n, np.inf)
    np.minimum.at(ct, tube, member_ct)
    ct = ct + np.where(np.bincount(tube, minlength=n) > 1, dilution_ct, 0.0)
    out: Floats = np.where(ct < lod, ct, np.inf)
    return out
