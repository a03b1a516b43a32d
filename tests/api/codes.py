"""Helpers of the health-code API and page tests: venues, device tokens, coloured persons."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong.auth.devices import issue_device_token, issue_unit_token
from fangkong.auth.model import cli_actor
from fangkong.clock import now as utcnow
from fangkong.healthcode.codes import record_fact
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.writer import FactInput
from fangkong.keys import ServerKeys
from fangkong.store.schema import venues
from tests.conftest import TEST_SERVER_KEY

AUDIT_KEY = ServerKeys.from_master(TEST_SERVER_KEY).audit


def codes_of(app: FastAPI) -> CodeContext:
    ctx: CodeContext = app.state.ctx.codes
    return ctx


def venue_of(engine: Engine, kind: str, county: str = "140102") -> str:
    """The place code of a venue of ``kind`` in ``county``."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(venues.c.code, venues.c.region_code).where(venues.c.type == kind)
        )
        return sorted(code for code, region in rows if region.startswith(county))[0]


def device_token(engine: Engine, venue: str, scope: str = "scan") -> str:
    token, _ = issue_device_token(engine, AUDIT_KEY, cli_actor(), scope, venue, 30, "test")
    return token


def unit_token(engine: Engine, region: str, scope: str = "tasks", role: str | None = None) -> str:
    """A unit's duty terminal: a token bound to ``region`` (and ``role``), not a venue."""
    token, _ = issue_unit_token(engine, AUDIT_KEY, cli_actor(), scope, region, role, 30, "test")
    return token


def make_red(engine: Engine, codes: CodeContext, person_id: int) -> None:
    """A close contact exposed yesterday: red (centralised quarantine)."""
    fact = FactInput("close_contact", utcnow() - timedelta(days=1))
    record_fact(engine, codes, person_id, fact, recorded_by="test")


def make_yellow(engine: Engine, codes: CodeContext, person_id: int) -> None:
    """A fever-clinic visit an hour ago, no test since: yellow."""
    fact = FactInput("clinic_visit", utcnow() - timedelta(hours=1))
    record_fact(engine, codes, person_id, fact, recorded_by="test")
