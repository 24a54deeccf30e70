"""Read-only views of a case's files, wherever they are: a case folder or a package.

Invariant: verification reads a case only through a `CaseSource`, so the same checks run
on a case folder and, without unpacking, on a package; sources never write.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from ._fs import safe_relpath
from .digest import FileDigest
from .errors import InputError


class CaseSource(Protocol):
    """What verification needs from a case: its files by case-relative name, and stored objects."""

    label: str
    sealed: bool  # stored copies are as the case stores them (encrypted blobs in an encrypted case)
    identities: Sequence[object]  # keys to decrypt them with, when sealed

    def read(self, relpath: str) -> bytes | None:
        """The file's bytes, or `None` when it is absent."""

    def open_object(self, item: dict[str, Any]) -> tuple[str, IO[bytes]] | None:
        """Where an item's stored copy is and a stream of it, or `None` when it is absent."""

    def files(self) -> list[str]:
        """Every file present, by case-relative POSIX name, sorted."""

    def excluded(self, item: dict[str, Any]) -> str | None:
        """Why a stored item's copy is deliberately absent here (a package without it), or `None`."""

    def cached_digest(self, item: dict[str, Any]) -> tuple[str, FileDigest] | None:
        """Where the item's copy is and its digests, if already computed from these very bytes, else `None`."""


class FolderSource:
    """A case folder on disk."""

    sealed = True

    def __init__(self, root: Path, identities: Sequence[object] = ()):
        self.root = root
        self.label = str(root)
        self.identities = identities

    def read(self, relpath: str) -> bytes | None:
        try:
            return (self.root / relpath).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(f"cannot read {relpath}: {exc.strerror}", path=self.root / relpath) from exc

    def open_object(self, item: dict[str, Any]) -> tuple[str, IO[bytes]] | None:
        relpath = item["object"]
        path = self.root / safe_relpath(relpath, self.root)
        if not path.is_file():
            return None
        return relpath, open(path, "rb", buffering=0)  # noqa: SIM115 - the caller closes it

    def excluded(self, item: dict[str, Any]) -> str | None:
        return None

    def cached_digest(self, item: dict[str, Any]) -> tuple[str, FileDigest] | None:
        return None

    def files(self) -> list[str]:
        out: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            dirs.sort()
            rel = Path(folder).relative_to(self.root).as_posix()
            out.extend(name if rel == "." else f"{rel}/{name}" for name in sorted(names))
        return out


class PackageSource:
    """The case inside a package (`data/case/…`, evidence under `data/evidence/…`), read from the bag."""

    sealed = False  # a package's payload is plaintext (spec package §3)
    identities: Sequence[object] = ()

    def __init__(self, reader: Any, index: dict[str, Any], digests: dict[str, dict[str, Any]] | None = None):
        self.reader = reader
        self.digests = digests or {}
        self.label = reader.label
        self.rows = {row["id"]: row for row in index["items"]}
        self._names = set(reader.names())
        self.reports = {row["path"] for row in index.get("reports", ())}  # reports for people: never case files

    def read(self, relpath: str) -> bytes | None:
        data: bytes | None = self.reader.read(f"data/case/{relpath}")
        return data

    def open_object(self, item: dict[str, Any]) -> tuple[str, IO[bytes]] | None:
        if item["id"] not in self.rows and item["object"].startswith("derived/"):  # a transcript: a case record
            name = f"data/case/{item['object']}"
            return (name, self.reader.open(name)) if name in self._names else None
        row = self.rows.get(item["id"])
        if not row or not row["path"] or row["path"] not in self._names:
            return None
        stream: IO[bytes] = self.reader.open(row["path"])
        return row["path"], stream

    def cached_digest(self, item: dict[str, Any]) -> tuple[str, FileDigest] | None:
        row = self.rows.get(item["id"])
        found = self.digests.get(row["path"]) if row and row["path"] else None
        if not found:
            return None
        digest = FileDigest(str(found["sha256"]), str(found["sha1"]), str(found["md5"]), int(found["size"]))
        return str(row["path"]), digest  # type: ignore[index]

    def excluded(self, item: dict[str, Any]) -> str | None:
        row = self.rows.get(item["id"])
        return None if row is None or row["path"] else str(row["reason"])

    def files(self) -> list[str]:
        from .manifest import object_path

        by_path = {row["path"]: object_path(row["sha256"]) for row in self.rows.values() if row["path"]}
        out = []
        for name in sorted(self._names):
            if name.startswith("data/case/"):
                out.append(name.removeprefix("data/case/"))
            elif name.startswith("data/") and name != "data/package.json" and name not in self.reports:
                out.append(by_path.get(name, name))
        return out
