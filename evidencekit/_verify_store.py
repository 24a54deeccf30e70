"""Verification of the stored copies and transcripts: each one's digests against the signed
manifest, encrypted blobs without a key and their plaintext with one (spec: docs/spec/case-layout.md §1, §7).

Invariant: every problem is reported and the check goes on; a damaged copy is `altered`,
an absent one `missing`, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._agestream import HashingReader, decrypting
from ._source import CaseSource
from .digest import FileDigest, Progress, copy_and_hash
from .errors import (
    FormatError,
    Problem,
    SigningKeyError,
)
from .manifest import Manifest, is_encrypted

if TYPE_CHECKING:
    from .verify import VerificationReport


def check_items(
    src: CaseSource,
    manifest: Manifest,
    report: VerificationReport,
    progress: Progress | None,
    on_total: Callable[[int], None] | None,
    hash_objects: bool = True,
) -> None:
    report.items = len(manifest["items"])
    if on_total:
        stored = [item for item in manifest["items"] if item["storage"] == "stored"]
        on_total(sum(entry["size"] for entry in stored + manifest.get("derived", [])))
    for item in manifest["items"]:
        reason = src.excluded(item) if item["storage"] == "stored" else None
        if reason:
            report.problems.append(
                Problem("not-included", f"not in this package: {reason}", item=item["id"], expected=item["sha256"])
            )
            continue
        if item["storage"] == "hash-only":
            report.hash_only += 1
            report.problems.append(
                Problem(
                    "hash-only",
                    "only the hashes were kept (no copy), as asked at capture",
                    item=item["id"],
                    expected=item["sha256"],
                )
            )
            continue
        report.stored += 1
        _check_object(src, item, report, progress, hash_objects)
    for entry in manifest.get("derived", []):  # transcripts: checked like stored copies (spec §4.5)
        report.transcripts += 1
        _check_object(src, entry, report, progress, hash_objects)
    if src.sealed and is_encrypted(manifest) and not src.identities and hash_objects:
        report.problems.append(
            Problem(
                "encrypted-not-checked",
                "the case is encrypted: each stored blob was checked, their contents were not decrypted "
                "(give --identity to check them too)",
            )
        )


def _check_object(
    src: CaseSource, item: dict[str, Any], report: VerificationReport, progress: Progress | None, hash_objects: bool
) -> None:
    cached = src.cached_digest(item)
    if cached is not None:
        _compare_digest(item, *cached, report)
        return
    if src.sealed and "blob" in item:
        _check_sealed(src, item, report, progress, hash_objects)
        return
    opened = src.open_object(item)
    if opened is None:
        report.problems.append(_missing_copy(item))
        return
    relpath, stream = opened
    try:
        with stream:
            if not hash_objects:
                return
            digest = copy_and_hash(stream, where=relpath, progress=progress)
    except FormatError as exc:  # a damaged zip member: report it, never stop the check (spec package §5)
        report.problems.append(
            Problem(
                "altered",
                f"the stored copy cannot be read back: {exc.message}",
                item=item["id"],
                path=relpath,
                expected=item["sha256"],
            )
        )
        return
    _compare_digest(item, relpath, digest, report)


def _check_sealed(
    src: CaseSource, item: dict[str, Any], report: VerificationReport, progress: Progress | None, hash_objects: bool
) -> None:
    """An encrypted copy: its blob against `blob` and, with a key, its plaintext, in one read (spec case-layout §7.3)."""
    opened = src.open_object(item)
    if opened is None:
        report.problems.append(_missing_copy(item))
        return
    relpath, stream = opened
    with stream:
        if not hash_objects:
            return
        blob = HashingReader(stream, progress)
        plain = _decrypted_digest(blob, src.identities, relpath) if src.identities else None
        blob.drain()  # the rest, if the decryption stopped early (all of it without a key)
    blob_sha256 = blob.hasher.hexdigest()
    intact = blob_sha256 == item["blob"]["sha256"] and blob.size == item["blob"]["size"]
    if not intact:
        found = f"{blob_sha256} ({blob.size} bytes)"
        expected = f"{item['blob']['sha256']} ({item['blob']['size']} bytes)"
        report.problems.append(
            Problem("altered", "the stored (encrypted) copy differs", item["id"], relpath, expected, found)
        )
    if isinstance(plain, FileDigest):
        _compare_digest(item, relpath, plain, report)
    elif isinstance(plain, FormatError):
        report.problems.append(
            Problem("altered", f"the stored copy cannot be decrypted: {plain.message}", item["id"], relpath)
        )
    elif isinstance(plain, SigningKeyError) and intact:  # the blob is the one recorded: the key is wrong
        raise plain
    # a replaced blob that no key opens is reported above, as altered


def _decrypted_digest(
    blob: HashingReader, identities: Sequence[object], relpath: str
) -> FileDigest | FormatError | SigningKeyError:
    """The plaintext's digests, decrypted in a stream from `blob`; the error instead if it does not open."""
    try:
        with decrypting(Path(relpath), identities, source=blob) as plain:
            return copy_and_hash(plain, where=relpath)
    except (FormatError, SigningKeyError) as exc:
        return exc


def _missing_copy(item: dict[str, Any]) -> Problem:
    return Problem(
        "missing", "the stored copy is missing", item=item["id"], path=item["object"], expected=item["sha256"]
    )


def _compare_digest(item: dict[str, Any], relpath: str, digest: FileDigest, report: VerificationReport) -> None:
    for name in ("sha256", "sha1", "md5", "size"):
        expected, found = item[name], getattr(digest, name)
        if expected != found:
            report.problems.append(
                Problem(
                    "altered",
                    f"the stored copy's {name} differs",
                    item=item["id"],
                    path=relpath,
                    expected=str(expected),
                    found=str(found),
                )
            )
            return
