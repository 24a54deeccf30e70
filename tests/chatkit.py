"""Test support for chat parsers: parse an export and read its transcripts back as records."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from evidencekit.chats import ParseOptions, open_tree, parse_all
from evidencekit.chats._model import ExportTree
from evidencekit.chats.transcript import read_transcript, write_transcript

from .conftest import SHARED

REAL_EXPORTS = SHARED / "real-exports"


def real_export(relpath: str) -> Path:
    """A file or folder of ../shared/real-exports (GPL/AGPL samples are only read from there); skip if absent."""
    path = REAL_EXPORTS / relpath
    if not path.exists():
        pytest.skip(f"../shared/real-exports/{relpath} is not present")
    return path


def transcripts(
    source: str | os.PathLike[str] | ExportTree, *, timezone: str = "UTC", date_order: str | None = None
) -> list[list[dict[str, Any]]]:
    """Every chat in `source` (a path or a tree) as its transcript records: [header, messages…, end]."""
    tree = source if hasattr(source, "names") else open_tree(source)  # type: ignore[arg-type]
    options = ParseOptions(timezone=timezone, timezone_from="option", date_order=date_order)
    result = []
    for detected, chat in parse_all(tree, options):  # type: ignore[arg-type]
        buffer = io.BytesIO()
        write_transcript(buffer, detected.parser, tree, detected.main, chat)  # type: ignore[arg-type]
        buffer.seek(0)
        result.append(list(read_transcript(buffer)))
    return result


def only_chat(
    source: str | os.PathLike[str] | ExportTree, **options: Any
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """The single chat in `source`: (header, messages, end)."""
    chats = transcripts(source, **options)
    assert len(chats) == 1, f"expected one chat, found {len(chats)}"
    records = chats[0]
    return records[0], records[1:-1], records[-1]
