"""WhatsApp "Export chat" text files, Android and iOS, in any UI language (chat-formats
reference §1; transcript spec: docs/spec/transcript.md).

Invariants: a line is a message header only if it has the one header form this file uses (see
`_whatsapp_dates`: a body line that merely looks like a header stays body text, and is noted);
the date order is read from the file's own dates or from the caller, never guessed; times carry
no zone in the export and are read in the zone the options name; every line of the file ends up
in exactly one message, and lines before the first header are kept whole as `unparsed` messages.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from ..errors import FormatError
from . import _whatsapp_words as words
from ._files import read_head
from ._model import (
    BIDI_MARKS,
    Chat,
    ExportTree,
    Message,
    ParseOptions,
    Problems,
    assumed_time,
    attachment,
    not_included,
    strip_marks,
    time_header,
)
from ._whatsapp_dates import (
    HEADER,
    ORDERS,
    DateOrder,
    Header,
    date_order,
    describe_variant,
    find_headers,
    header_match,
    read_clock,
    read_date,
    stamp_fields,
)

NAME = "whatsapp-txt"
VERSION = "1"
PLATFORM = "whatsapp"

_DETECT_BYTES = 1 << 20
_DETECT_LINES = 50
_MARKS = frozenset(BIDI_MARKS)
# A line that starts with a date and a time, in any form: flagged when it is not a header.
_LOOKALIKE = re.compile(r"\[?\d{1,4}[./-] ?\d{1,4}[./-] ?\d{1,4}[^\d]{1,6}\d{1,2}[.:]\d{2}")
_PHONE = re.compile(r"\+?[\d\s()-]{6,}")
_PROFILE_MARK = re.compile("^~[ \u00a0\u202f]")
_NULL_NOTE = 'the export writes "null": view-once media (never exported) or, in older versions, a call attempt'


def detect(tree: ExportTree) -> list[str]:
    """Every `.txt` of the tree whose first lines have the WhatsApp header form (any file name)."""
    return [name for name in tree.names() if name.lower().endswith(".txt") and _looks_like_export(tree, name)]


def _looks_like_export(tree: ExportTree, name: str) -> bool:
    lines = _split_lines(read_head(tree, name, _DETECT_BYTES))
    found = sum(1 for line in lines[:_DETECT_LINES] if HEADER.match(strip_marks(line)))
    # a long first message may push the second header past line 50
    return found >= 2 or (found == 1 and any(HEADER.match(strip_marks(line)) for line in lines[_DETECT_LINES:]))


def parse(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Chat]:
    """Read one exported chat. Raises `InputError` when the date order cannot be read from the
    file and `options.date_order` is not given, `FormatError` when no line is a header."""
    problems = Problems()
    text, repairs = _load(tree, main, problems)
    lines = _split_lines(text)
    headers = find_headers(lines)
    if not headers:
        raise FormatError("no line has the form of a WhatsApp message header", path=main)
    order = date_order(headers, options.date_order, main)
    reader = _Reader(tree, main, options, order, problems)
    first = header_match(lines, headers[0])
    entries = reader.entries(headers, first)
    del headers  # what the messages need is in `entries`; fewer objects kept while they stream
    header = reader.chat_header(first, repairs)
    messages = reader.messages(lines, entries)
    yield Chat(header=header, messages=messages, scope=_folder(main), support={main}, problems=problems)


def _load(tree: ExportTree, main: str, problems: Problems) -> tuple[str, list[str]]:
    with tree.open(main) as stream:
        data = stream.read()
    repairs = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        repairs.append("utf8-replacement")
        problems.add(main, f"not valid UTF-8 from byte {exc.start}: unreadable bytes are shown as U+FFFD")
    if text.startswith("\ufeff"):
        repairs.append("byte-order-mark")
    return text.removeprefix("\ufeff"), repairs


def _split_lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _folder(main: str) -> str:
    return main.rpartition("/")[0] + "/" if "/" in main else ""


# Messages ---------------------------------------------------------------------------------


# A header line read: its row, stamp and date (as in `Header`), the sender (None for a system
# line) or the event, the first body line (direction marks kept) and its media marker. A plain
# tuple, not a named one: the garbage collector stops tracking plain tuples of plain values, and
# a file keeps one per message until its messages are written.
_Entry = tuple[int, str, str, str | None, str, str | None, words.Marker | None]


def _names_at_colons(rest: str) -> tuple[tuple[int, str], ...]:
    """Each `: ` in `rest`, with the sender name it would give."""
    cuts = []
    start = rest.find(": ")
    while start != -1:
        cuts.append((start, strip_marks(rest[:start]).strip()))
        start = rest.find(": ", start + 2)
    return tuple(cuts)


def _split_sender(rest: str, cuts: tuple[tuple[int, str], ...], counts: Counter[str]) -> tuple[str | None, str]:
    """Split `Sender: body` at one of its `cuts` (reference §1.7: names may contain ": "): the
    name seen most often in the file wins; among equals, the longest if seen more than once,
    else the shortest."""
    if len(cuts) == 1:
        return cuts[0][1], rest[cuts[0][0] + 2 :]
    if not cuts:
        name, colon, body = rest.partition(":")  # "John Doe:" or "John Doe:." from a known sender
        name = strip_marks(name).strip()
        return (name, body) if colon and counts[name] else (None, rest)

    def score(cut: tuple[int, str]) -> tuple[int, int]:
        seen = counts[cut[1]]
        return seen, cut[0] if seen > 1 else -cut[0]

    start, name = max(cuts, key=score)
    return name, rest[start + 2 :]


def _sender(name: str) -> dict[str, str]:
    shown = _PROFILE_MARK.sub("", name)  # "~ Name": a profile name, not a saved contact
    person = {"name": shown}
    digits = "".join(char for char in shown if char.isdigit())
    if _PHONE.fullmatch(shown) and len(digits) >= 7:
        person["phone"] = ("+" if shown.startswith("+") else "") + digits
    return person


def _trim(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


class _Reader:
    """Reads one loaded file once its header lines and date order are known: first every header
    line (senders, events, markers: what the chat header needs), then the messages, streamed."""

    def __init__(self, tree: ExportTree, main: str, options: ParseOptions, order: DateOrder, problems: Problems):
        self.tree, self.main, self.options, self.order, self.problems = tree, main, options, order, problems
        self.scope = _folder(main)
        self.variant = ""
        self.languages: Counter[str] = Counter()
        self.events: set[str] = set()
        self.senders: set[str] = set()
        self.title_slot: str | None = None
        self._times: dict[str, dict[str, Any]] = {}
        self._time_problems: dict[str, str] = {}
        self._dates: dict[str, date | None] = {}
        self._people: dict[str, dict[str, str]] = {}

    def entries(self, headers: list[Header], first: re.Match[str]) -> list[_Entry]:
        self.variant = describe_variant(first, self.order.value)
        # Plain tuples throughout, one of each per header: the garbage collector untracks them.
        cuts = [_names_at_colons(header.rest) for header in headers]
        counts = Counter(name for found in cuts for _, name in found)
        split = [_split_sender(header.rest, found, counts) for header, found in zip(headers, cuts, strict=True)]
        slots = [self._slot_event(sender, body) for sender, body in split]
        speakers = {
            sender for (sender, _), slot in zip(split, slots, strict=True) if sender is not None and slot is None
        }
        return [
            self._entry(header, sender, body, slot, speakers)
            for header, (sender, body), slot in zip(headers, split, slots, strict=True)
        ]

    def _entry(self, header: Header, sender: str | None, body: str, event: str | None, speakers: set[str]) -> _Entry:
        row, stamp, day = header.row, header.stamp, header.date
        if sender is None:
            found = words.classify_event(strip_marks(body).strip())
            self._count(found)
            return row, stamp, day, None, body, found[0] if found else "other", None
        if event is not None and (body[:1] in _MARKS or sender not in speakers):
            self.title_slot = self.title_slot or sender  # iOS writes the chat title as the sender
            return row, stamp, day, None, body, event, None
        self.senders.add(sender)
        marker = words.find_marker(body, self._exists)
        language = marker.language if marker else words.deleted(body)
        if language:
            self.languages[language] += 1
        return row, stamp, day, sender, body, None, marker

    def _exists(self, name: str) -> bool:
        return self.tree.exists(self.scope + name)

    def _slot_event(self, sender: str | None, body: str) -> str | None:
        """The event of a `Name: ‎<event>` line (iOS system lines, Android encryption notices)."""
        if sender is None or not (body[:1] in _MARKS or words.SLOT_EVENT.match(body)):
            return None
        found = words.classify_event(strip_marks(body).strip())
        if found and (body[:1] in _MARKS or found[0] in words.SLOT_EVENTS):
            self._count(found)
            return found[0]
        return None

    def _count(self, found: tuple[str, str] | None) -> None:
        if found:
            self.events.add(found[0])
            self.languages[found[1]] += 1

    def messages(self, lines: list[str], entries: list[_Entry]) -> Iterator[Message]:
        for index, line in enumerate(lines[: entries[0][0]]):
            if line.strip():
                yield self._unparsed(index, line)
        ends = [entry[0] for entry in entries[1:]] + [len(lines)]
        for entry, end in zip(entries, ends, strict=True):
            yield self._message(entry, _trim(lines[entry[0] + 1 : end]))

    def _note(self, notes: list[str], line: int, text: str) -> None:
        notes.append(text)
        self.problems.add(self.main, text, line=line)

    def _unparsed(self, index: int, line: str) -> Message:
        notes: list[str] = []
        self._note(
            notes,
            index + 1,
            f"expected a message header ({self.variant}) before the first message, found {line[:60]!r}",
        )
        return {"type": "unparsed", "text": line, "source": {"file": self.main, "line": index + 1}, "problems": notes}

    def _message(self, entry: _Entry, more: list[str]) -> Message:
        row, stamp, day, sender, body, event, marker = entry
        line = row + 1
        notes: list[str] = []
        record: Message = {"time": self._time(stamp, day, line, notes), "source": {"file": self.main, "line": line}}
        for number, text in enumerate(more, start=line + 1):
            if _LOOKALIKE.match(strip_marks(text)):
                why = f"line {number} looks like a message header but is not in this file's form ({self.variant})"
                self._note(notes, number, why + "; it is kept as text of the message above")
        if sender is None:
            record.update(type="event", event=event, text=strip_marks("\n".join([body, *more])))
        else:
            record["type"], record["from"] = "message", self._sender(sender)
            self._content(record, [body, *more], marker, line, notes)
        record["problems"] = notes or None
        return record

    def _content(
        self, record: Message, lines: list[str], marker: words.Marker | None, line: int, notes: list[str]
    ) -> None:
        """Add the text, attachment and markers of a user message (reference §1.5–§1.6)."""
        if marker:
            lines = lines[1:] if marker.rest is None else [marker.rest, *lines[1:]]
            record["attachments"] = [self._attachment(marker)]
        lines, record["edited"] = words.unedit(lines)
        record["text"] = text = strip_marks("\n".join(lines))
        if words.deleted(text):
            record["deleted"] = True
        elif text.strip() == "null" and not marker:
            record["view_once"] = True
            self._note(notes, line, _NULL_NOTE)

    def _attachment(self, marker: words.Marker) -> dict[str, Any]:
        if marker.attached and marker.name:
            return attachment(self.tree, self.scope + marker.name, marker.kind)
        return not_included(marker.kind, reason=marker.words, name=marker.name)

    def _sender(self, name: str) -> dict[str, str]:
        if name not in self._people:
            self._people[name] = _sender(name)
        return self._people[name]

    def _time(self, stamp: str, day: str, line: int, notes: list[str]) -> dict[str, Any]:
        if stamp not in self._times:  # two caches, not one of pairs: the collector skips plain dicts
            self._times[stamp], problem = self._read_time(stamp, day)
            if problem:
                self._time_problems[stamp] = problem
        if stamp in self._time_problems:
            self._note(notes, line, self._time_problems[stamp])
        return self._times[stamp]

    def _read_time(self, stamp: str, day_text: str) -> tuple[dict[str, Any], str | None]:
        fields = stamp_fields(stamp)
        if day_text not in self._dates:
            self._dates[day_text] = read_date(fields, self.order.value)
        day, clock = self._dates[day_text], read_clock(fields)
        if day is None or clock is None:
            return {"text": stamp}, f"{stamp} is not a date and time when read as {ORDERS[self.order.value]}"
        return assumed_time(datetime.combine(day, clock), stamp, self.options)

    def chat_header(self, first: re.Match[str], repairs: list[str]) -> dict[str, Any]:
        """The §3 header fields, once every header line has been read."""
        title = words.title_from_name(self.main) or self.title_slot
        language = self.languages.most_common(1)[0][0] if self.languages else None
        facts = {"os": "ios" if first["open"] else "android", "language": language, "header_variant": self.variant}
        return {
            "platform": PLATFORM,
            "title": title,
            "type": self._chat_type(title),
            "time": time_header(self.options, explicit=False) | {"date_order": self.order.to_json()},
            "facts": {key: value for key, value in (facts | {"repairs": repairs}).items() if value},
        }

    def _chat_type(self, title: str | None) -> str:
        if self.events & words.GROUP_EVENTS or len(self.senders) > 2:
            return "group"
        if {title, self.title_slot} & self.senders:
            return "personal"  # the chat is named after one of its (at most two) senders
        return "unknown"
