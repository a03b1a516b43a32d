"""``fangkong id``: check identity documents."""

from __future__ import annotations

import typer

app = typer.Typer(help="Identity documents: check resident ID numbers, phones, passports.", no_args_is_help=True)
