"""Export trees: a folder, a zip, or one file, seen as files named by relative POSIX paths.

Invariants: nothing is ever written; zip members are checked before any is read (hostile
names, counts and sizes, see `ZipLimits`) and read through `zipfile`, which checks each
member's CRC-32; a folder tree never follows a symbolic link.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .._bagsource import DAMAGED, MemberStream
from .._fs import safe_relpath
from ..errors import FormatError, UnsafePathError

Hasher = Callable[[str], str]


def _sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


class FolderTree:
    """The files below a folder (links and special files are left out)."""

    def __init__(self, root: str | os.PathLike[str], *, label: str | None = None, hasher: Hasher | None = None):
        self.root = Path(root)
        self.label = label if label is not None else os.fspath(root)
        self._names = sorted(self._walk())
        self._set = set(self._names)
        self._hasher = hasher
        self._hashes: dict[str, str] = {}

    def _walk(self) -> list[str]:
        found = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in files:
                full = os.path.join(folder, name)
                if stat.S_ISREG(os.lstat(full).st_mode):
                    found.append(Path(full).relative_to(self.root).as_posix())
        return found

    def names(self) -> list[str]:
        return list(self._names)

    def exists(self, name: str) -> bool:
        return name in self._set

    def open(self, name: str) -> IO[bytes]:
        if name not in self._set:
            raise KeyError(name)
        return open(self.root / name, "rb")

    def path(self, name: str) -> Path:
        """Where a file of the tree is on disk."""
        return self.root / name

    def sha256(self, name: str) -> str:
        if name not in self._hashes:
            if self._hasher is not None:
                self._hashes[name] = self._hasher(name)
            else:
                with self.open(name) as stream:
                    self._hashes[name] = _sha256_of(stream)
        return self._hashes[name]


class FileTree(FolderTree):
    """One file given on its own: the export's root is its folder, but only the file itself
    and the files its parser asks about are looked at (not the whole folder)."""

    def __init__(self, path: str | os.PathLike[str], *, label: str | None = None, hasher: Hasher | None = None):
        self.main = Path(path).name
        super().__init__(Path(path).parent, label=label if label is not None else os.fspath(path), hasher=hasher)

    def _walk(self) -> list[str]:
        return [self.main]

    def exists(self, name: str) -> bool:
        if name in self._set:
            return True
        try:
            safe_relpath(name, self.root)
        except UnsafePathError:
            return False
        full = self.root / name
        if full.is_symlink() or not full.is_file():
            return False
        self._set.add(name)
        self._names.append(name)
        return True


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Limits against zip bombs: member count, total and per-member size, compression ratio."""

    members: int = 200_000
    total: int = 64 << 30
    ratio: int = 200  # a member may expand at most this many times (above 1 MiB)


def check_member_name(name: str) -> str:
    """Return the NFC relative path of a zip member, or raise `UnsafePathError`."""
    clean = unicodedata.normalize("NFC", name)
    safe_relpath(clean)
    return clean


class ZipTree:
    """The members of a zip file. Unsafe members are refused before anything is read."""

    def __init__(self, path: str | os.PathLike[str], *, label: str | None = None, limits: ZipLimits = ZipLimits()):
        self.path = Path(path)
        self.label = label if label is not None else os.fspath(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise FormatError(f"cannot read the zip: {exc}", path=self.label) from exc
        self.refused: list[dict[str, str]] = []
        self._members: dict[str, zipfile.ZipInfo] = {}
        self._check(limits)
        self._hashes: dict[str, str] = {}

    def _check(self, limits: ZipLimits) -> None:
        infos = [info for info in self._zip.infolist() if not info.is_dir()]
        if len(infos) > limits.members:
            raise FormatError(
                f"the zip holds {len(infos)} files, more than the {limits.members} allowed", path=self.label
            )
        total = 0
        for info in infos:
            why = self._refusal(info, limits)
            if why is None and (name := check_member_name(info.filename)) in self._members:
                why = "another member has the same name"
            if why:
                self.refused.append({"member": info.filename, "reason": why})
                continue
            total += info.file_size
            self._members[name] = info
        if total > limits.total:
            raise FormatError(f"the zip would expand to {total} bytes, more than allowed", path=self.label)

    @staticmethod
    def _refusal(info: zipfile.ZipInfo, limits: ZipLimits) -> str | None:
        try:
            check_member_name(info.filename)
        except UnsafePathError as exc:
            return exc.message
        if stat.S_ISLNK(info.external_attr >> 16):
            return "it is a symbolic link"
        if info.file_size > (1 << 20) and info.file_size > limits.ratio * max(info.compress_size, 1):
            return f"it would expand {info.file_size // max(info.compress_size, 1)} times (a zip bomb?)"
        return None

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> ZipTree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> list[str]:
        return sorted(self._members)

    def info(self, name: str) -> zipfile.ZipInfo:
        """The zip entry of a member."""
        return self._members[name]

    def exists(self, name: str) -> bool:
        return name in self._members

    def open(self, name: str) -> IO[bytes]:
        try:
            member = self._zip.open(self._members[name])
        except DAMAGED as exc:  # zipfile checks the local header on open
            raise FormatError(f"{name}: damaged in the zip ({exc})", path=self.label) from None
        return io.BufferedReader(MemberStream(member, name, self.label), 1 << 20)

    def sha256(self, name: str) -> str:
        if name not in self._hashes:
            with self.open(name) as stream:
                self._hashes[name] = _sha256_of(stream)
        return self._hashes[name]

    def set_sha256(self, name: str, sha256: str) -> None:
        """Remember a member's SHA-256 computed elsewhere (when it was captured)."""
        self._hashes[name] = sha256
