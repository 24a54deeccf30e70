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

from ..errors import FormatError
from ._model import DATA_ERRORS, Chat, ExportTree, ParseOptions, Problems
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
    "mains_of",
    "parse_all",
    "read",
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


def mains_of(parser: ModuleType, tree: ExportTree) -> list[str]:
    """`parser.detect()`; a detector's error on hostile data is raised as a `FormatError`."""
    try:
        return list(parser.detect(tree))
    except DATA_ERRORS as exc:
        raise FormatError(f"cannot be checked for a {parser.NAME} export ({exc!r})", path=tree.label) from exc


def detect(tree: ExportTree) -> list[Detected]:
    """Every main file in `tree` that a parser recognises, each claimed by one parser only.
    Raises `FormatError` when a detector fails on hostile data."""
    claimed: set[str] = set()
    found = []
    for parser in parsers():
        for main in mains_of(parser, tree):
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


def read(parser: ModuleType, tree: ExportTree, main: str, options: ParseOptions) -> Iterator[Chat]:
    """`parser.parse()`, with a parser's error on hostile data (`DATA_ERRORS`) raised as a
    `FormatError` naming the file; errors while messages are read are the writer's to report."""
    try:
        yield from parser.parse(tree, main, options)
    except DATA_ERRORS as exc:
        raise FormatError(f"{main} cannot be read as {parser.NAME} ({exc!r})", path=tree.label) from exc


def parse_all(tree: ExportTree, options: ParseOptions) -> Iterator[tuple[Detected, Chat]]:
    """Parse every chat in `tree` (convenience for tests and scripts; capture uses the same steps)."""
    for detected in detect(tree):
        for chat in read(detected.parser, tree, detected.main, options):
            yield detected, chat
