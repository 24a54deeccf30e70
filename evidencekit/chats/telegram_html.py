"""Telegram Desktop HTML export (`messages.html`, `messages2.html`, …) -> transcripts (spec:
docs/spec/transcript.md; format: reference chat-formats.md §3).

Invariants: the pages of one folder are one chat, read in page order; a "joined" message (no
sender element) has the sender of the message before it; date separators are not messages;
times are read from each message's `title` label with the offset it states, and the header says
that Telegram writes the zone's standard-time offset there (wrong by an hour in summer). When
the same folder (or the export above it) holds a Telegram result.json, the JSON is the better
source and this parser does not claim the HTML (the pages are still captured as evidence).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

from ._files import is_web_link, read_head
from ._model import (
    Chat,
    ExportTree,
    Message,
    ParseOptions,
    Problems,
    local_time,
    not_included,
    prune,
    time_header,
)
from ._telegram import STANDARD_OFFSET_NOTE, folder_of, format_files, html_pages, media, page_number, resolve
from .telegram_json import sniff_file

NAME = "telegram-html"
VERSION = "1"
PLATFORM = "telegram"

_SNIFF = 8192
_LABEL = re.compile(r"(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})(?: UTC([+-])(\d{2}):(\d{2}))?")
_FIRST_LABEL = re.compile(r'class="pull_right date details" title="([^"]*)"')
_REPLY = re.compile(r"go_to_message(-?\d+)")
_WRAPPING = re.compile(r"\n[ \t]*$")
_COORDINATES = re.compile(r"q=(-?[\d.]+),(-?[\d.]+)")
_SEPARATOR_IDS = 500_000_000  # date separators count down from -1; migrated messages sit near -10**9
_VOID = frozenset({"br", "img", "meta", "link", "hr", "input", "wbr", "source"})
_WRAP_KINDS = {"photo_wrap": "photo", "sticker_wrap": "sticker", "animated_wrap": "gif", "video_file_wrap": "video"}
_MEDIA_KINDS = {
    "media_photo": "photo",
    "media_video": "video",
    "media_voice_message": "voice",
    "media_audio_file": "audio",
    "media_file": "file",
    "media_contact": "contact",
}
_TITLE_KINDS = {"Sticker": "sticker", "Animation": "gif"}
_PLACES = frozenset({"media_location", "media_live_location", "media_venue"})
_MEDIA_ROLES = {"title": "media_title", "description": "media_description", "status": "media_status"}


# --------------------------------------------------------------------------- detection


def _looks_like_chat_page(tree: ExportTree, name: str) -> bool:
    head = read_head(tree, name, _SNIFF)
    return "<title>Exported Data</title>" in head and "page_body chat_page" in head


def _json_covers(tree: ExportTree, folder: str) -> bool:
    """Whether a Telegram result.json sits in `folder` or a folder above it (the better source)."""
    parts = folder.rstrip("/").split("/") if folder else []
    for depth in range(len(parts), -1, -1):
        candidate = "".join(f"{part}/" for part in parts[:depth]) + "result.json"
        if tree.exists(candidate) and sniff_file(tree, candidate):
            return True
    return False


def detect(tree: ExportTree) -> list[str]:
    """The first page of each folder of Telegram HTML chat pages, unless a result.json covers it."""
    firsts: dict[str, str] = {}
    for name in tree.names():
        if page_number(name) is not None:
            folder = folder_of(name)
            firsts.setdefault(folder, html_pages(tree, folder)[0])
    return [
        main
        for folder, main in sorted(firsts.items())
        if _looks_like_chat_page(tree, main) and not _json_covers(tree, folder)
    ]


# --------------------------------------------------------------------------- one page


@dataclass
class _Record:
    """One `div.message` as found on a page, before it becomes a transcript message."""

    element: str
    classes: set[str]
    label: str | None = None
    text: dict[str, list[str]] = field(default_factory=dict)
    reply_href: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)

    def get(self, role: str) -> str:
        return "".join(self.text.get(role, ()))


class _Page(HTMLParser):
    """Collect the chat title and every message element of one page (stdlib parser only)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.records: list[_Record] = []
        self.thumbs: list[str] = []
        self._stack: list[tuple[str, str | None]] = []
        self._roles: list[str] = []  # the open elements' roles, innermost last (None roles left out)
        self._open_roles: Counter[str] = Counter()
        self._open_tags: Counter[str] = Counter()  # so every step is O(1) however deep the nesting
        self._record: _Record | None = None

    def _inside(self, role: str) -> bool:
        return self._open_roles[role] > 0

    def _push(self, tag: str, role: str | None) -> None:
        self._stack.append((tag, role))
        self._open_tags[tag] += 1
        if role is not None:
            self._roles.append(role)
            self._open_roles[role] += 1

    def _pop(self) -> tuple[str, str | None]:
        tag, role = self._stack.pop()
        self._open_tags[tag] -= 1
        if role is not None:
            self._roles.pop()
            self._open_roles[role] -= 1
        return tag, role

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        classes = set(attributes.get("class", "").split())
        if tag == "br":
            self._capture("\n")
        elif tag == "img" and self._record is not None and attributes.get("src"):
            self.thumbs.append(attributes["src"])
        if tag not in _VOID:
            self._push(tag, self._role(tag, classes, attributes))

    def _role(self, tag: str, classes: set[str], attributes: dict[str, str]) -> str | None:
        record = self._record
        if record is None:
            if "message" in classes and tag == "div":
                self._record = _Record(attributes.get("id", ""), classes)
                return "message"
            return "title" if classes == {"text", "bold"} and not self.title else None
        if classes & {"media", *_WRAP_KINDS} or "media_poll" in classes:
            record.media.append({"classes": classes, "href": attributes.get("href")})
            return "skip" if "media_poll" in classes else "media"
        if self._inside("media"):
            return next((role for word, role in _MEDIA_ROLES.items() if word in classes), None)
        return self._message_role(classes, attributes, record)

    def _message_role(self, classes: set[str], attributes: dict[str, str], record: _Record) -> str | None:
        if "date" in classes and "details" in classes:
            if self._inside("forwarded"):
                return "skip"
            record.label = attributes.get("title")
            return "skip"
        if "reply_to" in classes:
            return "reply"
        if self._inside("reply") and attributes.get("href"):
            record.reply_href = attributes["href"]
            return None
        roles = {"from_name": "forwarded_name" if self._inside("forwarded") else "from_name", "signature": "signature"}
        if "forwarded" in classes and "body" in classes:
            return "forwarded"
        if classes == {"text"}:
            return "text"
        if classes == {"body", "details"} and "service" in record.classes:
            return "service"
        return next((role for word, role in roles.items() if word in classes), None)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not self._open_tags[tag]:
            return  # a stray end tag closes nothing
        while self._stack:
            open_tag, role = self._pop()
            if role == "message" and self._record is not None:
                self.records.append(self._record)
                self._record = None
            if open_tag == tag:
                return

    def handle_data(self, data: str) -> None:
        self._capture(data)

    def _capture(self, data: str) -> None:
        role = self._roles[-1] if self._roles else None
        if role in (None, "skip", "message", "media", "forwarded"):
            return
        if role == "title":
            self.title.append(data)
        elif self._record is not None and role is not None:
            self._record.text.setdefault(role, []).append(data)


# --------------------------------------------------------------------------- messages


@dataclass
class _Context:
    tree: ExportTree
    folder: str
    options: ParseOptions
    explicit: bool
    problems: Problems
    support: set[str]
    sender: str | None = None  # the last sender seen, for joined messages
    forwarded: str | None = None


def parse(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Chat]:
    """The one chat held by the HTML pages of `main`'s folder."""
    folder = folder_of(main)
    pages = html_pages(tree, folder) or [main]
    first = _read_page(tree, main)
    explicit = _labels_have_offsets(tree, main)
    context = _Context(tree, folder, options, explicit, Problems(), {main} | format_files(tree, folder))
    header = {
        "platform": PLATFORM,
        "title": "".join(first.title).strip(),
        "type": "unknown",
        "time": time_header(options, explicit=explicit),
        "facts": {
            "export": f"Telegram Desktop, HTML ({len(pages)} page{'s' if len(pages) != 1 else ''})",
            "time": STANDARD_OFFSET_NOTE if explicit else _naive_note(options),
        },
    }
    yield Chat(
        prune(header), _messages(pages, context), scope=folder, support=context.support, problems=context.problems
    )


def _naive_note(options: ParseOptions) -> str:
    return (
        "the time labels carry no offset (Telegram Desktop before v3.7.6): they are the exporting "
        f"computer's local wall-clock time, read in {options.timezone}"
    )


def _labels_have_offsets(tree: ExportTree, main: str) -> bool:
    label = _FIRST_LABEL.search(read_head(tree, main))
    return label is not None and "UTC" in label.group(1)


def _read_page(tree: ExportTree, name: str) -> _Page:
    page = _Page()
    with tree.open(name) as stream:
        page.feed(stream.read().decode("utf-8", errors="replace"))
    page.close()
    return page


def _messages(pages: list[str], context: _Context) -> Iterator[Message]:
    for name in pages:
        page = _read_page(context.tree, name)
        context.support.update(p for src in page.thumbs if (p := resolve(context.folder, src)))
        for record in page.records:
            message = _message(record, name, context)
            if message is not None:
                for problem in message.get("problems", ()):
                    context.problems.add(name, problem, element=record.element)
                yield message


def _message_id(element: str) -> int | None:
    try:
        return int(element.removeprefix("message"))
    except ValueError:
        return None


def _message(record: _Record, page: str, context: _Context) -> Message | None:
    number = _message_id(record.element)
    source = {"file": page, "element": record.element}
    if "service" in record.classes:
        if number is not None and -_SEPARATOR_IDS < number < 0:
            return None  # a date separator ("23 August 2023"), not a message
        context.sender = context.forwarded = None
        text = record.get("service").strip()
        return prune({"id": _text_id(number, record), "type": "event", "text": text, "source": source})
    return _default(record, number, source, context)


def _text_id(number: int | None, record: _Record) -> str:
    return str(number) if number is not None else record.element


def _default(record: _Record, number: int | None, source: dict[str, Any], context: _Context) -> Message:
    problems: list[str] = []
    joined = "joined" in record.classes
    name = record.get("from_name").strip()
    context.sender = name or (context.sender if joined else None)
    forwarded = record.get("forwarded_name").strip() or (context.forwarded if joined else None)
    context.forwarded = forwarded
    message: dict[str, Any] = {
        "id": _text_id(number, record),
        "type": "message",
        "time": _time(record.label, context, problems),
        "from": {"name": context.sender} if context.sender else None,
        "text": _clean(record.get("text")),
        "reply_to": _reply(record.reply_href),
        "forwarded_from": forwarded,
        "source": source,
        "problems": problems,
    }
    _add_media(message, record, context)
    signature = record.get("signature").strip()
    if signature:
        message.setdefault("details", {})["author"] = signature
    return prune(message)


def _clean(text: str) -> str:
    """The text of a `div.text`: the newline and indentation Telegram wraps it in removed."""
    return _WRAPPING.sub("", text.removeprefix("\n"))


def _reply(href: str | None) -> str | None:
    match = _REPLY.search(href or "")
    return match.group(1) if match else None


def _time(label: str | None, context: _Context, problems: list[str]) -> dict[str, Any] | None:
    if label is None:
        problems.append("the message has no time label")
        return None
    match = _LABEL.fullmatch(label.strip())
    if match is None:
        problems.append(f"time label {label!r} is not DD.MM.YYYY HH:MM:SS [UTC±HH:MM]")
        return {"text": label}
    day, month, year, hour, minute, second, sign, off_h, off_m = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        moment = moment.replace(tzinfo=timezone(-offset if sign == "-" else offset))
    return local_time(moment, label, context.options, problems, mark_assumed=context.explicit)


def _add_media(message: dict[str, Any], record: _Record, context: _Context) -> None:
    """Attachments, view-once marks, places, contacts and calls from the message's media blocks."""
    if not record.media:
        return
    title = record.get("media_title").strip()
    description = record.get("media_description").strip()
    status = record.get("media_status").strip()
    for block in record.media:
        classes: set[str] = block["classes"]
        href: str | None = block["href"]
        if title.startswith("Self-destructing"):
            message["view_once"] = True
        elif "media_call" in classes:
            message.update(type="event", event="phone_call", details={"call": status})
        elif classes & _PLACES:
            message["details"] = _place(href, title if "media_venue" in classes else "", description)
        elif "media_contact" in classes and not href:
            message["details"] = {"contact": title, "phone_number": status}
        elif kind := _kind(classes, title):
            name = title if "media_file" in classes else None
            message.setdefault("attachments", []).append(_file(context, kind, href, name, description))


def _kind(classes: set[str], title: str) -> str | None:
    for word, kind in (*_WRAP_KINDS.items(), *_MEDIA_KINDS.items()):
        if word in classes:
            return _TITLE_KINDS.get(title, kind)
    return None


def _file(context: _Context, kind: str, href: str | None, name: str | None, description: str) -> dict[str, Any]:
    """A §7 attachment for a media block: its link, or the export's words when it left the file out."""
    if href and not is_web_link(href):
        return media(context.tree, context.folder, href, kind, name=name)
    return not_included(kind, description or "(no file and no reason in the export)", name=name)


def _place(href: str | None, venue: str, address: str) -> dict[str, Any]:
    coordinates = _COORDINATES.search(href or "")
    latitude, longitude = coordinates.groups() if coordinates else (None, None)
    return prune({"latitude": latitude, "longitude": longitude, "place_name": venue, "address": address})
