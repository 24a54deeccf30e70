"""Read JSON one value at a time, so that a huge export (a JSON array of message objects) is never
held whole, and a truncated or damaged one still gives every value before the damage.

The text is decoded from UTF-8 in chunks (a byte-order mark skipped, bad bytes read as U+FFFD)
into a sliding window, and `json.JSONDecoder.raw_decode` reads each value from it. With
`repair=True`, `\\xHH` escapes (invalid JSON that Telegram writes, format reference §2.5) are
read as `\\u00HH` when preceded by an odd number of backslashes, and where each repair sits is
kept; a chunk is then never cut inside a run of backslashes or an escape.

`read_json_document` reads a whole export object this way (Discord, Meta): its members, its
`messages` array apart, and why and where reading stopped early.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from ..errors import FormatError

CHUNK = 1 << 20
MAX_VALUE = 64 << 20  # characters one value may span before the file is judged broken
_X_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})")
_WHITESPACE = re.compile(r"[ \t\r\n]*")


class StreamError(FormatError):
    """The JSON is invalid or ends too soon, at a known place (reported as a problem, not raised
    out of a parse). `reason` is the bare reason, without the place."""

    def __init__(self, message: str, *, reason: str | None = None):
        super().__init__(message)
        self.reason = message if reason is None else reason


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


class Source:
    """The text of a byte stream, chunk by chunk, `\\xHH` escapes repaired if asked."""

    def __init__(self, stream: IO[bytes], *, repair: bool = False):
        self._stream = stream
        self._repair = repair
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._carry = ""
        self.done = False

    def read(self, size: int) -> tuple[str, list[int]]:
        """The next piece of text (from about `size` bytes) and where repairs sit in it."""
        data = self._stream.read(size)
        self.done = not data
        text = self._carry + self._decoder.decode(data, self.done)
        cut = len(text) if self.done or not self._repair else _safe_cut(text)
        self._carry = text[cut:]
        return repair_x_escapes(text[:cut]) if self._repair else (text, [])

    def chunks(self) -> Iterator[tuple[str, list[int]]]:
        """Every piece of text to the end of the stream (`CHUNK` bytes at a time)."""
        while not self.done:
            yield self.read(CHUNK)


class _Text:
    """A text already in memory, as a `Source` of one chunk."""

    def __init__(self, text: str):
        self._text = text
        self.done = False

    def read(self, size: int) -> tuple[str, list[int]]:
        text, self._text, self.done = self._text, "", True
        return text, []


class Reader:
    """A sliding window over the text of a JSON document, read value by value. `source` is a byte
    stream (read in chunks) or a text already in memory; `parse_float` is `json`'s (None: floats)."""

    def __init__(
        self,
        source: IO[bytes] | str,
        *,
        repair: bool = False,
        parse_float: Callable[[str], Any] | None = None,
    ):
        self._source = _Text(source) if isinstance(source, str) else Source(source, repair=repair)
        self._decoder = json.JSONDecoder(parse_float=parse_float)
        self._repairs: deque[int] = deque()
        self._lines = 0  # line feeds before buf[0]
        self.buf = ""
        self.pos = 0
        self.offset = 0  # position of buf[0] in the whole text
        self.eof = False

    def _more(self) -> bool:
        if self.eof:
            return False
        text, positions = self._source.read(max(CHUNK, len(self.buf) - self.pos))
        self.offset += self.pos
        self._lines += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos :] + text
        self._repairs.extend(self.offset + len(self.buf) - len(text) + p for p in positions)
        self.pos = 0
        self.eof = self._source.done
        return True

    def where(self) -> str:
        return f"character {self.offset + self.pos + 1}"

    def line(self) -> int:
        """The 1-based line of the reading position."""
        return self._lines + self.buf.count("\n", 0, self.pos) + 1

    def peek(self) -> str:
        """The next character after white space ("" at the end of the text)."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def accept(self, char: str) -> bool:
        """Step over `char` if it comes next (after white space)."""
        if self.peek() != char:
            return False
        self.pos += 1
        return True

    def take(self, char: str) -> None:
        """Step over `char`, which must come next."""
        if not self.accept(char):
            found = self.peek()
            what = "the end of the file" if not found else repr(found)
            raise StreamError(f"expected {char!r} at {self.where()}, found {what}")

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
                    raise StreamError(f"invalid JSON at {self.where()}{ends}: {exc.msg}", reason=exc.msg) from None
            except RecursionError:
                why = "nested too deeply to be read"
                raise StreamError(f"a value at {self.where()} is {why}", reason=why) from None
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


# --------------------------------------------------------------------------- a whole export object


@dataclass
class JsonDocument:
    """A JSON object read as far as it is readable: its members, its `messages` array apart."""

    members: dict[str, Any] = field(default_factory=dict)
    messages: list[Any] = field(default_factory=list)
    problem: str | None = None  # why and where reading stopped early
    line: int | None = None


def read_json_document(text: str) -> JsonDocument:
    """Read a JSON export object member by member, so that a truncated or damaged file still
    gives every message before the damage (reported in `problem`), and never raises."""
    reader = Reader(text)
    document = JsonDocument()
    try:
        _read_members(reader, document)
    except (StreamError, ValueError) as exc:  # ValueError: a number too long for `int`
        document.line = reader.line()
        why = exc.reason if isinstance(exc, StreamError) else str(exc)
        document.problem = (
            f"the JSON cannot be read past line {document.line} ({why}): the export is truncated or damaged; "
            f"the {len(document.messages)} messages before that point were read"
        )
    return document


def _read_members(reader: Reader, document: JsonDocument) -> None:
    if not reader.accept("{"):
        raise StreamError("the file does not start with a JSON object")
    more = not reader.accept("}")
    while more:
        key = reader.value()[0]
        if not isinstance(key, str) or not reader.accept(":"):
            raise StreamError("expected a member name and ':'")
        if key == "messages" and reader.accept("["):
            more_messages = not reader.accept("]")
            while more_messages:
                document.messages.append(reader.value()[0])
                more_messages = _separator(reader, "]")
        else:
            document.members[key] = reader.value()[0]
        more = _separator(reader, "}")
    if reader.peek():
        raise StreamError("there is more data after the JSON object")


def _separator(reader: Reader, close: str) -> bool:
    """True after a comma, False after `close`; anything else is damage."""
    if reader.accept(","):
        return True
    if reader.accept(close):
        return False
    raise StreamError(f"expected ',' or '{close}'")
