"""The mechanics behind `bag.write_bag_zip` and `bag.sanitize_name`: name cleaning, deterministic zip entries, atomic output.

Invariants: every zip entry gets the same fixed metadata (time from the caller, Unix mode
0644, no extra fields beyond what zipfile needs for zip64), so the same inputs give the same
bytes; each payload stream is read once in 1 MiB chunks, hashed (SHA-256 and SHA-512) while
it is written, and must yield exactly its declared size; the zip is built in a temp file in the
destination folder, fsynced and moved into place, and deleted on any error (KeyboardInterrupt
included); without `overwrite` an existing file is never replaced, even one that appears
while the zip is being written.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._bagcheck import BAG_INFO, BAGIT_TXT, RAW_SIGNATURE, SSH_SIGNATURE, TAG_MANIFEST
from ._fs import fsync_dir
from .digest import HashLane, release_window
from .errors import EvidenceKitError, InputError, Problem, VerificationError
from .signing import SigningKey

if TYPE_CHECKING:
    from .bag import Payload

Progress = Callable[[int], None]
Stamp = tuple[int, int, int, int, int, int]
REPLACED = frozenset('%\\/<>:"|?*')
DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{digit}" for port in ("COM", "LPT") for digit in "123456789¹²³"]
)
_MAX_EXTENSION = 16  # bytes, with the dot, that truncation keeps


# -- names -------------------------------------------------------------------------------------------


def replaced(ch: str) -> bool:
    """Whether `sanitize_name` turns `ch` into `_`."""
    # Cc: C0/C1 controls (CR, LF, \x0b, \x0c, \x1c-\x1e, U+0085); Zl/Zp: U+2028/U+2029; Cs: lone surrogates
    return ch in REPLACED or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")


def trim(text: str) -> str:
    """Strip leading and trailing whitespace and trailing dots (Windows drops them)."""
    text = text.strip()
    while text != (shorter := text.rstrip(".").rstrip()):
        text = shorter
    return text


def _inside_cluster(text: str, index: int) -> bool:
    """Whether a cut before `text[index]` would split what a reader sees as one character."""
    before, after = text[index - 1], text[index]
    if "\u200d" in (before, after) or unicodedata.category(after) in ("Mn", "Mc", "Me"):
        return True  # zero-width joiner (emoji sequences), combining marks
    if "\ufe00" <= after <= "\ufe0f" or "\U0001f3fb" <= after <= "\U0001f3ff" or "\U000e0020" <= after <= "\U000e007f":
        return True  # variation selectors, skin tones, emoji tag sequences
    run = 0
    while (
        "\U0001f1e6" <= after <= "\U0001f1ff" and index > run and "\U0001f1e6" <= text[index - run - 1] <= "\U0001f1ff"
    ):
        run += 1
    return run % 2 == 1  # between the two regional indicators of a flag


def _cut(text: str, limit: int) -> str:
    """The longest prefix of `text` of at most `limit` UTF-8 bytes that splits no character."""
    end = len(text.encode("utf-8")[:limit].decode("utf-8", "ignore"))
    cut = end
    while 0 < cut < len(text) and _inside_cluster(text, cut):
        cut -= 1
    return text[:cut] if cut else text[:end]


def truncate(text: str, limit: int) -> str:
    """Cut `text` to `limit` UTF-8 bytes without splitting a character, keeping a short extension."""
    if len(text.encode("utf-8")) <= limit:
        return text
    stem, dot, extension = text.rpartition(".")
    suffix = (dot + extension).encode("utf-8")
    if stem and len(suffix) <= min(_MAX_EXTENSION, limit // 2) and not any(ch.isspace() for ch in extension):
        return _cut(stem, limit - len(suffix)) + dot + extension
    return trim(_cut(text, limit))


# -- zip entries ---------------------------------------------------------------------------------------


def zip_time(when: tuple[int, int, int, int, int, int]) -> Stamp:
    """A zip `date_time`, clamped to the years a zip can hold (1980-2107)."""
    if when[0] < 1980:
        return (1980, 1, 1, 0, 0, 0)
    if when[0] > 2107:
        return (2107, 12, 31, 23, 59, 58)
    return when


def zip_info(name: str, stamp: Stamp, compress_type: int) -> zipfile.ZipInfo:
    """A `ZipInfo` with fixed metadata, so the zip's bytes depend on nothing but the inputs."""
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.create_system = 3  # Unix, so external_attr holds mode bits on every platform
    info.external_attr = 0o100644 << 16
    info.compress_type = compress_type
    return info


def _write_payload(
    archive: zipfile.ZipFile,
    lane: HashLane,
    name: str,
    file: Payload,
    stamp: Stamp,
    zip64: int,
    progress: Progress | None,
) -> tuple[str, Callable[[], dict[str, str]], int]:
    """Write one stored entry; return its SHA-256, a call giving its SHA-512 (still being hashed), and its size."""
    try:
        source = file.open()
        size = file.size  # after `open`: a late file's bytes exist by then
    except OSError as exc:
        raise _unreadable(file, exc) from exc
    # payload is stored, not deflated: media is compressed already, and zip64 stays simple
    info = zip_info(name, stamp, zipfile.ZIP_STORED)
    with source, archive.open(info, "w", force_zip64=size >= zip64) as target:

        def write(buffer: bytearray, count: int, offset: int) -> None:
            if offset + count > size:
                raise _changed(file, size, "more")
            target.write(memoryview(buffer)[:count])

        try:  # SHA-512 (the slower) on the lane's thread; SHA-256, CRC-32 and the write here (two cores busy)
            digests, count, rest = lane.stream(source, inline=("sha256",), sink=write, progress=progress)
        except OSError as exc:
            raise _unreadable(file, exc) from exc
    if count != size:
        raise _changed(file, size, str(count))
    if file.sha256 is not None and digests["sha256"] != file.sha256:
        raise VerificationError(
            f"{file.path}: the stored copy changed: sha256 expected {file.sha256}, found {digests['sha256']}",
            [
                Problem(
                    "altered", "the stored copy changed", path=file.path, expected=file.sha256, found=digests["sha256"]
                )
            ],
        )
    return digests["sha256"], rest, size


def _changed(file: Payload, size: int, found: str) -> InputError:
    message = f"{file.path}: expected {size} bytes, found {found}: it changed while packaging"
    return InputError(message, path=file.path, hint="make sure nothing writes to it, then package again")


def _unreadable(file: Payload, exc: OSError) -> InputError:
    return InputError(f"{file.path}: cannot be read: {exc.strerror or exc}", path=file.path)


def write_zip(
    handle: IO[bytes],
    *,
    bag_name: str,
    payload: Sequence[Payload],
    info: Callable[[str], bytes],
    tag_files: dict[str, bytes],
    signer: SigningKey,
    namespace: str,
    stamp: Stamp,
    zip64: int,
    progress: Progress | None,
) -> str:
    """Write the whole bag zip to `handle`: payload (in the given order), tag files, tag manifest, signatures.

    `info(oxum)` gives bag-info.txt once the payload is written; returns the Payload-Oxum.
    """
    with zipfile.ZipFile(handle, "w") as archive, HashLane((("sha512",),)) as lane:
        written = [
            _write_payload(archive, lane, f"{bag_name}/data/{f.path}", f, stamp, zip64, progress) for f in payload
        ]
        sums = [(sha256, rest()["sha512"], size) for sha256, rest, size in written]
        listed = list(zip(payload, sums, strict=True))
        oxum = f"{sum(size for _, _, size in sums)}.{len(sums)}"
        tags = {
            "bagit.txt": BAGIT_TXT,
            BAG_INFO: info(oxum),
            "manifest-sha256.txt": "".join(f"{s256}  data/{f.path}\n" for f, (s256, _, _) in listed).encode(),
            "manifest-sha512.txt": "".join(f"{s512}  data/{f.path}\n" for f, (_, s512, _) in listed).encode(),
            **tag_files,
        }
        tag_manifest = "".join(f"{hashlib.sha256(tags[n]).hexdigest()}  {n}\n" for n in sorted(tags)).encode()
        tags[TAG_MANIFEST] = tag_manifest
        tags[SSH_SIGNATURE] = signer.sign_ssh(tag_manifest, namespace=namespace).encode("ascii")
        tags[RAW_SIGNATURE] = signer.sign_raw(tag_manifest)
        for name, data in tags.items():
            archive.writestr(zip_info(f"{bag_name}/{name}", stamp, zipfile.ZIP_DEFLATED), data)
    return oxum


# -- atomic output ---------------------------------------------------------------------------------------


def exists_error(out: Path) -> InputError:
    """The error for an output file that is already there."""
    return InputError("the output file already exists", path=out, hint="choose another name with --out, or delete it")


def _publish(tmp: Path, out: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)  # fails atomically if `out` exists
    except FileExistsError:
        raise exists_error(out) from None
    except OSError:  # no hard links on this file system (FAT, some shares): check, then rename
        if out.exists():
            raise exists_error(out) from None
        os.replace(tmp, out)
        return
    os.unlink(tmp)


class _WindowedWriter(io.RawIOBase):
    """A seekable write stream that pushes finished 64 MiB windows of the file to disk early.

    Seekable on purpose: `zipfile` then writes each entry's header, its bytes, and seeks back
    to put the real CRC-32 and sizes into the header, so entries need no data descriptor
    (which streaming readers refuse on stored entries: spec package §1), and the bytes are
    still read and written once. Windows already pushed out are dropped from the page cache.
    """

    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        self.position = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self.position = self.handle.seek(offset, whence)
        return self.position

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.handle.write(view)
        release_window(self.handle, self.position, len(view))
        self.position += len(view)
        return len(view)


def write_atomically(out: Path, write: Callable[[IO[bytes]], None], *, overwrite: bool) -> int:
    """Run `write` on a temp file beside `out`, fsync it, move it to `out`; return its size.

    On any error the temp file is deleted; an `OSError` becomes `EvidenceKitError` naming `out`.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise InputError(f"cannot create the file there: {exc.strerror or exc}", path=out) from exc
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb", buffering=0) as handle:
            write(_WindowedWriter(handle))  # type: ignore[arg-type]
            os.fsync(handle.fileno())
            size = handle.seek(0, os.SEEK_END)
        os.chmod(tmp, 0o644)
        _publish(tmp, out, overwrite=overwrite)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            hint = "check the free space and permissions of the output folder"
            raise EvidenceKitError(f"cannot write the file: {exc.strerror or exc}", path=out, hint=hint) from exc
        raise
    fsync_dir(out.parent)
    return size
