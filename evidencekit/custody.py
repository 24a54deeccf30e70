"""The custody log, format `evidencekit/custody/1` (spec: docs/spec/custody-log.md).

Invariants: append-only JSON Lines, one canonical record a line, each appended with one
write and an fsync; record N carries `seq` N and commits to record N-1 through the
domain-separated hash `sha256("evidencekit/custody/v1\\0" || line)`; the first record is
`init` with `prev` null; every record is signed by its actor (SSHSIG, namespace
`evidencekit-custody`) over the canonical bytes of the record without `signature`.
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import _canonical
from ._fs import append_durably
from ._time import stamp
from .errors import BadSignatureError, FormatError, Problem
from .signing import PublicKey, SigningKey, is_canonical_ssh_signature, verify_ssh_signature

FORMAT = "evidencekit/custody/1"
NAMESPACE = "evidencekit-custody"
LINK_PREFIX = b"evidencekit/custody/v1\x00"
ACTIONS = ("init", "capture", "note", "verify", "recover", "transfer", "receive", "export", "derive")
FIELDS = {
    "format",
    "seq",
    "time",
    "actor",
    "action",
    "items",
    "note",
    "details",
    "manifest_sha256",
    "manifest_revision",
    "prev",
    "signature",
}


@dataclass(frozen=True, slots=True)
class CustodyRecord:
    """One parsed custody record, with the exact line it was read from."""

    line: bytes
    data: dict[str, Any]

    @property
    def seq(self) -> int:
        """The record's sequence number (1 for the genesis record)."""
        return int(self.data["seq"])

    def link(self) -> str:
        """The hash the next record must carry in `prev` (spec §4)."""
        return link_hash(self.line)


def link_hash(line: bytes) -> str:
    """Domain-separated SHA-256 of one record line (without its newline)."""
    return hashlib.sha256(LINK_PREFIX + line).hexdigest()


def armour(blob_b64: str) -> str:
    """Wrap a base64 SSHSIG blob in its armour (70 columns, LF), as `ssh-keygen` writes it."""
    body = "\n".join(textwrap.wrap(blob_b64, 70))
    return f"-----BEGIN SSH SIGNATURE-----\n{body}\n-----END SSH SIGNATURE-----\n"


def dearmour(text: str) -> str:
    """The base64 body of an armoured SSHSIG, without line breaks (how records and receipts store it)."""
    lines = [line for line in text.strip().splitlines() if not line.startswith("-----")]
    return "".join(lines)


def make_record(
    *,
    key: SigningKey,
    seq: int,
    prev: str | None,
    action: str,
    manifest_bytes: bytes,
    manifest_revision: int,
    items: Sequence[str] = (),
    note: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bytes:
    """Build and sign one record; return its line bytes (no newline)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown custody action {action!r}")
    body: dict[str, Any] = {
        "format": FORMAT,
        "seq": seq,
        "time": stamp(now),
        "actor": {"name": key.name, "fingerprint": key.public.fingerprint, "public_key": key.public.openssh()},
        "action": action,
        "items": list(items),
        "note": note,
        "details": details or {},
        "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "manifest_revision": manifest_revision,
        "prev": prev,
    }
    signature = key.sign_ssh(_canonical.dumps(body), namespace=NAMESPACE)
    body["signature"] = dearmour(signature)
    return _canonical.dumps(body)


def append_record(path: Path, line: bytes) -> None:
    """Append one record line durably."""
    append_durably(path, line + b"\n")


def read_lines(path: Path) -> list[bytes]:
    """Return the log's lines without newlines; a missing final newline is kept as a (torn) line."""
    return split_lines(path.read_bytes())


def split_lines(data: bytes) -> list[bytes]:
    """Split log bytes into lines without newlines (a torn last line is kept)."""
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def parse_record(line: bytes, *, lineno: int, path: str | None = None) -> CustodyRecord:
    """Parse one line strictly; raise `FormatError` for anything spec §6 rejects."""
    data = _canonical.loads(line, what=f"custody record on line {lineno}", path=path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FormatError(f"custody record on line {lineno} has an unsupported format", path=path)
    if set(data) != FIELDS:
        raise FormatError(f"custody record on line {lineno} has fields {sorted(set(data) ^ FIELDS)} wrong", path=path)
    problem = _type_problem(data)
    if problem:
        raise FormatError(f"custody record on line {lineno}: {problem}", path=path)
    return CustodyRecord(line, data)


def _is_hex(value: Any, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and all(c in "0123456789abcdef" for c in value)


def _type_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with the field types of a record (spec §3), or `None`."""
    actor, when = data["actor"], data["time"]
    checks = [
        (data["action"] in ACTIONS, "unknown action"),
        (isinstance(data["seq"], int) and not isinstance(data["seq"], bool) and data["seq"] > 0, "bad seq"),
        (
            isinstance(actor, dict)
            and set(actor) == {"name", "fingerprint", "public_key"}
            and all(isinstance(v, str) for v in actor.values()),
            "bad actor",
        ),
        (
            isinstance(when, dict)
            and set(when) == {"utc", "offset"}
            and all(isinstance(v, str) for v in when.values()),
            "bad time",
        ),
        (isinstance(data["items"], list) and all(isinstance(i, str) for i in data["items"]), "bad items"),
        (data["note"] is None or isinstance(data["note"], str), "bad note"),
        (isinstance(data["details"], dict), "bad details"),
        (_is_hex(data["manifest_sha256"], 64), "bad manifest_sha256"),
        (isinstance(data["manifest_revision"], int), "bad manifest_revision"),
        (data["prev"] is None or _is_hex(data["prev"], 64), "bad prev"),
        (isinstance(data["signature"], str), "bad signature field"),
    ]
    return next((message for ok, message in checks if not ok), None)


def check_signature(record: CustodyRecord) -> PublicKey:
    """Verify a record's signature by its actor; return the actor's key or raise `BadSignatureError`."""
    body = {k: v for k, v in record.data.items() if k != "signature"}
    actor = record.data["actor"]
    armoured = armour(str(record.data["signature"]))
    signer = verify_ssh_signature(_canonical.dumps(body), armoured, namespace=NAMESPACE)
    if not is_canonical_ssh_signature(armoured):
        raise BadSignatureError("the signature verifies but its text was changed (spare bits)")
    if signer.fingerprint != actor.get("fingerprint") or signer.openssh() != actor.get("public_key"):
        raise BadSignatureError("the record is signed by a key other than its actor's")
    return signer


def check_log(lines: Sequence[bytes], *, path: str = "custody.jsonl") -> tuple[list[CustodyRecord], list[Problem]]:
    """Check every record: format, sequence, chain link and signature. Reports every problem."""
    records: list[CustodyRecord] = []
    problems: list[Problem] = []
    if not lines:
        return records, [
            Problem("malformed", "the custody log is empty: it must start with the init record", path=path)
        ]
    prev_link: str | None = None
    for lineno, line in enumerate(lines, start=1):
        where = f"{path}:{lineno}"
        try:
            record = parse_record(line, lineno=lineno, path=path)
        except FormatError as exc:
            problems.append(Problem("malformed", exc.message, path=where))
            prev_link = link_hash(line)
            continue
        problems.extend(_check_one(record, lineno, prev_link, where))
        records.append(record)
        prev_link = record.link()
    return records, problems


def _check_one(record: CustodyRecord, lineno: int, prev_link: str | None, where: str) -> list[Problem]:
    problems = []
    data = record.data
    if data["seq"] != lineno:
        problems.append(
            Problem(
                "chain-broken", "record is out of sequence", path=where, expected=str(lineno), found=str(data["seq"])
            )
        )
    if lineno == 1 and data["action"] != "init":
        problems.append(
            Problem(
                "chain-broken",
                "the first record is not the init record",
                path=where,
                expected="init",
                found=str(data["action"]),
            )
        )
    if data["prev"] != prev_link:
        problems.append(
            Problem(
                "chain-broken",
                "record does not link to the record before it",
                path=where,
                expected=prev_link or "null (the first record links to nothing)",
                found=str(data["prev"] or "null"),
            )
        )
    try:
        check_signature(record)
    except (BadSignatureError, FormatError) as exc:
        problems.append(Problem("bad-signature", f"custody record signature: {exc.message}", path=where))
    return problems
