"""Command fixtures: a small region tree (province → city → county → township) on the
``engine`` backends, and protocol-9's ``[command]`` rules."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from fangkong.command.rules import CommandRules
from fangkong.policy import load_pack
from tests.regions_tree import insert_tree

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
TREE = (
    ("14", None, "province", "省"),
    ("1401", "14", "city", "甲市"),
    ("140101", "1401", "county", "甲县"),
    ("140101001", "140101", "township", "甲镇"),
    ("1402", "14", "city", "乙市"),
    ("140201", "1402", "county", "乙县"),
)


@pytest.fixture
def tree(engine: Engine) -> Engine:
    with engine.begin() as conn:
        insert_tree(conn, TREE)
    return engine


@pytest.fixture
def rules() -> CommandRules:
    return CommandRules.from_pack(load_pack("protocol-9"))
