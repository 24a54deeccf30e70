"""Telegram Desktop JSON export (`result.json`) -> transcripts (spec: docs/spec/transcript.md;
format: reference chat-formats.md §2).

Invariants: the file is streamed, one message object in memory at a time, so a full-account
export of hundreds of megabytes reads in bounded memory; Telegram's invalid `\\xHH` escapes
are read as `\\u00HH` in memory only and recorded (header `facts.repairs`, message `repairs`);
numbers with a fraction (coordinates) are kept as the text the export wrote, never as floats;
a file cut short keeps every message before the cut and reports the rest as a problem.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from typing import Any

from ..errors import FormatError
from ._files import read_head
from ._model import Chat, ExportTree, Message, ParseOptions, Problems, prune
from ._model import time_header as _time_header
from ._telegram import CHAT_TYPES, Event, Scan, folder_of, format_files, prescan, walk
from ._telegram_message import Context, read_message

NAME = "telegram-json"
VERSION = "1"
PLATFORM = "telegram"

_SNIFF = 16384
_MESSAGE_TYPES = ("message", "service", "unsupported")
_SINGLE = re.compile(r'"messages"\s*:\s*\[\s*(?:\]|\{(?P<first>[^{}]*))')
_ACCOUNT = re.compile(r'"(?:personal_information|chats|left_chats)"\s*:\s*\{')
_TOP_TYPE = re.compile(r'^\s*\{[^{}\[]*"type"\s*:\s*"(?P<type>[a-z_]+)"')
_FIRST_TYPE = re.compile(r'"type"\s*:\s*"(?P<type>[a-z]+)"')


# --------------------------------------------------------------------------- detection


def sniff(head: str) -> str | None:
    """ "chat" or "account" if the start of a JSON file looks like a Telegram Desktop export."""
    if not head.lstrip("\ufeff \t\r\n").startswith("{"):
        return None
    single = _SINGLE.search(head)
    if single is not None:
        first = single.group("first")
        if first is None:
            top = _TOP_TYPE.search(head)
            return "chat" if top is not None and top.group("type") in CHAT_TYPES else None
        kind = _FIRST_TYPE.search(first)
        dated = any(f'"{key}"' in first for key in ("id", "date", "date_unixtime"))
        if kind is not None and kind.group("type") in _MESSAGE_TYPES and dated:
            return "chat"
        return None
    return "account" if _ACCOUNT.search(head) else None


def sniff_file(tree: ExportTree, name: str) -> str | None:
    """`sniff` applied to the first few KB of a file of the export."""
    return sniff(read_head(tree, name, _SNIFF))


def detect(tree: ExportTree) -> list[str]:
    """The Telegram Desktop JSON exports in `tree` (single chat or full account), by content."""
    return [name for name in tree.names() if name.lower().endswith(".json") and sniff_file(tree, name)]


# --------------------------------------------------------------------------- parsing


def parse(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Chat]:
    """One `Chat` per chat of `main` (every chat of `chats.list` and `left_chats.list` for a
    full-account export). Raises `FormatError` if the file does not start as a JSON object or
    is cut off before its first chat."""
    scan = prescan(tree, main)
    with tree.open(main) as stream:
        events = walk(stream)
        event = _first_chat(events, main)
        while event is not None:
            chat, after = _chat(tree, main, options, scan, event, events)
            yield chat
            deque(chat.messages, maxlen=0)  # the caller may move on without reading every message
            event = after[0] if after else None


def _first_chat(events: Iterator[Event], main: str) -> Event | None:
    for event in events:
        if event.kind == "chat":
            return event
        if event.kind == "problem":
            raise FormatError(f"cannot read the Telegram export: {event.value}", path=main)
    return None


def _chat(
    tree: ExportTree,
    main: str,
    options: ParseOptions,
    scan: Scan,
    event: Event,
    events: Iterator[Event],
) -> tuple[Chat, list[Event]]:
    top: dict[str, Any] = event.value
    account = top.get("account") is not None
    folder = folder_of(main)
    context = Context(tree, main, folder, options, explicit=scan.unixtime > 0, problems=Problems())
    if not account:
        context.support = {main} | format_files(tree, folder)
    after: list[Event] = []
    chat = Chat(
        header=_header(top, scan, options),
        messages=_messages(events, context, after),
        scope=None if account else folder,
        support=context.support,
        problems=context.problems,
    )
    return chat, after


def _header(top: dict[str, Any], scan: Scan, options: ParseOptions) -> dict[str, Any]:
    platform_type = top.get("type")
    chat_id = top.get("id")
    return prune(
        {
            "platform": PLATFORM,
            "title": top.get("name") if isinstance(top.get("name"), str) else None,
            "type": CHAT_TYPES.get(platform_type, "unknown") if isinstance(platform_type, str) else "unknown",
            "platform_type": platform_type if isinstance(platform_type, str) else None,
            "id": None if chat_id is None else str(chat_id),
            "time": _time_header(options, explicit=scan.unixtime > 0),
            "facts": _facts(top, scan, options),
        }
    )


def _facts(top: dict[str, Any], scan: Scan, options: ParseOptions) -> dict[str, Any]:
    account = top.get("account")
    facts: dict[str, Any] = {
        "export": "Telegram Desktop, full account (all chats in one file)"
        if account is not None
        else "Telegram Desktop, one chat",
        "account": account,
        "section": top.get("section"),
        "repairs": ["json-x-escapes"] if scan.x_escapes else None,
        "time": _time_fact(scan, options, "in this file" if account is not None else "in this chat"),
    }
    if scan.bare_ids:
        facts["from_id"] = (
            f"{scan.bare_ids} sender ids are bare numbers (Telegram Desktop before v2.7.2, April 2021): "
            "kept as written, since the number alone does not say whether it is a user, a group or a channel"
        )
    return prune(facts)


def _time_fact(scan: Scan, options: ParseOptions, where: str) -> str | None:
    if scan.unixtime == 0:
        return (
            f"no message {where} has date_unixtime (Telegram Desktop before v3.7.6, June 2022): each `date` is "
            f"the exporting computer's local wall-clock time, read in {options.timezone}"
        )
    missing = scan.dated - scan.unixtime
    if missing <= 0:
        return None
    return (
        f"{missing} of {scan.dated} messages {where} have no date_unixtime: their `date` (local wall-clock time) "
        f"was read in {options.timezone}, and their time says basis assumed"
    )


def _messages(events: Iterator[Event], context: Context, after: list[Event]) -> Iterator[Message]:
    for event in events:
        if event.kind == "chat":
            after.append(event)
            return
        if event.kind == "problem":
            _report(context, event.value, event.index)
            continue
        message = read_message(event, context)
        for problem in message.get("problems", ()):
            _report(context, problem, event.index)
        yield message


def _report(context: Context, problem: str, index: int | None) -> None:
    where = {} if index is None else {"index": index}
    context.problems.add(context.main, problem, **where)
