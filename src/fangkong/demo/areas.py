"""The demo's risk-area desk: each simulated day the suggested areas are designated (as an
epidemiologist would, capped per day) and the lifting job runs; at the end the demand
forecast is drawn. Codes are left to the demo's daily ``recompute_all`` (one bulk pass)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.forecast import ForecastOptions, forecast_from_store
from fangkong.riskareas.charts import forecast_png
from fangkong.riskareas.service import designate, list_areas, run_lifting
from fangkong.riskareas.suggest import suggest

DEMO_EPIDEMIOLOGIST = "demo:epidemiologist"


@dataclass(frozen=True)
class DayAreas:
    designated: int
    lifted: int
    high: int
    medium: int


class RiskAreaFeed:
    def __init__(self, engine: Engine, ctx: CodeContext, *, max_per_day: int = 10) -> None:
        self.engine, self.ctx, self.max_per_day = engine, ctx, max_per_day

    def day(self, end: datetime) -> DayAreas:
        """Designate today's suggestions, then lift what is due, both at ``end``."""
        found = suggest(self.engine, self.ctx, now=end)[: self.max_per_day]
        for s in found:
            designate(self.engine, self.ctx, region_code=s.region_code, level=s.level,
                      reason=f"{s.reason_zh} / {s.reason_en}", by=DEMO_EPIDEMIOLOGIST,
                      at=end, now=end, evaluate=False)  # fmt: skip
        lifted = run_lifting(self.engine, self.ctx, now=end, evaluate=False)
        areas = list_areas(self.engine, self.ctx)
        return DayAreas(len(found), len(lifted), sum(a.level == "high" for a in areas),
                        sum(a.level == "medium" for a in areas))  # fmt: skip


def forecast_summary(engine: Engine, ctx: CodeContext, now: datetime, png: Path) -> str:
    """One line on the rooms forecast and a PNG of the region that runs out first."""
    rf = forecast_from_store(engine, ctx.pack, ctx.tz, ForecastOptions(draws=300), now=now)
    if not rf.regions:
        return "隔离需求预测 forecast: 无区划 / no regions"
    run_out = rf.forecast.run_out_day()
    order = sorted(range(len(rf.regions)), key=lambda i: (run_out[i] == 0, run_out[i], i))
    i = order[0]
    forecast_png(rf, i, png, f"{rf.names[i]} ({rf.regions[i]}) — {rf.pack}")
    short = int((run_out > 0).sum())
    when = rf.days()[run_out[i] - 1].isoformat() if run_out[i] else "—"
    return (f"隔离需求预测 forecast: {short}/{len(rf.regions)} 个区划14天内床位不足 regions short "
            f"within 14 days; 最早 first {rf.names[i]} {when} → {png}")  # fmt: skip
