"""Custody handover: who handed which package to whom, and the receiver's signed receipt.

Invariants: a transfer record names the package by its SHA-256; a receipt is a canonical
JSON document signed by the receiver (SSHSIG, namespace `evidencekit-receipt`) that states
what the receiver's own verification found; importing a receipt checks its signature and
that it answers a recorded transfer, then keeps the whole receipt in a `receive` record, so
the custody log holds both parties' signatures (spec: docs/spec/package.md §6).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from . import _canonical, _time
from ._fs import atomic_write
from .case import Case, ensure_consistent
from .custody import armour, dearmour
from .errors import BadSignatureError, FormatError, InputError
from .signing import PublicKey, SigningKey, verify_ssh_signature

RECEIPT_FORMAT = "evidencekit/receipt/1"
RECEIPT_NAMESPACE = "evidencekit-receipt"


def _file_facts(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read the package: {exc.strerror}", path=path) from exc
    return {"name": path.name, "sha256": digest.hexdigest(), "size": path.stat().st_size}


def _person(key: SigningKey) -> dict[str, str]:
    return {"name": key.name, "fingerprint": key.public.fingerprint, "public_key": key.public.openssh()}


def custody_transfer(
    case: Case | str | os.PathLike[str],
    *,
    key: SigningKey,
    to: str,
    package: str | os.PathLike[str],
    to_key: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Record in the custody log that `key`'s owner handed `package` to `to`."""
    case = Case.coerce(case)
    if not to.strip():
        raise InputError("the receiver's name is empty", hint="pass --to with the receiving person's name and role")
    _check_is_package_of(case, Path(package))
    details: dict[str, Any] = {"to": to.strip(), "package": _file_facts(Path(package))}
    if to_key:
        details["to_fingerprint"] = (
            PublicKey.from_file(to_key).fingerprint
            if Path(to_key).exists()
            else (PublicKey.from_openssh(to_key).fingerprint)
        )
    with case.lock():
        ensure_consistent(case)
        line = case.log(key=key, action="transfer", note=note, details=details, now=now)
    return dict(_canonical.loads(line))


def _check_is_package_of(case: Case, path: Path) -> None:
    """Refuse a file that is not a package of this case (an encrypted one cannot be looked into)."""
    from .bag import open_bag
    from .encryption import is_encrypted
    from .errors import EvidenceKitError

    if path.is_file() and is_encrypted(path):
        return
    hint = "give the file `evidencekit package` wrote for this case"
    try:
        with open_bag(path) as reader:
            index = _canonical.loads((reader.read("data/package.json") or b"").removesuffix(b"\n"), what="index")
    except EvidenceKitError as exc:
        raise InputError(f"this is not an evidencekit package ({exc.message})", path=path, hint=hint) from exc
    _, manifest = case.read_manifest()
    if index.get("case_uuid") != manifest["case"]["uuid"]:
        raise InputError(
            f"this package belongs to case {index.get('case_id')}, not {manifest['case']['id']}", path=path, hint=hint
        )


def custody_receive(
    package: str | os.PathLike[str],
    *,
    key: SigningKey,
    trusted_keys: Iterable[str] = (),
    identities: Sequence[object] = (),
    out: str | os.PathLike[str] | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Verify a received package and write a receipt signed by the receiver (`PACKAGE.receipt.json`).

    The receipt states the verification result, good or bad; the caller decides what a
    failed check means. Returns the receipt.
    """
    from .verify import verify

    path = Path(package)
    report = verify(path, trusted_keys=trusted_keys, identities=identities, raise_on_failure=False)
    body = {
        "format": RECEIPT_FORMAT,
        "package": _file_facts(path),
        "case_id": report.case_id,
        "receiver": _person(key),
        "time": _time.stamp(now),
        "note": note,
        "verification": {
            "ok": report.ok,
            "problems": [p.to_json() for p in report.failures],
            "signers": report.signers,
        },
    }
    receipt = {**body, "signature": dearmour(key.sign_ssh(_canonical.dumps(body), namespace=RECEIPT_NAMESPACE))}
    target = Path(out) if out else path.with_name(path.name + ".receipt.json")
    if target.exists():
        raise InputError(
            "a receipt file is already there",
            path=target,
            hint="choose another name with --out, or move the old receipt away first",
        )
    atomic_write(target, _canonical.dumps(receipt) + b"\n")
    return {**receipt, "receipt_file": str(target)}


def check_receipt(receipt: Any) -> PublicKey:
    """Check a receipt's form and signature; return the receiver's key. Raises `FormatError`/`BadSignatureError`."""
    required = {"format", "package", "case_id", "receiver", "time", "note", "verification", "signature"}
    if not isinstance(receipt, dict) or receipt.get("format") != RECEIPT_FORMAT or set(receipt) != required:
        raise FormatError(f"not an evidencekit receipt (expected format {RECEIPT_FORMAT} and its fields)")
    body = {k: v for k, v in receipt.items() if k != "signature"}
    signer = verify_ssh_signature(
        _canonical.dumps(body), armour(str(receipt["signature"])), namespace=RECEIPT_NAMESPACE
    )
    if signer.openssh() != receipt["receiver"].get("public_key"):
        raise BadSignatureError("the receipt is signed by a key other than its receiver's")
    return signer


def custody_import_receipt(
    case: Case | str | os.PathLike[str],
    receipt_file: str | os.PathLike[str],
    *,
    key: SigningKey,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check a receiver's receipt and keep it in the custody log as a `receive` record."""
    case = Case.coerce(case)
    path = Path(receipt_file)
    receipt = _load_receipt(path)
    with case.lock():
        ensure_consistent(case)
        transfer = _matching_transfer(case, receipt["package"]["sha256"], path)
        if any(
            r.data["action"] == "receive"
            and r.data["details"].get("receipt", {}).get("signature") == receipt["signature"]
            for r in case.custody_records()
        ):
            raise InputError("this receipt is already in the custody log", path=path)
        result = "verified it" if receipt["verification"]["ok"] else "found problems"
        note = f"receipt from {receipt['receiver']['name']}: {result}"
        details = {"receipt": receipt, "transfer_seq": transfer}
        line = case.log(key=key, action="receive", note=note, details=details, now=now)
    return dict(_canonical.loads(line))


def _load_receipt(path: Path) -> dict[str, Any]:
    hint = "give the .receipt.json file the receiver sent back (made by `evidencekit custody receive`)"
    try:
        receipt = _canonical.loads(path.read_bytes().removesuffix(b"\n"), what="receipt", path=str(path))
    except OSError as exc:
        raise InputError(f"cannot read the receipt: {exc.strerror}", path=path) from exc
    except FormatError as exc:
        raise FormatError(f"not an evidencekit receipt: {exc.message}", path=path, hint=hint) from exc
    try:
        check_receipt(receipt)
    except BadSignatureError as exc:
        raise BadSignatureError(
            f"the receipt's signature does not match it: it was changed ({exc.message})",
            path=path,
            hint="ask the receiver for a fresh receipt",
        ) from exc
    except FormatError as exc:
        raise FormatError(exc.message, path=path, hint=hint) from exc
    return dict(receipt)


def _matching_transfer(case: Case, package_sha256: str, path: Path) -> int:
    for record in reversed(case.custody_records()):
        data = record.data
        if data["action"] == "transfer" and data["details"].get("package", {}).get("sha256") == package_sha256:
            return record.seq
    raise InputError(
        "no transfer of this package is recorded in this case",
        path=path,
        hint="record the handover first with `evidencekit custody transfer --package FILE --to NAME`",
    )


def receipt_problems(records: Iterable[Any]) -> list[tuple[int, str]]:
    """Check every receipt kept in `receive` records; return (seq, what is wrong) pairs."""
    out = []
    for record in records:
        if record.data["action"] != "receive":
            continue
        try:
            check_receipt(record.data["details"].get("receipt"))
        except (FormatError, BadSignatureError) as exc:
            out.append((record.seq, exc.message))
    return out
