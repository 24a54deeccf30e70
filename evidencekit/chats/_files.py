"""Reading an export's files the same way in every parser: the head of a file (for detection),
a whole file as text or as a JSON export object, the attachment kind a file name suggests, and
safe views of JSON values.

Invariants: a byte-order mark is skipped; bytes that are not UTF-8 are read as U+FFFD, and a
whole-file read reports them to the chat's problems (a head read for detection does not).
"""

from __future__ import annotations

from typing import Any

from ._jsonstream import JsonDocument, read_json_document
from ._model import ExportTree, Problems

HEAD_SIZE = 64 * 1024
WEB_ONLY = "only a web link was exported; the file was not downloaded"
_KINDS = {
    "photo": ("jpg", "jpeg", "png", "webp", "heic", "heif", "bmp", "tif", "tiff", "svg", "apng"),
    "video": ("mp4", "mov", "m4v", "mkv", "webm", "avi", "3gp", "mpeg", "qt"),
    "audio": ("mp3", "m4a", "aac", "ogg", "oga", "opus", "wav", "flac", "amr"),
    "gif": ("gif",),
}
_KIND_OF_EXTENSION = {ext: kind for kind, exts in _KINDS.items() for ext in exts}


def read_head(tree: ExportTree, name: str, size: int = HEAD_SIZE) -> str:
    """The first `size` bytes of a file as text (BOM skipped, bad bytes replaced), for detection."""
    with tree.open(name) as stream:
        return stream.read(size).decode("utf-8-sig", errors="replace")


def read_text(tree: ExportTree, name: str, problems: Problems) -> str:
    """A whole file as text (BOM skipped); bytes that are not UTF-8 are replaced and reported."""
    with tree.open(name) as stream:
        data = stream.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(
            name, f"the file is not valid UTF-8 (first bad byte at offset {exc.start}); bad bytes read as U+FFFD"
        )
        return data.decode("utf-8-sig", errors="replace")


def read_json_file(tree: ExportTree, name: str, problems: Problems) -> JsonDocument:
    """A JSON export object read as far as it is readable (Discord, Meta); where reading stopped
    early is reported to `problems`."""
    document = read_json_document(read_text(tree, name, problems))
    if document.problem:
        problems.add(name, document.problem, line=document.line or 0)
    return document


def kind_from_name(name: str) -> str:
    """The §7 attachment kind a file name's extension suggests (`file` when it says nothing)."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _KIND_OF_EXTENSION.get(extension, "file")


def is_web_link(url: str) -> bool:
    """Whether an export names a file by its web address only (never fetched)."""
    return url.startswith(("http://", "https://"))


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (exports leave out or mistype fields)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []
