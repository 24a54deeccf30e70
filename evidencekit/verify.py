"""Check a case: every stored file, the manifest signatures, the custody chain.

Invariants: verification only reads; it reports every problem it finds, never only the
first; a good signature is kept apart from trust in its signer (trust is an explicit
input, keyed by fingerprint); `verify()` returns a report only when nothing fails, and
raises `VerificationError` carrying the same report otherwise (spec: docs/spec/custody-log.md §6, docs/spec/case-layout.md §1).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import case as layout
from ._fs import is_atomic_leftover
from ._source import CaseSource, FolderSource
from ._verify_store import check_items
from .case import Case, allowed_signers_bytes, ensure_consistent, expected_key_files, key_file_stem
from .custody import CustodyRecord, check_log, split_lines
from .digest import Progress
from .errors import (
    FAILING_KINDS,
    BadSignatureError,
    EvidenceKitError,
    FormatError,
    Problem,
    VerificationError,
)
from .handover import receipt_problems
from .manifest import Manifest, parse_manifest
from .signing import PublicKey, SigningKey, is_canonical_ssh_signature, verify_raw_signature, verify_ssh_signature


@dataclass
class VerificationReport:
    """The outcome of `verify()`: what was checked, who signed, and every problem and notice."""

    case: str
    case_id: str | None = None
    items: int = 0
    stored: int = 0
    transcripts: int = 0
    hash_only: int = 0
    custody_records: int = 0
    signers: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem of a failing kind was found."""
        return not self.failures

    @property
    def failures(self) -> list[Problem]:
        """The problems that make verification fail."""
        return [p for p in self.problems if p.kind in FAILING_KINDS]

    @property
    def notices(self) -> list[Problem]:
        """What is reported without failing (hash-only items, unpinned signers)."""
        return [p for p in self.problems if p.kind not in FAILING_KINDS]

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (schema in docs/volunteers.md)."""
        return {
            "case": self.case,
            "case_id": self.case_id,
            "ok": self.ok,
            "items": self.items,
            "stored": self.stored,
            "transcripts": self.transcripts,
            "hash_only": self.hash_only,
            "custody_records": self.custody_records,
            "signers": self.signers,
            "problems": [p.to_json() for p in self.failures],
            "notices": [p.to_json() for p in self.notices],
        }


def parse_trust(values: Iterable[str]) -> set[str]:
    """Turn `--trust` values (fingerprints `SHA256:…` or public-key files) into fingerprints."""
    out = set()
    for value in values:
        if value.startswith("SHA256:"):
            out.add(value)
        else:
            out.add(PublicKey.from_file(value).fingerprint)
    return out


def verify(
    case: Case | str | os.PathLike[str],
    *,
    trusted_keys: Iterable[str] = (),
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    raise_on_failure: bool = True,
    record_key: SigningKey | None = None,
    identities: Sequence[object] = (),
    hash_objects: bool = True,
) -> VerificationReport:
    """Verify a case or a package; return the report if intact, else raise `VerificationError` with it.

    `case` is a `Case`, a case folder, or a package: a zip, an age-encrypted zip (opened
    with `identities`, see `evidencekit.encryption.load_identities`) or an unpacked bag.
    For a case encrypted at rest, each stored blob is checked against its recorded `blob`
    digest; with `identities` each is also decrypted in a stream and its plaintext digests
    checked, and without them one `encrypted-not-checked` notice says the contents were not
    (spec: docs/spec/case-layout.md §7.3). Raises `SigningKeyError` when an intact blob
    opens with none of `identities`.

    With `hash_objects=False` stored copies are checked for presence only (low-level: for
    callers that hash every byte themselves, as `package()` does while writing).
    With `raise_on_failure=False` the report is returned either way (check `.ok`). With
    `record_key`, a passing verification is added to the custody log as a `verify` record
    signed by that key (a failing case is never re-signed: that could hide tampering).

    `trusted_keys` are fingerprints (`SHA256:…`): when given, any signer outside them is
    an `untrusted-signer` problem; when empty, each signer is reported as an
    `unpinned-signer` notice for the user to compare by eye.
    """
    if not isinstance(case, Case) and is_package(Path(case)):
        from ._package_check import check_package

        report = check_package(Path(case), set(trusted_keys), identities, progress, on_total)
    else:
        case = Case.coerce(case)
        with _reading_lock(case):
            report = _check_all(
                FolderSource(case.root, identities),
                set(trusted_keys),
                progress if hash_objects else None,
                on_total,
                hash_objects=hash_objects,
            )
        if record_key is not None and not report.failures:
            _record(case, report, record_key)
    if report.failures and raise_on_failure:
        count = len(report.failures)
        raise VerificationError(
            f"verification failed: {count} problem{'s' if count != 1 else ''} found", report.failures, report
        )
    return report


def _reading_lock(case: Case) -> contextlib.AbstractContextManager[object]:
    """Wait for a running command to finish before reading; a case on read-only media has no lock."""
    if case.path(layout.LOCK).exists() and os.access(case.path(layout.LOCK), os.W_OK):
        return case.lock(wait=60.0)
    return contextlib.nullcontext()


def is_package(path: Path) -> bool:
    """Whether a path is a package (zip, age-encrypted zip, or unpacked bag) rather than a case folder."""
    if path.is_dir():
        return (path / "bagit.txt").is_file()
    return path.is_file()


def _check_all(
    src: CaseSource,
    trusted: set[str],
    progress: Progress | None,
    on_total: Callable[[int], None] | None,
    report: VerificationReport | None = None,
    extra_signers: dict[str, str] | None = None,
    hash_objects: bool = True,
) -> VerificationReport:
    report = report or VerificationReport(case=src.label)
    manifest_bytes, manifest = _check_manifest(src, report)
    records = _check_custody(src, report, manifest_bytes)
    signers = {**(extra_signers or {}), **_signers(manifest_bytes, src, report, records)}
    _check_trust(report, signers, trusted)
    if manifest is not None:
        check_items(src, manifest, report, progress, on_total, hash_objects)
        _check_key_files(src, manifest, report)
    _check_unexpected(src, manifest, report)
    return report


def _record(case: Case, report: VerificationReport, key: SigningKey) -> None:
    with case.lock():
        ensure_consistent(case)
        trusted = [s["fingerprint"] for s in report.signers if s["trusted"]]
        details = {
            "result": "match",
            "items": report.items,
            "stored": report.stored,
            "hash_only": report.hash_only,
            "custody_records": report.custody_records,
            "trusted": trusted,
        }
        case.log(key=key, action="verify", note="every stored file, signature and record checked", details=details)
    report.custody_records += 1


def is_intact(case: Case | str | os.PathLike[str], *, trusted_keys: Iterable[str] = ()) -> bool:
    """Boolean convenience around `verify()`."""
    try:
        verify(case, trusted_keys=trusted_keys)
    except VerificationError:
        return False
    return True


def _read(src: CaseSource, name: str, report: VerificationReport) -> bytes | None:
    data = src.read(name)
    if data is None:
        report.problems.append(Problem("missing", f"{name} is missing", path=name))
    return data


def _check_manifest(src: CaseSource, report: VerificationReport) -> tuple[bytes | None, Manifest | None]:
    data = _read(src, layout.MANIFEST, report)
    if data is None:
        return None, None
    try:
        manifest = parse_manifest(data, path=layout.MANIFEST)
    except EvidenceKitError as exc:
        report.problems.append(Problem("malformed", exc.message, path=layout.MANIFEST))
        return data, None
    report.case_id = manifest["case"]["id"]
    return data, manifest


def _check_custody(src: CaseSource, report: VerificationReport, manifest_bytes: bytes | None) -> list[CustodyRecord]:
    data = _read(src, layout.CUSTODY, report)
    if data is None:
        return []
    records, problems = check_log(split_lines(data), path=layout.CUSTODY)
    report.problems.extend(problems)
    for seq, message in receipt_problems(records):
        report.problems.append(
            Problem("bad-signature", f"receipt kept in record {seq}: {message}", path=f"{layout.CUSTODY}:{seq}")
        )
    report.custody_records = len(records)
    if records and manifest_bytes is not None:
        found = hashlib.sha256(manifest_bytes).hexdigest()
        expected = records[-1].data["manifest_sha256"]
        if found != expected:
            report.problems.append(
                Problem(
                    "manifest-mismatch",
                    "manifest.json is not the one the last custody record names",
                    path=layout.MANIFEST,
                    expected=expected,
                    found=found,
                )
            )
    return records


def _signers(
    manifest_bytes: bytes | None, src: CaseSource, report: VerificationReport, records: list[CustodyRecord]
) -> dict[str, str]:
    """Check the manifest signatures; return every signer seen (fingerprint → name)."""
    signers = {r.data["actor"]["fingerprint"]: r.data["actor"]["name"] for r in records}
    signature = _read(src, layout.SIGNATURE, report)
    if manifest_bytes is None or signature is None:
        return signers
    try:
        signer = verify_ssh_signature(manifest_bytes, signature, namespace=layout.MANIFEST_NAMESPACE)
    except (BadSignatureError, FormatError) as exc:
        report.problems.append(Problem("bad-signature", f"manifest signature: {exc.message}", path=layout.SIGNATURE))
        return signers
    committer = _committer(records, hashlib.sha256(manifest_bytes).hexdigest())
    if committer is not None and committer != signer.fingerprint:
        report.problems.append(
            Problem(
                "bad-signature",
                "the manifest is signed by a key other than the one whose custody record made it",
                path=layout.SIGNATURE,
                expected=committer,
                found=signer.fingerprint,
            )
        )
    if not is_canonical_ssh_signature(signature):
        report.problems.append(
            Problem(
                "altered",
                "the signature file verifies but its bytes were changed (spacing or spare bits)",
                path=layout.SIGNATURE,
            )
        )
    signers.setdefault(signer.fingerprint, "manifest signer")
    _check_raw_signature(src, manifest_bytes, signer, report)
    return signers


def _committer(records: list[CustodyRecord], manifest_hash: str) -> str | None:
    """The fingerprint of the actor whose record first named this manifest (custody-log spec §2)."""
    for record in records:
        if record.data["manifest_sha256"] == manifest_hash:
            return str(record.data["actor"]["fingerprint"])
    return None


def _check_raw_signature(src: CaseSource, data: bytes, signer: PublicKey, report: VerificationReport) -> None:
    raw = _read(src, layout.RAW_SIGNATURE, report)
    if raw is None:
        return
    try:
        verify_raw_signature(data, raw, signer)
    except (BadSignatureError, FormatError) as exc:
        report.problems.append(
            Problem("bad-signature", f"raw manifest signature: {exc.message}", path=layout.RAW_SIGNATURE)
        )


def _check_trust(report: VerificationReport, signers: dict[str, str], trusted: set[str]) -> None:
    for fingerprint, name in sorted(signers.items()):
        is_trusted = fingerprint in trusted if trusted else None
        report.signers.append({"fingerprint": fingerprint, "name": name, "trusted": bool(is_trusted)})
        if trusted and not is_trusted:
            report.problems.append(
                Problem(
                    "untrusted-signer",
                    f"signed by {name}, whose key is not among the trusted",
                    found=fingerprint,
                    expected=", ".join(sorted(trusted)),
                )
            )
        elif not trusted:
            report.problems.append(
                Problem(
                    "unpinned-signer",
                    f"good signature by {name}: compare this fingerprint with the one you were given",
                    found=fingerprint,
                )
            )


def _check_key_files(src: CaseSource, manifest: Manifest, report: VerificationReport) -> None:
    expected = {layout.ALLOWED_SIGNERS: allowed_signers_bytes(manifest["signers"])}
    for fingerprint, signer in manifest["signers"].items():
        for suffix, content in expected_key_files(signer).items():
            expected[f"{layout.KEYS}/{key_file_stem(fingerprint)}{suffix}"] = content
    for relpath, content in sorted(expected.items()):
        found = src.read(relpath)
        if found is None:
            report.problems.append(Problem("missing", f"{relpath} is missing", path=relpath))
            continue
        if found != content:
            report.problems.append(
                Problem(
                    "altered",
                    f"{relpath} does not match the signed manifest's signers",
                    path=relpath,
                    expected=hashlib.sha256(content).hexdigest(),
                    found=hashlib.sha256(found).hexdigest(),
                )
            )


_FIXED = {
    layout.MANIFEST,
    layout.SIGNATURE,
    layout.RAW_SIGNATURE,
    layout.CUSTODY,
    layout.ALLOWED_SIGNERS,
    layout.README,
    layout.LOCK,
}


def _check_unexpected(src: CaseSource, manifest: Manifest | None, report: VerificationReport) -> None:
    known = set(_FIXED)
    if manifest is not None:
        known |= {item["object"] for item in manifest["items"] if item["storage"] == "stored"}
        known |= {entry["object"] for entry in manifest.get("derived", [])}
        known |= {f"{layout.KEYS}/{key_file_stem(fp)}{s}" for fp in manifest["signers"] for s in (".pub", ".pem")}
    for relpath in src.files():
        top = relpath.split("/", 1)[0]
        if top == layout.INDEX:
            continue  # the search index: rebuilt from the transcripts, never evidence (spec case-layout §1)
        if top in (layout.JOURNAL, layout.TMP) or is_atomic_leftover(relpath.rsplit("/", 1)[-1]):
            report.problems.append(
                Problem("interrupted", "an interrupted capture left this file; run `evidencekit recover`", path=relpath)
            )
        elif manifest is None and top in (layout.OBJECTS, layout.KEYS):
            continue  # with no readable manifest, what belongs here cannot be told
        elif relpath not in known:
            report.problems.append(Problem("unexpected", "this file is not part of the signed case", path=relpath))
