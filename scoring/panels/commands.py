"""Command-line verbs of this area, registered by competition/cli.py."""

from __future__ import annotations

import click

COMMANDS: dict[str, list[click.Command]] = {"import": [], "main": []}
