"""Read-only access to the files of a bag, zipped or unpacked, with hostile entries set aside.

Invariants: nothing is extracted or written. `_fs.safe_relpath` alone decides whether a name
is safe. An entry whose name is unsafe, duplicated, colliding with another after NFC and case
folding (or naming both a file and a folder), a symbolic link or other special file, encrypted,
or outside the bag's single top folder is listed in `bad` and never opened; every other regular
file is reachable by its path relative to the bag top. zipfile's CRC-32 check is skipped only
for stored members opened with `open_to_hash`, whose digests the caller compares with a manifest
(spec package §5).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Protocol, cast

from ._fs import safe_relpath
from .errors import FormatError, InputError, UnsafePathError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK = 1 << 20
#: What zipfile raises when a member's stored bytes are damaged (bad CRC, bad deflate data, truncated).
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError)
#: A zip local file header (APPNOTE 4.3.7): signature, versions, flags, method, time, date, CRC, sizes, name and extra lengths.
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_BAG_MARKERS = re.compile(r"bagit\.txt|data|(tag)?manifest-[^/]+\.txt")


@dataclass(frozen=True, slots=True)
class BadEntry:
    """An entry that is never opened: its name as found (relative to the zip or bag top), and why."""

    name: str
    why: str


class Source(Protocol):
    """What the bag checker reads: regular files by bag-relative path, and the entries set aside."""

    bag_name: str
    label: str
    bad: list[BadEntry]

    def names(self) -> list[str]: ...

    def size(self, relpath: str) -> int: ...

    def open(self, relpath: str) -> BinaryIO: ...

    def open_to_hash(self, relpath: str) -> BinaryIO:
        """Like `open`, for bytes whose digests the caller compares with a manifest (no CRC-32 check)."""
        ...

    def close(self) -> None: ...


def collision_key(path: str) -> str:
    """The form under which two paths name the same file on some file system (NFC, case-folded)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", path).casefold())


def find_collisions(paths: Sequence[str], folders: Iterable[str] = ()) -> dict[int, str]:
    """Return {index: why} for each path that another shadows: same key, or a file named like a folder."""
    groups: dict[str, list[int]] = {}
    for index, path in enumerate(paths):
        groups.setdefault(collision_key(path), []).append(index)
    found: dict[int, str] = {}
    for members in groups.values():
        for index in members if len(members) > 1 else ():
            others = sorted({paths[i] for i in members} - {paths[index]})
            found[index] = f"collides with {others[0]!r}" if others else f"appears {len(members)} times"
    dirs = {collision_key(folder.rstrip("/")) for folder in folders}
    for path in paths:
        parts = path.split("/")
        dirs.update(collision_key("/".join(parts[:end])) for end in range(1, len(parts)))
    for index, path in enumerate(paths):
        if collision_key(path) in dirs:
            found[index] = "is both a file and a folder"
    return found


def _zip_entry_problem(info: zipfile.ZipInfo, count: int) -> str | None:
    if count > 1:
        return f"appears {count} times in the zip"
    if stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "is a symbolic link or other special file"
    if info.flag_bits & 0x1:
        return "is encrypted"
    # orig_filename: zipfile cuts names at NUL and, on Windows, turns backslashes into "/"
    name = info.orig_filename
    try:
        safe_relpath(name[:-1] if name.endswith("/") else name)
    except UnsafePathError as exc:
        return exc.message
    return None


def _top_folder(names: list[str], files: set[str]) -> str:
    tops = {name.split("/", 1)[0] for name in names if "/" in name}
    if len(tops) == 1:
        return tops.pop()
    holders = sorted(top for top in tops if f"{top}/bagit.txt" in files)
    if len(holders) == 1:  # e.g. a bag re-zipped on macOS, beside a __MACOSX folder
        return holders[0]
    hint = "a bag zip holds one top folder, with bagit.txt and data/ inside"
    if not tops:
        raise FormatError("the zip holds no bag folder", hint=hint)
    raise FormatError(f"the zip has {len(tops)} top folders ({', '.join(sorted(tops))}), not one bag", hint=hint)


class ZipSource:
    """A bag inside a zip file, read member by member (never extracted)."""

    def __init__(self, path: Path):
        self.label = str(path)
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, ValueError, EOFError):
            raise FormatError("not a zip file, or a damaged one", path=path) from None
        except OSError as exc:
            raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
        try:
            self._sort(self._zip.infolist())
        except BaseException:
            self._zip.close()
            raise

    def _sort(self, infos: list[zipfile.ZipInfo]) -> None:
        counts = Counter(info.orig_filename for info in infos)
        self.bad: list[BadEntry] = []
        good: list[zipfile.ZipInfo] = []
        for info in infos:
            why = _zip_entry_problem(info, counts[info.orig_filename])
            if why:
                self.bad.append(BadEntry(info.orig_filename, why))
            else:
                good.append(info)
        names = [info.filename for info in good]
        self.bag_name = top = _top_folder(names, {info.filename for info in good if not info.is_dir()})
        files: list[zipfile.ZipInfo] = []
        folders: list[str] = []
        for info in good:
            if not info.filename.startswith(f"{top}/"):
                self.bad.append(BadEntry(info.filename, "is outside the bag's top folder"))
            elif info.is_dir():
                folders.append(info.filename)
            else:
                files.append(info)
        collisions = find_collisions([info.filename for info in files], folders)
        self.bad += [BadEntry(files[index].filename, why) for index, why in sorted(collisions.items())]
        self._files = {
            info.filename[len(top) + 1 :]: info for index, info in enumerate(files) if index not in collisions
        }

    def names(self) -> list[str]:
        return sorted(self._files)

    def size(self, relpath: str) -> int:
        return self._files[relpath].file_size

    def open(self, relpath: str) -> BinaryIO:
        return cast(BinaryIO, self._zip.open(self._files[relpath]))

    def open_to_hash(self, relpath: str) -> BinaryIO:
        """A stored member read straight from the zip file, without zipfile's copies and CRC-32 check.

        Only for bytes whose SHA-256 or SHA-512 the caller compares with a manifest: that
        comparison finds every change the CRC-32 would (spec package §5). Deflated members
        (tag files) go through zipfile as usual.
        """
        info = self._files[relpath]
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            return self.open(relpath)
        fd = self._zip.fp.fileno()  # type: ignore[union-attr]
        return cast(BinaryIO, _StoredMember(fd, _data_offset(fd, info), info.file_size))

    def close(self) -> None:
        self._zip.close()


def _data_offset(fd: int, info: zipfile.ZipInfo) -> int:
    """Where a member's bytes start, after its local header, which must name the same entry."""
    header = os.pread(fd, _LOCAL_HEADER.size, info.header_offset)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"{info.orig_filename}: bad local header")
    fields: tuple[int, ...] = _LOCAL_HEADER.unpack(header)[-2:]
    name_length, extra_length = fields
    start = info.header_offset + _LOCAL_HEADER.size
    name = os.pread(fd, name_length, start).decode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace")
    if name != info.orig_filename:
        raise zipfile.BadZipFile(f"{info.orig_filename}: the local header names {name!r}")
    return start + name_length + extra_length


class _StoredMember(io.RawIOBase):
    """`size` bytes of an open file from `start`, read with `pread` into the caller's buffer (the file offset is untouched)."""

    def __init__(self, fd: int, start: int, size: int):
        self._fd, self._offset, self._left = fd, start, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")[: self._left]
        if not view:
            return 0
        if hasattr(os, "preadv"):
            count = os.preadv(self._fd, [view], self._offset)
        else:
            data = os.pread(self._fd, len(view), self._offset)
            count = len(data)
            view[:count] = data
        if not count:
            raise EOFError("the zip file ends inside this member")
        self._offset += count
        self._left -= count
        return count


def _disk_entry_problem(entry: os.DirEntry[str], relpath: str) -> str | None:
    if entry.is_symlink():
        return "is a symbolic link"
    if not (entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False)):
        return "is not a regular file or folder"
    try:
        relpath.encode("utf-8")
    except UnicodeEncodeError:
        return "has a name that is not valid UTF-8"
    try:
        safe_relpath(relpath)
    except UnsafePathError as exc:
        return exc.message
    return None


def looks_like_bag(folder: Path) -> bool:
    """Whether a folder holds bagit.txt, data/ or a manifest (a bag, perhaps a damaged one)."""
    try:
        with os.scandir(folder) as entries:
            return any(_BAG_MARKERS.fullmatch(entry.name) for entry in entries)
    except OSError as exc:
        raise InputError(f"cannot list the folder: {exc.strerror or exc}", path=folder) from None


class FolderSource:
    """An unpacked bag folder. Names are matched in NFC, so a bag unpacked on macOS (NFD) still checks."""

    def __init__(self, root: Path):
        self.root = root
        self.label = str(root)
        self.bag_name = root.name
        self.bad: list[BadEntry] = []
        found: list[tuple[str, str, str, int]] = []  # (NFC relpath, name as on disk, path, size)
        stack = [(root, "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
            except OSError as exc:
                raise InputError(f"cannot list the folder: {exc.strerror or exc}", path=folder) from None
            for entry in entries:
                relpath = unicodedata.normalize("NFC", prefix + entry.name)
                why = _disk_entry_problem(entry, relpath)
                if why:
                    self.bad.append(BadEntry(prefix + entry.name, why))
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), relpath + "/"))
                else:
                    size = entry.stat(follow_symlinks=False).st_size
                    found.append((relpath, prefix + entry.name, entry.path, size))
        collisions = find_collisions([relpath for relpath, _, _, _ in found])
        self.bad += [BadEntry(found[index][1], why) for index, why in sorted(collisions.items())]
        self._files = {rel: (disk, size) for i, (rel, _, disk, size) in enumerate(found) if i not in collisions}

    @classmethod
    def locate(cls, path: Path) -> FolderSource:
        """The bag in `path`: the folder itself, or its only entry when that is a bag folder."""
        if looks_like_bag(path):
            return cls(path)
        entries = list(os.scandir(path))
        if len(entries) == 1 and entries[0].is_dir(follow_symlinks=False) and looks_like_bag(Path(entries[0].path)):
            return cls(Path(entries[0].path))
        raise FormatError("not a bag folder: no bagit.txt, data/ or manifest here", path=path)

    def names(self) -> list[str]:
        return sorted(self._files)

    def size(self, relpath: str) -> int:
        return self._files[relpath][1]

    def open_to_hash(self, relpath: str) -> BinaryIO:
        return self.open(relpath)

    def open(self, relpath: str) -> BinaryIO:
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self._files[relpath][0], flags)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise InputError("is no longer a regular file", path=relpath)
        return os.fdopen(fd, "rb")

    def close(self) -> None:
        return None


class MemberStream(io.RawIOBase):
    """A zip member stream whose damage (bad header or CRC, truncation) raises `FormatError`
    naming the member (`where`) and the zip (`label`). Seekable when the member is."""

    def __init__(self, inner: IO[bytes], where: str, label: str):
        self._inner, self._where, self._label = inner, where, label

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._inner.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._inner.seek(offset, whence)
        except DAMAGED as exc:
            raise self._damaged(exc) from None

    def tell(self) -> int:
        return self._inner.tell()

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._inner.read(len(view))
        except DAMAGED as exc:
            raise self._damaged(exc) from None
        view[: len(data)] = data
        return len(data)

    def _damaged(self, exc: BaseException) -> FormatError:
        return FormatError(f"{self._where}: damaged in the zip ({exc})", path=self._label)

    def close(self) -> None:
        self._inner.close()
        super().close()


def guarded_stream(source: Source, relpath: str) -> BinaryIO:
    """Open `relpath`; for a zip, damage found while reading raises `FormatError` instead of zipfile's errors."""
    try:
        stream = source.open(relpath)
    except DAMAGED as exc:  # zipfile checks the local header on open
        raise FormatError(f"{relpath}: damaged in the bag ({exc})", path=source.label) from None
    if not isinstance(source, ZipSource):
        return stream
    return cast(BinaryIO, io.BufferedReader(MemberStream(stream, relpath, source.label), CHUNK))


def extract_all(source: ZipSource, root: Path) -> None:
    """Copy every file of a zip bag under the empty folder `root` (names were checked when it was opened)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for name in source.names():
        target = root.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open(name) as stream, os.fdopen(os.open(target, flags, 0o644), "wb") as copy:
            shutil.copyfileobj(stream, copy, CHUNK)
