"""Bring an interrupted case back to a verifying state without losing any stored file.

Invariants: recover never deletes a stored object and never rewrites history: it adopts
what the interrupted capture saved (from the journal, or objects found in the store with
no record), removes only unrecorded partial copies in `tmp/`, and signs a new manifest
with a `recover` custody record that says exactly what it did. It refuses to run on a
case whose custody chain or items show tampering: that is for `verify` to report.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import _journal
from . import case as layout
from ._content import blob_digest, need_key, open_content, read_content
from ._derived import apply_derived
from ._fs import safe_relpath
from ._store import discard
from ._time import stamp
from .capture import apply_entries
from .case import Case, leftovers, manifest_sha256
from .custody import check_log, read_lines
from .digest import SMALL_FILE, FileDigest, copy_and_hash, hash_file
from .encryption import identity_from_signing_key
from .errors import CaseStateError, EvidenceKitError, SigningKeyError
from .imaging import analyze_image
from .manifest import Manifest, is_encrypted, object_path, parse_manifest
from .media import IMAGE_TYPES, SNIFF_BYTES, sniff_media_type
from .signing import SigningKey, verify_ssh_signature


@dataclass
class RecoverResult:
    """What `recover()` did."""

    adopted: list[dict[str, Any]] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)  # encrypted objects no given key opens: left, not adopted
    partials_removed: int = 0
    torn_lines: int = 0
    resigned: bool = False
    custody_seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return {
            "adopted": self.adopted,
            "transcripts": self.transcripts,
            "orphans": self.orphans,
            "locked": self.locked,
            "partials_removed": self.partials_removed,
            "torn_lines": self.torn_lines,
            "resigned": self.resigned,
            "custody_seq": self.custody_seq,
        }


def recover(
    case: Case | str | os.PathLike[str],
    *,
    key: SigningKey,
    identities: Sequence[object] = (),
    now: datetime | None = None,
) -> RecoverResult:
    """Finish an interrupted capture or commit, then sign and log the recovered state.

    In an encrypted case, objects no record names are decrypted in a stream with
    `identities` (by default `key` itself) to check them against their names before they
    are adopted; those none opens stay in place, listed in `.locked` (spec case-layout §5).
    Raises `CaseStateError` when the custody log is broken or the manifest unreadable
    (tampering or damage that recover must not paper over).
    """
    case = Case.coerce(case)
    result = RecoverResult()
    with case.lock():
        manifest = _load_checked(case)
        base, entries, result.torn_lines = _journal.read_entries(case)
        if base != manifest["revision"]:
            entries = []  # spec case-layout §5: the manifest already holds this journal's entries
        entries = [e for e in entries if _entry_intact(case, e)]
        keys = identities or ([identity_from_signing_key(key)] if is_encrypted(manifest) else [])
        entries += _orphan_entries(case, manifest, entries, _Adopter(key, keys, now), result)
        result.adopted = apply_entries(manifest, entries)
        result.transcripts = [apply_derived(manifest, e)["id"] for e in entries if e["kind"] == "derived"]
        result.partials_removed = _remove_partials(case) + _remove_stray_derived(case, manifest)
        if not _needs_commit(case, manifest, result):
            _journal.clear(case)
            return result  # nothing was interrupted: the case is left as it is
        result.resigned = True
        details = {
            "adopted": len(result.adopted),
            "transcripts": result.transcripts,
            "orphans": result.orphans,
            "partials_removed": result.partials_removed,
            "torn_journal_lines": result.torn_lines,
        }
        case.commit(
            manifest,
            key=key,
            action="recover",
            items=[a["id"] for a in result.adopted],
            note="recovered after an interrupted command",
            details=details,
            now=now,
        )
        _journal.clear(case)
        result.custody_seq = case.last_record().seq  # type: ignore[union-attr]
    return result


def _needs_commit(case: Case, manifest: Manifest, result: RecoverResult) -> bool:
    last = case.last_record()
    consistent = (
        last is not None
        and manifest_sha256(case.path(layout.MANIFEST).read_bytes()) == last.data["manifest_sha256"]
        and manifest["revision"] == last.data["manifest_revision"]
    )
    return bool(
        result.adopted
        or result.transcripts
        or result.partials_removed
        or result.torn_lines
        or not consistent
        or _journal.pending(case)
        or not _signature_ok(case)
    )


def _signature_ok(case: Case) -> bool:
    try:
        data = case.path(layout.MANIFEST).read_bytes()
        verify_ssh_signature(data, case.path(layout.SIGNATURE).read_bytes(), namespace=layout.MANIFEST_NAMESPACE)
        return case.path(layout.RAW_SIGNATURE).exists()
    except (OSError, EvidenceKitError):
        return False


def _load_checked(case: Case) -> Manifest:
    path = case.path(layout.CUSTODY)
    if not path.exists() or not read_lines(path):
        raise CaseStateError(
            "the case has no custody log: its creation was interrupted",
            path=case.root,
            hint="nothing was captured yet: delete this folder and run `evidencekit init` again",
        )
    records, problems = check_log(read_lines(path), path=layout.CUSTODY)
    if problems:
        raise CaseStateError(
            f"the custody log is damaged ({problems[0].message}); recover will not change it",
            path=path,
            hint="run `evidencekit verify` to see every problem",
        )
    data = case.path(layout.MANIFEST).read_bytes()
    manifest = parse_manifest(data, path=layout.MANIFEST)
    if manifest["revision"] not in (records[-1].data["manifest_revision"], records[-1].data["manifest_revision"] + 1):
        raise CaseStateError(
            "the manifest's revision does not follow the custody log; recover will not sign it",
            path=case.path(layout.MANIFEST),
            hint="run `evidencekit verify` to see every problem",
        )
    return manifest


def _entry_intact(case: Case, entry: dict[str, Any]) -> bool:
    if entry.get("kind") not in ("derived", "file") or (entry["kind"] == "file" and entry.get("storage") != "stored"):
        return entry.get("kind") in ("file", "link")
    path = case.root / safe_relpath(str(entry.get("object")))
    if not path.is_file():
        return False
    if "blob" in entry:  # encrypted: the blob as written, which needs no key (spec case-layout §5)
        return bool(blob_digest(path) == entry["blob"])
    return hash_file(path).sha256 == str(entry["sha256"])


@dataclass(frozen=True)
class _Adopter:
    """Who adopts orphan objects, with which keys to open encrypted ones, and when."""

    key: SigningKey
    identities: Sequence[object]
    now: datetime | None


def _orphan_entries(
    case: Case,
    manifest: Manifest,
    entries: list[dict[str, Any]],
    adopter: _Adopter,
    result: RecoverResult,
) -> list[dict[str, Any]]:
    known = {item["sha256"] for item in manifest["items"]} | {e.get("sha256") for e in entries}
    out = []
    for path in sorted(case.path(layout.OBJECTS).glob("sha256/*/*")):
        if path.name in known:
            continue
        relpath = path.relative_to(case.root).as_posix()
        try:
            digest, head, source = _read_orphan(case, path, is_encrypted(manifest), adopter.identities)
        except SigningKeyError:
            result.locked.append(relpath)  # encrypted, and no given key opens it: left for a later recover
            continue
        except EvidenceKitError:
            digest = None
        if digest is None or digest.sha256 != path.name or object_path(path.name) != relpath:
            result.orphans.append(relpath)
            continue
        entry = _orphan_entry(case, path, digest.to_json(), head, source, adopter)
        if is_encrypted(manifest):
            entry["blob"] = blob_digest(path)
        out.append(entry)
    return out


def _read_orphan(
    case: Case, path: Path, encrypted: bool, identities: Sequence[object]
) -> tuple[FileDigest, bytes, bytes | Path]:
    """An orphan's plaintext digests, first bytes, and what to analyse (decrypted in memory if encrypted)."""
    if not encrypted:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
        return hash_file(path), head, path
    relpath = path.relative_to(case.root).as_posix()
    entry: dict[str, Any] = {"object": relpath, "blob": {}}
    if not identities:
        raise need_key(relpath)
    with open_content(case.root, entry, identities) as stream:
        digest = copy_and_hash(stream, where=relpath)
    data = read_content(case.root, entry, identities) if digest.size <= SMALL_FILE else b""
    return digest, data[:SNIFF_BYTES], data


def _orphan_entry(
    case: Case, path: Path, digest: dict[str, Any], head: bytes, source: bytes | Path, adopter: _Adopter
) -> dict[str, Any]:
    key, now = adopter.key, adopter.now
    media_type = sniff_media_type(head)
    analysis = {"status": "not-applicable"}
    if media_type in IMAGE_TYPES:
        analysis = (
            analyze_image(source, media_type=media_type)
            if source
            else {"status": "failed", "reason": "too large to analyse from memory"}
        )
    relpath = path.relative_to(case.root).as_posix()
    sighting = {
        "captured": stamp(now),
        "by": {"name": key.name, "fingerprint": key.public.fingerprint},
        "name": path.name,
        "path": relpath,
        "absolute": str(path),
        "recovered": True,
        "note": "found in the store after an interrupted capture; where it came from was not recorded",
    }
    return {
        "kind": "file",
        **digest,
        "media_type": media_type,
        "storage": "stored",
        "object": relpath,
        "analysis": analysis,
        "sighting": sighting,
    }


def _remove_stray_derived(case: Case, manifest: Manifest) -> int:
    """Delete derived files (transcripts) that no manifest entry names: an interrupted capture
    wrote them and they are made again by capturing the export again (never evidence)."""
    named = {entry["object"] for entry in manifest.get("derived", [])}
    stray = [p for p in sorted(case.path(layout.DERIVED).glob("*")) if p.relative_to(case.root).as_posix() not in named]
    for path in stray:
        discard(path)
    return len(stray)


def _remove_partials(case: Case) -> int:
    """Delete unfinished copies in tmp/ and temp files of interrupted atomic writes (never evidence)."""
    found = leftovers(case)
    for path in found:
        discard(path)
    return len(found)
