"""What every chat parser shares (spec: docs/spec/transcript.md): the export tree it reads,
the options and problem sink it is given, the `Chat` it yields, and the helpers that build
times and attachments the same way for every platform.

A parser module defines `NAME`, `VERSION`, `PLATFORM`, `detect(tree) -> list[str]` (the main
files it can read, found by content, not by name alone) and
`parse(tree, main, options) -> Iterator[Chat]` (one `Chat` per chat in that file, messages
streamed). Parsers never raise on bad content: they report to the chat's `problems` and keep
what they cannot read as `unparsed` messages. They raise `FormatError` only when the main
file as a whole cannot be read as the format `detect` claimed.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import IO, Any, Protocol

from .._tz import parse_timezone

Message = dict[str, Any]
_zone = functools.lru_cache(maxsize=32)(parse_timezone)
BIDI_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_STRIP_BIDI = str.maketrans("", "", BIDI_MARKS)
MAX_LISTED_PROBLEMS = 1000
#: What a parser's own code raises when hostile data breaks an assumption it made (a field of the
#: wrong type, a date out of range, markup the stdlib HTML parser rejects, nesting too deep).
#: Reading stops with a problem instead: `chats.read()` and the transcript writer catch these.
DATA_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    RecursionError,
    AssertionError,
    UnicodeError,
)
_NO_OFFSET = timedelta(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ExportTree(Protocol):
    """A read-only view of one export: files named by POSIX paths relative to its root (NFC)."""

    label: str  # how the user named the export (a folder, a zip, a file), for messages

    def names(self) -> list[str]:
        """Every file of the export, sorted."""

    def exists(self, name: str) -> bool:
        """Whether the export holds a file with exactly this name."""

    def open(self, name: str) -> IO[bytes]:
        """Open a file of the export for reading (raises `KeyError` if it is not there)."""

    def sha256(self, name: str) -> str:
        """The SHA-256 of a file of the export (the evidence item holding its bytes)."""


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """How to read times the export gives without a zone, and WhatsApp's date order."""

    timezone: str = "UTC"
    timezone_from: str = "case"  # "case" or "option"
    date_order: str | None = None  # "dmy", "mdy", "ymd", or None to decide from the file

    @property
    def tz(self) -> tzinfo:
        return _zone(self.timezone)


@dataclass
class Problems:
    """Reading problems of one parse: all counted, the first `MAX_LISTED_PROBLEMS` kept."""

    count: int = 0
    first: list[dict[str, Any]] = field(default_factory=list)

    def add(self, file: str, message: str, **where: int | str) -> None:
        """Record one problem: the export file, where in it (`line=`, `index=`, `element=`), what."""
        self.count += 1
        if len(self.first) < MAX_LISTED_PROBLEMS:
            self.first.append({"file": file, **where, "message": message})

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "first": self.first}


@dataclass
class Chat:
    """One chat read from an export. `header` holds the §3 fields the parser knows
    (`platform`, `title`, `type`, `platform_type`, `id`, `participants`, `time`, `facts`);
    `messages` yields §4 message dicts without `kind` and `n` (the writer adds them)."""

    header: dict[str, Any]
    messages: Iterator[Message]
    scope: str | None = None  # folder (with a trailing "/", or "" for the root) whose files belong to this chat
    support: set[str] = field(default_factory=set)  # files that are part of the format (main files, css, js)
    problems: Problems = field(default_factory=Problems)  # filled while `messages` is consumed


def strip_marks(text: str) -> str:
    """Remove the invisible direction marks exports put around markers (not ZWJ, not NBSP)."""
    return text if text.isascii() else text.translate(_STRIP_BIDI)  # isascii: a fast path for most texts


def repair_mojibake(text: str) -> tuple[str, bool]:
    """Undo Meta's UTF-8-as-Latin-1 mojibake, guarded (spec §8); return (text, repaired)."""
    if text.isascii() or any(ord(c) > 0xFF for c in text):
        return text, False
    try:
        fixed = text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return text, False
    return fixed, fixed != text


def utc_text(moment: datetime) -> str:
    """RFC 3339 UTC with `Z`; fractional seconds only when present (3 or 6 digits)."""
    return _utc_wall_text(moment.astimezone(UTC))


def _utc_wall_text(moment: datetime) -> str:
    """`utc_text` of a datetime whose wall-clock fields are already UTC (aware or naive)."""
    if moment.microsecond == 0 and moment.year >= 1000:  # fast path; strftime does not pad years < 1000
        return moment.isoformat()[:19] + "Z"
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond == 0:
        return base + "Z"
    if moment.microsecond % 1000 == 0:
        return f"{base}.{moment.microsecond // 1000:03d}Z"
    return f"{base}.{moment.microsecond:06d}Z"


def explicit_time(moment: datetime, text: str) -> dict[str, Any]:
    """A §5 time for an export field that carries the instant (aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("explicit times must be timezone-aware")
    return {"text": text, "utc": utc_text(moment)}


def epoch_time(seconds: int | float | str, text: str | None = None, *, scale: int = 1) -> dict[str, Any]:
    """A §5 time from epoch seconds (`scale=1`) or milliseconds (`scale=1000`)."""
    shown = str(seconds) if text is None else text
    try:
        moment = _EPOCH + timedelta(microseconds=int(seconds) * (1_000_000 // scale))
    except (OverflowError, ValueError):
        return {"text": shown}  # spec §5: a time that cannot be read keeps its text, without `utc`
    return {"text": shown, "utc": _utc_wall_text(moment)}


def assumed_time(naive: datetime, text: str, options: ParseOptions) -> tuple[dict[str, Any], str | None]:
    """A §5 time for a wall-clock value read in the options' zone, and a problem text when the
    value falls in a daylight-saving gap or overlap (the earlier offset is used; put the text in
    the message's `problems`)."""
    zone = options.tz
    naive = naive.replace(fold=0) if naive.fold else naive
    offset = zone.utcoffset(naive) or _NO_OFFSET  # (never None for the zones `parse_timezone` makes)
    try:
        result: dict[str, Any] = {"text": text, "utc": _utc_wall_text(naive - offset)}
    except OverflowError:  # a date at the very edge of the calendar (year 1 or 9999)
        return {"text": text}, f"{text} cannot be converted to UTC"
    if offset == zone.utcoffset(naive.replace(fold=1)):
        return result, None
    back = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    why = "does not exist" if back != naive else "happens twice"
    return result, f"{text} {why} in {options.timezone} (daylight saving); the earlier offset was used"


def local_time(
    moment: datetime, text: str, options: ParseOptions, notes: list[str], *, mark_assumed: bool = False
) -> dict[str, Any]:
    """A §5 time for a value that may carry its offset: read as given if it does, else in the
    options' zone (a daylight-saving note goes to `notes`). `mark_assumed` adds `"basis":
    "assumed"` to an assumed time, for a chat whose header says its times are explicit."""
    if moment.tzinfo is not None:
        return explicit_time(moment, text)
    time, problem = assumed_time(moment, text, options)
    if problem:
        notes.append(problem)
    return time | {"basis": "assumed"} if mark_assumed else time


def time_header(options: ParseOptions, *, explicit: bool) -> dict[str, Any]:
    """The header's `time` (spec §3) for a parse that reads explicit or assumed times."""
    if explicit:
        return {"basis": "explicit"}
    return {"basis": "assumed", "zone": options.timezone, "zone_from": options.timezone_from}


def _find(tree: ExportTree, path: str) -> tuple[str | None, str | None]:
    if tree.exists(path):
        return path, None
    for form in ("NFC", "NFD"):
        other = unicodedata.normalize(form, path)
        if other != path and tree.exists(other):
            return other, "nfc"
    return None, None


def attachment(tree: ExportTree, path: str, kind: str, *, name: str | None = None) -> dict[str, Any]:
    """A §7 attachment for a file the export names: `linked` if it is there (exact or
    Unicode-normalisation match), else `missing`."""
    found, how = _find(tree, path)
    shown = name if name is not None else path.rsplit("/", 1)[-1]
    if found is None:
        return {"kind": kind, "name": shown, "status": "missing"}
    result = {"kind": kind, "name": shown, "status": "linked", "path": found, "sha256": tree.sha256(found)}
    if how:
        result["match"] = how
    return result


def not_included(kind: str, reason: str, *, name: str | None = None) -> dict[str, Any]:
    """A §7 attachment the export says it left out, with the export's own words."""
    result = {"kind": kind, "status": "not-included", "reason": reason}
    if name:
        result["name"] = name
    return result


def prune(record: dict[str, Any]) -> dict[str, Any]:
    """Drop fields whose value is empty, None or False (spec §2: absent means "not said")."""
    return {k: v for k, v in record.items() if v or not (v is None or v is False or isinstance(v, (str, list, dict)))}
