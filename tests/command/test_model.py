"""The command vocabularies: every value has a zh and an en label and fits its column."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from fangkong.command import model
from fangkong.command.tables import command_figures, command_tasks

HAN = re.compile(r"[\u4e00-\u9fff]")
TERMS = [
    *model.TASK_KINDS, *model.TASK_STATUSES, *model.FIGURE_GROUPS, *model.FIGURES,
    *model.MEASURES, model.MISSED, model.ON_TIME, model.LATE,
]  # fmt: skip


@pytest.mark.parametrize("term", TERMS, ids=lambda t: t.key)
def test_every_value_reads_in_chinese_and_english(term: model.Term) -> None:
    assert HAN.search(term.zh), term
    assert term.en
    assert not HAN.search(term.en), term


def test_keys_are_unique_and_fit_their_columns() -> None:
    for terms in (model.TASK_KINDS, model.TASK_STATUSES, model.FIGURES, model.MEASURES):
        keys = [t.key for t in terms]
        assert len(keys) == len(set(keys))
    assert max(len(f.key) for f in model.FIGURES) <= command_figures.c.key.type.length
    assert max(len(k.key) for k in model.TASK_KINDS) <= command_tasks.c.kind.type.length
    groups = {g.key for g in model.FIGURE_GROUPS}
    assert {f.group for f in model.FIGURES} == groups
    assert all(f.key.startswith(f"{f.group}.") for f in model.FIGURES)


def test_missed_is_derived_from_deadline_and_closing() -> None:
    deadline = datetime(2022, 3, 18, 12, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert not model.is_missed("done", deadline, deadline - hour, deadline + 9 * hour)
    assert model.is_missed("done", deadline, deadline + hour, deadline + hour)
    assert model.is_missed("in_progress", deadline, None, deadline + hour)
    assert not model.is_missed("open", deadline, None, deadline - hour)
    assert not model.is_missed("cancelled", deadline, deadline + hour, deadline + 9 * hour)
    assert set(model.TRANSITIONS) == set(model.STATUS)
