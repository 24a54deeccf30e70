"""Verify a package: the bag, its signature, its index, then the case inside it, unpacked never.

Invariants: an encrypted package is decrypted only to a private temporary folder that is
removed afterwards; every problem of the bag and of the case is reported, with the same
kinds and exit codes as a case folder (spec: docs/spec/package.md §5).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import _canonical
from ._source import PackageSource
from .errors import EvidenceKitError, Problem, SigningKeyError
from .verify import VerificationReport, _check_all

Progress = Callable[[int], None]
INDEX = "data/package.json"


def check_package(
    path: Path,
    trusted: set[str],
    identities: Sequence[object],
    progress: Progress | None,
    on_total: Callable[[int], None] | None,
) -> VerificationReport:
    """The full report for a package at `path` (zip, age-encrypted zip, or unpacked bag)."""
    from .encryption import decrypt_file, is_encrypted

    if path.is_file() and is_encrypted(path):
        if not identities:
            raise SigningKeyError(
                "this package is encrypted", path=path, hint="pass --identity with a key that can open it"
            )
        folder = Path(tempfile.mkdtemp(prefix="evidencekit-package-"))
        try:
            plain = folder / path.name.removesuffix(".age")
            decrypt_file(path, plain, identities)
            report = check_package(plain, trusted, (), progress, on_total)
            report.case = str(path)
            return report
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _check_plain(path, trusted, progress, on_total)


def _check_plain(
    path: Path, trusted: set[str], progress: Progress | None, on_total: Callable[[int], None] | None
) -> VerificationReport:
    from .bag import open_bag

    report = VerificationReport(case=str(path))
    with open_bag(path) as reader:
        bag = reader.check(progress=progress)
        report.problems.extend(bag.problems)
        index = _read_index(reader, report)
        if index is None:
            return report
        extra = {bag.signer.fingerprint: f"packager {index['packager']['name']}"} if bag.signer else {}
        source = PackageSource(reader, index, bag.digests)  # the case check reuses the bag check's hashes
        _check_all(source, trusted, None, on_total, report=report, extra_signers=extra)
    return report


def _read_index(reader: Any, report: VerificationReport) -> dict[str, Any] | None:
    data = reader.read(INDEX)
    if data is None:
        report.problems.append(Problem("missing", "the package index is missing", path=INDEX))
        return None
    try:
        index = _canonical.loads(data.removesuffix(b"\n"), what="package index", path=INDEX)
        _check_index(index, reader)
    except EvidenceKitError as exc:
        report.problems.append(Problem("malformed", exc.message, path=INDEX))
        return None
    manifest = reader.read("data/case/manifest.json") or b""
    found = hashlib.sha256(manifest).hexdigest()
    if found != index["manifest_sha256"]:
        report.problems.append(
            Problem(
                "manifest-mismatch",
                "the package index names another manifest",
                path=INDEX,
                expected=index["manifest_sha256"],
                found=found,
            )
        )
    return dict(index)


def _check_index(index: Any, reader: Any) -> None:
    from .errors import FormatError
    from .package import FORMAT

    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise FormatError(f"unsupported package index format, expected {FORMAT}")
    rows = index.get("items")
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and {"id", "sha256", "path"} <= r.keys() for r in rows
    ):
        raise FormatError("the package index has malformed items")
    reports = index.get("reports", [])
    if not isinstance(reports, list) or not all(
        isinstance(r, dict) and isinstance(r.get("path"), str) and r["path"].startswith("data/reports/")
        for r in reports
    ):
        raise FormatError("the package index lists reports outside data/reports/")
    for row in rows:
        if row["path"] is not None and (
            not isinstance(row["path"], str) or not row["path"].startswith("data/evidence/")
        ):
            raise FormatError(f"the package index points item {row['id']} outside data/evidence/")
