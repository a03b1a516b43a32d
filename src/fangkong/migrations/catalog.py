"""Every module that declares tables, imported so ``Base.metadata`` knows them all.

Capabilities keep their tables beside their code (``<capability>/tables.py``, classes on
``fangkong.store.schema.Base``) and add one import here; the Alembic environment, the
store's status report and the schema test read the metadata after importing this module.
It lives above the capabilities (not in ``store/``) so the store imports nothing upward.
"""

from __future__ import annotations

import fangkong.alerts.tables  # early-warning signals and alerts (migration 0008)
import fangkong.arrivals.tables  # arrivals closed loop (migration 0011)
import fangkong.command.tables  # command tasks, figures, briefings (migration 0018)
import fangkong.healthcode.tables  # health codes (migration 0003)
import fangkong.logistics.tables  # checkpoints and crossings (migration 0024)
import fangkong.passes.tables  # key-freight passes (migration 0025)
import fangkong.quarantine.tables  # quarantine (migration 0006)
import fangkong.riskareas.tables  # risk areas and needs (migration 0009)
import fangkong.store.schema  # registry, users, audit
import fangkong.supply.tables  # necessities (migration 0027)
import fangkong.testing.tables  # testing (migration 0007)
import fangkong.tracing.tables  # noqa: F401 - contact management (migration 0005)
from fangkong.store.schema import Base

metadata = Base.metadata

__all__ = ["Base", "metadata"]
