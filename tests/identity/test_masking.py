"""Masking (脱敏) for display."""

from __future__ import annotations

import pytest

from fangkong.identity.masking import mask_id, mask_name, mask_phone


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("110105491231002", "110105*****1002"),
        ("E12345678", "E1*****78"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_id(value: str, masked: str) -> None:
    assert mask_id(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+8613812341234", "+86138****1234"),
        ("+86 138 1234 1234", "+86138****1234"),
        ("+12025550123", "+1202***0123"),
        ("12345", "***45"),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张*丰"),
        ("欧阳娜娜", "欧**娜"),
        ("王", "*"),
        ("John Smith", "J*** S****"),
        ("Mary-Jane O'Neil", "M***-J*** O'N***"),
        ("阿卜杜·热合曼", "阿**·热**"),
    ],
)
def test_mask_name(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@pytest.mark.parametrize("value", ["11010519491231002X", "13812341234", "欧阳娜娜"])
def test_lengths_are_kept(value: str) -> None:
    for mask in (mask_id, mask_phone, mask_name):
        assert len(mask(value)) == len(value)
