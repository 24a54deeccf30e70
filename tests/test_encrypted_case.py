"""A case encrypted at rest (spec: docs/spec/case-layout.md §7): age interop, verify with and
without a key, tampering, chats, packages, recover and the command line."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pyrage  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives import serialization

import evidencekit as ek
from evidencekit.encryption import identity_from_signing_key
from evidencekit.errors import SigningKeyError

from .conftest import png_bytes
from .test_chat_capture import whatsapp_zip
from .test_cli import run

SECRET = b"the words nobody else may read, kept in the case"


@pytest.fixture
def extra() -> Any:
    return pyrage.x25519.Identity.generate()


@pytest.fixture
def sealed(tmp_path: Path, key: ek.SigningKey, now: datetime, extra: Any) -> ek.Case:
    case = ek.init_case(
        tmp_path / "sealed",
        title="Encrypted",
        key=key,
        encrypt=True,
        recipients=[str(extra.to_public())],
        timezone="Asia/Kuala_Lumpur",
        now=now,
    )
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "shot.png").write_bytes(png_bytes())
    (folder / "note.txt").write_bytes(SECRET)
    (folder / "same.txt").write_bytes(SECRET)
    result = ek.capture(case, [folder, whatsapp_zip(tmp_path / "wa.zip")], key=key, now=now)
    assert not result.failed and not result.unread and len(result.chats) == 1
    return case


def _manifest(case: ek.Case) -> dict[str, Any]:
    return case.read_manifest()[1]


def _item(case: ek.Case, name: str) -> dict[str, Any]:
    return next(i for i in _manifest(case)["items"] if i["sightings"][0]["name"] == name)


def _keys(key: ek.SigningKey) -> list[object]:
    return [identity_from_signing_key(key)]


def test_every_stored_file_is_an_age_blob_with_no_plaintext(sealed: ek.Case) -> None:
    manifest = _manifest(sealed)
    assert manifest["case"]["encryption"]["format"] == "age-encryption.org/v1"
    assert len(manifest["case"]["encryption"]["recipients"]) == 2
    stored = [*manifest["items"], *manifest["derived"]]
    assert all("blob" in entry for entry in stored)
    assert len([i for i in manifest["items"] if i["sightings"][0]["name"] in ("note.txt", "same.txt")]) == 1  # dedupe
    for entry in stored:
        data = (sealed.root / entry["object"]).read_bytes()
        assert data.startswith(b"age-encryption.org/v1\n") and len(data) == entry["blob"]["size"]
        assert SECRET not in data and b"don't share this" not in data and b"IHDR" not in data
    assert _item(sealed, "shot.png")["analysis"]["status"] == "ok"  # analysed from memory


def test_stock_age_decrypts_with_the_owner_key_and_an_extra_recipient(
    sealed: ek.Case, key: ek.SigningKey, extra: Any, tmp_path: Path
) -> None:
    blob = sealed.root / _item(sealed, "note.txt")["object"]
    owner = tmp_path / "id_ed25519"
    owner.write_bytes(
        key.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    os.chmod(owner, 0o600)
    age_key = tmp_path / "age.txt"
    age_key.write_text(str(extra) + "\n")
    for identity in (owner, age_key):
        out = subprocess.run(["age", "-d", "-i", str(identity), str(blob)], capture_output=True, check=True)
        assert out.stdout == SECRET


def test_verify_without_a_key_checks_blobs_and_says_so(sealed: ek.Case) -> None:
    report = ek.verify(sealed)
    assert report.ok and [p.kind for p in report.notices].count("encrypted-not-checked") == 1


def test_verify_with_a_key_checks_the_plaintext(sealed: ek.Case, key: ek.SigningKey) -> None:
    report = ek.verify(sealed, identities=_keys(key))
    assert report.ok and "encrypted-not-checked" not in [p.kind for p in report.notices]


def test_a_flipped_blob_byte_is_altered_without_a_key(sealed: ek.Case) -> None:
    path = sealed.root / _item(sealed, "note.txt")["object"]
    os.chmod(path, 0o600)
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ek.VerificationError) as caught:
        ek.verify(sealed)
    assert [p.kind for p in caught.value.problems] == ["altered"]


def test_a_blob_replaced_by_other_valid_ciphertext_is_caught_with_the_key(sealed: ek.Case, key: ek.SigningKey) -> None:
    item = _item(sealed, "note.txt")
    path = sealed.root / item["object"]
    os.chmod(path, 0o600)
    owner = pyrage.ssh.Recipient.from_str(key.public.openssh())
    path.write_bytes(pyrage.encrypt(b"some other words entirely", [owner]))
    report = ek.verify(sealed, identities=_keys(key), raise_on_failure=False)
    messages = [p.message for p in report.failures if p.item == item["id"]]
    assert any("encrypted" in m for m in messages) and any("sha256 differs" in m for m in messages)


def test_a_wrong_key_is_a_clear_error_not_altered_evidence(sealed: ek.Case, other_key: ek.SigningKey) -> None:
    with pytest.raises(SigningKeyError):
        ek.verify(sealed, identities=_keys(other_key))


def test_messages_need_the_key_and_leave_no_index_on_disk(sealed: ek.Case, key: ek.SigningKey) -> None:
    with pytest.raises(SigningKeyError):
        list(ek.list_messages(sealed))
    texts = [m.get("text") for m in ek.list_messages(sealed, ek.MessageQuery(contains="share"), identities=_keys(key))]
    assert texts == ["don't share this"]
    assert not (sealed.root / "index" / "chats.sqlite").exists()
    with pytest.raises(ek.errors.CaseStateError):
        ek.reindex(sealed)


def test_package_holds_plaintext_and_passes_stock_tools(
    sealed: ek.Case, key: ek.SigningKey, now: datetime, tmp_path: Path
) -> None:
    result = ek.package(sealed, key=key, out=tmp_path / "p.zip", now=now)
    assert ek.verify(result.path).ok
    with zipfile.ZipFile(result.path) as archive:
        archive.extractall(tmp_path / "out")
        assert any(archive.read(n) == SECRET for n in archive.namelist() if "/data/evidence/" in n)
    [bag] = list((tmp_path / "out").iterdir())
    for command in (
        ["sha256sum", "-c", "--strict", "--quiet", "manifest-sha256.txt"],
        [sys.executable, "-m", "bagit", "--validate", str(bag)],
    ):
        assert subprocess.run(command, cwd=bag, capture_output=True).returncode == 0, command


def test_match_regions_and_report_read_through_the_key(sealed: ek.Case, key: ek.SigningKey, tmp_path: Path) -> None:
    reference = tmp_path / "ref.png"
    reference.write_bytes(png_bytes())
    with pytest.raises(SigningKeyError):
        ek.match(sealed, [reference])
    assert ek.match(sealed, [reference], identities=_keys(key)).matches
    assert ek.match(sealed, [reference], regions=False, identities=_keys(key)).matches
    report = ek.report(sealed, out=tmp_path / "r.html", images="full", identities=_keys(key))
    assert report.verified and "don&#x27;t share this" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_recover_after_a_crash_adopts_blobs_with_and_without_a_key(
    sealed: ek.Case, key: ek.SigningKey, now: datetime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture_module = importlib.import_module("evidencekit.capture")

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    (tmp_path / "late.txt").write_bytes(b"captured just before the power went")
    monkeypatch.setattr(capture_module, "_commit_capture", crash)
    with pytest.raises(KeyboardInterrupt):
        ek.capture(sealed, [tmp_path / "late.txt"], key=key, now=now)
    monkeypatch.undo()
    (sealed.root / "journal" / "capture.jsonl").unlink()  # worst case: the journal is lost too
    result = ek.recover(sealed, key=key, identities=[pyrage.x25519.Identity.generate()], now=now)
    assert len(result.locked) == 1 and not result.adopted  # no given key opens it: left in place
    result = ek.recover(sealed, key=key, now=now)  # the owner's key opens it
    assert len(result.adopted) == 1 and not result.locked
    assert ek.verify(sealed, identities=_keys(key)).ok


def test_command_line_exit_codes(home: Path, tmp_path: Path, extra: Any) -> None:
    folder = tmp_path / "c"
    assert run("init", str(folder), "--title", "T", "--encrypt", "--recipient", str(extra.to_public())).returncode == 0
    assert run("init", str(tmp_path / "d"), "--title", "T", "--recipient", "age1bad").returncode == 3
    assert run("init", str(tmp_path / "e"), "--title", "T", "--encrypt", "--recipient", "ssh-rsa AAAA").returncode == 3
    (tmp_path / "n.txt").write_bytes(SECRET)
    assert (
        run("capture", "--case", str(folder), str(whatsapp_zip(tmp_path / "w.zip")), str(tmp_path / "n.txt")).returncode
        == 0
    )
    checked = run("verify", str(folder), "--json")
    assert checked.returncode == 0 and "encrypted-not-checked" in checked.stdout
    assert run("verify", str(folder), "--identity", "key:aisyah").returncode == 0
    found = run("messages", "--case", str(folder), "--contains", "share", "--json")  # the owner's key, by default
    assert found.returncode == 0 and "share this" in found.stdout
    away = {"EVIDENCEKIT_HOME": str(tmp_path / "nokeys")}
    missing = run("messages", "--case", str(folder), env=away)
    assert missing.returncode == 3 and "--identity" in missing.stderr
    assert run("package", "--case", str(folder), "--out", str(tmp_path / "p.zip"), "--no-reports").returncode == 0
    locked = run("lock", "--json")
    assert locked.returncode == 0 and json.loads(locked.stdout)["cached"] is False


def test_duplicates_and_hashes_of_an_encrypted_case(sealed: ek.Case, key: ek.SigningKey) -> None:
    with pytest.raises(SigningKeyError):
        ek.find_duplicates(sealed)  # the chats, which say where pictures were posted, need the key
    clusters = ek.find_duplicates(sealed, identities=_keys(key))
    assert all(len(c.items) >= 1 for c in clusters)
    rows = ek.hash_list(sealed).to_json()
    assert {row["sha256"] for row in rows["items"]} <= {i["sha256"] for i in _manifest(sealed)["items"]}
