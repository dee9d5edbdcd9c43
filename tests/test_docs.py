"""Docs stay true: every CLI command has help and appears in the README."""

from __future__ import annotations

from pathlib import Path

import typer.main
from typer.testing import CliRunner

from custtype.cli import app


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    names = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        names += [f"{name} {s}" for s in sub] if sub else [name]
    return names


def test_every_command_has_help_and_is_in_the_readme(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    for name in _commands():
        r = CliRunner().invoke(app, [*name.split(), "--help"])
        assert r.exit_code == 0 and len(r.output) > 80, name
        assert f"custtype {name}" in readme, f"`custtype {name}` is not documented in README.md"


def test_readme_starts_with_the_two_commands(repo_root: Path) -> None:
    head = (repo_root / "README.md").read_text(encoding="utf-8")[:1500]
    assert "custtype classify" in head and "pytest" in head
