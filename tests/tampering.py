"""The tamper matrix: every kind of change to a case and to a package, as named operations.

Shared by tests/test_tamper.py (which pins the exact problems verify must report for each)
and bench/bench_security.py (which counts how many are detected). Each operation changes a
copy of a pristine case or unpacked package in place; nothing here needs pytest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit import _canonical
from evidencekit.custody import make_record, parse_record, split_lines
from evidencekit.manifest import encode_manifest

from . import hostile as H

Tamper = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One tamper: its id, whether it applies to a case folder or an unpacked package, and what to do."""

    name: str
    target: str  # "case" or "package"
    apply: Tamper


def _flip(path: Path, offset: int = -1) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _set_byte(path: Path, offset: int, value: bytes) -> None:
    """Put `value` at `offset`, or another byte if it is already there (a change whatever the file held)."""
    data = bytearray(path.read_bytes())
    data[offset] = value[0] if data[offset] != value[0] else value[0] + 1
    path.write_bytes(bytes(data))


def _first(root: Path, pattern: str) -> Path:
    return sorted(root.glob(pattern))[0]


def _rewrite_manifest(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "manifest.json"
    manifest = json.loads(path.read_bytes())
    change(manifest)
    path.write_bytes(encode_manifest(manifest))


def _sign_manifest(root: Path, key: Any) -> None:
    """Replace both manifest signatures with valid ones by `key` (someone else's key)."""
    data = (root / "manifest.json").read_bytes()
    (root / "manifest.json.sig").write_text(key.sign_ssh(data, namespace="evidencekit"))
    (root / "manifest.json.ed25519").write_bytes(key.sign_raw(data))


def _rewrite_and_sign(root: Path, key: Any) -> None:
    _rewrite_manifest(root, lambda m: m["case"].update(title="Another case"))
    _sign_manifest(root, key)


def _custody(root: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    path = root / "custody.jsonl"
    lines = change(split_lines(path.read_bytes()))
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def _edit_record(lines: list[bytes], index: int, **fields: Any) -> list[bytes]:
    data = _canonical.loads(lines[index])
    data.update(fields)
    lines[index] = _canonical.dumps(data)
    return lines


def _forged_record(lines: list[bytes], key: Any, manifest: bytes) -> list[bytes]:
    last = parse_record(lines[-1], lineno=len(lines))
    forged = make_record(
        key=key,
        seq=len(lines) + 1,
        prev=last.link(),
        action="note",
        manifest_bytes=manifest,
        manifest_revision=int(last.data["manifest_revision"]),
        note="nothing to see here",
    )
    return [*lines, forged]


def _swap(lines: list[bytes], a: int, b: int) -> list[bytes]:
    lines[a], lines[b] = lines[b], lines[a]
    return lines


def case_tampers(case_dir: str = "") -> list[Case]:
    """Every tamper of a case; `case_dir` is where the case records sit inside the target
    (`""` for a case folder, `"data/case"` for an unpacked package)."""
    _, _, outsider = H.test_keys()
    target = "package" if case_dir else "case"
    prefix = f"{target}-"

    def at(root: Path) -> Path:
        return root / case_dir if case_dir else root

    def obj(root: Path) -> Path:
        return _first(at(root), "objects/sha256/*/*") if not case_dir else _first(root, "data/evidence/E0001_*")

    def do(name: str, apply: Tamper) -> Case:
        return Case(prefix + name, target, apply)

    def manifest_bytes(root: Path) -> bytes:
        return (at(root) / "manifest.json").read_bytes()

    tampers = [
        do("stored-file-changed", lambda r: _flip(obj(r))),
        do("stored-file-deleted", lambda r: obj(r).unlink()),
        do("stored-file-renamed", lambda r: obj(r).rename(obj(r).with_name("renamed"))),
        do("transcript-changed", lambda r: _flip(_first(at(r), "derived/*.jsonl"), 10)),
        do("transcript-deleted", lambda r: _first(at(r), "derived/*.jsonl").unlink()),
        do("transcript-added", lambda r: (at(r) / "derived" / ("0" * 64 + ".jsonl")).write_bytes(b"{}\n")),
        do("manifest-changed", lambda r: _rewrite_manifest(at(r), lambda m: m["case"].update(title="Another case"))),
        do("manifest-items-reordered", lambda r: _rewrite_manifest(at(r), lambda m: m["items"].reverse())),
        do("manifest-item-removed", lambda r: _rewrite_manifest(at(r), lambda m: m["items"].pop(0))),
        do("manifest-deleted", lambda r: (at(r) / "manifest.json").unlink()),
        do("manifest-renamed", lambda r: (at(r) / "manifest.json").rename(at(r) / "manifest.json.bak")),
        do(
            "manifest-changed-and-signed-by-another",
            lambda r: _rewrite_and_sign(at(r), outsider),
        ),
        do("ssh-signature-changed", lambda r: _flip(at(r) / "manifest.json.sig", 60)),
        do("ssh-signature-deleted", lambda r: (at(r) / "manifest.json.sig").unlink()),
        do("raw-signature-changed", lambda r: _flip(at(r) / "manifest.json.ed25519", 5)),
        do("raw-signature-deleted", lambda r: (at(r) / "manifest.json.ed25519").unlink()),
        do("signatures-swapped-for-another-persons", lambda r: _sign_manifest(at(r), outsider)),
        do("custody-record-edited", lambda r: _custody(at(r), lambda ls: _edit_record(ls, 2, note="edited"))),
        do("custody-record-deleted", lambda r: _custody(at(r), lambda ls: ls[:1] + ls[2:])),
        do("custody-last-record-deleted", lambda r: _custody(at(r), lambda ls: ls[:-1])),
        do("custody-records-reordered", lambda r: _custody(at(r), lambda ls: _swap(ls, 1, 2))),
        do("custody-forged-record-appended", lambda r: _custody(at(r), lambda ls: _forged_record(ls, outsider, manifest_bytes(r)))),
        do("custody-log-deleted", lambda r: (at(r) / "custody.jsonl").unlink()),
        do("public-key-changed", lambda r: _flip(_first(at(r), "keys/*.pub"), 20)),
        do("public-key-deleted", lambda r: _first(at(r), "keys/*.pem").unlink()),
        do("public-key-added", lambda r: (at(r) / "keys" / "SHA256_extra.pub").write_text(outsider.public.openssh("x") + "\n")),
        do("public-key-replaced-by-anothers", lambda r: _first(at(r), "keys/*.pub").write_text(outsider.public.openssh("aisyah") + "\n")),
        do("allowed-signers-changed", lambda r: (at(r) / "allowed_signers").write_bytes((at(r) / "allowed_signers").read_bytes() + b"mallory * ssh-ed25519 AAAA\n")),
        do("allowed-signers-reordered", lambda r: (at(r) / "allowed_signers").write_bytes(b"".join(reversed((at(r) / "allowed_signers").read_bytes().splitlines(keepends=True))))),
        do("allowed-signers-deleted", lambda r: (at(r) / "allowed_signers").unlink()),
        do("unexpected-file-added", lambda r: (at(r) / "extra-note.txt").write_text("added later")),
    ]  # fmt: skip
    if not case_dir:
        tampers += [
            do("stored-file-added", lambda r: _add_object(at(r))),
            do("index-changed", lambda r: _flip(at(r) / "index" / "chats.sqlite", 200)),
            do("index-deleted", lambda r: (at(r) / "index" / "chats.sqlite").unlink()),
            do("index-file-added", lambda r: (at(r) / "index" / "notes.txt").write_text("not evidence")),
        ]
    return tampers


def _add_object(root: Path) -> None:
    data = b"planted later"
    digest = hashlib.sha256(data).hexdigest()
    path = root / "objects" / "sha256" / digest[:2] / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def package_tampers() -> list[Case]:
    """Every tamper of an unpacked package: its bag files, and the case records inside it."""
    _, _, outsider = H.test_keys()

    def do(name: str, apply: Tamper) -> Case:
        return Case("package-" + name, "package", apply)

    def manifest_lines(root: Path, name: str, change: Callable[[list[bytes]], list[bytes]]) -> None:
        path = root / name
        path.write_bytes(b"".join(change(path.read_bytes().splitlines(keepends=True))))

    tampers = [
        do("payload-file-added", lambda r: (r / "data" / "evidence" / "E9999_planted.png").write_bytes(H.png_bytes((4, 4)))),
        do("package-index-changed", lambda r: _flip(r / "data" / "package.json", 30)),
        do("package-index-deleted", lambda r: (r / "data" / "package.json").unlink()),
        do("bag-manifest-line-changed", lambda r: _flip(r / "manifest-sha256.txt", 3)),
        do("bag-manifest-lines-reordered", lambda r: manifest_lines(r, "manifest-sha256.txt", lambda ls: ls[::-1])),
        do("bag-manifest-line-removed", lambda r: manifest_lines(r, "manifest-sha256.txt", lambda ls: ls[1:])),
        do("bag-manifest-deleted", lambda r: (r / "manifest-sha512.txt").unlink()),
        do("tag-manifest-changed", lambda r: _set_byte(r / "tagmanifest-sha256.txt", 3, b"0")),  # another hex digit
        do("tag-manifest-line-malformed", lambda r: _set_byte(r / "tagmanifest-sha256.txt", 3, b"g")),  # not hex
        do("tag-manifest-lines-reordered", lambda r: manifest_lines(r, "tagmanifest-sha256.txt", lambda ls: ls[::-1])),
        do("tag-manifest-deleted", lambda r: (r / "tagmanifest-sha256.txt").unlink()),
        do("tag-signature-changed", lambda r: _flip(r / "tagmanifest-sha256.txt.sig", 60)),
        do("tag-signature-deleted", lambda r: (r / "tagmanifest-sha256.txt.sig").unlink()),
        do("tag-raw-signature-changed", lambda r: _flip(r / "tagmanifest-sha256.txt.ed25519", 5)),
        do("tag-raw-signature-deleted", lambda r: (r / "tagmanifest-sha256.txt.ed25519").unlink()),
        do("tag-signatures-swapped-for-another-persons", lambda r: _sign_tags(r, outsider)),
        do("packager-key-changed", lambda r: _flip(r / "packager.pub", 20)),
        do("packager-allowed-signers-changed", lambda r: _flip(r / "allowed_signers", 3)),
        do("bag-info-changed", lambda r: (r / "bag-info.txt").write_bytes((r / "bag-info.txt").read_bytes().replace(b"EK-TAMPER", b"EK-OTHER"))),
        do("verify-text-changed", lambda r: _flip(r / "VERIFY.txt", 10)),
        do("tag-file-added", lambda r: (r / "notes.txt").write_text("added later")),
    ]  # fmt: skip
    return tampers + case_tampers("data/case")


def _sign_tags(root: Path, key: Any) -> None:
    data = (root / "tagmanifest-sha256.txt").read_bytes()
    (root / "tagmanifest-sha256.txt.sig").write_text(key.sign_ssh(data, namespace="evidencekit"))
    (root / "tagmanifest-sha256.txt.ed25519").write_bytes(key.sign_raw(data))


def all_tampers() -> list[Case]:
    return case_tampers() + package_tampers()
