"""The cost-effect chart of ``fangkong evaluate``: one point per run, coloured by pack,
each pack's median marked; labels in English and Chinese (Noto CJK when installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "SimHei")
PANELS = (
    ("restricted_person_days",
     "restricted person-days (centralised + home + sealed)\n受限人日（集中 + 居家 + 封控）"),
    ("red_person_days", "red-code person-days\n红码人日"),
)  # fmt: skip


def cost_effect_png(runs: list[dict[str, Any]], summary: dict[str, dict[str, Any]],
                    packs: list[str], path: Path) -> Path:  # fmt: skip
    """Cost (two panels) against infections averted, per run; medians as large crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    font = next((n for n in CJK_FONTS if n in names), None)
    zh = font is not None
    with plt.rc_context({"font.sans-serif": [font or "DejaVu Sans", "DejaVu Sans"]}):
        fig, axes = plt.subplots(1, len(PANELS), figsize=(12, 5), dpi=100)
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for ax, (metric, label) in zip(axes, PANELS, strict=True):
            for i, pack in enumerate(packs):
                mine = [r for r in runs if r["pack"] == pack]
                colour = colours[i % len(colours)]
                ax.scatter([r["infections_averted"] for r in mine], [r[metric] for r in mine],
                           color=colour, alpha=0.6, label=pack)  # fmt: skip
                x = summary[pack]["infections_averted"]["median"]
                y = summary[pack][metric]["median"]
                if x is not None and y is not None:
                    median = f"{pack} median" + (" 中位数" if zh else "")
                    ax.scatter([x], [y], color=colour, marker="X", s=180,
                               edgecolor="black", label=median)  # fmt: skip
            ax.set_xlabel("infections averted (truth)" + ("\n避免的感染（真值）" if zh else ""))
            ax.set_ylabel(label if zh else label.split("\n")[0])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        title = "Cost against effect, one point per seed"
        fig.suptitle(title + (" 代价与效果（每点一个种子）" if zh else ""))
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, metadata={"Software": None})
        plt.close(fig)
    return path
