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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import FormatError
from ._model import Chat, ExportTree, Message, ParseOptions, Problems, assumed_time, epoch_time, explicit_time, prune
from ._model import time_header as _time_header
from ._telegram import (
    CHAT_TYPES,
    MEDIA_KINDS,
    Event,
    Reader,
    Scan,
    folder_of,
    format_files,
    is_placeholder,
    media,
    prescan,
    resolve,
    walk,
)

NAME = "telegram-json"
VERSION = "1"
PLATFORM = "telegram"

_SNIFF = 16384
_MESSAGE_TYPES = ("message", "service", "unsupported")
_SINGLE = re.compile(r'"messages"\s*:\s*\[\s*(?:\]|\{(?P<first>[^{}]*))')
_ACCOUNT = re.compile(r'"(?:personal_information|chats|left_chats)"\s*:\s*\{')
_TOP_TYPE = re.compile(r'^\s*\{[^{}\[]*"type"\s*:\s*"(?P<type>[a-z_]+)"')
_FIRST_TYPE = re.compile(r'"type"\s*:\s*"(?P<type>[a-z]+)"')
_HANDLED = frozenset(
    [
        "id",
        "type",
        "date",
        "date_unixtime",
        "edited",
        "edited_unixtime",
        "from",
        "from_id",
        "actor",
        "actor_id",
        "action",
        "text",
        "text_entities",
        "reply_to_message_id",
        "reply_to_peer_id",
        "forwarded_from",
        "saved_from",
        "reactions",
        "photo",
        "photo_file_size",
        "file",
        "file_name",
        "file_size",
        "thumbnail",
        "thumbnail_file_size",
        "media_type",
        "mime_type",
        "width",
        "height",
        "self_destruct_period_seconds",
        "contact_vcard",
        "contact_vcard_file_size",
    ]
)
_DETAIL_KEYS = (
    "via_bot",
    "author",
    "place_name",
    "address",
    "live_location_period_seconds",
    "performer",
    "title",
    "sticker_emoji",
    "duration_seconds",
)


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
    with tree.open(name) as stream:
        head = stream.read(_SNIFF).decode("utf-8", errors="replace")
    return sniff(head)


def detect(tree: ExportTree) -> list[str]:
    """The Telegram Desktop JSON exports in `tree` (single chat or full account), by content."""
    return [name for name in tree.names() if name.lower().endswith(".json") and sniff_file(tree, name)]


# --------------------------------------------------------------------------- parsing


@dataclass
class _Context:
    """What reading one chat's messages needs, and what it learns on the way."""

    tree: ExportTree
    main: str
    folder: str
    options: ParseOptions
    explicit: bool
    problems: Problems
    support: set[str] = field(default_factory=set)


def parse(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Chat]:
    """One `Chat` per chat of `main` (every chat of `chats.list` and `left_chats.list` for a
    full-account export). Raises `FormatError` if the file does not start as a JSON object or
    is cut off before its first chat."""
    scan = prescan(tree, main)
    with tree.open(main) as stream:
        events = walk(Reader(stream))
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
    context = _Context(tree, main, folder, options, explicit=scan.unixtime > 0, problems=Problems())
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


def _messages(events: Iterator[Event], context: _Context, after: list[Event]) -> Iterator[Message]:
    for event in events:
        if event.kind == "chat":
            after.append(event)
            return
        if event.kind == "problem":
            _report(context, event.value, event.index)
            continue
        message = _message(event, context)
        for problem in message.get("problems", ()):
            _report(context, problem, event.index)
        yield message


def _report(context: _Context, problem: str, index: int | None) -> None:
    where = {} if index is None else {"index": index}
    context.problems.add(context.main, problem, **where)


# --------------------------------------------------------------------------- one message


def _message(event: Event, context: _Context) -> Message:
    raw = event.value
    source = {"file": context.main, "index": event.index}
    repairs = ["json-x-escape"] if event.repaired else None
    if not isinstance(raw, dict) or raw.get("type") not in ("message", "service"):
        return _unparsed(event, source, repairs)
    problems: list[str] = []
    service = raw["type"] == "service"
    message = {
        "id": _text(raw.get("id")),
        "type": "event" if service else "message",
        "event": _text(raw.get("action")) if service else None,
        "time": _time(raw, "date", context, problems),
        "edited": _time(raw, "edited", context, problems) if "edited" in raw or "edited_unixtime" in raw else None,
        "from": _sender(raw, "actor" if service else "from"),
        "text": _flatten(raw),
        "reply_to": _text(raw.get("reply_to_message_id")),
        "forwarded_from": _forwarded(raw),
        "view_once": "self_destruct_period_seconds" in raw,
        "reactions": _reactions(raw.get("reactions")),
        "attachments": _attachments(raw, context),
        "details": _details(raw, service),
        "source": source,
        "repairs": repairs,
        "problems": problems,
    }
    return prune(message)


def _unparsed(event: Event, source: dict[str, Any], repairs: list[str] | None) -> Message:
    raw = event.value
    kind = raw.get("type") if isinstance(raw, dict) else None
    why = (
        "Telegram Desktop could not export this message (type unsupported): only its id is in the file"
        if kind == "unsupported"
        else "not a Telegram message object: kept as written"
    )
    message_id = raw.get("id") if isinstance(raw, dict) else None
    return prune(
        {
            "id": _text(message_id),
            "type": "unparsed",
            "text": event.raw,
            "source": source,
            "repairs": repairs,
            "problems": [why],
        }
    )


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def _time(raw: dict[str, Any], key: str, context: _Context, problems: list[str]) -> dict[str, Any] | None:
    """A §5 time from `<key>_unixtime` (explicit) or else `<key>` (local wall clock, assumed zone)."""
    unixtime = raw.get(f"{key}_unixtime")
    if unixtime is not None:
        try:
            return epoch_time(unixtime)
        except (TypeError, ValueError, OverflowError):
            problems.append(f"{key}_unixtime {unixtime!r} is not a number of seconds")
    local = raw.get(key)
    if not isinstance(local, str):
        if key == "date":
            problems.append("the message has no date")
        return None if unixtime is None else {"text": str(unixtime)}
    try:
        moment = datetime.fromisoformat(local)
    except ValueError:
        problems.append(f"{key} {local!r} is not a date and time")
        return {"text": local}
    if moment.tzinfo is not None:
        return explicit_time(moment, local)
    time, problem = assumed_time(moment, local, context.options)
    if problem:
        problems.append(problem)
    return {**time, "basis": "assumed"} if context.explicit else time


def _sender(raw: dict[str, Any], key: str) -> dict[str, Any] | None:
    if key not in raw and f"{key}_id" not in raw:
        return None
    name = raw.get(key)
    # A deleted account is written as null; Telegram's HTML export shows it as "Deleted Account".
    return prune({"name": name if isinstance(name, str) else "Deleted Account", "id": _text(raw.get(f"{key}_id"))})


def flatten(value: Any) -> str:
    """Plain text of a Telegram `text` (a string, or a list of strings and `{"text": …}` objects)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            part if isinstance(part, str) else flatten(part.get("text"))
            for part in value
            if isinstance(part, (str, dict))
        )
    return ""


def _flatten(raw: dict[str, Any]) -> str:
    entities = raw.get("text_entities")
    return flatten(entities) if isinstance(entities, list) else flatten(raw.get("text"))


def _forwarded(raw: dict[str, Any]) -> str | None:
    for key in ("forwarded_from", "saved_from"):
        if key in raw:
            value = raw[key]
            return value if isinstance(value, str) else "(name not in the export)"
    return None


def _reactions(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    result = []
    for reaction in value:
        if not isinstance(reaction, dict):
            continue
        emoji = reaction.get("emoji") or (
            f"custom_emoji:{reaction['document_id']}" if "document_id" in reaction else reaction.get("type")
        )
        recent = reaction.get("recent")
        recent = recent if isinstance(recent, list) else []
        count = reaction.get("count")
        by = recent[0].get("from") if count == 1 and len(recent) == 1 and isinstance(recent[0], dict) else None
        result.append(prune({"emoji": _text(emoji), "count": count if isinstance(count, int) else None, "by": by}))
    return result


def _attachments(raw: dict[str, Any], context: _Context) -> list[dict[str, Any]]:
    found = []
    for key, kind in (
        ("photo", "photo"),
        ("file", MEDIA_KINDS.get(raw.get("media_type", ""), "file")),
        ("contact_vcard", "contact"),
    ):
        value = raw.get(key)
        if isinstance(value, str) and value:
            name = raw.get("file_name") if key == "file" and isinstance(raw.get("file_name"), str) else None
            found.append(media(context.tree, context.folder, value, kind, name=name))
    thumbnail = raw.get("thumbnail")
    if isinstance(thumbnail, str) and not is_placeholder(thumbnail) and (path := resolve(context.folder, thumbnail)):
        context.support.add(path)  # a preview Telegram made, part of the export's format, not a message's file
    return found


def _details(raw: dict[str, Any], service: bool) -> dict[str, Any] | None:
    """Export facts with no field of their own (spec §4), as text: where a location pin points,
    a shared contact's number, a poll, and for service events every field the action carries."""
    details: dict[str, Any] = {}
    for group in ("location_information", "contact_information"):
        if isinstance(raw.get(group), dict):
            details.update({k: _text(v) for k, v in raw[group].items()})
    poll = raw.get("poll")
    if isinstance(poll, dict):
        details["poll"] = flatten(poll.get("question"))
        details["poll_answers"] = [flatten(a.get("text")) for a in poll.get("answers", ()) if isinstance(a, dict)]
    keys = [k for k in raw if k not in _HANDLED] if service else [k for k in _DETAIL_KEYS if k in raw]
    for key in keys:
        value = raw[key]
        details[key] = [_text(v) or "" for v in value] if isinstance(value, list) else _text(value)
    return prune(details) or None
