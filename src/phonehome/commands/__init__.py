"""CLI commands that live outside ``cli.py``: each module has ``register(app)``.

``cli.py`` calls ``register_all`` once; a new command module is added to ``COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES: tuple[str, ...] = (
    "plan",
    "diff",
    "export_csv",
    "flows",
    "blocklist",
    "compliance",
    "export",
    "phone",
    "apk",
)
"""Modules under ``phonehome.commands`` whose ``register(app)`` adds commands."""


def register_all(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"phonehome.commands.{name}").register(app)
