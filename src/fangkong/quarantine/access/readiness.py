"""Planning views without personal data: readiness of the jurisdiction's regions (with
the demand forecast) and candidate sites ranked by the survey (``quarantine.read``)."""

from __future__ import annotations

from fangkong.auth.guard import Call
from fangkong.auth.rights import QUARANTINE_READ
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.access._reach import region_codes
from fangkong.quarantine.readiness import RegionCapacity, capacity_by_region, with_forecast
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.survey import SiteScore, list_sites, rank_sites


def readiness_view(
    call: Call,
    rules: QuarantineRules,
    level: str | None = None,
    *,
    forecast: CodeContext | None = None,
) -> list[RegionCapacity]:
    """Readiness of the jurisdiction's regions; given a ``CodeContext`` (its pack and
    zone) also the demand forecast's peak and run-out day per region."""
    call.require(QUARANTINE_READ)
    within = call.actor.region_code
    rows = capacity_by_region(call.engine, rules, level=level, within=within, at=call.at)
    if forecast is None:
        return rows
    from fangkong.quarantine.forecast import ForecastOptions, forecast_from_store

    rf = forecast_from_store(call.engine, forecast.pack, forecast.tz,
                             ForecastOptions(level=level, draws=200), now=call.at,
                             within=within, capacity=rows)  # fmt: skip
    return with_forecast(rows, rf)


def sites_view(call: Call, rules: QuarantineRules) -> list[SiteScore]:
    """Candidate sites of the jurisdiction, best first."""
    call.require(QUARANTINE_READ)
    return rank_sites(list_sites(call.engine, region_codes(call.engine, call.actor)), rules.survey)
