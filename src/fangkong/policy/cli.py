"""``fangkong policy``: check, show and compare policy packs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from fangkong.cli_support import err, out, settings
from fangkong.policy.diff import diff_packs
from fangkong.policy.loader import RESERVED_SECTIONS, builtin_names, check_pack_file, load_pack
from fangkong.policy.model import Pack

app = typer.Typer(
    help="Policy packs: check, show, compare the rules in force. 政策包.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Policy packs: check, show, compare the rules in force. 政策包."""


@app.command("check")
def check_command(
    path: Annotated[str, typer.Argument(help="Pack file (TOML) or a shipped pack's name.")],
) -> None:
    """Validate a pack; exit 1 listing every problem (file:line [rule]: what is wrong)."""
    from fangkong.policy.loader import resolve

    lang = settings().lang
    problems = check_pack_file(resolve(path))
    if problems:
        for p in problems:
            # escaped: "[pack]", "[quarantine]" in a message are text, not Rich markup
            err.print(f"[red]{p.problem.code}[/red] {escape(p.text(lang))}", markup=True)
        raise typer.Exit(1)
    pack = load_pack(path)
    out.print(f"ok: {pack.ref} — {len(pack.rules)} rules / 条规则")


def _show(pack: Pack) -> None:
    out.print(f"{pack.ref}  {pack.title.zh} / {pack.title.en}")
    rules = Table(
        "rule",
        "kind",
        "trigger",
        "colour (duration)",
        "zh",
        "en",
        title=escape("[healthcode] 健康码规则 / health-code rules"),
    )
    for r in pack.rules:
        if r.phases:
            colour = " → ".join(f"{p.colour.label} {p.hours // 24}d" if p.hours % 24 == 0
                                else f"{p.colour.label} {p.hours}h" for p in r.phases)  # fmt: skip
            if r.release_test_day:
                colour += f" (release test ≥ day {r.release_test_day})"
            zh, en = r.phases[0].text.zh, r.phases[0].text.en
        else:
            colour = "(decision)" if r.kind == "manual" else r.colour.label
            zh, en = r.text.zh, r.text.en
        rules.add_row(r.id, r.kind, r.trigger or r.level or r.period or "", colour, zh, en)
    out.print(rules)
    groups = Table("testing group", "interval (h)", "label")
    for g in pack.testing_groups.values():
        groups.add_row(g.name, str(g.interval_hours), f"{g.label.zh} / {g.label.en}")
    out.print(groups)
    venues = Table("venue type", "admit", "flag", "show arrivals (days)")
    for v in pack.venues.values():
        venues.add_row(
            v.venue_type,
            ", ".join(c.label for c in sorted(v.admit)),
            ", ".join(c.label for c in sorted(v.flag)),
            str(v.show_arrival_days),
        )
    out.print(venues)
    for section in RESERVED_SECTIONS:
        table = pack.sections.get(section)
        if isinstance(table, Mapping):
            out.print(_section_table(section, table))


# every section a pack may set (RESERVED_SECTIONS), titled in both languages; a section
# without a title here fails tests/policy/test_whole_packs.py
SECTION_TITLES = {
    "contacts": ("密接判定与追踪", "contact tracing"),
    "quarantine": ("隔离管理", "quarantine"),
    "testing": ("核酸检测", "testing"),
    "risk_areas": ("风险区划定与解封", "risk areas: levels and lifting"),
    "arrivals": ("入境与来返人员", "arrivals"),
    "surveillance": ("监测", "surveillance"),
    "alerts": ("预警", "alerts"),
    "command": ("指挥调度：任务、升级与时效", "command: tasks, escalation, timeliness"),
    "logistics": ("卡口通行查验", "checkpoints and crossings"),
    "passes": ("重点物资运输车辆通行证", "passes for key freight"),
    "supply": ("民生物资保供", "necessities under control"),
    "roads": ("道路通行状态", "road status"),
    "care": ("急需就医保障", "medical care under control"),
}


def _flatten(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            rows.append((name, ", ".join(str(v) for v in value)))
        else:
            rows.append((name, str(value)))
    return rows


def _section_table(section: str, table: Mapping[str, Any]) -> Table:
    """One pack section, key by key (dotted within the section), under its zh/en title."""
    zh, en = SECTION_TITLES.get(section, (section, section))
    out_table = Table("key", "value", title=escape(f"[{section}] {zh} / {en}"))
    for key, value in _flatten(table):
        out_table.add_row(escape(key), escape(value))
    return out_table


@app.command("show")
def show_command(
    name: Annotated[
        str | None,
        typer.Argument(
            help="Pack name or file; default: the pack in force (FANGKONG_POLICY_PACK)."
        ),
    ] = None,
) -> None:
    """Show every section of a pack: health-code rules, groups, venues, then each other
    section (contacts, quarantine, testing, risk areas, arrivals, surveillance, alerts,
    command, logistics, passes, supply, roads, care) key by key, with `extends` resolved."""
    _show(load_pack(name or settings().policy_pack))
    if name is None:
        out.print(f"shipped packs / 内置政策包: {', '.join(builtin_names())}")


@app.command("diff")
def diff_command(
    a: Annotated[str, typer.Argument(help="First pack (name or file).")],
    b: Annotated[str, typer.Argument(help="Second pack (name or file).")],
) -> None:
    """Every value that differs between two packs, key by key."""
    changes = diff_packs(load_pack(a), load_pack(b))
    table = Table("key", a, b)
    for c in changes:
        table.add_row(c.key, "—" if c.a is None else repr(c.a), "—" if c.b is None else repr(c.b))
    out.print(table)
    out.print(f"{len(changes)} differences / 处不同")
