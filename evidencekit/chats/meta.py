"""Instagram and Facebook Messenger "Download your information" exports (format reference §4) → `Chat`.

Invariants: one `Chat` per thread, however many `message_N.json` parts it has (the main file is
the lowest-numbered part, normally `message_1.json`); messages come out oldest first, each with
its position in its own file as `source`; every string is repaired for Meta's mojibake with the
guard of spec §8 before names are compared, and each repair is recorded; times are Meta's UTC
epoch milliseconds (explicit). The HTML variant is recognised but not read: its chat carries only
a header and a problem asking for a JSON re-export, and its files are still captured as evidence.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from ._files import WEB_ONLY, as_dict, as_list, is_web_link, kind_from_name, read_head, read_json_file
from ._jsonstream import JsonDocument
from ._model import (
    Chat,
    ExportTree,
    Message,
    ParseOptions,
    Problems,
    attachment,
    epoch_time,
    not_included,
    prune,
    repair_mojibake,
    time_header,
)

NAME = "meta-json"
VERSION = "1"
PLATFORM = "messenger"

_PART = re.compile(r"(?:^|/)message_(\d+)\.(json|html)$")
_HTML_THREAD = re.compile(r"(?:^|/)messages/[^/]+/[^/]+/message_\d+\.html$")
_STANDARD = (r'"messages"\s*:\s*\[', r'"sender_name"\s*:', r'"timestamp_ms"\s*:')
_SECURE = (r'"messages"\s*:\s*\[', r'"threadName"\s*:', r'"senderName"\s*:')
# The secure-storage (E2EE) export's camelCase names, mapped onto the standard schema's.
_SECURE_NAMES = {"senderName": "sender_name", "text": "content", "timestamp": "timestamp_ms", "isUnsent": "is_unsent"}
_MEDIA = {"photos": "photo", "videos": "video", "gifs": "gif", "audio_files": "audio", "files": "file"}
_EVENTS = {"Call", "Subscribe", "Unsubscribe"}
_THREAD_TYPES = {"Regular": "personal", "RegularGroup": "group"}
_HTML_PROBLEM = (
    "this is Meta's HTML export, which evidencekit does not read (its layout changes between versions and its "
    "times are local and to the minute): its files are captured as they are; for a transcript, ask for a new "
    '"Download your information" export with Format: JSON'
)


def detect(tree: ExportTree) -> list[str]:
    """Meta JSON threads (standard or secure storage), by content, and Meta HTML threads, by place
    and content; a thread split into `message_N` parts is claimed once, by its lowest part."""
    found: dict[str, str] = {}  # thread key → main file
    for name in tree.names():
        if name.lower().endswith(".json"):
            claimed = _variant(read_head(tree, name)) is not None
        else:
            claimed = bool(_HTML_THREAD.search(name)) and _is_meta_html(read_head(tree, name))
        key = _thread_key(name)
        if claimed and (key not in found or _part_number(name) < _part_number(found[key])):
            found[key] = name
    return sorted(main for key, main in found.items() if key.removesuffix(".html") + ".json" not in found)


def _variant(head: str) -> str | None:
    if not head.lstrip().startswith("{"):
        return None
    for variant, signature in (("standard", _STANDARD), ("secure", _SECURE)):
        if all(re.search(pattern, head) for pattern in signature):
            return variant
    return None


def _is_meta_html(head: str) -> bool:
    lower = head.lower()
    return "<html" in lower and "exported data" not in lower  # Telegram's HTML export has that title


def _thread_key(name: str) -> str:
    """Parts of one thread share a key: their folder and extension; other files are their own key."""
    match = _PART.search(name)
    return f"{posixpath.dirname(name)}/*.{match.group(2)}" if match else name


def _part_number(name: str) -> int:
    match = _PART.search(name)
    return int(match.group(1)) if match else 0


def _parts(tree: ExportTree, main: str) -> list[str]:
    """The thread's files, oldest first: `message_N` with the highest N holds the oldest messages."""
    if not _PART.search(main):
        return [main]
    key = _thread_key(main)
    parts = [name for name in tree.names() if _PART.search(name) and _thread_key(name) == key]
    return sorted(parts, key=_part_number, reverse=True)


def parse(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Chat]:
    """One `Chat` for the thread whose main file is `main`."""
    parts = _parts(tree, main)
    scope = posixpath.dirname(main) + "/" if _PART.search(main) else None
    if main.lower().endswith(".html"):
        yield _html_chat(tree, main, parts, scope, options)
        return
    problems = Problems()
    documents = [(part, read_json_file(tree, part, problems)) for part in parts]
    header = _header(main, dict(documents)[main], options, len(parts))
    yield Chat(header, _messages(tree, main, documents, problems), scope, set(parts), problems)


def _html_chat(tree: ExportTree, main: str, parts: list[str], scope: str | None, options: ParseOptions) -> Chat:
    title = re.search(r"<title>(.*?)</title>", read_head(tree, main), re.IGNORECASE | re.DOTALL)
    platform, platform_from = _platform(main, {})
    header = {
        "platform": platform,
        "title": html.unescape(title.group(1)).strip() if title else None,
        "type": "unknown",
        "time": time_header(options, explicit=False),
        "facts": {"export": "Meta HTML (not read)", "platform_from": platform_from},
    }
    problems = Problems()
    problems.add(main, _HTML_PROBLEM)
    return Chat(header, iter(()), scope, set(parts), problems)


def _platform(main: str, members: dict[str, Any]) -> tuple[str, str]:
    """Instagram or Messenger, and why: both use the same schema, so the export's top folder
    decides (2023+ exports); else an Instagram-only field (an `ig.me` group invite link); else the
    secure-storage variant, which only Messenger has; else Messenger is assumed, and said so."""
    path = f"/{main}"
    if "/your_instagram_activity/" in path:
        return "instagram", "the folder your_instagram_activity"
    for folder in ("your_facebook_activity", "your_activity_across_facebook"):
        if f"/{folder}/" in path:
            return "messenger", f"the folder {folder}"
    if "ig.me/" in str(as_dict(members.get("joinable_mode")).get("link", "")):
        return "instagram", "the group invite link is an ig.me (Instagram) link"
    if "threadName" in members:
        return "messenger", "the secure-storage (end-to-end encrypted) export exists only for Messenger"
    return "messenger", "assumed: neither the folders nor the fields say whether this is Instagram or Messenger"


def _header(main: str, document: JsonDocument, options: ParseOptions, part_count: int) -> dict[str, Any]:
    members, repaired = _repair(document.members)
    platform, platform_from = _platform(main, members)
    names = [
        item if isinstance(item, str) else as_dict(item).get("name") for item in as_list(members.get("participants"))
    ]
    thread_type = members.get("thread_type")
    facts = {
        "export": "Messenger secure storage (end-to-end encrypted) JSON" if "threadName" in members else "Meta JSON",
        "platform_from": platform_from,
        "parts": part_count if part_count > 1 else None,
        "repairs": ["mojibake"] if repaired else None,
    }
    return {
        "platform": platform,
        "title": members.get("title") or members.get("threadName"),
        "type": _THREAD_TYPES.get(str(thread_type), _type_by_count(len(names))),
        "platform_type": thread_type,
        "id": members.get("thread_path"),
        "participants": [{"name": name} for name in names if isinstance(name, str)],
        "time": time_header(options, explicit=True),
        "facts": prune(facts),
    }


def _type_by_count(count: int) -> str:
    return "personal" if count == 2 else "group" if count > 2 else "unknown"


def _repair(value: Any) -> tuple[Any, bool]:
    """Repair every string inside a JSON value (spec §8's guarded mojibake repair)."""
    if isinstance(value, str):
        return repair_mojibake(value)
    if isinstance(value, list):
        pairs = [_repair(item) for item in value]
        return [item for item, _ in pairs], any(changed for _, changed in pairs)
    if isinstance(value, dict):
        pairs_by_key = {key: _repair(item) for key, item in value.items()}
        return {key: item for key, (item, _) in pairs_by_key.items()}, any(c for _, c in pairs_by_key.values())
    return value, False


def _messages(
    tree: ExportTree, main: str, documents: list[tuple[str, JsonDocument]], problems: Problems
) -> Iterator[Message]:
    for part, document in documents:
        for index in _oldest_first(document.messages):
            notes: list[str] = []
            raw = document.messages[index]
            if isinstance(raw, dict):
                message = _message(tree, main, raw, notes)
            else:
                notes.append("this entry of the messages array is not a JSON object")
                message = {"type": "unparsed", "text": str(raw)}
            for note in notes:
                problems.add(part, note, index=index)
            yield message | {"source": {"file": part, "index": index}, "problems": notes}


def _oldest_first(messages: list[Any]) -> list[int]:
    """Indexes in reading order: Meta writes newest first (secure storage was seen oldest first),
    so a file whose first message is later than its last is read backwards. Never sorted: an
    out-of-order message stays where the export put it."""
    times = [as_dict(raw).get("timestamp_ms", as_dict(raw).get("timestamp")) for raw in messages]
    stamps = [t for t in times if isinstance(t, int)]
    indexes = list(range(len(messages)))
    return indexes[::-1] if stamps and stamps[0] > stamps[-1] else indexes


def _message(tree: ExportTree, main: str, raw: dict[str, Any], notes: list[str]) -> Message:
    fields, repaired = _repair({_SECURE_NAMES.get(key, key): value for key, value in raw.items()})
    kind = fields.get("type")
    event = kind if isinstance(kind, str) and kind in _EVENTS else None
    return {
        "type": "event" if event else "message",
        "event": event,
        "time": _time(fields.get("timestamp_ms"), notes),
        "from": prune({"name": fields.get("sender_name")}),
        "text": _text(fields),
        "deleted": fields.get("is_unsent") is True,
        "reactions": [_reaction(as_dict(item)) for item in as_list(fields.get("reactions"))],
        "attachments": _attachments(tree, main, fields),
        "repairs": ["mojibake"] if repaired else None,
    }


def _time(stamp: Any, notes: list[str]) -> dict[str, Any] | None:
    if isinstance(stamp, int) and not isinstance(stamp, bool):
        return epoch_time(stamp, scale=1000)
    notes.append("the message has no readable timestamp_ms")
    return None if stamp is None else {"text": str(stamp)}


def _text(fields: dict[str, Any]) -> str | None:
    """The content, then a shared link's text and address (kept as text, spec §4)."""
    share = as_dict(fields.get("share"))
    pieces = [fields.get("content"), share.get("share_text"), share.get("link")]
    kept = [piece for piece in pieces if isinstance(piece, str) and piece]
    return "\n".join(dict.fromkeys(kept)) or None


def _reaction(raw: dict[str, Any]) -> dict[str, Any]:
    return prune({"emoji": raw.get("reaction"), "by": raw.get("actor")})


def _attachments(tree: ExportTree, main: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    named: list[tuple[str | None, Any]] = [
        (kind, as_dict(item).get("uri")) for key, kind in _MEDIA.items() for item in as_list(fields.get(key))
    ]
    named.append(("sticker", as_dict(fields.get("sticker")).get("uri")))
    named += [(None, as_dict(item).get("uri")) for item in as_list(fields.get("media"))]
    return [
        _resolve(tree, main, uri, kind or kind_from_name(uri)) for kind, uri in named if isinstance(uri, str) and uri
    ]


def _resolve(tree: ExportTree, main: str, uri: str, kind: str) -> dict[str, Any]:
    """Find a `uri` in the export (format reference §4.5): as written, then below each folder above
    the thread (the export's top folder is often missing from the uri), then by its part below the
    thread's own folder. Anything but the first rule is recorded as `match: "suffix"`."""
    if is_web_link(uri):
        return not_included(kind, WEB_ONLY, name=uri)
    name = uri.rsplit("/", 1)[-1]
    for number, path in enumerate(_candidates(main, uri)):
        found = attachment(tree, path, kind, name=name)
        if found["status"] == "linked":
            return found | {"match": "suffix"} if number else found
    return {"kind": kind, "name": name, "status": "missing"}


def _candidates(main: str, uri: str) -> Iterator[str]:
    folder = posixpath.dirname(main)
    if uri.startswith("./"):  # the secure-storage export: relative to its JSON file
        yield posixpath.join(folder, uri[2:])
        return
    yield uri
    above = folder
    while above:
        yield posixpath.join(above, uri)
        above = posixpath.dirname(above)
    thread = posixpath.basename(folder)
    if thread and f"/{thread}/" in f"/{uri}":
        yield posixpath.join(folder, f"/{uri}".split(f"/{thread}/", 1)[1])
