"""What the Telegram Desktop JSON and HTML parsers share: the chat-type words, the media
kinds, how a path the export names is resolved, and which files are the export's own format.

Invariants: a path the export names is resolved inside the folder it is relative to and never
outside the export (an absolute path or `..` is reported, not followed); a value starting with
"(" is Telegram's placeholder for a file it left out, never a path (format reference §2.4).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from ._jsonstream import Reader, Source, StreamError
from ._model import ExportTree, attachment, not_included

CHAT_TYPES = {
    "personal_chat": "personal",
    "bot_chat": "bot",
    "private_group": "group",
    "private_supergroup": "group",
    "public_supergroup": "group",
    "private_channel": "channel",
    "public_channel": "channel",
    "saved_messages": "saved",
    "replies": "unknown",
}

# JSON `media_type` -> transcript attachment kind (spec §7); absent means a plain file.
MEDIA_KINDS = {
    "sticker": "sticker",
    "video_message": "video",
    "voice_message": "voice",
    "animation": "gif",
    "video_file": "video",
    "audio_file": "audio",
}

STANDARD_OFFSET_NOTE = (
    "Telegram HTML time labels show the zone's standard-time offset, not the offset in force "
    "on the day: times in summer (daylight saving) may be one hour off. The JSON export "
    "(result.json) holds the exact instant; prefer it when it exists."
)

_PAGE = re.compile(r"messages(\d*)\.html")
_DRIVE = re.compile(r"[A-Za-z]:")
_ASSET_FOLDERS = ("css/", "js/", "images/")


def is_placeholder(value: str) -> bool:
    """Whether a media value is Telegram's "(File not included…)" placeholder, not a path."""
    return value.startswith("(")


def folder_of(name: str) -> str:
    """The folder of a file of the export, with a trailing "/" ("" for the root)."""
    head = posixpath.dirname(name)
    return f"{head}/" if head else ""


def resolve(folder: str, path: str) -> str | None:
    """The export path of `path` (relative to `folder`), or None if it is absolute or escapes the export."""
    if not path or path.startswith(("/", "\\")) or _DRIVE.match(path):
        return None
    joined = posixpath.normpath(folder + path.replace("\\", "/"))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined


def media(tree: ExportTree, folder: str, value: str, kind: str, *, name: str | None = None) -> dict[str, Any]:
    """A §7 attachment for a media value: a placeholder (not included), a file (linked or
    missing), or a path that would leave the export (missing, with its words kept as name)."""
    if is_placeholder(value):
        return not_included(kind, value, name=name)
    path = resolve(folder, value)
    if path is None:
        return {"kind": kind, "name": value, "status": "missing"}
    return attachment(tree, path, kind, name=name)


def page_number(name: str) -> int | None:
    """1 for `messages.html`, N for `messagesN.html`, None for any other file."""
    match = _PAGE.fullmatch(posixpath.basename(name))
    if match is None:
        return None
    return int(match.group(1) or 1)


def html_pages(tree: ExportTree, folder: str) -> list[str]:
    """The HTML message pages of one folder, in page order (messages.html, messages2.html, …)."""
    pages = [
        (number, name)
        for name in tree.names()
        if folder_of(name) == folder and (number := page_number(name)) is not None
    ]
    return [name for _number, name in sorted(pages)]


def format_files(tree: ExportTree, folder: str) -> set[str]:
    """The files of a folder that belong to the export's format: HTML pages, style sheets,
    scripts and interface images (Telegram writes them whichever format was chosen)."""
    assets = tuple(folder + sub for sub in _ASSET_FOLDERS)
    return set(html_pages(tree, folder)) | {name for name in tree.names() if name.startswith(assets)}


# --------------------------------------------------------------------------- streaming result.json
#
# Telegram's result.json is read one value at a time (`_jsonstream.Reader`), with its `\xHH`
# escapes (invalid JSON, format reference §2.5) repaired in memory and recorded.

_COUNTED = {
    "unixtime": re.compile(r'"date_unixtime"\s*:'),
    "dated": re.compile(r'"type"\s*:\s*"(?:message|service)"'),
    "bare_ids": re.compile(r'"(?:from|actor)_id"\s*:\s*-?\d'),
}


@dataclass
class Scan:
    """What one quick pass over result.json tells before any chat header is written."""

    x_escapes: int = 0  # `\xHH` escapes repaired
    unixtime: int = 0  # `date_unixtime` keys
    dated: int = 0  # messages of type message or service
    bare_ids: int = 0  # `from_id` / `actor_id` written as bare numbers (before v2.7.2)


def prescan(tree: ExportTree, name: str) -> Scan:
    """Count repairs, explicit times, messages and bare sender ids in one streaming pass."""
    scan = Scan()
    tail = ""
    with tree.open(name) as stream:
        for text, positions in Source(stream, repair=True).chunks():
            scan.x_escapes += len(positions)
            window = tail + text
            for attr, pattern in _COUNTED.items():
                found = len(pattern.findall(window)) - len(pattern.findall(tail))
                setattr(scan, attr, getattr(scan, attr) + found)
            tail = window[-64:]
    return scan


@dataclass(frozen=True, slots=True)
class Event:
    """What walking result.json meets: a chat (its header fields), a message, or a problem."""

    kind: str  # "chat", "message", "problem"
    value: Any
    index: int | None = None
    raw: str = ""
    repaired: bool = False


_HEADER_KEYS = ("name", "type", "id")


def walk(stream: IO[bytes]) -> Iterator[Event]:
    """Every chat and message of result.json, in file order; a broken file ends with a problem.
    Escapes are repaired and numbers with a fraction (coordinates) kept as written, never floats."""
    return _Walk(Reader(stream, repair=True, parse_float=str)).events()


class _Walk:
    def __init__(self, reader: Reader):
        self.reader = reader
        self.at: int | None = None  # index of the message being read, for problems

    def events(self) -> Iterator[Event]:
        reader = self.reader
        try:
            if reader.peek() != "{":
                raise StreamError(f"the file does not start with a JSON object ({reader.where()})")
            yield from self._object({}, top=True)
            if reader.peek():
                yield Event("problem", f"unexpected content after the JSON object at {reader.where()}")
        except StreamError as exc:
            kept = (
                ""
                if self.at is None
                else f"; the {self.at} messages before it are kept, nothing after it could be read"
            )
            yield Event("problem", f"{exc}{kept}", self.at)

    def _object(self, header: dict[str, Any], *, top: bool = False) -> Iterator[Event]:
        reader = self.reader
        account: dict[str, Any] = {}
        for key in reader.members():
            if key == "messages":
                yield Event("chat", dict(header))
                yield from self._messages()
            elif top and key in ("chats", "left_chats"):
                yield from self._section({"account": account, "section": key})
            elif top and key == "personal_information":
                account.update(_account(reader.value()[0]))
            elif key in _HEADER_KEYS:
                header[key] = reader.value()[0]
            else:
                reader.skip()

    def _section(self, base: dict[str, Any]) -> Iterator[Event]:
        for key in self.reader.members():
            if key != "list":
                self.reader.skip()
                continue
            for _index in self.reader.elements():
                yield from self._object(dict(base))

    def _messages(self) -> Iterator[Event]:
        for index in self.reader.elements():
            self.at = index
            value, raw, repaired = self.reader.value()
            yield Event("message", value, index, raw, repaired)
        self.at = None


def _account(info: Any) -> dict[str, Any]:
    """Who exported a full-account export (its `personal_information`), as text."""
    if not isinstance(info, dict):
        return {}
    name = " ".join(str(info[k]) for k in ("first_name", "last_name") if info.get(k))
    user_id = info.get("user_id")
    return {
        k: v
        for k, v in {
            "name": name,
            "id": None if user_id is None else f"user{user_id}",
            "phone": info.get("phone_number"),
        }.items()
        if v
    }
