"""One message object of Telegram Desktop's result.json -> a transcript message (spec:
docs/spec/transcript.md §4; format: reference chat-formats.md §2).

Invariants: facts with no field of their own go to `details` (a set list of them for a message,
every field its action carries for a service event); a time is read from `<key>_unixtime`
(explicit) before `<key>` (the exporting computer's wall clock, assumed zone); an object that is
not a message is kept whole, as written, as an `unparsed` message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._model import ExportTree, Message, ParseOptions, Problems, epoch_time, local_time, prune
from ._telegram import MEDIA_KINDS, Event, is_placeholder, media, resolve

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


@dataclass
class Context:
    """What reading one chat's messages needs, and what it learns on the way."""

    tree: ExportTree
    main: str
    folder: str
    options: ParseOptions
    explicit: bool
    problems: Problems
    support: set[str] = field(default_factory=set)


def read_message(event: Event, context: Context) -> Message:
    """The §4 record of one element of a chat's `messages` array (without `kind` and `n`)."""
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


def _time(raw: dict[str, Any], key: str, context: Context, problems: list[str]) -> dict[str, Any] | None:
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
    return local_time(moment, local, context.options, problems, mark_assumed=context.explicit)


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


def _attachments(raw: dict[str, Any], context: Context) -> list[dict[str, Any]]:
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
