"""Mass-testing campaigns (全员核酸) over regions of the jurisdiction: the list and live
numbers (counts only), a campaign's plan and who has not been sampled (names masked by
rights, audited), starting one (``testing.manage``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from fangkong.auth.guard import Call, hidden, inside, names, within
from fangkong.auth.jurisdiction import region_exists
from fangkong.auth.model import Actor
from fangkong.auth.rights import PERSON_READ_FULL, TESTING_MANAGE, TESTING_READ
from fangkong.errors import FieldProblem, InvalidFields, NotFound, Problem
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import persons, regions
from fangkong.testing import campaigns as camp
from fangkong.testing.rules import TestingRules
from fangkong.testing.tables import campaigns


def _campaign_missing(campaign_id: int) -> Problem:
    return Problem(
        "testing.campaign_unknown", f"无此检测行动 {campaign_id}", f"no campaign {campaign_id}"
    )


@dataclass(frozen=True)
class NotSampled:
    person_id: int
    name: str
    residence_code: str | None


@dataclass(frozen=True)
class CampaignView:
    progress: camp.Progress
    plan: camp.CampaignPlan | None  # the plan for the population and labs now
    what_if: tuple[camp.CampaignPlan, ...]
    projection: camp.Projection | None
    lab_capacity_per_day: int
    not_sampled_total: int
    not_sampled: tuple[NotSampled, ...]
    masked: bool


def _campaign_in_reach(conn: Connection, actor: Actor, campaign_id: int) -> Any:
    row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise NotFound(_campaign_missing(campaign_id))
    if not inside(conn, actor, row.region_code):
        raise hidden(NotFound(_campaign_missing(campaign_id)))
    return row


def campaign_progress(
    call: Call, rules: TestingRules, campaign_id: int
) -> tuple[camp.Progress, camp.Projection | None]:
    """A campaign's live numbers and the forecast at the pace so far (counts only, no
    names: not audited)."""
    call.require(TESTING_READ)
    with call.engine.connect() as conn:
        _campaign_in_reach(conn, call.actor, campaign_id)
        prog = camp.progress(conn, campaign_id, at=call.at)
        capacity = camp.lab_capacity(conn)
    return prog, camp.projection(prog, capacity, rules.campaign)


# what the campaign list may be sorted by (its whitelist)
CAMPAIGN_SORTS: listing.Columns = {
    "name": campaigns.c.name, "region": regions.c.name, "starts": campaigns.c.starts_at,
    "pool": campaigns.c.pool_size, "target": campaigns.c.target_hours,
}  # fmt: skip


def campaign_list(call: Call, bounded: Bounded = listing.FIRST_PAGE) -> tuple[list[Any], int]:
    """One page of the campaigns over regions of the jurisdiction, newest first unless
    sorted by a key of :data:`CAMPAIGN_SORTS` (no personal data), each with its region's
    name (``region_name``: a page shows the name, not the code); and how many there are."""
    call.require(TESTING_READ)
    c = campaigns.c
    query = (
        select(campaigns, regions.c.name.label("region_name"))
        .select_from(campaigns.outerjoin(regions, regions.c.code == c.region_code))
        .where(within(call.actor, c.region_code))
    )
    with call.engine.connect() as conn:
        return listing.fetch(conn, query, bounded, CAMPAIGN_SORTS, (c.id.desc(),))


def campaign_view(
    call: Call, rules: TestingRules, campaign_id: int, *, limit: int = 200
) -> CampaignView:
    """A campaign of the jurisdiction: the plan with its what-if rows and predicted
    completion against the target, live progress, the forecast at the rate seen so far,
    and who has not been sampled (names masked by rights). Audited."""
    actor = call.actor

    def body(conn: Connection) -> tuple[CampaignView, str]:
        call.require(TESTING_READ)
        c = _campaign_in_reach(conn, actor, campaign_id)
        prog = camp.progress(conn, campaign_id, at=call.at)
        capacity = camp.lab_capacity(conn)
        planned = what = None
        if prog.population and capacity:
            planned = camp.plan(prog.population, capacity, rules.campaign, pool_size=c.pool_size)
            what = tuple(camp.what_if(prog.population, capacity, rules))
        total, ids = camp.not_sampled(conn, campaign_id, limit=limit, progress=prog)
        named = names(conn, actor, ids)
        homes: dict[int, str | None] = {
            int(i): code
            for i, code in conn.execute(
                select(persons.c.id, persons.c.residence_code).where(persons.c.id.in_(ids))
            )
        }
        missing = tuple(NotSampled(p, named[p], homes.get(p)) for p in ids)
        masked = not actor.can(PERSON_READ_FULL)
        view = CampaignView(
            prog,
            planned,
            what or (),
            camp.projection(prog, capacity, rules.campaign),
            capacity,
            total,
            missing,
            masked,
        )
        return view, f"{len(missing)} of {total} not sampled listed" + (" masked" if masked else "")

    return call.audited("testing.campaign", "campaign", str(campaign_id), body)


def start_campaign(
    call: Call,
    rules: TestingRules,
    name: str,
    region_code: str,
    starts_at: datetime,
    *,
    pool_size: int | None = None,
) -> int:
    """Start a campaign over a region of the jurisdiction (``testing.manage``)."""
    actor = call.actor

    def body(conn: Connection) -> tuple[int, str]:
        call.require(TESTING_MANAGE)
        if not name.strip():
            raise InvalidFields(
                Problem("request.invalid", "请填写名称", "give the campaign a name"),
                [FieldProblem("name", Problem("value.missing", "必填", "required"))],
            )
        if region_exists(conn, region_code) and not inside(conn, actor, region_code):
            raise hidden(
                NotFound(
                    Problem(
                        "testing.region_unknown",
                        f"无此地区 {region_code}",
                        f"no region {region_code}",
                    )
                )
            )
        cid = camp.create_campaign(
            conn,
            rules,
            name.strip(),
            region_code,
            starts_at=starts_at,
            pool_size=pool_size,
            by=actor.name,
        )
        return cid, f"campaign {cid} over {region_code}"

    return call.audited("testing.campaign_start", "region", region_code, body)
