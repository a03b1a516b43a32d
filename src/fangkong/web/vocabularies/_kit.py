"""What the rooms of the label registry share: a label, and an English label capitalised."""

from __future__ import annotations

Label = tuple[str, str]
"""(Chinese, English)."""


def capital(text: str) -> str:
    """An English label from a table that writes it in running text: "in progress"."""
    return text[:1].upper() + text[1:]
