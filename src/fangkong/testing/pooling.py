"""Pooling maths (混采数学): expected tests per person and the best pool size.

Two schemes, from their closed forms, with a pool test of sensitivity ``se`` and
specificity ``sp`` (no dilution effect: a pool with a positive member is detected with
probability ``se``, like a single sample), prevalence ``p``, ``q = 1 - p``:

Dorfman two-stage (Dorfman 1943): test pools of ``k``; test every member of a positive
pool individually::

    E/person = 1/k + P(pool positive),   P(pool positive) = se·(1 - q^k) + (1 - sp)·q^k

Square array without a master pool (Phatarfod & Sudbury 1994; Kim et al. 2007): place
``n × n`` samples in a grid, test each row pool and each column pool (``2n`` tests),
then test individually every sample whose row and column both tested positive::

    E/person = 2/n + p·se² + q·r²,   r = se·(1 - q^(n-1)) + (1 - sp)·q^(n-1)

(a positive sample's row and column are each detected with ``se``; a negative sample's
row and column are positive independently — their other members are disjoint — each
with probability ``r``). With ``se = sp = 1`` this is ``2/n + 1 - 2q^n + q^(2n-1)``.

Sources (docs/testing.md): R. Dorfman, "The detection of defective members of large
populations", Ann. Math. Statist. 14(4):436–440, 1943 (Table 1: p = 1 % → k = 11,
relative cost 20 %); R. M. Phatarfod, A. Sudbury, "The use of a square array scheme in
blood testing", Statistics in Medicine 13:2337–2343, 1994; H.-Y. Kim, M. G. Hudgens,
J. M. Dreyfuss, D. J. Westreich, C. D. Pilcher, "Comparison of group testing algorithms
for case identification in the presence of test error", Biometrics 63:1152–1163, 2007.

``simulate_*`` are the brute-force references: they draw populations and count tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fangkong.errors import BadInput, Problem

SCHEMES = ("individual", "dorfman", "array")


@dataclass(frozen=True)
class Accuracy:
    """Sensitivity and specificity of one (pool or single) test."""

    sensitivity: float = 1.0
    specificity: float = 1.0


@dataclass(frozen=True)
class PoolChoice:
    """A scheme at a pool size: expected tests per person (individual testing = 1)."""

    scheme: str
    size: int  # pool size k (Dorfman) or side n of the n×n array (array); 1: individual
    tests_per_person: float

    @property
    def samples_per_pool(self) -> int:
        return self.size

    @property
    def saving(self) -> float:
        """Share of tests saved against testing everyone individually."""
        return 1.0 - self.tests_per_person


def _check(p: float, acc: Accuracy) -> None:
    for name, value in (
        ("prevalence", p),
        ("sensitivity", acc.sensitivity),
        ("specificity", acc.specificity),
    ):
        if not 0.0 <= value <= 1.0 or value != value:
            raise BadInput(
                Problem(
                    "pooling.value_invalid",
                    f"{name} 应在 0 到 1 之间，实为 {value!r}",
                    f"{name} must lie between 0 and 1, got {value!r}",
                )
            )


def dorfman(p: float, k: int, acc: Accuracy = Accuracy()) -> float:
    """Expected tests per person of Dorfman two-stage pooling with pools of ``k``."""
    _check(p, acc)
    if k < 1:
        raise ValueError("pool size must be at least 1")
    if k == 1:
        return 1.0
    q = 1.0 - p
    positive = acc.sensitivity * (1.0 - q**k) + (1.0 - acc.specificity) * q**k
    return 1.0 / k + positive


def array(p: float, n: int, acc: Accuracy = Accuracy()) -> float:
    """Expected tests per person of the n×n square array (rows, columns, intersections)."""
    _check(p, acc)
    if n < 2:
        raise ValueError("the array side must be at least 2")
    q = 1.0 - p
    se, sp = acc.sensitivity, acc.specificity
    r = se * (1.0 - q ** (n - 1)) + (1.0 - sp) * q ** (n - 1)
    return 2.0 / n + p * se * se + q * r * r


def best(scheme: str, p: float, acc: Accuracy = Accuracy(), max_size: int = 64) -> PoolChoice:
    """The pool size (2..max_size) with the fewest expected tests per person; individual
    testing when no pool beats it."""
    if scheme not in ("dorfman", "array"):
        raise ValueError(f"unknown scheme {scheme}")
    cost = dorfman if scheme == "dorfman" else array
    sizes = range(2, max(2, max_size) + 1)
    values = [(cost(p, k, acc), k) for k in sizes]
    value, size = min(values)  # ties: the smaller pool
    if value >= 1.0:
        return PoolChoice("individual", 1, 1.0)
    return PoolChoice(scheme, size, value)


def plan(
    p: float, acc: Accuracy = Accuracy(), sizes: tuple[int, ...] = (), max_size: int = 64
) -> list[PoolChoice]:
    """The optimum of each scheme, then Dorfman at each given pool size (the pack's)."""
    _check(p, acc)
    out = [best("dorfman", p, acc, max_size), best("array", p, acc, max_size)]
    out.extend(PoolChoice("dorfman", k, dorfman(p, k, acc)) for k in sizes if k >= 2)
    return out


# ---- brute force (the references the tests use) -------------------------------------------


def _detect(truth: np.ndarray, acc: Accuracy, rng: np.random.Generator) -> np.ndarray:
    draw = rng.random(truth.shape)
    return np.asarray(np.where(truth, draw < acc.sensitivity, draw >= acc.specificity))


def simulate_dorfman(
    p: float, k: int, acc: Accuracy = Accuracy(), *, pools: int = 200_000, seed: int = 1
) -> float:
    """Tests per person, counted over ``pools`` simulated pools of ``k``."""
    rng = np.random.default_rng(seed)
    infected = rng.random((pools, k)) < p
    pool_pos = _detect(np.asarray(infected.any(axis=1)), acc, rng)
    return float((pools + k * pool_pos.sum()) / (pools * k))


def simulate_array(
    p: float, n: int, acc: Accuracy = Accuracy(), *, arrays: int = 50_000, seed: int = 1
) -> float:
    """Tests per person, counted over ``arrays`` simulated n×n arrays."""
    rng = np.random.default_rng(seed)
    infected = rng.random((arrays, n, n)) < p
    rows = _detect(np.asarray(infected.any(axis=2)), acc, rng)
    cols = _detect(np.asarray(infected.any(axis=1)), acc, rng)
    retested = (rows[:, :, None] & cols[:, None, :]).sum()
    return float((arrays * 2 * n + retested) / (arrays * n * n))


def exact_array_by_enumeration(p: float, n: int) -> float:
    """Perfect tests: the exact expectation over all 2^(n²) arrays (small n only)."""
    if n * n > 16:
        raise ValueError("enumeration is for n ≤ 4")
    cells = n * n
    codes = np.arange(2**cells, dtype=np.int64)
    bits = ((codes[:, None] >> np.arange(cells)) & 1).astype(bool).reshape(-1, n, n)
    count = bits.reshape(len(codes), -1).sum(axis=1)
    weight = p**count * (1 - p) ** (cells - count)
    rows, cols = np.asarray(bits.any(axis=2)), np.asarray(bits.any(axis=1))
    retested = (rows[:, :, None] & cols[:, None, :]).sum(axis=(1, 2))
    return float((weight * (2 * n + retested)).sum() / cells)
