"""The case manifest, format `evidencekit/manifest/1` (spec: docs/spec/manifest.md).

Invariants: one JSON document holds the case header and every item; its bytes come only
from `encode_manifest` (canonical JSON plus one newline) and are signed as they are on
disk; readers reject unknown formats, unknown top-level fields, missing required fields,
duplicate ids or hashes, and object paths that do not match the item's SHA-256.
"""

from __future__ import annotations

import re
from typing import Any

from . import _canonical
from ._fs import safe_relpath
from .errors import FormatError

FORMAT = "evidencekit/manifest/1"
TOP_FIELDS = {"format", "case", "revision", "updated", "items", "links", "signers"}
OPTIONAL_TOP_FIELDS = {"derived"}
DERIVED_FIELDS = {"id", "kind", "sha256", "sha1", "md5", "size", "object", "parser", "sources", "created", "by"}
DERIVED_KINDS = ("chat-transcript",)
_DERIVED_ID = re.compile(r"T\d{4,}")
CASE_FIELDS = {"id", "uuid", "title", "examiner", "created", "timezone", "tool"}
ITEM_FIELDS = {"id", "sha256", "sha1", "md5", "size", "media_type", "storage", "sightings", "analysis"}
STORAGE = ("stored", "hash-only")
_HEX = {"sha256": 64, "sha1": 40, "md5": 32}
_ITEM_ID = re.compile(r"E\d{4,}")
ENCRYPTION_FORMAT = "age-encryption.org/v1"
_SHA256 = re.compile(r"[0-9a-f]{64}")

Manifest = dict[str, Any]


def new_manifest(header: dict[str, Any], now_stamp: dict[str, str]) -> Manifest:
    """Return an empty manifest (revision 0) for a case header."""
    return {
        "format": FORMAT,
        "case": header,
        "revision": 0,
        "updated": now_stamp,
        "items": [],
        "links": [],
        "signers": {},
    }


def encode_manifest(manifest: Manifest) -> bytes:
    """Return the exact bytes written to `manifest.json` (spec §2)."""
    return _canonical.dumps(manifest) + b"\n"


def object_path(sha256: str) -> str:
    """The store path of content with this SHA-256, relative to the case (spec §4)."""
    return f"objects/sha256/{sha256[:2]}/{sha256}"


def derived_path(sha256: str) -> str:
    """The case path of a derived file (a transcript) with this SHA-256 (spec §4.5)."""
    return f"derived/{sha256}.jsonl"


def parse_manifest(data: bytes, *, path: str | None = None) -> Manifest:
    """Parse and validate manifest bytes; raise `FormatError` for anything spec §6 rejects."""
    if not data.endswith(b"\n"):
        raise FormatError("manifest does not end with a newline", path=path)
    manifest = _canonical.loads(data[:-1], what="manifest", path=path)
    _validate(manifest, path)
    return dict(manifest)


def _fail(message: str, path: str | None) -> FormatError:
    return FormatError(
        f"manifest: {message}", path=path, hint="restore the case from a copy, or run `evidencekit verify` for details"
    )


def _require(obj: Any, fields: set[str], where: str, path: str | None, *, exact: bool = False) -> None:
    if not isinstance(obj, dict):
        raise _fail(f"{where} is not an object", path)
    missing = fields - obj.keys()
    if missing:
        raise _fail(f"{where} lacks {', '.join(sorted(missing))}", path)
    if exact and obj.keys() - fields:
        raise _fail(f"{where} has unknown fields {', '.join(sorted(obj.keys() - fields))}", path)


def _validate(manifest: Any, path: str | None) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise _fail(f"unsupported format {found!r}, expected {FORMAT!r}", path)
    _require(manifest, TOP_FIELDS, "the document", path)
    if manifest.keys() - TOP_FIELDS - OPTIONAL_TOP_FIELDS:
        raise _fail(f"the document has unknown fields {', '.join(sorted(manifest.keys() - TOP_FIELDS))}", path)
    _require(manifest["case"], CASE_FIELDS, "case", path)
    encrypted = _validate_encryption(manifest["case"], path)
    if not isinstance(manifest["revision"], int) or not isinstance(manifest["items"], list):
        raise _fail("revision or items has the wrong type", path)
    if not isinstance(manifest["links"], list) or not isinstance(manifest["signers"], dict):
        raise _fail("links or signers has the wrong type", path)
    seen_ids: set[str] = set()
    seen_hashes: set[str] = set()
    for item in manifest["items"]:
        _validate_item(item, path)
        _check_blob(item, encrypted and item["storage"] == "stored", f"item {item['id']!r}", path)
        if item["id"] in seen_ids or item["sha256"] in seen_hashes:
            raise _fail(f"item {item['id']} is listed twice", path)
        seen_ids.add(item["id"])
        seen_hashes.add(item["sha256"])
    _validate_derived(manifest, seen_ids, encrypted, path)


def is_encrypted(manifest: Manifest) -> bool:
    """Whether the case stores its objects and transcripts encrypted (spec §3.2, case-layout §7)."""
    return "encryption" in manifest["case"]


def _validate_encryption(header: dict[str, Any], path: str | None) -> bool:
    """Check the optional `encryption` header (spec §3.2); return whether the case is encrypted."""
    if "encryption" not in header:
        return False
    encryption = header["encryption"]
    _require(encryption, {"format", "recipients"}, "case encryption", path, exact=True)
    if encryption["format"] != ENCRYPTION_FORMAT:
        raise _fail(f"unsupported encryption {encryption['format']!r}, expected {ENCRYPTION_FORMAT!r}", path)
    recipients = encryption["recipients"]
    if not isinstance(recipients, list) or not recipients or len(set(map(str, recipients))) != len(recipients):
        raise _fail("case encryption needs a non-empty list of distinct recipients", path)
    if not all(isinstance(r, str) and (r.startswith("age1") or r.startswith("ssh-ed25519 ")) for r in recipients):
        raise _fail("case encryption has a recipient that is not age1... or ssh-ed25519 ...", path)
    return True


def _check_blob(entry: dict[str, Any], wanted: bool, where: str, path: str | None) -> None:
    """`blob` is required exactly for stored content of an encrypted case (spec §4, §4.5)."""
    if "blob" not in entry:
        if wanted:
            raise _fail(f"{where} lacks blob (the case is encrypted)", path)
        return
    blob = entry["blob"]
    if not wanted:
        raise _fail(f"{where} has a blob but is not stored encrypted", path)
    _require(blob, {"sha256", "size"}, f"{where} blob", path, exact=True)
    if not isinstance(blob["sha256"], str) or not _SHA256.fullmatch(blob["sha256"]):
        raise _fail(f"{where} blob has a malformed sha256", path)
    if not isinstance(blob["size"], int) or isinstance(blob["size"], bool) or blob["size"] < 0:
        raise _fail(f"{where} blob has a bad size", path)


def _validate_derived(manifest: Manifest, item_ids: set[str], encrypted: bool, path: str | None) -> None:
    derived = manifest.get("derived", [])
    if not isinstance(derived, list) or ("derived" in manifest and not derived):
        raise _fail("derived must be a non-empty list when present", path)
    seen: set[str] = set()
    for entry in derived:
        _require(entry, DERIVED_FIELDS, "a derived entry", path)
        where = f"derived entry {entry['id']!r}"
        if not isinstance(entry["id"], str) or not _DERIVED_ID.fullmatch(entry["id"]) or entry["id"] in seen:
            raise _fail(f"{where} has a malformed or repeated id", path)
        seen.add(entry["id"])
        _check_digests(entry, where, path)
        _check_blob(entry, encrypted, where, path)
        if entry["kind"] not in DERIVED_KINDS or entry["object"] != derived_path(entry["sha256"]):
            raise _fail(f"{where} has an unknown kind or a path that does not match its sha256", path)
        if not isinstance(entry["sources"], list) or not set(entry["sources"]) <= item_ids:
            raise _fail(f"{where} names source items that are not in the manifest", path)


def _validate_item(item: Any, path: str | None) -> None:
    _require(item, ITEM_FIELDS, "an item", path)
    where = f"item {item['id']!r}"
    if not isinstance(item["id"], str) or not _ITEM_ID.fullmatch(item["id"]):
        raise _fail(f"{where} has a malformed id", path)
    _check_digests(item, where, path)
    if item["storage"] not in STORAGE:
        raise _fail(f"{where} has an unknown storage {item['storage']!r}", path)
    if item["storage"] == "stored":
        relpath = item.get("object")
        if not isinstance(relpath, str) or relpath != object_path(item["sha256"]):
            raise _fail(f"{where} object path does not match its sha256", path)
        safe_relpath(relpath)
    if not isinstance(item["sightings"], list) or not item["sightings"]:
        raise _fail(f"{where} has no sightings", path)


def _check_digests(entry: dict[str, Any], where: str, path: str | None) -> None:
    for name, length in _HEX.items():
        if not isinstance(entry[name], str) or not re.fullmatch(f"[0-9a-f]{{{length}}}", entry[name]):
            raise _fail(f"{where} has a malformed {name}", path)
    if not isinstance(entry["size"], int) or entry["size"] < 0:
        raise _fail(f"{where} has a bad size", path)


def next_derived_id(manifest: Manifest) -> str:
    """The next free derived id (`T0001`, …)."""
    numbers = [int(entry["id"][1:]) for entry in manifest.get("derived", [])]
    return f"T{(max(numbers, default=0) + 1):04d}"


def next_item_id(manifest: Manifest) -> str:
    """The next free item id (`E0001`, `E0002`, …)."""
    numbers = [int(item["id"][1:]) for item in manifest["items"]]
    return f"E{(max(numbers, default=0) + 1):04d}"


def find_item(manifest: Manifest, item_id: str) -> dict[str, Any] | None:
    """Return the item with this id, or `None`."""
    return next((item for item in manifest["items"] if item["id"] == item_id), None)
