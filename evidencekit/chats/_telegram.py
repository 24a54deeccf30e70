"""What the Telegram Desktop JSON and HTML parsers share: the chat-type words, the media
kinds, how a path the export names is resolved, and which files are the export's own format.

Invariants: a path the export names is resolved inside the folder it is relative to and never
outside the export (an absolute path or `..` is reported, not followed); a value starting with
"(" is Telegram's placeholder for a file it left out, never a path (format reference §2.4).
"""

from __future__ import annotations

import codecs
import json
import posixpath
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from ..errors import FormatError
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
    if not path or path.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", path):
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
# Telegram's result.json is read one value at a time from a sliding text window: the window is
# decoded from UTF-8 in chunks, `\xHH` escapes (invalid JSON, format reference §2.5) are rewritten
# to `\u00HH` when preceded by an odd number of backslashes, and `json.JSONDecoder.raw_decode`
# reads each message object. A chunk is never cut inside a run of backslashes or an escape.

CHUNK = 1 << 20
MAX_VALUE = 64 << 20  # characters one value may span before the file is judged broken
_X_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})")
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_COUNTED = {
    "unixtime": re.compile(r'"date_unixtime"\s*:'),
    "dated": re.compile(r'"type"\s*:\s*"(?:message|service)"'),
    "bare_ids": re.compile(r'"(?:from|actor)_id"\s*:\s*-?\d'),
}


class StreamError(FormatError):
    """The JSON is invalid or ends too soon, at a known place (reported as a problem, not raised out of a parse)."""


def repair_x_escapes(text: str) -> tuple[str, list[int]]:
    """`text` with `\\xHH` escapes read as `\\u00HH`, and where each repair sits in the result."""
    if "\\x" not in text:
        return text, []
    positions = [match.start() + 2 * number for number, match in enumerate(_X_ESCAPE.finditer(text))]
    return _X_ESCAPE.sub(r"\1\\u00\2", text), positions


def _safe_cut(text: str) -> int:
    """Where a chunk may end: not inside a backslash run or a `\\xHH` escape."""
    cut = max(0, len(text) - 3)
    while cut > 0 and text[cut - 1] == "\\":
        cut -= 1
    return cut


class _Source:
    """The repaired text of a byte stream, chunk by chunk (a leading byte-order mark is skipped)."""

    def __init__(self, stream: IO[bytes]):
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._carry = ""
        self.done = False

    def read(self, size: int) -> tuple[str, list[int]]:
        data = self._stream.read(size)
        self.done = not data
        text = self._carry + self._decoder.decode(data, self.done)
        cut = len(text) if self.done else _safe_cut(text)
        self._carry = text[cut:]
        return repair_x_escapes(text[:cut])


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
        source = _Source(stream)
        while not source.done:
            text, positions = source.read(CHUNK)
            scan.x_escapes += len(positions)
            window = tail + text
            for attr, pattern in _COUNTED.items():
                found = len(pattern.findall(window)) - len(pattern.findall(tail))
                setattr(scan, attr, getattr(scan, attr) + found)
            tail = window[-64:]
    return scan


class Reader:
    """A sliding window over the repaired text of result.json, read value by value."""

    def __init__(self, stream: IO[bytes]):
        self._source = _Source(stream)
        self._decoder = json.JSONDecoder(parse_float=str)  # coordinates stay as written, never floats
        self._repairs: deque[int] = deque()
        self.buf = ""
        self.pos = 0
        self.offset = 0  # position of buf[0] in the whole text
        self.eof = False
        self.at: int | None = None  # index of the message being read, for problems

    def _more(self) -> bool:
        if self.eof:
            return False
        text, positions = self._source.read(max(CHUNK, len(self.buf) - self.pos))
        self.offset += self.pos
        self.buf = self.buf[self.pos :] + text
        self._repairs.extend(self.offset + len(self.buf) - len(text) + p for p in positions)
        self.pos = 0
        self.eof = self._source.done
        return True

    def where(self) -> str:
        return f"character {self.offset + self.pos + 1}"

    def peek(self) -> str:
        """The next character after white space ("" at the end of the file)."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def take(self, char: str) -> None:
        found = self.peek()
        if found != char:
            what = "the end of the file" if not found else repr(found)
            raise StreamError(f"expected {char!r} at {self.where()}, found {what}")
        self.pos += 1

    def value(self) -> tuple[Any, str, bool]:
        """The next JSON value, its text and whether a repair was made inside it."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self.buf, self.pos)
                if end < len(self.buf) or self.eof:
                    break
            except json.JSONDecodeError as exc:
                if self.eof or len(self.buf) - self.pos > MAX_VALUE:
                    ends = " (the file ends too soon)" if self.eof else ""
                    raise StreamError(f"invalid JSON at {self.where()}{ends}: {exc.msg}") from None
            self._more()
        start, self.pos = self.pos, end
        return value, self.buf[start:end], self._repaired(self.offset + start, self.offset + end)

    def _repaired(self, start: int, end: int) -> bool:
        while self._repairs and self._repairs[0] < start:
            self._repairs.popleft()
        return bool(self._repairs) and self._repairs[0] < end

    def members(self) -> Iterator[str]:
        """Each key of the object that starts here; the caller reads each value."""
        self.take("{")
        first = True
        while self.peek() != "}":
            if not first:
                self.take(",")
            key, _text, _repaired = self.value()
            self.take(":")
            yield str(key)
            first = False
        self.pos += 1

    def elements(self) -> Iterator[int]:
        """Each position of the array that starts here; the caller reads each element."""
        self.take("[")
        index = 0
        while self.peek() != "]":
            if index:
                self.take(",")
            yield index
            index += 1
        self.pos += 1

    def skip(self) -> None:
        self.value()


@dataclass(frozen=True, slots=True)
class Event:
    """What walking result.json meets: a chat (its header fields), a message, or a problem."""

    kind: str  # "chat", "message", "problem"
    value: Any
    index: int | None = None
    raw: str = ""
    repaired: bool = False


_HEADER_KEYS = ("name", "type", "id")


def walk(reader: Reader) -> Iterator[Event]:
    """Every chat and message of result.json, in file order; a broken file ends with a problem."""
    try:
        if reader.peek() != "{":
            raise StreamError(f"the file does not start with a JSON object ({reader.where()})")
        yield from _walk_object(reader, {}, top=True)
        if reader.peek():
            yield Event("problem", f"unexpected content after the JSON object at {reader.where()}")
    except StreamError as exc:
        kept = (
            ""
            if reader.at is None
            else f"; the {reader.at} messages before it are kept, nothing after it could be read"
        )
        yield Event("problem", f"{exc}{kept}", reader.at)


def _walk_object(reader: Reader, header: dict[str, Any], *, top: bool = False) -> Iterator[Event]:
    account: dict[str, Any] = {}
    for key in reader.members():
        if key == "messages":
            yield Event("chat", dict(header))
            yield from _walk_messages(reader)
        elif top and key in ("chats", "left_chats"):
            yield from _walk_section(reader, {"account": account, "section": key})
        elif top and key == "personal_information":
            account.update(_account(reader.value()[0]))
        elif key in _HEADER_KEYS:
            header[key] = reader.value()[0]
        else:
            reader.skip()


def _walk_section(reader: Reader, base: dict[str, Any]) -> Iterator[Event]:
    for key in reader.members():
        if key != "list":
            reader.skip()
            continue
        for _index in reader.elements():
            yield from _walk_object(reader, dict(base))


def _walk_messages(reader: Reader) -> Iterator[Event]:
    for index in reader.elements():
        reader.at = index
        value, raw, repaired = reader.value()
        yield Event("message", value, index, raw, repaired)
    reader.at = None


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
