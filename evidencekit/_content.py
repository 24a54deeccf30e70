"""The one way to write and read a case's stored content, encrypted at rest or not
(spec: docs/spec/case-layout.md §7, docs/spec/manifest.md §3.2, §4).

Invariants: every reader of a stored copy or a transcript goes through `open_content`, which
decrypts in a stream when the entry has a `blob`; plaintext of an encrypted case exists only
in memory, never in a file; an encrypted copy is read back and its SHA-256 compared with the
hash of the ciphertext written before it is placed; the same content is placed once, and a
second copy of it takes the digest of the blob already there.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import pyrage  # type: ignore[import-untyped]

from ._agestream import EncryptingWriter, Hashing, decrypting
from ._fs import removing_on_error, safe_relpath
from ._store import discard, new_temp, place
from .digest import ALGORITHMS, FileDigest, Progress, file_sha256
from .encryption import parse_recipient, recipient_line
from .errors import InputError, SigningKeyError
from .manifest import ENCRYPTION_FORMAT, Manifest, is_encrypted, object_path
from .signing import SigningKey

T = TypeVar("T")
_PLACE_LOCK = threading.Lock()  # capture threads placing the same content: one blob wins, both record it
_REREAD = "the disk or memory may be failing; capture to another drive"


def encryption_header(key: SigningKey, extra: Sequence[str] = ()) -> dict[str, Any]:
    """The case header's `encryption` for a case owned by `key` with further `extra` recipients.

    Raises `InputError` for a recipient that is not an age X25519 or ssh-ed25519 public key.
    """
    recipients = [key.public.openssh()]
    for text in extra:
        value = recipient_text(text)
        if value not in recipients:
            recipients.append(value)
    return {"format": ENCRYPTION_FORMAT, "recipients": recipients}


def recipient_text(text: str) -> str:
    """A recipient as the header stores it: `age1...` or `ssh-ed25519 AAAA...` without comment."""
    value = recipient_line(text)  # checked, with the helpful errors; a file gives its one line
    if value.startswith("ssh-ed25519 "):
        return " ".join(value.split()[:2])
    return value


def case_recipients(manifest: Manifest) -> tuple[object, ...]:
    """The pyrage recipients new content of this case is encrypted to; `()` for a plain case."""
    if not is_encrypted(manifest):
        return ()
    return tuple(parse_recipient(text) for text in manifest["case"]["encryption"]["recipients"])


def need_key(where: str | None = None) -> SigningKeyError:
    """The error for reading an encrypted case's content without a key (exit 3)."""
    return SigningKeyError(
        "this case is encrypted at rest: reading its stored copies and transcripts needs a key",
        path=where,
        hint="pass --identity key:NAME (the case owner's evidencekit key) or an age identity file",
    )


def open_content(root: Path, entry: dict[str, Any], identities: Sequence[object] = ()) -> IO[bytes]:
    """Open the plaintext of a stored item or derived entry for reading (close it after use).

    Decrypts in a stream when the entry has a `blob`. Raises `SigningKeyError` when the case
    is encrypted and no identity is given (or none opens it), `FormatError` when reading a
    blob that does not authenticate, and `InputError` if the file cannot be opened.
    """
    path = root / safe_relpath(entry["object"], root)
    if "blob" not in entry:
        try:
            return open(path, "rb")  # noqa: SIM115 - the caller closes it
        except OSError as exc:
            raise InputError(f"cannot read the stored copy: {exc.strerror or exc}", path=path) from None
    if not identities:
        raise need_key(entry["object"])
    return decrypting(path, identities)


def read_content(root: Path, entry: dict[str, Any], identities: Sequence[object] = ()) -> bytes:
    """The whole plaintext of a stored item or derived entry, in memory (for small files)."""
    with open_content(root, entry, identities) as stream:
        return stream.read()


def content_source(root: Path, entry: dict[str, Any], identities: Sequence[object] = ()) -> bytes | Path:
    """What an image decoder should read: the stored file itself, or an encrypted copy's plaintext in memory."""
    if "blob" in entry:
        return read_content(root, entry, identities)
    return root / safe_relpath(entry["object"], root)


def blob_digest(path: Path) -> dict[str, Any]:
    """`{"sha256", "size"}` of a file as stored (an age blob)."""
    return {"sha256": file_sha256(path), "size": os.stat(path).st_size}


def seal_bytes(case_root: Path, data: bytes, recipients: Sequence[object], where: str) -> tuple[Path, dict[str, Any]]:
    """Encrypt `data` into a checked temp copy in the case's `tmp/`; return it and its blob digest."""
    try:
        sealed = pyrage.encrypt(data, list(recipients))
    except pyrage.EncryptError as exc:
        raise InputError(f"cannot encrypt: {exc}", path=where) from None
    blob = {"sha256": hashlib.sha256(sealed).hexdigest(), "size": len(sealed)}
    temp = new_temp(case_root)
    with removing_on_error(temp):
        with open(temp, "wb", buffering=0) as out:
            out.write(sealed)
        _check_written(temp, blob, where)
    return temp, blob


def seal_stream(
    case_root: Path, src: Any, recipients: Sequence[object], where: str, progress: Progress | None = None
) -> tuple[FileDigest, Path, dict[str, Any]]:
    """Encrypt a stream into a checked temp copy while hashing its plaintext (memory stays flat).

    Returns the plaintext digests, the temp copy and its blob digest.
    """
    reader = _HashingReader(src, progress)
    temp = new_temp(case_root)
    with removing_on_error(temp):
        with open(temp, "wb") as out:
            sealed = Hashing(out)
            try:
                pyrage.encrypt_io(reader, sealed, list(recipients))
            except (pyrage.EncryptError, OSError) as exc:
                raise InputError(f"cannot read and encrypt the file: {exc}", path=where) from None
        blob = {"sha256": sealed.hashers["sha256"].hexdigest(), "size": sealed.size}
        _check_written(temp, blob, where)
    return reader.digest(), temp, blob


def seal_written(
    temp: Path, recipients: Sequence[object], fill: Callable[[IO[bytes]], T], where: str
) -> tuple[T, FileDigest, dict[str, Any]]:
    """Let `fill` write plaintext that lands encrypted in `temp`; return its result, digests and blob."""
    with open(temp, "wb") as out:
        writer = EncryptingWriter(out, recipients, ALGORITHMS)
        try:
            result = fill(writer)  # type: ignore[arg-type]
            writer.finish()
        finally:
            writer.close()
    plain = writer.plain
    digest = _digest(plain.hashers, plain.size)
    blob = {"sha256": writer.sealed.hashers["sha256"].hexdigest(), "size": writer.sealed.size}
    _check_written(temp, blob, where)
    return result, digest, blob


def _check_written(temp: Path, blob: dict[str, Any], where: str) -> None:
    if blob_digest(temp) != blob:  # spec case-layout §7.2: read back, compare with what was written
        raise InputError("the encrypted copy in the case does not read back identical", path=where, hint=_REREAD)


def place_sealed(
    case_root: Path, temp: Path, sha256: str, blob: dict[str, Any], *, relpath: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Place an encrypted temp copy under its plaintext name; return the path and the stored blob's digest.

    If that content is already stored, the temp copy is dropped and the digest of the blob
    already there is returned (age encryption is randomised, so the two blobs differ).
    """
    relpath = relpath or object_path(sha256)
    with _PLACE_LOCK:
        if (case_root / relpath).exists():
            discard(temp)
            return relpath, blob_digest(case_root / relpath)
        return place(case_root, temp, sha256, relpath=relpath), blob


class _HashingReader:
    """Wraps a source stream: hashes with every algorithm what pyrage reads from it."""

    def __init__(self, src: Any, progress: Progress | None):
        self.src = src
        self.progress = progress
        self.hashers = {name: hashlib.new(name) for name in ALGORITHMS}
        self.size = 0

    def read(self, count: int = -1) -> bytes:
        data: bytes = self.src.read(count)
        for hasher in self.hashers.values():
            hasher.update(data)
        self.size += len(data)
        if self.progress and data:
            self.progress(len(data))
        return data

    def digest(self) -> FileDigest:
        return _digest(self.hashers, self.size)


def _digest(hashers: dict[str, Any], size: int) -> FileDigest:
    return FileDigest(hashers["sha256"].hexdigest(), hashers["sha1"].hexdigest(), hashers["md5"].hexdigest(), size)
