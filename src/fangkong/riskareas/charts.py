"""Charts: the forecast band (matplotlib PNG for the CLI, Vega-Lite for the page) and the
risk-area map (Vega-Lite geoshapes, no tiles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fangkong.quarantine.forecast import RegionForecast

LEVEL_COLOURS = {"high": "#d62728", "medium": "#ff9f1c", "low": "#9ecae1", "none": "#eeeeee"}


def forecast_rows(rf: RegionForecast, i: int) -> list[dict[str, Any]]:
    f = rf.forecast
    return [
        {"day": d.isoformat(), "low": float(f.low[i, h]), "median": float(f.median[i, h]),
         "high": float(f.high[i, h]), "mean": float(f.mean[i, h]),
         "capacity": float(f.capacity[i]), "p_exceed": float(f.p_exceed[i, h])}
        for h, d in enumerate(rf.days())
    ]  # fmt: skip


FORECAST_LABELS = {"day": "day", "rooms": "rooms", "median": "median", "low": "low",
                   "high": "high", "p_exceed": "p_exceed"}  # fmt: skip


def forecast_spec(
    rf: RegionForecast, i: int, title: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """Rooms needed: the interval as a band, the median as a line, capacity as a rule;
    axis and tooltip titles from ``labels`` (the page's language; FORECAST_LABELS's keys)."""
    rows = forecast_rows(rf, i)
    t = labels or FORECAST_LABELS
    x = {"field": "day", "type": "temporal", "title": None}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": title, "width": 640, "height": 300,
        "data": {"values": rows},
        "layer": [
            {"mark": {"type": "area", "opacity": 0.3, "color": "#1f77b4"},
             "encoding": {"x": x, "y": {"field": "low", "type": "quantitative",
                                        "title": t["rooms"]}, "y2": {"field": "high"}}},
            {"mark": {"type": "line", "color": "#1f77b4", "point": True},
             "encoding": {"x": x, "y": {"field": "median", "type": "quantitative"},
                          "tooltip": [{"field": "day", "type": "temporal", "title": t["day"]},
                                      {"field": "median", "title": t["median"], "format": ".0f"},
                                      {"field": "low", "title": t["low"], "format": ".0f"},
                                      {"field": "high", "title": t["high"], "format": ".0f"},
                                      {"field": "p_exceed", "title": t["p_exceed"],
                                       "format": ".0%"}]}},
            {"mark": {"type": "rule", "color": "#d62728", "strokeDash": [6, 4]},
             "encoding": {"y": {"field": "capacity", "aggregate": "max"}}},
        ],
    }  # fmt: skip


CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "SimHei")


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in CJK_FONTS if n in names), None)


def forecast_png(rf: RegionForecast, i: int, path: Path, title: str) -> Path:
    """The same chart as a PNG (matplotlib, no display needed). Without a Chinese font
    on the machine the title keeps only its ASCII part (the region code)."""
    import matplotlib

    matplotlib.use("Agg")
    font = _cjk_font()
    if font is None:
        title = "".join(ch for ch in title if ch.isascii()).strip()
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.sans-serif": [font or "DejaVu Sans", "DejaVu Sans"]}):
        _draw(rf, i, path, title)
    return path


def _draw(rf: RegionForecast, i: int, path: Path, title: str) -> None:
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import numpy as np

    f = rf.forecast
    dates = rf.days()
    days = np.array(dates, dtype="datetime64[D]")
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    ax.fill_between(days, f.low[i], f.high[i], alpha=0.3,
                    label=f"{round(f.interval * 100)}% interval")  # fmt: skip
    ax.plot(days, f.median[i], marker="o", label="median rooms needed")
    ax.axhline(f.capacity[i], color="#d62728", linestyle="--", label="rooms available")
    run_out = int(f.run_out_day()[i])
    if run_out:
        when = float(mdates.date2num(dates[run_out - 1]))  # type: ignore[no-untyped-call]
        ax.axvline(when, color="#d62728", alpha=0.5)
        ax.annotate(f"capacity runs out {dates[run_out - 1].isoformat()}",
                    (when, float(f.capacity[i])), textcoords="offset points",
                    xytext=(4, 8), color="#d62728")  # fmt: skip
    ax.set_title(title)
    ax.set_ylabel("rooms")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def map_spec(features: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, Any]:
    """Region shapes coloured by risk level (GeoJSON features, Mercator, no tiles);
    ``labels`` names each level in the page's language (features carry ``level_text``)."""
    levels = list(LEVEL_COLOURS)
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": 640, "height": 480,
        "projection": {"type": "mercator"},
        "data": {"values": {"type": "FeatureCollection", "features": features},
                 "format": {"type": "json", "property": "features"}},
        "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 0.8},
        "encoding": {
            "color": {"field": "properties.level_text", "type": "nominal", "title": None,
                      "scale": {"domain": [labels[x] for x in levels],
                                "range": [LEVEL_COLOURS[x] for x in levels]}},
            "tooltip": [{"field": "properties.name", "title": labels["name"]},
                        {"field": "properties.level_text", "title": labels["level"]}],
        },
    }  # fmt: skip
