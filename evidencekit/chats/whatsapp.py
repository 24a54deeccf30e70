"""WhatsApp "Export chat" text files, Android and iOS, in any UI language (chat-formats
reference §1; transcript spec: docs/spec/transcript.md).

Invariants: a line is a message header only if it has the one header form this file uses
(brackets, separators, seconds, AM/PM and year length are decided per file, so a body line that
merely looks like a header stays body text, and is noted); the date order is read from the
file's own dates or from the caller, never guessed (`InputError` asks for `--date-order`);
times carry no zone in the export and are read in the zone the options name; every line of the
file ends up in exactly one message, and lines before the first header are kept whole as
`unparsed` messages.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, NamedTuple

from ..errors import FormatError, InputError
from . import _whatsapp_words as words
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

NAME = "whatsapp-txt"
VERSION = "1"
PLATFORM = "whatsapp"

_DETECT_BYTES = 1 << 20
_DETECT_LINES = 50
_MARKS = frozenset(BIDI_MARKS)
_SPACE = "[ \u00a0\u202f]"
_PM_WORDS = {"pm", "ptg", "下午", "午後", "오후"}
_ERAS = {"R": 2018, "H": 1988, "S": 1925}  # Japanese calendar: Reiwa, Heisei, Showa (year 1 = base + 1)
ORDERS = {"dmy": "day/month/year", "mdy": "month/day/year", "ymd": "year/month/day"}

# Reference §1.2, applied to a line without direction marks; `rest` follows the match.
_HEADER = re.compile(
    r"(?P<open>\[)?"
    r"(?P<date>(?P<d1>\d{1,4})(?P<sep>[./-]) ?(?P<d2>\d{1,4})(?P=sep) ?(?P<d3>\d{1,4}|[A-Z]\d{1,2})(?P<be> ?BE)?\.?)"
    r"(?P<comma>[,\u060c])? (?P<klo>klo )?"
    r"(?P<clock>(?:(?P<pre>上午|下午|午前|午後|오전|오후) ?)?(?P<h>\d{1,2})(?P<tsep>[.:])(?P<mi>\d{2})"
    rf"(?:(?P=tsep)(?P<s>\d{{2}}))?(?:{_SPACE}?(?P<ampm>[AaPp]\.?{_SPACE}?[Mm]\.?|PTG|PG))?)"
    r"(?:(?P<close>\])| (?P<dash>[-\u2013]))(?: |$)"
)
# A line that starts with a date and a time, in any form: flagged when it is not a header.
_LOOKALIKE = re.compile(r"\[?\d{1,4}[./-] ?\d{1,4}[./-] ?\d{1,4}[^\d]{1,6}\d{1,2}[.:]\d{2}")
_ANDROID_FILE = re.compile(r"(?P<name>[^()]+\.\w{1,5}) \((?P<word>[^()]{1,40})\)")
_IOS_FILE = re.compile(r"<(?P<word>[^<>:]{1,30}): (?P<name>[^<>]+)>")
_OMITTED = re.compile("(?:^|[\u200e\u200f])(?P<phrase>" + "|".join(map(re.escape, words.OMITTED)) + ")$")
_OMITTED_ENDINGS = tuple(words.OMITTED)
_EVENTS = [(re.compile(pattern), event, lang) for event, lang, pattern in words.EVENTS]
_SLOT_EVENT = re.compile("|".join(f"(?:{pattern})" for event, _, pattern in words.EVENTS if event in words.SLOT_EVENTS))
_MEDIA_PREFIX = re.compile(r"(?:\d{8}-)?(PHOTO|VIDEO|AUDIO|STICKER|GIF|IMG|VID|AUD|PTT|STK)-")
_PREFIX_KINDS = {"PHOTO": "photo", "IMG": "photo", "VIDEO": "video", "VID": "video", "AUDIO": "audio", "AUD": "audio"}
_PREFIX_KINDS |= {"PTT": "voice", "STICKER": "sticker", "STK": "sticker", "GIF": "gif"}
_EXT_KINDS = dict.fromkeys(("jpg", "jpeg", "png", "heic", "webp"), "photo") | {"vcf": "contact"}
_EXT_KINDS |= dict.fromkeys(("mp4", "mov", "3gp"), "video") | dict.fromkeys(
    ("opus", "ogg", "m4a", "mp3", "aac"), "audio"
)
_PHONE = re.compile(r"\+?[\d\s()-]{6,}")
_NULL_NOTE = 'the export writes "null": view-once media (never exported) or, in older versions, a call attempt'


def detect(tree: ExportTree) -> list[str]:
    """Every `.txt` of the tree whose first lines have the WhatsApp header form (any file name)."""
    return [name for name in tree.names() if name.lower().endswith(".txt") and _looks_like_export(tree, name)]


def _looks_like_export(tree: ExportTree, name: str) -> bool:
    with tree.open(name) as stream:
        head = stream.read(_DETECT_BYTES).decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = _split_lines(head)
    found = sum(1 for line in lines[:_DETECT_LINES] if _HEADER.match(_clean(line)))
    # a long first message may push the second header past line 50
    return found >= 2 or (found == 1 and any(_HEADER.match(_clean(line)) for line in lines[_DETECT_LINES:]))


def parse(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Chat]:
    """Read one exported chat. Raises `InputError` when the date order cannot be read from the
    file and `options.date_order` is not given, `FormatError` when no line is a header."""
    problems = Problems()
    text, repairs = _load(tree, main, problems)
    lines = _split_lines(text)
    headers = _headers(lines)
    if not headers:
        raise FormatError("no line has the form of a WhatsApp message header", path=main)
    order = _given_order(headers, options.date_order) if options.date_order else _decide_order(headers, main)
    reader = _Reader(tree, main, options, order, problems)
    entries = reader.entries(headers)
    header = reader.chat_header(headers[0].match, repairs)
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


class _Header(NamedTuple):
    """A line with the header form: its 0-based index, the match on the line without direction
    marks, the text after the header with the marks kept, and the header variant."""

    row: int
    match: re.Match[str]
    rest: str
    variant: tuple[Any, ...]


def _clean(line: str) -> str:
    return line if line.isascii() else strip_marks(line)  # isascii: a fast path for most lines


def _header(index: int, line: str) -> _Header | None:
    clean = _clean(line)
    match = _HEADER.match(clean)
    if match is None:
        return None
    d1, d2, d3, seconds, ampm, pre = match.group("d1", "d2", "d3", "s", "ampm", "pre")
    years = (len(d1) == 4, len(d2) == 4, len(d3) == 4 or not d3.isdigit())
    form = match.group("open", "sep", "be", "comma", "klo", "tsep", "dash")
    variant = (*form, years, seconds is None, bool(ampm or pre))
    return _Header(index, match, _after(line, match.end()) if len(clean) != len(line) else line[match.end() :], variant)


def _after(line: str, count: int) -> str:
    """What follows the first `count` characters of `line` that are not direction marks."""
    seen = 0
    for index, char in enumerate(line):
        if seen == count:
            return line[index:]
        seen += char not in _MARKS
    return ""


def _headers(lines: list[str]) -> list[_Header]:
    """The header lines of the file's most common header variant (reference §1.2: re-check
    every candidate against the variant in use)."""
    found = [header for index, line in enumerate(lines) if (header := _header(index, line))]
    if not found:
        return []
    counts = Counter(header.variant for header in found)
    variant = max(counts, key=counts.__getitem__)
    return [header for header in found if header.variant == variant]


# Date order (reference §1.3) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateOrder:
    """How the file's dates are read: `value` (dmy, mdy, ymd), from the `file` or an `option`, and why."""

    value: str
    source: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"value": self.value, "from": self.source, "reason": self.reason}


def _year(token: str, buddhist: bool) -> int:
    if token[0] in _ERAS:
        return _ERAS[token[0]] + int(token[1:])
    year = int(token)
    if buddhist:
        return year - 543
    return 2000 + year if len(token) <= 2 else year


def _date(match: re.Match[str], order: str) -> date | None:
    first, second, third = match["d1"], match["d2"], match["d3"]
    year, month, day = {"dmy": (third, second, first), "mdy": (third, first, second)}.get(order, (first, second, third))
    try:
        return date(_year(year, bool(match["be"])), int(month), int(day))
    except ValueError:
        return None


def _clock(match: re.Match[str]) -> time | None:
    hour = int(match["h"])
    period = match["ampm"] or match["pre"]
    if period and hour <= 12:
        hour = hour % 12 + (12 if re.sub(r"[\s.]", "", period).lower() in _PM_WORDS else 0)
    try:
        return time(hour, int(match["mi"]), int(match["s"] or 0))
    except ValueError:
        return None


def _first_invalid(headers: list[_Header], order: str) -> _Header | None:
    return next((header for header in headers if _date(header.match, order) is None), None)


def _distinct_dates(headers: list[_Header]) -> list[_Header]:
    """The first header of each distinct date text (deciding the order reads each date once)."""
    first: dict[str, _Header] = {}
    for header in headers:
        first.setdefault(header.match["date"], header)
    return list(first.values())


def _given_order(headers: list[_Header], order: str) -> DateOrder:
    if order not in ORDERS:
        raise InputError(f"unknown date order {order!r}: expected dmy, mdy or ymd")
    bad = [header for header in headers if _date(header.match, order) is None]
    reason = "given with --date-order"
    if bad:
        reason += f"; {len(bad)} dates of the file are not dates in this order (the first on line {bad[0].row + 1})"
    return DateOrder(order, "option", reason)


def _decide_order(headers: list[_Header], main: str) -> DateOrder:
    if len(headers[0].match["d1"]) == 4:
        return DateOrder("ymd", "file", "the year is written first, with four digits")
    dates = _distinct_dates(headers)
    invalid = {order: _first_invalid(dates, order) for order in ("dmy", "mdy")}
    valid = [order for order, bad in invalid.items() if bad is None]
    if len(valid) == 1 and (proof := invalid["mdy" if valid[0] == "dmy" else "dmy"]):
        text = proof.match["date"]
        return DateOrder(
            valid[0], "file", f"line {proof.row + 1} has {text}, a date only when read as {ORDERS[valid[0]]}"
        )
    if not valid:
        lines = " and ".join(f"line {bad.row + 1} is not a date as {ORDERS[o]}" for o, bad in invalid.items() if bad)
        raise _ambiguous(main, f"no date order fits every date: {lines}")
    return _order_by_sequence(headers, main)


def _order_by_sequence(headers: list[_Header], main: str) -> DateOrder:
    """All days and months are 12 or less: prefer the reading whose times go back less often."""
    if all(int(header.match["d1"]) == int(header.match["d2"]) for header in _distinct_dates(headers)):
        return DateOrder("dmy", "file", "day and month are equal in every date, so both orders read the same")
    jumps = {order: _backward_jumps(headers, order) for order in ("dmy", "mdy")}
    if jumps["dmy"] == jumps["mdy"]:
        raise _ambiguous(main, "every day and month is 12 or less and both readings are equally plausible")
    best = min(jumps, key=jumps.__getitem__)
    return DateOrder(
        best,
        "file",
        f"every day and month is 12 or less; read as day/month/year the times go back {jumps['dmy']} times, "
        f"as month/day/year {jumps['mdy']} times",
    )


def _backward_jumps(headers: list[_Header], order: str) -> int:
    moments = [datetime.combine(_date(h.match, order) or date.min, _clock(h.match) or time()) for h in headers]
    return sum(1 for before, after in zip(moments, moments[1:], strict=False) if after < before)


def _ambiguous(main: str, why: str) -> InputError:
    return InputError(
        f"{main}: cannot tell the date order: {why}; pass --date-order dmy|mdy|ymd",
        hint="open the chat on the phone and compare the date of one message you can see there",
        path=main,
    )


# Messages ---------------------------------------------------------------------------------


class _Marker(NamedTuple):
    """A media marker on a message's first body line (reference §1.6)."""

    attached: bool  # the export names a file (linked or missing); else it says it left it out
    kind: str
    words: str  # the export's own words: the attached word, or the omitted placeholder
    name: str | None  # the file named, or the document an omitted placeholder names
    rest: str | None  # what stays as text of the first line; None: the line is only the marker
    language: str | None


class _Entry(NamedTuple):
    """A header line read: the sender (None for a system line) or the event, the first body
    line (direction marks kept) and its media marker."""

    header: _Header
    sender: str | None
    body: str
    event: str | None = None
    marker: _Marker | None = None


def _names_at_colons(rest: str) -> list[tuple[int, str]]:
    """Each `: ` in `rest`, with the sender name it would give."""
    cuts = []
    start = rest.find(": ")
    while start != -1:
        cuts.append((start, _clean(rest[:start]).strip()))
        start = rest.find(": ", start + 2)
    return cuts


def _split_sender(rest: str, cuts: list[tuple[int, str]], counts: Counter[str]) -> tuple[str | None, str]:
    """Split `Sender: body` at one of its `cuts` (reference §1.7: names may contain ": "): the
    name seen most often in the file wins; among equals, the longest if seen more than once,
    else the shortest."""
    if len(cuts) == 1:
        return cuts[0][1], rest[cuts[0][0] + 2 :]
    if not cuts:
        name, colon, body = rest.partition(":")  # "John Doe:" or "John Doe:." from a known sender
        name = _clean(name).strip()
        return (name, body) if colon and counts[name] else (None, rest)

    def score(cut: tuple[int, str]) -> tuple[int, int]:
        seen = counts[cut[1]]
        return seen, cut[0] if seen > 1 else -cut[0]

    start, name = max(cuts, key=score)
    return name, rest[start + 2 :]


def classify_event(text: str) -> tuple[str, str] | None:
    """The event word and language of a system message's text (direction marks removed), if known."""
    for pattern, event, language in _EVENTS:
        if pattern.match(text):
            return event, language
    return None


def _find_marker(raw: str, exists: Callable[[str], bool]) -> _Marker | None:
    """The media marker of a first body line: Android `<Media omitted>` or `name (file attached)`,
    iOS `<attached: name>` or `‎image omitted` (localised, see `_whatsapp_words`)."""
    first = _clean(raw).strip()
    if first in words.MEDIA_OMITTED:  # Android without media: no name, no kind; a caption may follow
        return _Marker(False, "other", first, None, None, words.MEDIA_OMITTED[first])
    found = _ANDROID_FILE.fullmatch(first) if first.endswith(")") else None
    if found and (found["word"] in words.ATTACHED or exists(found["name"])):
        return _Marker(
            True, _kind_of(found["name"]), found["word"], found["name"], None, words.ATTACHED.get(found["word"])
        )
    found = _IOS_FILE.search(first) if ">" in first else None
    if found and (found["word"] in words.IOS_ATTACHED or re.match(r"\d{8}-", found["name"])):
        rest = (first[: found.start()] + first[found.end() :]).strip()
        return _Marker(
            True, _kind_of(found["name"]), found["word"], found["name"], rest, words.IOS_ATTACHED.get(found["word"])
        )
    raw = raw.rstrip()
    found = _OMITTED.search(raw) if raw.endswith(_OMITTED_ENDINGS) else None
    if found is None:
        return None
    kind, language = words.OMITTED[found["phrase"]]
    rest = strip_marks(raw[: found.start()]).strip()  # `Name.pdf • 2 pages`
    return _Marker(False, kind, found["phrase"], rest.split(" • ")[0] or None, rest, language)


def _kind_of(name: str) -> str:
    prefix = _MEDIA_PREFIX.match(name)
    if prefix:
        return _PREFIX_KINDS[prefix[1]]
    return _EXT_KINDS.get(name.rpartition(".")[2].lower(), "file")


def _deleted(text: str) -> str | None:
    """The language of a "this message was deleted" text, if it is one."""
    return words.DELETED.get(_clean(text).strip().rstrip("."))


def _unedit(lines: list[str]) -> tuple[list[str], bool]:
    """Remove the `<This message was edited>` marker (localised) from the end of a message."""
    last = _clean(lines[-1]).rstrip() if lines else ""
    if last.endswith(">"):
        for marker in words.EDITED:
            if last.endswith(marker):
                return [*lines[:-1], last.removesuffix(marker).rstrip()], True
    return lines, False


def _sender(name: str) -> dict[str, str]:
    shown = re.sub(r"^~[ \u00a0\u202f]", "", name)  # "~ Name": a profile name, not a saved contact
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
        self._times: dict[str, tuple[dict[str, Any], str | None]] = {}
        self._dates: dict[str, date | None] = {}
        self._people: dict[str, dict[str, str]] = {}

    def entries(self, headers: list[_Header]) -> list[_Entry]:
        self.variant = describe_variant(headers[0].match, self.order.value)
        cuts = [_names_at_colons(header.rest) for header in headers]
        counts = Counter(name for found in cuts for _, name in found)
        split = [
            (header, *_split_sender(header.rest, found, counts)) for header, found in zip(headers, cuts, strict=True)
        ]
        slot = {header.row: self._slot_event(sender, body) for header, sender, body in split}
        speakers = {sender for header, sender, _ in split if sender is not None and slot[header.row] is None}
        return [self._entry(header, sender, body, slot[header.row], speakers) for header, sender, body in split]

    def _entry(self, header: _Header, sender: str | None, body: str, event: str | None, speakers: set[str]) -> _Entry:
        if sender is None:
            found = classify_event(strip_marks(body).strip())
            self._count(found)
            return _Entry(header, None, body, found[0] if found else "other")
        if event is not None and (body[:1] in _MARKS or sender not in speakers):
            self.title_slot = self.title_slot or sender  # iOS writes the chat title as the sender
            return _Entry(header, None, body, event)
        self.senders.add(sender)
        marker = _find_marker(body, lambda name: self.tree.exists(self.scope + name))
        language = marker.language if marker else _deleted(body)
        if language:
            self.languages[language] += 1
        return _Entry(header, sender, body, None, marker)

    def _slot_event(self, sender: str | None, body: str) -> str | None:
        """The event of a `Name: ‎<event>` line (iOS system lines, Android encryption notices)."""
        if sender is None or not (body[:1] in _MARKS or _SLOT_EVENT.match(body)):
            return None
        found = classify_event(strip_marks(body).strip())
        if found and (body[:1] in _MARKS or found[0] in words.SLOT_EVENTS):
            self._count(found)
            return found[0]
        return None

    def _count(self, found: tuple[str, str] | None) -> None:
        if found:
            self.events.add(found[0])
            self.languages[found[1]] += 1

    def messages(self, lines: list[str], entries: list[_Entry]) -> Iterator[Message]:
        for index, line in enumerate(lines[: entries[0].header.row]):
            if line.strip():
                yield self._unparsed(index, line)
        ends = [entry.header.row for entry in entries[1:]] + [len(lines)]
        for entry, end in zip(entries, ends, strict=True):
            yield self._message(entry, _trim(lines[entry.header.row + 1 : end]))

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
        line = entry.header.row + 1
        notes: list[str] = []
        record: Message = {"time": self._time(entry.header, line, notes)}
        for number, text in enumerate(more, start=line + 1):
            if _LOOKALIKE.match(_clean(text)):
                why = f"line {number} looks like a message header but is not in this file's form ({self.variant})"
                self._note(notes, number, why + "; it is kept as text of the message above")
        if entry.sender is None:
            record.update(type="event", event=entry.event, text=_clean("\n".join([entry.body, *more])))
        else:
            record["type"], record["from"] = "message", self._sender(entry.sender)
            self._content(record, entry, more, notes)
        record.update(source={"file": self.main, "line": line}, problems=notes or None)
        return record

    def _content(self, record: Message, entry: _Entry, more: list[str], notes: list[str]) -> None:
        """Add the text, attachment and markers of a user message (reference §1.5–§1.6)."""
        lines, marker = [entry.body, *more], entry.marker
        if marker:
            lines = lines[1:] if marker.rest is None else [marker.rest, *lines[1:]]
            record["attachments"] = [self._attachment(marker)]
        lines, record["edited"] = _unedit(lines)
        record["text"] = text = _clean("\n".join(lines))
        if _deleted(text):
            record["deleted"] = True
        elif text.strip() == "null" and not marker:
            record["view_once"] = True
            self._note(notes, entry.header.row + 1, _NULL_NOTE)

    def _attachment(self, marker: _Marker) -> dict[str, Any]:
        if marker.attached and marker.name:
            return attachment(self.tree, self.scope + marker.name, marker.kind)
        return not_included(marker.kind, reason=marker.words, name=marker.name)

    def _sender(self, name: str) -> dict[str, str]:
        if name not in self._people:
            self._people[name] = _sender(name)
        return self._people[name]

    def _time(self, header: _Header, line: int, notes: list[str]) -> dict[str, Any]:
        match = header.match
        text = match.string[match.start("date") : match.end("clock")]
        if text not in self._times:
            self._times[text] = self._read_time(match, text)
        result, problem = self._times[text]
        if problem:
            self._note(notes, line, problem)
        return result

    def _read_time(self, match: re.Match[str], text: str) -> tuple[dict[str, Any], str | None]:
        if match["date"] not in self._dates:
            self._dates[match["date"]] = _date(match, self.order.value)
        day, clock = self._dates[match["date"]], _clock(match)
        if day is None or clock is None:
            return {"text": text}, f"{text} is not a date and time when read as {ORDERS[self.order.value]}"
        return assumed_time(datetime.combine(day, clock), text, self.options)

    def chat_header(self, first: re.Match[str], repairs: list[str]) -> dict[str, Any]:
        """The §3 header fields, once every header line has been read."""
        title = _title_from_name(self.main) or self.title_slot
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


def _title_from_name(main: str) -> str | None:
    stem = main.rpartition("/")[2]
    stem = stem[:-4] if stem.lower().endswith(".txt") else stem
    for pattern in words.TITLE_PATTERNS:
        if found := pattern.fullmatch(stem):
            return found[1]
    return None


def describe_variant(match: re.Match[str], order: str) -> str:
    """A short description of a header form, such as `[m/d/yy, H:MM:SS AM/PM]` or `d.m.yyyy, H:MM -`."""
    year = match[{"ymd": "d1"}.get(order, "d3")]
    year_text = "yyyy BE" if match["be"] else "Eyy" if not year.isdigit() else "y" * (4 if len(year) == 4 else 2)
    day = match["sep"].join(year_text if letter == "y" else letter for letter in order)
    sep = match["tsep"]
    clock = f"H{sep}MM" + (f"{sep}SS" if match["s"] else "")
    clock = f"AM/PM {clock}" if match["pre"] else f"{clock} AM/PM" if match["ampm"] else clock
    text = f"{day}{match['comma'] or ''} {'klo ' if match['klo'] else ''}{clock}"
    return f"[{text}]" if match["open"] else f"{text} {match['dash']}"
