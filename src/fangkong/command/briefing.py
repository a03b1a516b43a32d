"""The daily briefing (每日疫情研判/日报) of a region, and of each of its cities (各市分会场).

A briefing reads what the figures job stored (``command_figures``: region × day × key),
never the raw tables, so the province's briefing costs a few hundred rows:

- the day's figures and their change from the day before;
- the curve of new cases over ``curve_days`` days, split found under control / in the
  community, and occupancy against capacity — drawn here, server-side, as inline SVG
  (``command.briefing_charts``), so the file is self-contained and prints as it is;
- what is overdue and who owns it: open ``command_tasks`` of the region's subtree past
  their deadline at ``at``, with the unit (region and role) that owes each now;
- risk areas designated and lifted that (local) day (``risk_area_changes``);
- the capacity outlook: occupied, capacity and free per facility kind, days left.

``build_briefing`` gathers it (a ``Briefing``, plain data: the API serves it as JSON),
``render_html`` / ``render_csv`` write it in one language, ``write_briefings`` writes the
region's and its cities' in one transaction, one ``command_briefings`` row per region and
day (a rewrite replaces the row).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, func, select

from fangkong.auth.rights import ROLES
from fangkong.command.board import bounds_of
from fangkong.command.figures import day_bounds
from fangkong.command.model import FIGURES, KIND, OPEN_STATUSES, STATUS, beyond
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_briefings, command_figures, command_tasks
from fangkong.errors import NotFound, Problem
from fangkong.riskareas.rules import LEVEL_NAMES
from fangkong.riskareas.tables import risk_area_changes, risk_areas
from fangkong.settings import default_tz
from fangkong.store.regions import subtree
from fangkong.store.schema import regions
from fangkong.store.tx import write_transaction

LANGS = ("zh", "en")
OVERDUE_LIMIT = 500  # rows of the overdue table; the count above it stays exact
CAPACITY = ("hotel", "standby", "fangcang")


class RegionUnknown(NotFound):
    """The briefing's region is not in the registry (or not in the caller's jurisdiction)."""


def region_unknown(code: str) -> RegionUnknown:
    return RegionUnknown(Problem("command.region_unknown", f"--region：无此区划（{code}）",
                                 f"--region: no region {code}"))  # fmt: skip


@dataclass(frozen=True)
class FigureRow:
    """A figure on the day and the day before; ``change`` is None when either is absent."""

    key: str
    group: str
    label: str
    unit: str
    today: float | None
    yesterday: float | None
    change: float | None
    bound: float | None = None  # past it the figure reads "> bound" (board.bounds_of)

    @property
    def more_than(self) -> float | None:
        return self.bound if beyond(self.today, self.bound) else None


@dataclass(frozen=True)
class CurvePoint:
    day: date
    controlled: float  # 管控中发现
    community: float  # 社会面发现


@dataclass(frozen=True)
class Occupancy:
    kind: str
    label: str
    occupied: float | None
    capacity: float | None

    @property
    def free(self) -> float | None:
        if self.occupied is None or self.capacity is None:
            return None
        return self.capacity - self.occupied


@dataclass(frozen=True)
class OverdueTask:
    """An open task past its deadline and the unit that owes it now (region, role)."""

    id: int
    kind: str
    kind_label: str
    status_label: str
    region_code: str
    region_name: str
    role: str | None
    role_label: str
    origin_region_code: str
    deadline_at: datetime
    hours_overdue: float
    escalation_level: int


@dataclass(frozen=True)
class AreaChange:
    """A risk area designated (``designated``) or lifted one step (``downgraded``)."""

    area_id: int
    area_name: str
    region_code: str
    at: datetime
    from_level: str | None
    to_level: str
    from_label: str
    to_label: str
    origin: str


@dataclass(frozen=True)
class Briefing:
    region_code: str
    region_name: str
    region_level: str
    day: date
    at: datetime  # when it was written (business time)
    lang: str
    tz: str
    figures: tuple[FigureRow, ...]
    computed_at: datetime | None  # the figures' "as of"; None: no figures for the day
    curve: tuple[CurvePoint, ...]
    occupancy: tuple[Occupancy, ...]
    days_left: float | None
    overdue: tuple[OverdueTask, ...]
    overdue_total: int
    designated: tuple[AreaChange, ...]
    lifted: tuple[AreaChange, ...]
    days_left_bound: float | None = None  # days_left past it reads "> bound"

    def figure(self, key: str) -> FigureRow:
        return next(f for f in self.figures if f.key == key)


def _label(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang.startswith("zh") else pair[1]


def _region(conn: Connection, code: str) -> tuple[str, str]:
    row = conn.execute(
        select(regions.c.name, regions.c.level).where(regions.c.code == code)
    ).first()
    if row is None:
        raise region_unknown(code)
    return str(row.name), str(row.level)


def _figures(
    conn: Connection, region_code: str, first: date, last: date
) -> tuple[dict[tuple[date, str], float], datetime | None]:
    rows = conn.execute(
        select(command_figures.c.day, command_figures.c.key, command_figures.c.value,
               command_figures.c.computed_at)
        .where(command_figures.c.region_code == region_code,
               command_figures.c.day >= first, command_figures.c.day <= last)
    ).all()  # fmt: skip
    values = {(r.day, str(r.key)): float(r.value) for r in rows}
    stamps = [r.computed_at for r in rows if r.day == last]
    return values, max(stamps) if stamps else None


def _change(today: float | None, yesterday: float | None,
            bound: float | None = None) -> float | None:  # fmt: skip
    if today is None or yesterday is None or beyond(today, bound) or beyond(yesterday, bound):
        return None
    return today - yesterday


WHOLE_UNIT = ("单位整体", "the unit as a whole")


def role_label(role: str | None, lang: str) -> str:
    """The responsible role as people read it (the unit as a whole when None)."""
    if role is None:
        return _label(WHOLE_UNIT, lang)
    found = ROLES.get(role)
    return _label((found[0], found[1]), lang) if found else role


def _overdue(
    conn: Connection, region_code: str, at: datetime, lang: str
) -> tuple[list[OverdueTask], int]:
    tree = subtree(region_code).subquery()
    late = and_(command_tasks.c.region_code.in_(select(tree.c.code)),
                command_tasks.c.status.in_(OPEN_STATUSES),
                command_tasks.c.deadline_at < at)  # fmt: skip
    rows = conn.execute(
        select(command_tasks, regions.c.name.label("region_name"))
        .join(regions, regions.c.code == command_tasks.c.region_code)
        .where(late)
        .order_by(command_tasks.c.deadline_at, command_tasks.c.id)
        .limit(OVERDUE_LIMIT)
    ).all()
    total = len(rows)
    if total == OVERDUE_LIMIT:
        total = int(conn.execute(select(func.count()).where(late)).scalar_one())
    tasks = [OverdueTask(
        id=int(r.id), kind=str(r.kind), kind_label=KIND[r.kind].label(lang),
        status_label=STATUS[r.status].label(lang), region_code=str(r.region_code),
        region_name=str(r.region_name), role=r.role, role_label=role_label(r.role, lang),
        origin_region_code=str(r.origin_region_code), deadline_at=r.deadline_at,
        hours_overdue=round((at - r.deadline_at).total_seconds() / 3600, 1),
        escalation_level=int(r.escalation_level)) for r in rows]  # fmt: skip
    return tasks, total


def _level(level: str | None, lang: str) -> str:
    if level is None:
        return "—"
    names = LEVEL_NAMES.get(level)
    return _label(names, lang) if names else level


def _area_changes(
    conn: Connection, region_code: str, day: date, tz: ZoneInfo, lang: str
) -> list[AreaChange]:
    # the figures' day: just after local midnight to the next midnight included (the
    # province loop stamps a day's work at 24:00)
    start, end = day_bounds(day, tz)
    tree = subtree(region_code).subquery()
    rows = conn.execute(
        select(risk_area_changes.c.area_id, risk_areas.c.name, risk_areas.c.region_code,
               risk_area_changes.c.at, risk_area_changes.c.from_level,
               risk_area_changes.c.to_level, risk_area_changes.c.origin)
        .join(risk_areas, risk_areas.c.id == risk_area_changes.c.area_id)
        .where(risk_areas.c.region_code.in_(select(tree.c.code)),
               risk_area_changes.c.at > start, risk_area_changes.c.at <= end)
        .order_by(risk_area_changes.c.at, risk_area_changes.c.id)
    ).all()  # fmt: skip
    return [AreaChange(int(r.area_id), str(r.name), str(r.region_code), r.at, r.from_level,
                       str(r.to_level), _level(r.from_level, lang), _level(r.to_level, lang),
                       str(r.origin)) for r in rows]  # fmt: skip


def build_briefing(
    conn: Connection,
    rules: CommandRules,
    *,
    region_code: str,
    day: date,
    at: datetime,
    lang: str,
    tz: ZoneInfo | None = None,
) -> Briefing:
    """The briefing of ``region_code`` for the local ``day``, as of ``at``, in ``lang``."""
    tz = tz or default_tz()
    lang = "zh" if lang.startswith("zh") else "en"
    name, level = _region(conn, region_code)
    first = day - timedelta(days=max(rules.curve_days, 2) - 1)
    values, computed_at = _figures(conn, region_code, first, day)
    yesterday = day - timedelta(days=1)
    bounds = bounds_of(rules)
    figures = tuple(
        FigureRow(f.key, f.group, f.label(lang), f.unit, values.get((day, f.key)),
                  values.get((yesterday, f.key)),
                  _change(values.get((day, f.key)), values.get((yesterday, f.key)),
                          bounds.get(f.key)), bounds.get(f.key))
        for f in FIGURES
    )  # fmt: skip
    days = [day - timedelta(days=n) for n in range(rules.curve_days - 1, -1, -1)]
    curve = tuple(
        CurvePoint(d, values.get((d, "cases.found_controlled"), 0.0),
                   values.get((d, "cases.found_community"), 0.0))
        for d in days
    )  # fmt: skip
    occupancy = tuple(
        Occupancy(k, _capacity_label(k, lang), values.get((day, f"quarantine.occupied_{k}")),
                  values.get((day, f"quarantine.capacity_{k}")))
        for k in CAPACITY
    )  # fmt: skip
    overdue, total = _overdue(conn, region_code, at, lang)
    changes = _area_changes(conn, region_code, day, tz, lang)
    return Briefing(
        region_code=region_code, region_name=name, region_level=level, day=day, at=at,
        lang=lang, tz=str(tz), figures=figures, computed_at=computed_at, curve=curve,
        occupancy=occupancy, days_left=values.get((day, "quarantine.days_left")),
        overdue=tuple(overdue), overdue_total=total,
        designated=tuple(c for c in changes if c.origin == "designated"),
        lifted=tuple(c for c in changes if c.origin == "downgraded"),
        days_left_bound=bounds.get("quarantine.days_left"),
    )  # fmt: skip


CAPACITY_LABELS = {"hotel": ("隔离酒店", "quarantine hotels"),
                   "standby": ("备用场所", "standby sites"),
                   "fangcang": ("方舱", "fangcang")}  # fmt: skip


def _capacity_label(kind: str, lang: str) -> str:
    return _label(CAPACITY_LABELS[kind], lang)


# ---- output ----------------------------------------------------------------------------------


def number(value: float | None, unit: str = "count", *, signed: bool = False,
           bound: float | None = None) -> str:  # fmt: skip
    """A value as people read it: whole numbers without decimals, shares as percent, days
    to one decimal; past its ``bound`` "> bound"."""
    if value is None:
        return "—"
    if beyond(value, bound):
        return f"> {bound:g}"
    if unit == "percent":  # stored as percent (100 × tested ÷ persons)
        return f"{value:+.1f}%" if signed else f"{value:.1f}%"
    if unit == "days" and not float(value).is_integer():
        return f"{value:+.1f}" if signed else f"{value:.1f}"
    if float(value).is_integer():
        return f"{int(value):+,}" if signed and value else f"{int(value):,}"
    return f"{value:+,.1f}" if signed else f"{value:,.1f}"


def render_html(briefing: Briefing) -> str:
    """The briefing as one self-contained, print-ready HTML page (charts inline, no
    script, nothing fetched) in the briefing's language."""
    from fangkong.command.briefing_html import render

    return render(briefing)


CSV_FIGURE_HEADER = {"zh": ("指标", "名称", "当日", "前一日", "变化"),
                     "en": ("figure", "label", "today", "yesterday", "change")}  # fmt: skip
CSV_TASK_HEADER = {
    "zh": ("任务", "类型", "状态", "责任单位代码", "责任单位", "责任岗位", "截止时间",
           "逾期小时", "升级层级"),
    "en": ("task", "kind", "status", "unit code", "unit", "role", "deadline", "hours overdue",
           "escalation level"),
}  # fmt: skip


def _csv_number(value: float | None, bound: float | None = None) -> str:
    if value is None:
        return ""
    if beyond(value, bound):
        return f">{bound:g}"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def render_csv(briefing: Briefing) -> str:
    """The briefing's tables as CSV: the figures (key, label, today, yesterday, change),
    a blank line, the overdue tasks with their owners. Numbers as stored, unformatted."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    lang = briefing.lang
    out.writerow(CSV_FIGURE_HEADER[lang])
    for f in briefing.figures:
        out.writerow((f.key, f.label, _csv_number(f.today, f.bound),
                      _csv_number(f.yesterday, f.bound), _csv_number(f.change)))  # fmt: skip
    out.writerow(())
    out.writerow(CSV_TASK_HEADER[lang])
    tz = ZoneInfo(briefing.tz)
    for t in briefing.overdue:
        out.writerow((t.id, t.kind_label, t.status_label, t.region_code, t.region_name,
                      t.role_label, t.deadline_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                      f"{t.hours_overdue:g}", t.escalation_level))  # fmt: skip
    return buffer.getvalue()


# ---- writing and storing -------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """One briefing written: its row, and its files when written to a folder."""

    region_code: str
    briefing_id: int
    html_path: Path | None
    csv_path: Path | None


def cities_of(conn: Connection, region_code: str) -> list[str]:
    """The child cities of ``region_code`` (各市分会场), by code."""
    return list(conn.execute(
        select(regions.c.code)
        .where(regions.c.parent_code == region_code, regions.c.level == "city")
        .order_by(regions.c.code)
    ).scalars())  # fmt: skip


def store_briefing(
    conn: Connection, briefing: Briefing, html: str, text: str, *, by: str, path: Path | None
) -> int:
    """Insert or replace the row of (region, day); its id."""
    values = {"written_at": briefing.at, "written_by": by[:80], "html": html, "csv": text,
              "path": str(path)[:500] if path else None}  # fmt: skip
    found = conn.execute(
        select(command_briefings.c.id).where(command_briefings.c.region_code
                                             == briefing.region_code,
                                             command_briefings.c.day == briefing.day)
    ).scalar_one_or_none()  # fmt: skip
    if found is not None:
        conn.execute(command_briefings.update().where(command_briefings.c.id == found)
                     .values(**values))  # fmt: skip
        return int(found)
    inserted = conn.execute(
        command_briefings.insert().values(region_code=briefing.region_code, day=briefing.day,
                                          **values)
    ).inserted_primary_key  # fmt: skip
    return int(inserted[0]) if inserted is not None else 0


def file_stem(region_code: str, day: date) -> str:
    return f"briefing-{region_code}-{day.isoformat()}"


@dataclass(frozen=True)
class Composed:
    """A briefing built and rendered, not stored yet."""

    briefing: Briefing
    html: str
    csv: str


def compose(
    conn: Connection,
    rules: CommandRules,
    *,
    region_code: str,
    day: date,
    at: datetime,
    lang: str,
    cities: bool = True,
    tz: ZoneInfo | None = None,
) -> list[Composed]:
    """Build and render the briefing of ``region_code`` and, with ``cities``, of each of
    its child cities — reads only, so the charts are drawn outside any write transaction."""
    _region(conn, region_code)  # an unknown region composes nothing
    codes = [region_code, *(cities_of(conn, region_code) if cities else [])]
    done = []
    for code in codes:
        b = build_briefing(conn, rules, region_code=code, day=day, at=at, lang=lang, tz=tz)
        done.append(Composed(b, render_html(b), render_csv(b)))
    return done


def store_all(
    conn: Connection,
    composed: list[Composed],
    *,
    by: str,
    out_dir: Path | None = None,
    stem: str | None = None,
) -> list[Written]:
    """Store each composed briefing (one row per region and day) and, with ``out_dir``,
    write it: ``<stem>.html`` / ``.csv`` for the first (the region), ``<stem>-<city>.…``
    for each city."""
    if not composed:
        return []
    first = composed[0].briefing
    stem = stem or file_stem(first.region_code, first.day)
    done = []
    for c in composed:
        code = c.briefing.region_code
        html_path = csv_path = None
        if out_dir is not None:
            name = stem if code == first.region_code else f"{stem}-{code}"
            html_path, csv_path = out_dir / f"{name}.html", out_dir / f"{name}.csv"
        key = store_briefing(conn, c.briefing, c.html, c.csv, by=by, path=html_path)
        done.append(Written(code, key, html_path, csv_path))
        if html_path is not None and csv_path is not None:
            _write_text(html_path, c.html)
            _write_text(csv_path, c.csv)
    return done


def write_on(
    conn: Connection,
    rules: CommandRules,
    *,
    region_code: str,
    day: date,
    at: datetime,
    by: str,
    lang: str,
    out_dir: Path | None = None,
    stem: str | None = None,
    cities: bool = True,
    tz: ZoneInfo | None = None,
) -> list[Written]:
    """``compose`` and ``store_all`` on one connection (the caller's transaction)."""
    composed = compose(conn, rules, region_code=region_code, day=day, at=at, lang=lang,
                       cities=cities, tz=tz)  # fmt: skip
    return store_all(conn, composed, by=by, out_dir=out_dir, stem=stem)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_briefings(
    engine: Engine,
    rules: CommandRules,
    *,
    region_code: str,
    day: date,
    at: datetime,
    by: str,
    out_dir: Path,
    lang: str,
    stem: str | None = None,
    cities: bool = True,
    tz: ZoneInfo | None = None,
) -> list[Path]:
    """The region's briefing and one per child city (各市分会场), stored (one row per
    region and day) and written as ``.html`` + ``.csv`` into ``out_dir``; the paths."""
    with engine.connect() as conn:  # charts are drawn before the write lock is taken
        composed = compose(conn, rules, region_code=region_code, day=day, at=at, lang=lang,
                           cities=cities, tz=tz)  # fmt: skip
    with write_transaction(engine) as conn:
        done = store_all(conn, composed, by=by, out_dir=out_dir, stem=stem)
    return list(_paths(done))


def _paths(done: Iterable[Written]) -> Iterable[Path]:
    for w in done:
        if w.html_path is not None and w.csv_path is not None:
            yield w.html_path
            yield w.csv_path


DAILY_JOB = "job:briefing"


def briefing_day(today: date) -> date:
    """The day a briefing written on local day ``today`` reports on when none is named:
    the day just ended (日报 reports 0–24时 of the day before; the pack's
    ``briefing_time`` is in the morning after it)."""
    return today - timedelta(days=1)


def write_daily(
    engine: Engine,
    rules: CommandRules,
    *,
    day: date,
    at: datetime,
    lang: str = "zh",
    tz: ZoneInfo | None = None,
) -> list[Written]:
    """The daily job's briefings (at the pack's ``briefing_time``): each top region of the
    tree (the province) and every one of its cities (各市分会场), stored by ``job:briefing``
    (the rows the pages list and serve; no files). A re-run replaces the day's rows."""
    with engine.connect() as conn:
        roots = list(conn.execute(
            select(regions.c.code).where(regions.c.parent_code.is_(None))
            .order_by(regions.c.code)
        ).scalars())  # fmt: skip
        composed: list[Composed] = []
        for code in roots:
            composed += compose(conn, rules, region_code=code, day=day, at=at, lang=lang,
                                cities=True, tz=tz)  # fmt: skip
    with write_transaction(engine) as conn:
        return [w for c in composed for w in store_all(conn, [c], by=DAILY_JOB)]
