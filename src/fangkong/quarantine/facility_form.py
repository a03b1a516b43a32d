"""The facility edit form's check (隔离场所表单): the same checks as a row of a facility
file, with the region code looked up in the store. The page only parses and renders; the
save that follows (``quarantine.access.save_facility_as``) checks the jurisdiction and
writes the audit row, so the check itself writes none (it reads no one's data).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from fangkong.auth.guard import Call
from fangkong.auth.rights import QUARANTINE_MANAGE
from fangkong.errors import Problem
from fangkong.quarantine.facilities import FacilityInput, check_facility
from fangkong.store.schema import regions


def check_facility_form(
    call: Call, cells: Mapping[str, str | None]
) -> tuple[FacilityInput | None, list[tuple[str, Problem]]]:
    """The form's cells → a facility, or the problems (column, problem) found in them;
    ``Forbidden`` without ``quarantine.manage``."""
    call.require(QUARANTINE_MANAGE)
    code = cells.get("region_code")
    with call.engine.connect() as conn:
        known = set(conn.execute(select(regions.c.code).where(regions.c.code == code)).scalars())
    return check_facility(cells, {str(c) for c in known if c})
