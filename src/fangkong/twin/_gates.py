"""Code gates at venues (用码/验码) as arrays: each person's pass label, each venue type's
admitted labels, and the one question the daily step asks — is this person admitted here?

The twin knows nothing of code colours or policy packs: a label is any string, and the
platform's adapter says which labels each venue type admits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fangkong.errors import BadInput, Problem
from fangkong.twin._population import Population
from fangkong.twin._venues import VENUE_TYPES

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class GateState:
    """``allow[venue type, label]``; ``label[person]``; ``active`` unless all admit all."""

    label: npt.NDArray[np.int16]
    allow: Bools
    active: bool

    @classmethod
    def resolve(
        cls,
        pop: Population,
        labels: Mapping[str, Sequence[int] | npt.NDArray[np.integer[Any]]],
        admit: Mapping[str, Sequence[str]],
        default_label: str,
        persons: Callable[[Sequence[int] | npt.NDArray[np.integer[Any]]], Ints],
    ) -> GateState:
        """From the platform's mapping; ``persons`` checks person indices."""
        _check_admit(admit)
        names = sorted({default_label, *labels, *(x for a in admit.values() for x in a)})
        index = {name: i for i, name in enumerate(names)}
        label = np.full(pop.n, index[default_label], dtype=np.int16)
        held = np.zeros(pop.n, dtype=np.int64)
        for name, who in labels.items():
            idx = persons(who)
            label[idx] = index[name]
            np.add.at(held, idx, 1)
        if (held > 1).any():
            row = int(np.argmax(held > 1))
            raise BadInput(
                Problem(
                    "twin.gate_label_conflict",
                    f"同一人员持有多个通行标签（如序号 {row}）",
                    f"a person holds more than one pass label (e.g. row {row})",
                )
            )
        allow = np.ones((len(pop.venue_types), len(names)), dtype=np.bool_)
        for vtype, admitted in admit.items():
            code = pop.venue_type_code(vtype)
            if code >= 0:  # a type this province has no venue of gates nobody
                allow[code] = False
                allow[code, [index[x] for x in admitted]] = True
        used = np.unique(label)
        return cls(label, allow, active=not allow[:, used].all())

    def admits(self, person: Ints, venue: Ints, venue_type: npt.NDArray[np.integer]) -> Bools:
        """For each (person, venue): does the venue's type admit the person's label?"""
        ok: Bools = self.allow[venue_type[venue], self.label[person]]
        return ok


def _check_admit(admit: Mapping[str, Sequence[str]]) -> None:
    if any(isinstance(a, str) for a in admit.values()):
        raise BadInput(
            Problem(
                "twin.gate_admit_not_a_list",
                '准入标签应为列表，如 ["green"]',
                'admitted labels must be a list, e.g. ["green"]',
            )
        )
    unknown = sorted(set(admit) - set(VENUE_TYPES))
    if unknown:
        raise BadInput(
            Problem(
                "twin.unknown_venue_type",
                f"未知的场所类型：{', '.join(unknown[:5])}",
                f"unknown venue type(s): {', '.join(unknown[:5])}",
            )
        )
