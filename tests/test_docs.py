"""docs/cli.md is generated from --help and must be current: `python -m tests.test_docs` rewrites it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evidencekit.cli import cli

CLI_DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
HEADER = """# Command reference

Generated from `evidencekit --help` by `python -m tests.test_docs`; a test checks it is current.
Exit codes for every command: 0 ok, 1 verification failed, 2 usage error, 3 cannot run, 4 internal error.
"""


def _sections(command: click.Command, path: list[str]) -> list[str]:
    with click.Context(command, info_name=" ".join(path), terminal_width=80, max_content_width=80) as ctx:
        text = command.get_help(ctx)
    out = [f"\n## `{' '.join(path)}`\n\n```text\n{text}\n```\n"]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            out += _sections(command.commands[name], [*path, name])
    return out


def render() -> str:
    """The whole reference, as it should be on disk."""
    return HEADER + "".join(_sections(cli, ["evidencekit"]))


def test_cli_reference_is_current() -> None:
    assert CLI_DOC.read_text(encoding="utf-8") == render(), "docs/cli.md is stale: run `python -m tests.test_docs`"


def test_every_command_has_an_example_or_short_help() -> None:
    def walk(group: click.Group) -> None:
        for command in group.commands.values():
            assert command.help and command.help.strip()
            if isinstance(command, click.Group):
                walk(command)

    walk(cli)


if __name__ == "__main__":
    CLI_DOC.write_text(render(), encoding="utf-8")
    sys.exit(0)
