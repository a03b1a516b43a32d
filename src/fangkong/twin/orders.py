"""The platform's orders to the twin (管控措施): a day's ``Interventions`` and the ``Gate``
(code checks at venues) they may put in force. Plain data; ``Twin.step`` applies them
(``fangkong.twin.state.TwinBase._apply``: every order checked before any is applied).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Gate:
    """Code checks at venue gates (用码): who holds which pass label, which labels each
    venue type admits. The twin knows nothing of colours: labels are any strings.

    ``labels`` maps a label to the persons (registry rows) holding it; everyone else
    holds ``default_label``. ``admit`` maps a venue type (``school``, ``supermarket``,
    ``hospital``, ... — the registry's venue types) to the labels it admits; types not
    listed admit everyone. A refused person does not enter (no check-in, no mixing) and
    the scanner records the refusal (``refused_scans``). A compound gate always admits
    its own residents; arrivals at transit hubs and checkpoints are not gated.
    """

    labels: Mapping[str, Sequence[int] | npt.NDArray[np.integer[Any]]] = field(default_factory=dict)
    admit: Mapping[str, Sequence[str]] = field(default_factory=dict)
    default_label: str = "green"


@dataclass(frozen=True)
class Interventions:
    """The platform's orders for one day (管控措施). Persons are registry rows.

    Quarantine and isolation, seals and closures last until released; tests are for
    the day. Region codes may be of any level (county, township, community, compound).
    A ``gate`` replaces the gate in force from this day on; ``None`` keeps it (``Gate()``
    lifts every check).
    """

    isolate: Sequence[int] = ()  # centralised isolation/quarantine (集中隔离): no mixing
    home_quarantine: Sequence[int] = ()  # home quarantine (居家隔离): household only
    release: Sequence[int] = ()
    seal_compounds: Sequence[str] = ()  # high-risk area (封控): residents stay in
    unseal_compounds: Sequence[str] = ()
    close_venues: Sequence[str] = ()
    reopen_venues: Sequence[str] = ()
    test_regions: Sequence[str] = ()  # everyone living there, pooled (区域核酸)
    test_persons: Sequence[int] = ()  # single-tube tests
    gate: Gate | None = None  # code checks at venues (用码): replaces the gate in force
    # freight drivers (``Freight.drivers`` rows) under the closed loop (闭环管理): they make
    # no further crossing until released
    manage_drivers: Sequence[int] = ()
    release_drivers: Sequence[int] = ()
    # necessities delivered to sealed compounds: (compound code, good, quantity, epoch s)
    deliveries: Sequence[tuple[str, str, float, int]] = ()
    # urgent medical needs met by a green-channel transfer: (need, epoch seconds)
    transfers: Sequence[tuple[int, int]] = ()


NO_INTERVENTIONS = Interventions()


def _region_prefix(code: str) -> str:
    """The digits of a region code that its descendants share (GB/T 2260 + 12/15 digits)."""
    if len(code) == 6:
        c = code
        while len(c) > 2 and c.endswith("00"):
            c = c[:-2]
        return c
    if len(code) == 12 and code.endswith("000"):
        return code[:9]
    return code
