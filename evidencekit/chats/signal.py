"""Signal chats exported by signal-export (format reference §6) → `Chat`.

A signal-export chat folder holds `data.json` (JSON Lines, one message per line), `chat.md` (the
same messages as Markdown), `index.html` and `media/`. `data.json` is read when it is there;
`chat.md` (or a lone Markdown/text file in its style, such as older exports' `[YYYY-MM-DD, HH:MM]`
lines) otherwise. Invariants: times are the exporting computer's wall clock, read in the zone the
options name (assumed); "Me" is the account that made the export; a line that cannot be read is
kept whole as an `unparsed` message.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ._files import as_dict, as_list, kind_from_name, read_head
from ._model import (
    Chat,
    ExportTree,
    Message,
    ParseOptions,
    Problems,
    attachment,
    local_time,
    not_included,
    prune,
    time_header,
)

NAME = "signal-export"
VERSION = "1"
PLATFORM = "signal"

_MD_HEADER = re.compile(r"\[(\d{4}-\d{2}-\d{2},? \d{2}:\d{2}(?::\d{2})?)\] (.+?): ?(.*)")
_MD_REACTIONS = re.compile(r"\n\(- (.*) -\)")
_MD_STICKER = re.compile(r"\n\(\( (.*) \)\)")
_MD_MEDIA = re.compile(r"!?\[([^\]\n]*)\]\(((?:\./)?media/[^)\n]*)\)")
_FORMAT_FILES = ("chat.md", "data.json", "index.html")
_STICKER_ONLY = "only the sticker's emoji was exported"


def detect(tree: ExportTree) -> list[str]:
    """`data.json` files in signal-export's JSON Lines shape, and Markdown or text files whose
    first line is a signal-export message line (unless a `data.json` beside them was found)."""
    names = tree.names()
    lines = [name for name in names if name.endswith(".json") and _is_message_line(_first_line(tree, name))]
    folders = {posixpath.dirname(name) for name in lines}
    markdown = [
        name
        for name in names
        if name.endswith((".md", ".txt"))
        and posixpath.dirname(name) not in folders
        and _MD_HEADER.fullmatch(_first_line(tree, name))
    ]
    return sorted(lines + markdown)


def _first_line(tree: ExportTree, name: str) -> str:
    return read_head(tree, name).lstrip().split("\n", 1)[0].rstrip("\r")


def _is_message_line(line: str) -> bool:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to be a message
        return False
    return isinstance(record, dict) and {"date", "sender", "body"} <= record.keys()


def parse(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Chat]:
    """One `Chat`: the signal-export chat whose `data.json` or `chat.md` is `main`."""
    folder = posixpath.dirname(main)
    in_layout = posixpath.basename(main) in _FORMAT_FILES
    header = {
        "platform": PLATFORM,
        "title": posixpath.basename(folder) if in_layout and folder else None,
        "type": "unknown",
        "time": time_header(options, explicit=False),
        "facts": {"export": "signal-export", "me": '"Me" is the account that made the export'},
    }
    problems = Problems()
    reader = _json_lines if main.endswith(".json") else _markdown
    support = {posixpath.join(folder, name) for name in _FORMAT_FILES} | {main}
    yield Chat(
        header=header,
        messages=_checked(main, reader(tree, main, options), problems),
        scope=(f"{folder}/" if folder else "") if in_layout else None,
        support={name for name in support if tree.exists(name)},
        problems=problems,
    )


def _checked(main: str, messages: Iterator[Message], problems: Problems) -> Iterator[Message]:
    for message in messages:
        for note in message.get("problems", ()):
            problems.add(main, note, line=message["source"]["line"])
        yield message


def _lines(tree: ExportTree, main: str) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, problem) for each line, BOM skipped; bad UTF-8 is replaced and noted."""
    with tree.open(main) as stream:
        for number, raw in enumerate(stream, start=1):
            data = raw[3:] if number == 1 and raw.startswith(b"\xef\xbb\xbf") else raw
            try:
                yield number, data.decode("utf-8").rstrip("\r\n"), None
            except UnicodeDecodeError:
                yield number, data.decode("utf-8", errors="replace").rstrip("\r\n"), "the line is not valid UTF-8"


def _time(text: str, options: ParseOptions, notes: list[str]) -> dict[str, Any] | None:
    try:
        moment = datetime.fromisoformat(text.replace(", ", " "))
    except ValueError:
        notes.append(f"the time {text!r} cannot be read")
        return {"text": text}
    return local_time(moment, text, options, notes)


def _body(text: str) -> str:
    """signal-export ends a body and each attachment link with two spaces (Markdown line breaks):
    trailing white space is the exporter's, not the sender's."""
    return text.strip("\n").rstrip()


def _media(tree: ExportTree, folder: str, path: str, name: str) -> dict[str, Any]:
    """signal-export writes `media/<file>` with white space as `%20` (format reference §6)."""
    relative = path.removeprefix("./")
    kind = kind_from_name(name or relative)
    for candidate in dict.fromkeys((relative, relative.replace("%20", " "))):
        found = attachment(tree, posixpath.join(folder, candidate), kind, name=name or None)
        if found["status"] == "linked":
            return found
    return found


# --------------------------------------------------------------------------- data.json


def _json_lines(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Message]:
    folder = posixpath.dirname(main)
    for number, line, problem in _lines(tree, main):
        if not line.strip():
            continue
        notes = [problem] if problem else []
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            record = None
        if isinstance(record, dict):
            message = _record(tree, folder, record, options, notes)
        else:
            notes.append("the line is not a JSON object")
            message = {"type": "unparsed", "text": line}
        yield message | {"source": {"file": main, "line": number}, "problems": notes}


def _record(tree: ExportTree, folder: str, record: dict[str, Any], options: ParseOptions, notes: list[str]) -> Message:
    call = "missed-call" if record.get("missed") else "call" if record.get("call") else None
    text = _body(f"{record.get('quote') or ''}{record.get('body') or ''}")
    files = [as_dict(item) for item in as_list(record.get("attachments"))]
    attachments = [_media(tree, folder, str(item.get("path", "")), str(item.get("name", ""))) for item in files]
    sticker = _sticker_label(record.get("sticker"))
    if sticker:
        attachments.append(not_included("sticker", _STICKER_ONLY, name=sticker))
    return {
        "type": "event" if call else "message",
        "event": call,
        "time": _time(str(record.get("date", "")), options, notes),
        "from": prune({"name": record.get("sender")}),
        "text": text,
        "deleted": record.get("deleted") is True,
        "reactions": [_reaction(item) for item in as_list(record.get("reactions"))],
        "attachments": attachments,
    }


def _sticker_label(sticker: Any) -> str | None:
    if isinstance(sticker, dict):
        return sticker.get("emoji") or "sticker"
    return sticker if isinstance(sticker, str) and sticker else None


def _reaction(item: Any) -> dict[str, Any]:
    """`[name, emoji]` (a named tuple written as a list) or `{"name", "emoji"}`."""
    if isinstance(item, list) and len(item) == 2:
        return prune({"emoji": item[1], "by": item[0]})
    return prune({"emoji": as_dict(item).get("emoji"), "by": as_dict(item).get("name")})


# --------------------------------------------------------------------------- chat.md


def _markdown(tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Message]:
    folder = posixpath.dirname(main)
    block: list[str] = []
    start = 0
    block_notes: list[str] = []
    for number, line, problem in _lines(tree, main):
        if not block and not line.strip():
            continue  # blank lines before the first message
        if _MD_HEADER.fullmatch(line) or not block:
            if block:
                yield _md_message(tree, folder, main, start, block, options, block_notes)
            block, start, block_notes = [line], number, []
        else:
            block.append(line)
        if problem:
            block_notes.append(problem)
    if block:
        yield _md_message(tree, folder, main, start, block, options, block_notes)


def _md_message(
    tree: ExportTree, folder: str, main: str, start: int, block: list[str], options: ParseOptions, notes: list[str]
) -> Message:
    source = {"file": main, "line": start}
    header = _MD_HEADER.fullmatch(block[0])
    if header is None:
        notes.append("the lines do not start with a [date time] sender: header")
        return {"type": "unparsed", "text": "\n".join(block), "source": source, "problems": notes}
    stamp, sender, first = header.groups()
    body = "\n".join([first, *block[1:]])
    reactions = [_md_reaction(entry) for match in _MD_REACTIONS.findall(body) for entry in match.split(", ")]
    stickers = _MD_STICKER.findall(body)
    files = [_media(tree, folder, path, name) for name, path in _MD_MEDIA.findall(body)]
    for pattern in (_MD_REACTIONS, _MD_STICKER, _MD_MEDIA):
        body = pattern.sub("", body)
    text = _body(body)
    return {
        "type": "message",
        "time": _time(stamp, options, notes),
        "from": {"name": sender},
        "text": text,
        "deleted": text == "(This message was deleted)",
        "reactions": reactions,
        "attachments": files + [not_included("sticker", _STICKER_ONLY, name=label) for label in stickers],
        "source": source,
        "problems": notes,
    }


def _md_reaction(entry: str) -> dict[str, Any]:
    name, _, emoji = entry.rpartition(": ")
    return prune({"emoji": emoji, "by": name})
