"""The briefing as one HTML file: the template ``templates/briefing.html`` (print CSS,
inline SVG charts, no script, nothing fetched), one language per file.

The file leaves the server (e-mailed to the cities, printed for the meeting), so its
words are carried here as zh/en pairs rather than the pages' gettext catalogues.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from fangkong.command.briefing_charts import ChartText, curve_svg, occupancy_svg, usable
from fangkong.command.model import FIGURE_GROUPS

if TYPE_CHECKING:
    from fangkong.command.briefing import Briefing

TEXT: dict[str, tuple[str, str]] = {
    "title": ("每日疫情研判", "Daily situation briefing"),
    "as_of": ("数据截至", "figures as of"),
    "written": ("生成时间", "written"),
    "no_figures": ("当日尚无统计数据（统计任务未运行）。",
                   "No figures for this day yet (the figures job has not run)."),
    "figures": ("当日数据", "The day's figures"),
    "figure": ("指标", "figure"),
    "today": ("当日", "today"),
    "yesterday": ("前一日", "day before"),
    "change": ("变化", "change"),
    "curve": ("新增确诊趋势", "New confirmed cases"),
    "capacity": ("隔离资源", "Quarantine capacity"),
    "kind": ("类型", "kind"),
    "occupied": ("在住", "occupied"),
    "capacity_col": ("容量", "capacity"),
    "free": ("空余", "free"),
    "days_left": ("资源可支撑天数", "days of capacity left"),
    "overdue": ("逾期任务及责任单位", "Overdue tasks and who owns them"),
    "overdue_none": ("无逾期任务。", "No overdue tasks."),
    "overdue_more": ("另有 {n} 项未列出。", "{n} more not listed."),
    "task": ("任务", "task"),
    "status": ("状态", "status"),
    "unit": ("责任单位", "unit"),
    "role": ("责任岗位", "role"),
    "deadline": ("截止时间", "deadline"),
    "hours_overdue": ("逾期（小时）", "hours overdue"),
    "escalated": ("已升级层级", "escalated levels"),
    "areas": ("风险区调整", "Risk areas"),
    "designated": ("当日划定", "designated this day"),
    "lifted": ("当日降级/解封", "lifted this day"),
    "area": ("区域", "area"),
    "from": ("原等级", "from"),
    "to": ("现等级", "to"),
    "time": ("时间", "time"),
    "none": ("无。", "None."),
    "lp": ("（", " ("),
    "rp": ("）", ")"),
    "colon": ("：", ": "),
}  # fmt: skip

CURVE = (ChartText("近{n}日新增确诊", ("管控中发现", "社会面发现"), "例"),
         ChartText("New confirmed cases, last {n} days",
                   ("found under control", "found in the community"), "cases"))  # fmt: skip
OCCUPANCY = (ChartText("隔离资源占用", ("在住", "容量"), "间/床"),
             ChartText("Quarantine occupancy", ("occupied", "capacity"),
                       "rooms / beds"))  # fmt: skip


@cache
def _environment() -> Environment:
    from fangkong.command.briefing import number

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    return env


def _charts(b: Briefing) -> dict[str, Markup]:
    n = len(b.curve)
    zh, en = CURVE
    text = usable(ChartText(zh.title.format(n=n), zh.series, zh.axis),
                  ChartText(en.title.format(n=n), en.series, en.axis), b.lang)  # fmt: skip
    curve = curve_svg([p.day.isoformat() for p in b.curve], [p.controlled for p in b.curve],
                      [p.community for p in b.curve], text)  # fmt: skip
    charts = {"curve": Markup(curve)}  # noqa: S704 - matplotlib's own SVG, no user text
    kinds = [o for o in b.occupancy if o.capacity is not None or o.occupied is not None]
    if kinds:
        from fangkong.command.briefing import CAPACITY_LABELS

        words = usable(*OCCUPANCY, b.lang)
        lang = b.lang if words is OCCUPANCY[0] else "en"
        labels = [CAPACITY_LABELS[o.kind][0 if lang == "zh" else 1] for o in kinds]
        svg = occupancy_svg(labels, [o.occupied or 0.0 for o in kinds],
                            [o.capacity or 0.0 for o in kinds], words)  # fmt: skip
        charts["occupancy"] = Markup(svg)  # noqa: S704 - matplotlib's own SVG
    return charts


def _heading(label: str) -> str:
    return label[:1].upper() + label[1:]


def render(b: Briefing) -> str:
    i = 0 if b.lang == "zh" else 1
    t = {k: v[i] for k, v in TEXT.items()}
    groups = [(_heading(g.label(b.lang)), [f for f in b.figures if f.group == g.key])
              for g in FIGURE_GROUPS]  # fmt: skip
    tz = ZoneInfo(b.tz)

    def local(at: object) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if isinstance(at, datetime) else "—"

    return _environment().get_template("briefing.html").render(
        b=b, t=t, groups=groups, charts=_charts(b), local=local,
        html_lang="zh-CN" if b.lang == "zh" else "en",
        more=t["overdue_more"].format(n=b.overdue_total - len(b.overdue)),
    )  # fmt: skip
