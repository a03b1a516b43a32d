"""The briefing's charts as inline SVG, drawn server-side with matplotlib (no script).

Text becomes outlines (``svg.fonttype = "path"``), so the file needs no font where it is
opened or printed. Chinese labels need a CJK font on the machine that writes it
(fonts-noto-cjk); without one the chart falls back to its English labels rather than
drawing empty boxes. The figure API is used without pyplot: no global state, safe in a
server thread.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "SimHei")
CONTROLLED = "#1f77b4"
COMMUNITY = "#d62728"
OCCUPIED = "#ff7f0e"
CAPACITY = "#c7c7c7"


@dataclass(frozen=True)
class ChartText:
    """The words of a chart in one language."""

    title: str
    series: tuple[str, str]
    axis: str


@cache
def cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in CJK_FONTS if n in names), None)


def usable(zh: ChartText, en: ChartText, lang: str) -> ChartText:
    """The chart's words in ``lang``, or English when no CJK font can draw them."""
    return zh if lang == "zh" and cjk_font() is not None else en


def _svg(fig: Figure, prefix: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # keep the <svg> element only: no XML prolog, no DOCTYPE naming a remote DTD, no RDF
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # two charts in one page: give each its own ids (glyphs, clip paths, patches)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)
    return re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)


def _style() -> AbstractContextManager[None]:
    from matplotlib import rc_context

    return rc_context({
        "svg.fonttype": "path",
        "svg.hashsalt": "fangkong-briefing",  # stable ids: the same data, the same file
        "font.sans-serif": [cjk_font() or "DejaVu Sans", "DejaVu Sans"],
    })  # fmt: skip


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def curve_svg(days: Sequence[str], controlled: Sequence[float], community: Sequence[float],
              text: ChartText) -> str:  # fmt: skip
    """New cases per day as stacked bars: found under control, found in the community."""
    from matplotlib.ticker import MaxNLocator

    with _style():
        fig = _figure(7.5, 3.0)
        ax = fig.add_subplot()
        x = list(range(len(days)))
        ax.bar(x, controlled, color=CONTROLLED, label=text.series[0])
        ax.bar(x, community, bottom=controlled, color=COMMUNITY, label=text.series[1])
        ax.set_xticks(x, [d[5:] for d in days], rotation=45, fontsize=8)
        ax.set_ylabel(text.axis)
        ax.set_title(text.title, fontsize=11)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        return _svg(fig, "curve")


def occupancy_svg(labels: Sequence[str], occupied: Sequence[float], capacity: Sequence[float],
                  text: ChartText) -> str:  # fmt: skip
    """Occupied places against capacity per facility kind (horizontal bars)."""
    with _style():
        fig = _figure(7.5, 2.4)
        ax = fig.add_subplot()
        y = list(range(len(labels)))
        ax.barh(y, capacity, color=CAPACITY, label=text.series[1])
        ax.barh(y, occupied, height=0.5, color=OCCUPIED, label=text.series[0])
        ax.set_yticks(y, list(labels), fontsize=9)
        ax.invert_yaxis()
        ax.set_xlabel(text.axis)
        ax.set_title(text.title, fontsize=11)
        # beside the bars, never over them
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        return _svg(fig, "occupancy")
