"""CLI commands to read chats back: `chats`, `messages`, `reindex` (registered on import)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click

import evidencekit as api

from . import _cli_support as ui
from ._cli_options import case_identities, case_option, identity_option, json_option, passfile_option
from ._tz import parse_timezone
from .cli import cli


@cli.command("chats")
@case_option
@json_option
def chats(case_dir: str | None, as_json: bool) -> None:
    """List the chats read from captured chat exports.

    Example: evidencekit chats --case my-case
    """
    rows = api.list_chats(ui.find_case(case_dir))
    if as_json:
        return ui.emit_json(rows)
    for row in rows:
        span = f"{row['first'] or '?'} to {row['last'] or '?'}"
        problems = f"\t{row['problems']} problem(s) noted" if row["problems"] else ""
        ui.echo(f"{row['id']}\t{row['platform']}\t{row['messages']} messages\t{span}\t{row['title'] or ''}{problems}")
    if not rows:
        ui.say("no chats yet: capture a chat export (a folder, zip or file) with `evidencekit capture PATH`")


@cli.command("messages")
@click.option("--chat", metavar="ID", help="Only this chat (T0001; see `evidencekit chats`).")
@click.option("--sender", help="Only messages from senders whose name contains this (or with this id).")
@click.option("--since", metavar="WHEN", help="From this time on, e.g. 2023-08-01 or '1 Aug 2023 9pm' (case's zone).")
@click.option("--until", metavar="WHEN", help="Up to this time; a date alone means the end of that day.")
@click.option("--contains", metavar="WORDS", help="Only messages whose text contains these words, in this order.")
@click.option("--with-attachments", is_flag=True, help="Only messages that carried files.")
@identity_option
@case_option
@passfile_option
@click.option("--json", "as_json", is_flag=True, help="Write one JSON object per message (JSON Lines).")
def messages(
    chat: str | None,
    sender: str | None,
    since: str | None,
    until: str | None,
    contains: str | None,
    with_attachments: bool,
    identity_specs: tuple[str, ...],
    case_dir: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Print messages in time order (text only: pictures show as their item id and hash).

    Example: evidencekit messages --case my-case --sender Badrul --since 2026-03-01 --with-attachments
    """
    case = ui.find_case(case_dir)
    query = api.MessageQuery(chat, sender, since, until, contains, with_attachments)
    found = api.list_messages(case, query, identities=case_identities(case, identity_specs, passphrase_file))
    if as_json:
        for record in found:
            click.echo(json.dumps(record, sort_keys=True, ensure_ascii=False))
        ui.EMITTED["json"] = True
        return
    zone = parse_timezone(case.read_manifest()[1]["case"]["timezone"])
    rows = [_row(record, zone) for record in found]
    if sys.stdout.isatty():
        _table(rows)
    else:
        for row in rows:
            ui.echo("\t".join(row))
    ui.say(f"{len(rows)} message(s)")


def _row(record: dict[str, Any], zone: Any) -> list[str]:
    when = record.get("time", {})
    if when.get("utc"):
        moment = datetime.fromisoformat(when["utc"].replace("Z", "+00:00")).astimezone(zone)
        shown = f"{moment:%Y-%m-%d %H:%M:%S %z}"
    else:
        shown = f"({when.get('text', 'no time')})"
    sender = record.get("from", {}).get("name", "") if record.get("type") != "event" else "(event)"
    flags = [word for word in ("edited", "deleted", "view_once") if record.get(word)]
    text = record.get("text", "")
    for attachment in record.get("attachments", ()):
        text += f" [{_attachment(attachment)}]"
    return [shown, record["chat"], sender, text.replace("\n", " ⏎ ") + (f" ({', '.join(flags)})" if flags else "")]


def _attachment(attachment: dict[str, Any]) -> str:
    kind = attachment.get("kind", "file")
    if attachment["status"] == "linked":
        return f"{kind} {attachment.get('item', '?')} sha256:{attachment['sha256'][:16]}…"
    return f"{kind} {attachment['status']}"


def _table(rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("time", "chat", "sender", "text")
    for row in rows:
        table.add_row(*(Text(ui.clean(cell)) for cell in row))  # Text: chat words are never read as markup
    Console().print(table)


@cli.command("reindex")
@case_option
@json_option
def reindex(case_dir: str | None, as_json: bool) -> None:
    """Rebuild the chat search index from the signed transcripts (it is never evidence).

    Example: evidencekit reindex --case my-case
    """
    path = api.reindex(ui.find_case(case_dir))
    if as_json:
        return ui.emit_json({"index": str(path)})
    ui.say(f"rebuilt {path}")
