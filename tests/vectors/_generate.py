"""Rebuild the golden case vectors deterministically: `python -m tests.vectors._generate`.

Every vector is a complete case folder (`<name>/case/`) plus `<name>/expect.txt` (`expect: <outcome>`), made with
a fixed key, a fixed clock and fixed file facts, so the bytes never change unless the
format does. `tests/test_vectors.py` checks each declared outcome and that regenerating
gives the checked-in bytes.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from evidencekit import _canonical
from evidencekit._content import encryption_header
from evidencekit.case import CUSTODY, MANIFEST, RAW_SIGNATURE, SIGNATURE, TOOL, Case
from evidencekit.manifest import new_manifest, object_path
from evidencekit.signing import SigningKey, generate_signing_key_for_tests

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 3, 14, 21, 5, 9, tzinfo=timezone(timedelta(hours=8)))
EXAMINER = generate_signing_key_for_tests("vector-examiner", bytes(range(32)))
OTHER = generate_signing_key_for_tests("vector-other", bytes(range(100, 132)))
FILES = {
    "shot-1.png": b"\x89PNG\r\n\x1a\n" + b"not a real picture, a vector",
    "chat.txt": b"[14/03/2026, 21:05] A: hi\n",
}


def _stamp(minutes: int) -> dict[str, str]:
    moment = NOW + timedelta(minutes=minutes)
    return {"utc": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "offset": "+08:00"}


def _item(number: int, name: str, data: bytes, key: SigningKey) -> dict:
    sha256 = hashlib.sha256(data).hexdigest()
    sighting = {
        "captured": _stamp(1),
        "by": {"name": key.name, "fingerprint": key.public.fingerprint},
        "name": name,
        "path": f"evidence/{name}",
        "absolute": f"/home/volunteer/evidence/{name}",
        "fs": {"modified": "2026-03-14T12:00:00.000000000Z", "accessed": "2026-03-14T12:00:00.000000000Z"},
        "tool": dict(TOOL, version="vector"),
        "os": {"name": "Linux", "release": "vector"},
        "source": "Telegram group (vector)",
    }
    return {
        "id": f"E{number:04d}",
        "sha256": sha256,
        "sha1": hashlib.sha1(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "size": len(data),
        "media_type": "text/plain",
        "storage": "stored",
        "object": object_path(sha256),
        "analysis": {"status": "not-applicable"},
        "sightings": [sighting],
    }


def _kept_blobs() -> dict[str, bytes]:
    """The checked-in `encrypted-ok` vector's age files, by object path.

    age output is randomised (ephemeral keys, nonces): reusing these keeps regeneration
    byte-identical; a missing one is made afresh.
    """
    folder = HERE / "encrypted-ok" / "case"
    files = sorted((folder / "objects").rglob("*")) if folder.is_dir() else []
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files if p.is_file()}


def _sealed(item: dict, data: bytes, header: dict, kept: dict[str, bytes]) -> bytes:
    """The age file stored for `data` in an encrypted case (case-layout §7)."""
    if item["object"] not in kept:  # made once, then shared by every encrypted vector
        import pyrage

        from evidencekit.encryption import parse_recipient

        recipients = [parse_recipient(line) for line in header["encryption"]["recipients"]]
        kept[item["object"]] = bytes(pyrage.encrypt(data, recipients))
    return kept[item["object"]]


def build_ok(
    folder: Path, *, fmt: str | None = None, bad_object_path: bool = False, blobs: dict[str, bytes] | None = None
) -> Case:
    """A two-item case: init record and capture record, all signatures good.

    With `blobs` (age files to reuse, by object path) the case is encrypted at rest (case-layout §7).
    """
    encrypted = blobs is not None
    folder.mkdir(parents=True)
    for sub in ("keys", "objects", "journal", "tmp"):
        (folder / sub).mkdir()
    (folder / "README.txt").write_text("Golden test vector: an evidencekit case.\n")
    case = Case(folder)
    header = {
        "id": "EK-VECTOR",
        "uuid": "00000000-0000-4000-8000-000000000000",
        "title": "Vector case",
        "examiner": {"name": EXAMINER.name, "fingerprint": EXAMINER.public.fingerprint},
        "created": _stamp(0),
        "timezone": "Asia/Kuala_Lumpur",
        "tool": dict(TOOL, version="vector"),
    }
    if encrypted:
        header["encryption"] = encryption_header(EXAMINER)
    manifest = new_manifest(header, _stamp(0))
    case.commit(manifest, key=EXAMINER, action="init", note="case opened", now=NOW)
    for number, (name, data) in enumerate(sorted(FILES.items()), start=1):
        item = _item(number, name, data, EXAMINER)
        target = folder / item["object"]
        target.parent.mkdir(parents=True, exist_ok=True)
        stored = _sealed(item, data, header, blobs) if blobs is not None else data
        target.write_bytes(stored)
        if encrypted:
            item["blob"] = {"sha256": hashlib.sha256(stored).hexdigest(), "size": len(stored)}
        manifest["items"].append(item)
    if fmt:
        manifest["format"] = fmt
    if bad_object_path:
        manifest["items"][0]["object"] = "objects/../../outside"
    case.commit(manifest, key=EXAMINER, action="capture", items=["E0001", "E0002"], now=NOW + timedelta(minutes=1))
    return case


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1
    path.write_bytes(bytes(data))


def _first_object(case: Case) -> Path:
    return next(p for p in sorted((case.root / "objects").rglob("*")) if p.is_file())


def _reorder(case: Case) -> None:
    path = case.root / CUSTODY
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[1] + lines[0])


def _resign_other(case: Case) -> None:
    data = (case.root / MANIFEST).read_bytes()
    (case.root / SIGNATURE).write_text(OTHER.sign_ssh(data))
    (case.root / RAW_SIGNATURE).write_bytes(OTHER.sign_raw(data))


VECTORS: dict[str, tuple[str, Callable[[Case], None]]] = {
    "manifest-ok": ("ok", lambda case: None),
    "object-altered": ("altered", lambda case: _flip(_first_object(case), 3)),
    "object-missing": ("missing", lambda case: _first_object(case).unlink()),
    "unexpected-file": ("unexpected", lambda case: (case.root / "objects" / "extra.bin").write_bytes(b"x")),
    "manifest-edited": ("bad-signature", lambda case: _flip(case.root / MANIFEST, 40)),
    "signature-by-other-key": ("bad-signature", _resign_other),
    "custody-reordered": ("chain-broken", _reorder),
    "custody-truncated": (
        "manifest-mismatch",
        lambda case: (case.root / CUSTODY).write_bytes((case.root / CUSTODY).read_bytes().splitlines(keepends=True)[0]),
    ),
}
#: Vectors whose manifest is consistently signed but must still be rejected by a reader.
SPECIAL = {
    "unsupported-version": ("malformed", {"fmt": "evidencekit/manifest/2"}),
    "unsafe-path": ("malformed", {"bad_object_path": True}),
}
#: Encrypted cases: checked without a key (blobs only) and with the examiner's key (plaintext too).
ENCRYPTED: dict[str, tuple[str, Callable[[Case], None]]] = {
    "encrypted-ok": ("ok", lambda case: None),
    "encrypted-blob-altered": ("altered", lambda case: _flip(_first_object(case), 200)),
}


def generate(root: Path) -> None:
    """Write every vector under `root` (replacing what is there)."""
    for name, (expect, mutate) in VECTORS.items():
        shutil.rmtree(root / name, ignore_errors=True)
        mutate(build_ok(root / name / "case"))
        (root / name / "expect.txt").write_text(f"expect: {expect}\n")
    for name, (expect, options) in SPECIAL.items():
        shutil.rmtree(root / name, ignore_errors=True)
        build_ok(root / name / "case", **options)
        (root / name / "expect.txt").write_text(f"expect: {expect}\n")
    kept = _kept_blobs()
    for name, (expect, mutate) in ENCRYPTED.items():
        shutil.rmtree(root / name, ignore_errors=True)
        mutate(build_ok(root / name / "case", blobs=kept))
        (root / name / "expect.txt").write_text(f"expect: {expect}\n")
    _ = _canonical  # the vectors' bytes come only from the canonical encoder, through Case.commit


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
