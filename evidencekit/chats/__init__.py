"""Chat exports: recognise them by content, parse them into transcripts (docs/spec/transcript.md).

`PARSER_NAMES` lists the parser modules in detection order (spec table 0.1 of the format
reference): the first parser that claims a main file reads it.
"""

from __future__ import annotations

import importlib
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

from ._model import Chat, ExportTree, ParseOptions, Problems
from ._tree import FileTree, FolderTree, ZipTree

PARSER_NAMES = ("discord", "telegram_json", "meta", "telegram_html", "whatsapp", "signal")

__all__ = [
    "Chat",
    "Detected",
    "ExportTree",
    "FileTree",
    "FolderTree",
    "ParseOptions",
    "Problems",
    "ZipTree",
    "detect",
    "open_tree",
    "parse_all",
    "parsers",
]


def parsers() -> list[ModuleType]:
    """The parser modules, in detection order."""
    return [importlib.import_module(f"{__name__}.{name}") for name in PARSER_NAMES]


@dataclass(frozen=True, slots=True)
class Detected:
    """One main file of an export and the parser that reads it."""

    parser: ModuleType
    main: str


def detect(tree: ExportTree) -> list[Detected]:
    """Every main file in `tree` that a parser recognises, each claimed by one parser only."""
    claimed: set[str] = set()
    found = []
    for parser in parsers():
        for main in parser.detect(tree):
            if main not in claimed:
                claimed.add(main)
                found.append(Detected(parser, main))
    return sorted(found, key=lambda d: d.main)


def open_tree(path: str | os.PathLike[str]) -> FolderTree | ZipTree:
    """A tree for a folder, a zip (by content) or a single file."""
    if os.path.isdir(path):
        return FolderTree(path)
    if zipfile.is_zipfile(path):
        return ZipTree(path)
    return FileTree(path)


def parse_all(tree: ExportTree, options: ParseOptions) -> Iterator[tuple[Detected, Chat]]:
    """Parse every chat in `tree` (convenience for tests and scripts; capture uses the same steps)."""
    for detected in detect(tree):
        for chat in detected.parser.parse(tree, detected.main, options):
            yield detected, chat
