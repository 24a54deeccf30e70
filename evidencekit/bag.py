"""BagIt 1.0 bags in a zip: a streamed, deterministic, signed writer and a reader that never extracts.

Invariants (RFC 8493, plus what bagit.py, sha256sum, shasum and unzip need): one top folder
named after the bag. Payload paths pass `_fs.safe_relpath` and every segment is already
`sanitize_name`-clean, so no tool needs percent-encoding; two paths that collide after NFC
and case folding are refused. Tag files are UTF-8 with LF endings and no BOM; manifest lines
are `<hex>  <path>` (two spaces), sorted. The tag manifest lists every tag file but itself
and is signed twice, unlisted: SSHSIG (`ssh-keygen -Y verify`) and raw Ed25519 (`openssl
pkeyutl -rawin`). Writing reads each payload file once, hashing while it zips, into a temp
file that is fsynced and renamed, or deleted on any error; the same inputs give the same
bytes. Reading never extracts, never opens a hostile entry and reports every problem;
`unpack_bag` refuses a zip with any hostile entry before writing anything. This module
knows nothing about cases.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import IO, BinaryIO

from . import _bagwrite
from ._bagcheck import BAG_INFO, MANIFEST_NAME, SIGNATURE_NAME, BagReport
from ._bagcheck import check_bag as _check_bag
from ._bagsource import DAMAGED, FolderSource, Source, ZipSource, collision_key, extract_all, find_collisions
from ._bagsource import guarded_stream as _guarded_stream
from ._fs import fsync_dir, safe_relpath
from ._version import __version__
from .digest import file_sha256
from .errors import EvidenceKitError, FormatError, InputError, UnsafePathError
from .signing import SigningKey

__all__ = [
    "BAG_NAMESPACE",
    "ZIP64_THRESHOLD",
    "BagReader",
    "BagReport",
    "BagWritten",
    "LateFile",
    "PayloadFile",
    "open_bag",
    "sanitize_name",
    "unpack_bag",
    "write_bag_zip",
]

#: The SSHSIG namespace of the tag-manifest signature (`ssh-keygen -Y verify -n evidencekit`).
BAG_NAMESPACE = "evidencekit"
#: Payload files this large or larger get zip64 headers (2 GiB minus a margin; zipfile refuses to grow past 2 GiB without).
ZIP64_THRESHOLD = (1 << 31) - (16 << 20)
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._ -]*[A-Za-z0-9])?")

Progress = Callable[[int], None]


def sanitize_name(name: str, *, max_length: int = 120) -> str:
    """Return a file name safe for every tool and file system (one path segment).

    NFC; `% \\ / < > : " | ? *`, control characters and Unicode line separators become `_`;
    leading and trailing whitespace and trailing dots go; runs of `_` collapse; spaces inside,
    letters of every script and emoji stay. Windows device names (`CON`, `nul.txt`, ...) get a
    leading `_`. An empty result becomes `file`. The result is cut to `max_length` UTF-8 bytes
    without splitting a character (emoji sequences and combining marks included), keeping a
    short extension. Idempotent. Raises `ValueError` if `max_length` is below 16.
    """
    if max_length < 16:
        raise ValueError("max_length must be at least 16 bytes")
    text = "".join("_" if _bagwrite.replaced(ch) else ch for ch in unicodedata.normalize("NFC", name))
    text = re.sub("_{2,}", "_", _bagwrite.trim(text))
    text = _bagwrite.truncate(text, max_length) or "file"
    if text.split(".", 1)[0].rstrip().upper() in _bagwrite.DEVICES:
        text = _bagwrite.truncate(f"_{text}", max_length)
    return text


def is_portable_name(segment: str) -> bool:
    """Whether a file name is safe for every tool and file system as it is: what `sanitize_name`
    would keep (NFC, no replaced character, nothing to trim, not a Windows device name, at most
    255 UTF-8 bytes). Runs of `_`, which `sanitize_name` collapses for looks, are allowed."""
    return (
        bool(segment)
        and unicodedata.normalize("NFC", segment) == segment
        and not any(_bagwrite.replaced(ch) for ch in segment)
        and _bagwrite.trim(segment) == segment
        and len(segment.encode("utf-8", "surrogatepass")) <= 255
        and segment.split(".", 1)[0].rstrip().upper() not in _bagwrite.DEVICES
    )


def _check_relpath(path: str, what: str) -> None:
    safe_relpath(path)
    for segment in path.split("/"):
        if not is_portable_name(segment):
            hint = "pass each file name through evidencekit.bag.sanitize_name()"
            raise UnsafePathError(f"{what} {path!r}: {segment!r} is not a portable file name", hint=hint)


def _is_reserved(name: str) -> bool:
    lowered = name.lower()
    reserved = MANIFEST_NAME.fullmatch(lowered) or SIGNATURE_NAME.fullmatch(lowered)
    return lowered in ("bagit.txt", BAG_INFO) or reserved is not None


# -- writing -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PayloadFile:
    """One payload file to write: where it goes under `data/`, its size, and how to open it."""

    path: str
    """Relative to `data/`, POSIX, NFC, each segment `sanitize_name`-clean, e.g. `evidence/E0001_IMG 1234.jpg`."""
    size: int
    """The exact number of bytes `open()` yields; anything else is an error (the file changed)."""
    open: Callable[[], IO[bytes]]
    """Opens the content for reading; it is read once, in 1 MiB chunks, and closed."""
    sha256: str | None = None
    """When given, the content must have this SHA-256, or writing fails (`VerificationError`)."""


class LateFile:
    """A payload file whose bytes are still being made while the files before it are written.

    `make()` returns the bytes, waiting for them if need be (say, a future's `result`); the
    writer asks for them only when it reaches this file, so a late file should sort after the
    files whose writing it overlaps (a package's reports and index come after its evidence).
    An error raised by `make()` stops the writing, and no zip is left (as for any error).
    """

    __slots__ = ("_make", "path")
    sha256 = None

    def __init__(self, path: str, make: Callable[[], bytes]):
        self.path = path
        """Relative to `data/`, like `PayloadFile.path`."""
        self._make = make

    @property
    def size(self) -> int:
        """The byte count (waits for the bytes)."""
        return len(self._make())

    def open(self) -> IO[bytes]:
        """The bytes as a stream (waits for them)."""
        return io.BytesIO(self._make())


Payload = PayloadFile | LateFile


@dataclass(frozen=True)
class BagWritten:
    """The finished bag zip: where it is, its size and its Payload-Oxum, and (on demand) its SHA-256."""

    path: Path
    size: int
    payload_oxum: str

    @cached_property
    def sha256(self) -> str:
        """The SHA-256 of the file at `path`, read back on first access (writing does not hash the zip)."""
        return file_sha256(self.path)


def _checked_layout(
    bag_name: str, payload: Sequence[Payload], tag_files: Mapping[str, bytes]
) -> tuple[list[Payload], dict[str, bytes]]:
    if "/" in bag_name or sanitize_name(bag_name) != bag_name:
        hint = "use sanitize_name() for the bag name"
        raise InputError(f"the bag name {bag_name!r} is not a portable folder name", hint=hint)
    for file in payload:
        _check_relpath(file.path, "payload path")
        if isinstance(file, PayloadFile) and file.size < 0:
            raise ValueError(f"negative size for {file.path!r}")
    for name in tag_files:
        _check_relpath(name, "tag file")
        if collision_key(name).split("/")[0] == "data":
            raise UnsafePathError(f"tag file {name!r} is inside data/, where only payload goes")
        if _is_reserved(name):
            raise ValueError(f"tag file {name!r} is written by write_bag_zip itself")
    names = [f"data/{file.path}" for file in payload] + list(tag_files)
    collisions = find_collisions(names)
    if collisions:
        index, why = min(collisions.items())
        hint = "two files would overwrite each other where case or Unicode form is ignored; rename one"
        raise UnsafePathError(f"{names[index]!r} {why}", hint=hint)
    return sorted(payload, key=lambda file: file.path), dict(sorted(tag_files.items()))


def _bag_info(fields: Sequence[tuple[str, str]], oxum: str, when: datetime) -> bytes:
    lines = []
    for label, value in fields:
        if not _LABEL.fullmatch(label) or label.lower() in ("payload-oxum", "bagging-date"):
            raise ValueError(f"invalid or reserved bag-info label {label!r}")
        if any(_bagwrite.replaced(ch) and ch not in _bagwrite.REPLACED for ch in value):
            raise InputError(f"bag-info {label}: the value holds a line break or control character")
        lines.append(f"{label}: {value.strip()}")
    lines += [f"Payload-Oxum: {oxum}", f"Bagging-Date: {when.date().isoformat()}"]
    if not any(label.lower() == "bag-software-agent" for label, _ in fields):
        lines.append(f"Bag-Software-Agent: evidencekit {__version__}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_bag_zip(
    out: Path,
    *,
    bag_name: str,
    payload: Sequence[PayloadFile | LateFile],
    bag_info: Sequence[tuple[str, str]],
    tag_files: Mapping[str, bytes],
    signer: SigningKey,
    when: datetime,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> BagWritten:
    """Write a signed BagIt 1.0 bag as a zip at `out`, atomically and byte-for-byte reproducibly.

    `bag_info` fields come first, in order, then `Payload-Oxum`, `Bagging-Date` (the date of
    `when`, a timezone-aware datetime, whose wall-clock time also stamps every zip entry) and
    `Bag-Software-Agent` unless given. `tag_files` maps extra tag file names (relative to the
    bag top, outside `data/`) to bytes. `progress` is called with each chunk's byte count.

    Raises `UnsafePathError` for unsafe or colliding paths, `InputError` if a payload file
    cannot be read or changes while packaging, or if `out` exists (unless `overwrite`), and
    `EvidenceKitError` if the zip cannot be written. Nothing is left at `out` on failure.
    Deflated tag files are byte-identical only under the same zlib.
    """
    out = Path(out)
    if when.tzinfo is None:
        raise ValueError("`when` must be timezone-aware")
    files, tags = _checked_layout(bag_name, payload, tag_files)
    _bag_info(bag_info, "0.0", when)  # bad fields fail here, before anything is written
    oxum = ""
    if not overwrite and (out.exists() or out.is_symlink()):
        raise _bagwrite.exists_error(out)
    now = (when.year, when.month, when.day, when.hour, when.minute, when.second)

    def write(handle: IO[bytes]) -> None:
        nonlocal oxum
        oxum = _bagwrite.write_zip(
            handle,
            bag_name=bag_name,
            payload=files,
            info=lambda oxum: _bag_info(bag_info, oxum, when),
            tag_files=tags,
            signer=signer,
            namespace=BAG_NAMESPACE,
            stamp=_bagwrite.zip_time(now),
            zip64=ZIP64_THRESHOLD,
            progress=progress,
        )

    size = _bagwrite.write_atomically(out, write, overwrite=overwrite)
    return BagWritten(out, size, oxum)


# -- reading -----------------------------------------------------------------------------------------


class BagReader:
    """A bag opened for reading, zipped or unpacked; a context manager; never writes or extracts."""

    def __init__(self, source: Source):
        self._source = source
        self._names = set(source.names())
        self.bag_name = source.bag_name
        """The bag's top folder name."""
        self.label = source.label
        """The path the bag was opened from, for messages."""

    def __enter__(self) -> BagReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the zip file (a no-op for a folder)."""
        self._source.close()

    def names(self) -> list[str]:
        """Every readable file, relative to the bag top (`data/...`, `bagit.txt`, ...), sorted.

        Entries with unsafe or colliding names are left out; `check()` reports them.
        """
        return self._source.names()

    def read(self, relpath: str) -> bytes | None:
        """The whole file, or `None` if the bag has no such (safe) file. Raises `FormatError` if damaged."""
        if relpath not in self._names:
            return None
        with self.open(relpath) as stream:
            return stream.read()

    def open(self, relpath: str) -> BinaryIO:
        """A stream of the file. Raises `InputError` if absent; reads raise `FormatError` if damaged."""
        if relpath not in self._names:
            raise InputError(f"{relpath} is not in the bag", path=self.label)
        try:
            return _guarded_stream(self._source, relpath)
        except OSError as exc:
            raise InputError(f"{relpath}: cannot be read: {exc.strerror or exc}", path=self.label) from exc

    def check(self, *, progress: Progress | None = None) -> BagReport:
        """Check everything and return a `BagReport` listing every problem (never raises for problems).

        `report.signer` is the key of a valid, canonical tag-manifest signature; whether it
        is trusted is the caller's decision. `progress` is called with payload bytes hashed.
        """
        return _check_bag(self._source, namespace=BAG_NAMESPACE, progress=progress)


def open_bag(path: Path) -> BagReader:
    """Open a bag zip, or an unpacked bag folder (or a folder holding only one), for reading.

    Raises `InputError` if `path` does not exist or cannot be read, `FormatError` if it is
    not a zip with a single top folder, nor a bag folder.
    """
    path = Path(path)
    if path.is_dir():
        return BagReader(FolderSource.locate(path))
    if path.is_file():
        return BagReader(ZipSource(path))
    if path.exists():
        raise FormatError("neither a zip file nor a folder", path=path)
    raise InputError("no such file or folder", path=path)


def unpack_bag(path: Path, dest: Path) -> Path:
    """Extract a bag zip safely into the new folder `dest` (which becomes the bag top); return `dest`.

    Every entry is checked first: any unsafe name (`..`, absolute, drive letter, backslash),
    symbolic link, duplicate, case or Unicode collision, or entry outside the top folder makes
    it raise `UnsafePathError` before anything is written. Files go to a temp folder beside
    `dest`, which is renamed when complete and deleted on any failure. Raises `InputError` if
    `dest` exists, `FormatError` if the zip is not a bag zip or is damaged. Does not check
    the bag: call `open_bag(dest).check()`.
    """
    path, dest = Path(path), Path(dest)
    if dest.exists() or dest.is_symlink():
        raise InputError("the destination already exists", path=dest, hint="name a new folder, or delete this one")
    with contextlib.closing(ZipSource(path)) as source:
        if source.bad:
            first, count = source.bad[0], len(source.bad)
            message = f"refusing to unpack: {count} unsafe {'entry' if count == 1 else 'entries'}, e.g. {first.name!r} {first.why}"
            raise UnsafePathError(message, path=path, hint="the zip was not made by evidencekit, or was tampered with")
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
        except OSError as exc:
            raise InputError(f"cannot create the folder: {exc.strerror or exc}", path=dest) from exc
        try:
            extract_all(source, tmp)
            os.chmod(tmp, 0o755)
            os.rename(tmp, dest)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, DAMAGED):
                raise FormatError(f"the zip is damaged ({exc}); nothing was unpacked", path=path) from exc
            if isinstance(exc, OSError):
                raise EvidenceKitError(f"cannot unpack: {exc.strerror or exc}", path=dest) from exc
            raise
    fsync_dir(dest.parent)
    return dest
