"""The label registry: every stored value a page shows, in Chinese and English.

``VOCABULARIES[vocabulary][value] = (zh, en)``, gathered from its rooms, one per use case:

    epidemic.py   risk areas, health codes, arrivals, testing, quarantine, alerts, the
                  command centre, the registry
    freight.py    checkpoints and crossings, passes, road status, necessities, urgent
                  medical needs (issue 20)
    audit.py      the audit log's actions, outcomes and targets

A vocabulary may take values from several rooms (``task_source``: the command centre's,
then the road, supply and care alerts'); they are joined in the order above. Pages and
code read it through ``fangkong.web.labels`` (``label``, ``names``, the ``|label`` filter).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from fangkong.web.vocabularies import audit, epidemic, freight
from fangkong.web.vocabularies._kit import Label


def _joined(*rooms: Mapping[str, dict[str, Label]]) -> dict[str, dict[str, Label]]:
    joined: dict[str, dict[str, Label]] = {}
    for room in rooms:
        for vocabulary, values in room.items():
            joined.setdefault(vocabulary, {}).update(values)
    return joined


VOCABULARIES: Final = _joined(epidemic.VOCABULARIES, freight.VOCABULARIES, audit.VOCABULARIES)
