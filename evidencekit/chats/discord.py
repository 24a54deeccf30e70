"""DiscordChatExporter JSON (format reference §5) → `Chat`.

Invariants: every time is read from the ISO-8601 timestamp with its offset (explicit); each
message's snowflake id is checked against its timestamp and a disagreement is a problem, never
a correction; a truncated or damaged file yields the messages before the damage plus a problem;
an attachment exported only as a web link is `not-included`, never fetched.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ._files import WEB_ONLY, as_dict, as_list, is_web_link, kind_from_name, read_head, read_json_file
from ._jsonstream import JsonDocument
from ._model import (
    Chat,
    ExportTree,
    Message,
    ParseOptions,
    Problems,
    assumed_time,
    attachment,
    epoch_time,
    explicit_time,
    not_included,
    prune,
    time_header,
    utc_text,
)

NAME = "discordchatexporter-json"
VERSION = "1"
PLATFORM = "discord"

# MessageKind.IsSystemNotification in DiscordChatExporter: these are events, the rest messages.
_SYSTEM_KINDS = {
    "RecipientAdd",
    "RecipientRemove",
    "Call",
    "ChannelNameChange",
    "ChannelIconChange",
    "ChannelPinnedMessage",
    "GuildMemberJoin",
    "ThreadCreated",
}
_CHAT_TYPES = {"DirectTextChat": "personal", "DirectGroupTextChat": "group", "GuildNews": "channel"}
_DISCORD_EPOCH_MS = 1_420_070_400_000
_SNOWFLAKE_TOLERANCE_S = 5
_SIGNATURE = (r'"guild"\s*:\s*\{', r'"channel"\s*:\s*\{', r'"messages"\s*:\s*\[')
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def detect(tree: ExportTree) -> list[str]:
    """JSON files whose top-level object has `guild` and `channel` objects and a `messages` array."""
    return [
        name
        for name in tree.names()
        if name.lower().endswith(".json")
        and (head := read_head(tree, name)).lstrip().startswith("{")
        and all(re.search(pattern, head) for pattern in _SIGNATURE)
    ]


def parse(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Chat]:
    """One `Chat`: the channel of one DiscordChatExporter JSON file."""
    problems = Problems()
    document = read_json_file(tree, main, problems)
    declared = document.members.get("messageCount")
    if isinstance(declared, int) and not document.problem and declared != len(document.messages):
        problems.add(main, f"the file says messageCount {declared} but holds {len(document.messages)} messages")
    yield Chat(
        header=_header(document, options),
        messages=_messages(tree, main, document.messages, options, problems),
        scope=f"{main}_Files/",  # DCE's default media folder: "<output file>_Files/"
        support={main},
        problems=problems,
    )


def _header(document: JsonDocument, options: ParseOptions) -> dict[str, Any]:
    guild = as_dict(document.members.get("guild"))
    channel = as_dict(document.members.get("channel"))
    kind = str(channel.get("type") or "")
    chat_type = _CHAT_TYPES.get(kind, "group" if kind.startswith("Guild") else "unknown")
    facts = {
        "export": "DiscordChatExporter JSON",
        "guild": prune({"id": _text(guild.get("id")), "name": guild.get("name")}),
        "category": channel.get("category"),
        "topic": channel.get("topic"),
        "exported_at": document.members.get("exportedAt"),
        "date_range": prune(as_dict(document.members.get("dateRange"))),
        "message_count": document.members.get("messageCount"),
    }
    return {
        "platform": PLATFORM,
        "title": channel.get("name"),
        "type": chat_type,
        "platform_type": kind,
        "id": _text(channel.get("id")),
        "time": time_header(options, explicit=True),
        "facts": prune(facts),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _messages(
    tree: ExportTree, main: str, raws: list[Any], options: ParseOptions, problems: Problems
) -> Iterator[Message]:
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        notes: list[str] = []
        if isinstance(raw, dict):
            message = _message(tree, posixpath.dirname(main), raw, options, notes)
            if (message_id := message["id"]) is not None:
                if message_id in seen:
                    notes.append(f"the message id {message_id} appears more than once in the file")
                seen.add(message_id)
        else:
            notes.append("this entry of the messages array is not a JSON object")
            message = {"type": "unparsed", "text": json.dumps(raw, ensure_ascii=False)}
        for note in notes:
            problems.add(main, note, index=index)
        yield message | {"source": {"file": main, "index": index}, "problems": notes}


def _message(tree: ExportTree, folder: str, raw: dict[str, Any], options: ParseOptions, notes: list[str]) -> Message:
    kind = str(raw.get("type") or "Default")
    message_id = _text(raw.get("id"))
    author = as_dict(raw.get("author"))
    moment = _parse_iso(raw.get("timestamp"))
    reference = as_dict(raw.get("reference"))
    message = {
        "id": message_id,
        "type": "event" if kind in _SYSTEM_KINDS else "message",
        "event": kind if kind in _SYSTEM_KINDS else None,
        "time": _time(moment, raw.get("timestamp"), options, notes),
        "from": prune({"name": author.get("nickname") or author.get("name"), "id": _text(author.get("id"))}),
        "text": _clean(raw.get("content"), notes),
        "edited": _edited(raw.get("timestampEdited"), options, notes),
        "reply_to": _text(reference.get("messageId")) if kind != "ChannelPinnedMessage" else None,
        "reactions": [entry for item in as_list(raw.get("reactions")) for entry in _reactions(as_dict(item))],
        "attachments": _attachments(tree, folder, raw),
    }
    if moment is not None and moment.tzinfo is not None:
        notes.extend(_snowflake_check(message_id, moment))
    return message


def _parse_iso(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _time(moment: datetime | None, text: Any, options: ParseOptions, notes: list[str]) -> dict[str, Any] | None:
    if text is None:
        notes.append("the message has no timestamp")
        return None
    if moment is None:
        notes.append(f"the timestamp {text!r} cannot be read")
        return {"text": str(text)}
    if moment.tzinfo is not None:
        return explicit_time(moment, text)
    time, problem = assumed_time(moment, text, options)
    notes.append(problem or f"the timestamp {text} has no UTC offset; it was read in {options.timezone}")
    return time | {"basis": "assumed"}


def _edited(text: Any, options: ParseOptions, notes: list[str]) -> dict[str, Any] | None:
    return None if text is None else _time(_parse_iso(text), text, options, notes)


def _clean(text: Any, notes: list[str]) -> str | None:
    """The text, with unpaired UTF-16 surrogates (a damaged emoji escape) shown as U+FFFD."""
    if not isinstance(text, str):
        return None
    if _LONE_SURROGATE.search(text):
        notes.append("the text holds an unpaired UTF-16 surrogate escape (a broken emoji); shown as U+FFFD")
        return _LONE_SURROGATE.sub("\ufffd", text)
    return text


def _snowflake_check(message_id: str | None, moment: datetime) -> list[str]:
    """Discord ids encode their creation time; a timestamp far from it was not written by Discord."""
    if not message_id or not message_id.isdigit():
        return []
    created_ms = (int(message_id) >> 22) + _DISCORD_EPOCH_MS
    stamped_ms = round(moment.timestamp() * 1000)
    if abs(created_ms - stamped_ms) <= _SNOWFLAKE_TOLERANCE_S * 1000:
        return []
    created = epoch_time(created_ms, scale=1000).get("utc", "out of the calendar's range")
    return [
        f"the message id {message_id} encodes the time {created}, which disagrees with its timestamp "
        f"{utc_text(moment)}: the export may have been altered"
    ]


def _reactions(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per reacting user where the export lists them (newer DCE), else one with the count."""
    emoji = as_dict(raw.get("emoji"))
    name = emoji.get("name") or emoji.get("code") or ""
    shown = f":{name}:" if emoji.get("id") else name  # custom server emoji have an id and a word for a name
    users = [as_dict(user) for user in as_list(raw.get("users"))]
    if users:
        return [prune({"emoji": shown, "by": user.get("nickname") or user.get("name")}) for user in users]
    return [prune({"emoji": shown, "count": raw.get("count")})]


def _attachments(tree: ExportTree, folder: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in as_list(raw.get("attachments")):
        item = as_dict(item)
        name = item.get("fileName") or ""
        found.append(_file(tree, folder, item.get("url") or "", kind_from_name(name), name))
    for item in as_list(raw.get("stickers")):
        item = as_dict(item)
        found.append(_file(tree, folder, item.get("sourceUrl") or "", "sticker", item.get("name") or ""))
    return found


def _file(tree: ExportTree, folder: str, url: str, kind: str, name: str) -> dict[str, Any]:
    """With `--media`, DCE writes the path relative to the JSON file's folder (OS separators)."""
    if not url:
        return {"kind": kind, "name": name, "status": "missing"}
    if is_web_link(url):
        return not_included(kind, WEB_ONLY, name=name or url)
    path = posixpath.normpath(posixpath.join(folder, url.replace("\\", "/")))
    return attachment(tree, path, kind, name=name or None)
