"""Write and read transcripts, format `evidencekit/transcript/1` (spec: docs/spec/transcript.md).

Invariants: the writer streams (one message in memory at a time, plus the per-sender counts);
every line is canonical JSON; the bytes depend only on the export and the parse options, so
parsing the same export twice gives the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import IO, Any

from .. import _canonical
from ..errors import FormatError
from ._model import DATA_ERRORS, Chat, ExportTree, prune

FORMAT = "evidencekit/transcript/1"
_SUPPORT_SUFFIXES = (".css", ".js")


@dataclass(frozen=True, slots=True)
class Written:
    """What writing one transcript gave: its digest, size and the facts the manifest lists."""

    sha256: str
    size: int
    summary: dict[str, Any]  # platform, title, messages, first, last, problems
    files: list[str]  # files of the export it was read from: the main file, format files, linked attachments


class _Stats:
    def __init__(self) -> None:
        self.messages = 0
        self.senders: dict[tuple[str, str], int] = {}
        self.first: str | None = None
        self.last: str | None = None
        self.attachments = {"linked": 0, "missing": 0, "not-included": 0}
        self.referenced: set[str] = set()

    def add(self, message: dict[str, Any]) -> None:
        self.messages += 1
        sender = message.get("from")
        if sender:
            key = (str(sender.get("name", "")), str(sender.get("id", "")))  # str: hostile exports put anything there
            self.senders[key] = self.senders.get(key, 0) + 1
        utc = message.get("time", {}).get("utc")
        if utc:
            self.first = utc if self.first is None or utc < self.first else self.first
            self.last = utc if self.last is None or utc > self.last else self.last
        for attachment in message.get("attachments", ()):
            self.attachments[attachment["status"]] += 1
            if attachment.get("path"):
                self.referenced.add(attachment["path"])

    def senders_json(self) -> list[dict[str, Any]]:
        return [prune({"name": n, "id": i, "messages": c}) for (n, i), c in sorted(self.senders.items())]


def _unreferenced(tree: ExportTree, chat: Chat, stats: _Stats) -> list[dict[str, str]]:
    if chat.scope is None:
        return []
    return [
        {"path": name, "sha256": tree.sha256(name)}
        for name in tree.names()
        if name.startswith(chat.scope)
        and name not in stats.referenced
        and name not in chat.support
        and not name.endswith(_SUPPORT_SUFFIXES)
    ]


def header_line(parser: ModuleType, tree: ExportTree, main: str, chat: Chat) -> dict[str, Any]:
    """The §3 header of a chat read by `parser` from `main`."""
    header = {
        **chat.header,
        "kind": "chat",
        "format": FORMAT,
        "parser": {"name": parser.NAME, "version": parser.VERSION},
        "source": {"file": main, "sha256": tree.sha256(main)},
    }
    header.setdefault("platform", parser.PLATFORM)
    return prune(header)


def _guarded(chat: Chat, main: str) -> Iterator[dict[str, Any]]:
    """The chat's messages; a parser error on hostile data ends the reading with a problem
    (every message before it is kept) instead of losing the whole transcript."""
    count = 0
    messages = iter(chat.messages)
    while True:
        try:
            message = next(messages)
        except StopIteration:
            return
        except DATA_ERRORS as exc:
            chat.problems.add(main, f"reading stopped after message {count} ({exc!r}); the rest was not read")
            return
        count += 1
        yield message


def _representable(value: Any) -> Any:
    """`value` with what canonical JSON cannot hold made text: lone surrogates become U+FFFD,
    floats and out-of-range integers their decimal text."""
    if isinstance(value, dict):
        return {str(k): _representable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_representable(v) for v in value]
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and abs(value) <= _canonical.MAX_SAFE_INT:
        return value
    return str(value)


def _repair(record: dict[str, Any], name: str) -> dict[str, Any]:
    if record.get("kind") != "message":
        return {}
    return {"repairs": sorted({*record.get("repairs", ()), name})}


def write_transcript(out: IO[bytes], parser: ModuleType, tree: ExportTree, main: str, chat: Chat) -> Written:
    """Stream one chat's transcript to `out`; return its SHA-256, size and summary."""
    digest = hashlib.sha256()
    size = 0

    def emit(record: dict[str, Any]) -> None:
        nonlocal size
        try:
            line = _canonical.dumps(record) + b"\n"
        except ValueError:  # a value from the export JSON cannot hold as it is (spec §8)
            line = _canonical.dumps(_representable(record) | _repair(record, "unrepresentable-value")) + b"\n"
        digest.update(line)
        size += len(line)
        out.write(line)

    header = header_line(parser, tree, main, chat)
    emit(header)
    stats = _Stats()
    for number, message in enumerate(_guarded(chat, main), start=1):
        record = prune(message)
        record["kind"], record["n"] = "message", number
        stats.add(record)
        emit(record)
    counts = {"messages": stats.messages, "attachments": stats.attachments, "problems": chat.problems.to_json()}
    optional = {"senders": stats.senders_json(), "first": stats.first, "last": stats.last}
    emit({"kind": "end", **counts, **prune(optional | {"unreferenced": _unreferenced(tree, chat, stats)})})
    summary = {
        "platform": header["platform"],
        "messages": stats.messages,
        "problems": chat.problems.count,
        **prune({"title": header.get("title"), "first": stats.first, "last": stats.last}),
    }
    files = sorted({main} | {name for name in chat.support | stats.referenced if tree.exists(name)})
    return Written(digest.hexdigest(), size, summary, files)


def read_transcript(stream: Iterable[bytes], *, path: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records of a transcript (header, messages, end), checking the format line by line."""
    for number, line in enumerate(stream, start=1):
        if not line.endswith(b"\n"):
            raise FormatError(f"transcript line {number} does not end with a newline", path=path)
        record = _canonical.loads(line[:-1], what=f"transcript line {number}", path=path)
        if number == 1 and (record.get("kind") != "chat" or record.get("format") != FORMAT):
            raise FormatError(f"not a transcript: the first line is not a {FORMAT} chat header", path=path)
        yield record
