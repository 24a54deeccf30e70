"""Packages: signed BagIt zips checked by the real stock tools, tamper detection, encryption, handover."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import evidencekit as ek

from .conftest import png_bytes, tool_or_skip


@pytest.fixture
def odd_case(case: ek.Case, tmp_path: Path, key: ek.SigningKey, now) -> ek.Case:
    """A case whose files have names that trip tools: spaces, NFD, emoji, %, Windows-forbidden characters."""
    folder = tmp_path / "odd"
    folder.mkdir()
    names = ["IMG 0001.png", "cafe\u0301.png", "chat 😀 50%.txt", 'what?<>:"|*.txt', ".hidden.txt"]
    for number, name in enumerate(names):
        data = png_bytes(colour=(number * 40, 10, 10)) if name.endswith(".png") else f"{name}\n".encode()
        (folder / name).write_bytes(data)
    ek.capture(case, [folder], key=key, now=now)
    return case


def _ssh_verify(folder: Path, signed: str) -> subprocess.CompletedProcess[str]:
    command = [
        "ssh-keygen",
        "-Y",
        "verify",
        "-f",
        "allowed_signers",
        "-I",
        "aisyah",
        "-n",
        "evidencekit",
        "-s",
        f"{signed}.sig",
    ]
    with open(folder / signed, "rb") as data:
        return subprocess.run(command, stdin=data, cwd=folder, capture_output=True, text=True)


def _package(case: ek.Case, tmp_path: Path, key: ek.SigningKey, now, **options) -> ek.PackageResult:
    return ek.package(case, key=key, out=tmp_path / options.pop("name", "pkg.zip"), now=now, **options)


def _unzip(zip_path: Path, into: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
    [bag] = list(into.iterdir())
    return bag


def test_package_passes_every_stock_tool(odd_case: ek.Case, tmp_path: Path, key: ek.SigningKey, now) -> None:
    result = _package(odd_case, tmp_path, key, now)
    assert result.items == ["E0001", "E0002", "E0003", "E0004", "E0005"]
    with zipfile.ZipFile(result.path) as archive:  # no data descriptors (spec §1): streaming readers refuse them
        assert archive.testzip() is None and not any(info.flag_bits & 0x08 for info in archive.infolist())
    bag = _unzip(result.path, tmp_path / "out")
    assert (bag / "VERIFY.txt").read_text(encoding="utf-8").count(key.public.fingerprint) >= 2
    checks = [
        [sys.executable, "-m", "bagit", "--validate", str(bag)],
        ["unzip", "-t", str(result.path)],
        ["sha256sum", "-c", "--strict", "tagmanifest-sha256.txt"],
        ["sha256sum", "-c", "--strict", "--quiet", "manifest-sha256.txt"],
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "packager.pem",
            "-rawin",
            "-in",
            "tagmanifest-sha256.txt",
            "-sigfile",
            "tagmanifest-sha256.txt.ed25519",
        ],
    ]
    for command in checks:
        if command[0] != sys.executable:
            tool_or_skip(command[0])
        done = subprocess.run(command, cwd=bag, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    tool_or_skip("ssh-keygen")
    done = _ssh_verify(bag, "tagmanifest-sha256.txt")
    assert done.returncode == 0 and "Good" in done.stdout
    done = _ssh_verify(bag / "data" / "case", "manifest.json")
    assert done.returncode == 0, done.stderr


def test_verify_accepts_the_zip_and_the_unpacked_bag(
    odd_case: ek.Case, tmp_path: Path, key: ek.SigningKey, now
) -> None:
    result = _package(odd_case, tmp_path, key, now)
    report = ek.verify(result.path, trusted_keys={key.public.fingerprint})
    assert report.ok and report.items == 5 and report.stored == 5
    assert {s["name"] for s in report.signers} == {"aisyah"}
    folder, unpacked = ek.unpack(result.path, tmp_path / "received", trusted_keys={key.public.fingerprint})
    assert unpacked.ok and (folder / "bagit.txt").is_file()


def test_packaging_is_deterministic(captured: ek.Case, tmp_path: Path, key: ek.SigningKey, now) -> None:
    first = _package(captured, tmp_path, key, now, name="a.zip")
    second = _package(captured, tmp_path, key, now, name="b.zip")
    assert first.sha256 == second.sha256 and first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()


def _rewrite(zip_path: Path, change) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(zip_path, "w") as archive:
        for info, data in change(entries):
            archive.writestr(info, data)


def test_tampered_packages_are_caught_and_named(captured: ek.Case, tmp_path: Path, key: ek.SigningKey, now) -> None:
    result = _package(captured, tmp_path, key, now)
    original = result.path.read_bytes()
    evidence = next(
        info.filename for info in zipfile.ZipFile(result.path).infolist() if "/data/evidence/" in info.filename
    )

    def flip(entries):
        return [(i, d[:-1] + bytes([d[-1] ^ 1]) if i.filename == evidence else d) for i, d in entries]

    def drop(entries):
        return [(i, d) for i, d in entries if i.filename != evidence]

    def add(entries):
        extra = zipfile.ZipInfo(evidence.rsplit("/", 1)[0] + "/E9999_extra.png")
        return [*entries, (extra, b"extra")]

    for change, kind in ((flip, "altered"), (drop, "missing"), (add, "unexpected")):
        result.path.write_bytes(original)
        _rewrite(result.path, change)
        with pytest.raises(ek.VerificationError) as info:
            ek.verify(result.path)
        problems = info.value.problems
        assert any(p.kind == kind and "data/evidence/" in (p.path or "") for p in problems), (kind, problems)


def test_no_content_and_item_selection(captured: ek.Case, tmp_path: Path, key: ek.SigningKey, now) -> None:
    bare = _package(captured, tmp_path, key, now, name="bare.zip", content=False)
    names = zipfile.ZipFile(bare.path).namelist()
    assert not [n for n in names if "/data/evidence/" in n] and bare.items == []
    report = ek.verify(bare.path)
    assert report.ok and [p.kind for p in report.notices].count("not-included") == 3
    some = _package(captured, tmp_path, key, now, name="some.zip", items=["E0002"])
    assert some.items == ["E0002"] and ek.verify(some.path).ok
    with pytest.raises(ek.InputError):
        _package(captured, tmp_path, key, now, name="none.zip", items=["E0042"])


def test_a_case_that_fails_verification_is_not_packaged(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, now
) -> None:
    (captured.root / "objects" / "stray").write_bytes(b"x")
    with pytest.raises(ek.VerificationError):
        _package(captured, tmp_path, key, now)
    assert not (tmp_path / "pkg.zip").exists()


def test_encrypted_package_opens_with_age_and_with_evidencekit(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, other_key: ek.SigningKey, now
) -> None:
    from cryptography.hazmat.primitives import serialization

    from evidencekit.encryption import identity_from_signing_key

    officer_pub = tmp_path / "officer.pub"
    officer_pub.write_text(other_key.public.openssh("officer") + "\n")
    result = _package(captured, tmp_path, key, now, name="pkg.zip.age", encrypt_to=[str(officer_pub)])
    assert result.path.read_bytes().startswith(b"age-encryption.org/v1\n")
    with pytest.raises(ek.SigningKeyError):
        ek.verify(result.path)
    report = ek.verify(result.path, identities=[identity_from_signing_key(other_key)])
    assert report.ok and report.items == 3
    plain = ek.decrypt(result.path, identities=[identity_from_signing_key(other_key)], out=tmp_path / "plain.zip")
    assert ek.verify(plain).ok
    tool_or_skip("age")
    private = tmp_path / "officer_key"
    private.write_bytes(
        other_key.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    private.chmod(0o600)
    done = subprocess.run(
        ["age", "-d", "-i", str(private), "-o", str(tmp_path / "by-age.zip"), str(result.path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "by-age.zip").read_bytes() == plain.read_bytes()


def test_handover_transfer_receipt_import(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, other_key: ek.SigningKey, now
) -> None:
    result = _package(captured, tmp_path, key, now)
    ek.custody_transfer(captured, key=key, to="Insp. Tan", package=result.path, note="USB stick, in person")
    receipt = ek.custody_receive(result.path, key=other_key, trusted_keys={key.public.fingerprint})
    assert receipt["verification"]["ok"] is True and receipt["package"]["sha256"] == result.sha256
    receipt_file = result.path.with_name(result.path.name + ".receipt.json")
    record = ek.custody_import_receipt(captured, receipt_file, key=key)
    assert record["action"] == "receive" and record["details"]["receipt"]["receiver"]["name"] == "mallory"
    report = ek.verify(captured, trusted_keys={key.public.fingerprint})
    assert [r["action"] for r in ek.custody_log(captured)][-2:] == ["transfer", "receive"] and report.ok
    forged = receipt_file.read_text().replace('"ok":true', '"ok":false')
    (tmp_path / "forged.json").write_text(forged)
    with pytest.raises(ek.BadSignatureError):
        ek.custody_import_receipt(captured, tmp_path / "forged.json", key=key)


def test_receipt_for_an_unknown_package_is_refused(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, other_key: ek.SigningKey, now
) -> None:
    result = _package(captured, tmp_path, key, now)
    ek.custody_receive(result.path, key=other_key)
    with pytest.raises(ek.InputError, match="no transfer"):
        ek.custody_import_receipt(captured, result.path.with_name(result.path.name + ".receipt.json"), key=key)


def test_verify_text_file_count_matches_payload_oxum(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, now
) -> None:
    bag = _unzip(_package(captured, tmp_path, key, now).path, tmp_path / "out")
    oxum = next(line for line in (bag / "bag-info.txt").read_text().splitlines() if line.startswith("Payload-Oxum"))
    found = subprocess.run("find data -type f | wc -l", shell=True, cwd=bag, capture_output=True, text=True)
    assert int(found.stdout.strip()) == int(oxum.rsplit(".", 1)[1])


def test_transfer_refuses_a_file_that_is_not_this_cases_package(
    captured: ek.Case, samples: Path, tmp_path: Path, key: ek.SigningKey, now
) -> None:
    with pytest.raises(ek.InputError, match="not an evidencekit package"):
        ek.custody_transfer(captured, key=key, to="Insp. Tan", package=samples / "note.txt")
    other = ek.init_case(tmp_path / "other", title="another case", key=key, now=now)
    other_zip = _package(other, tmp_path, key, now, name="other.zip")
    with pytest.raises(ek.InputError, match="belongs to case"):
        ek.custody_transfer(captured, key=key, to="Insp. Tan", package=other_zip.path)


def test_a_receipt_is_imported_once_and_never_overwritten(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, other_key: ek.SigningKey, now
) -> None:
    result = _package(captured, tmp_path, key, now)
    ek.custody_transfer(captured, key=key, to="Insp. Tan", package=result.path)
    receipt = ek.custody_receive(result.path, key=other_key)
    with pytest.raises(ek.InputError, match="already there"):
        ek.custody_receive(result.path, key=other_key)
    ek.custody_import_receipt(captured, receipt["receipt_file"], key=key)
    with pytest.raises(ek.InputError, match="already in the custody log"):
        ek.custody_import_receipt(captured, receipt["receipt_file"], key=key)
    with pytest.raises(ek.FormatError, match="not an evidencekit receipt"):
        ek.custody_import_receipt(captured, result.path, key=key)


def test_a_copy_altered_in_the_case_stops_packaging(captured: ek.Case, tmp_path: Path, key: ek.SigningKey, now) -> None:
    from .conftest import make_writable_tree

    item = captured.read_manifest()[1]["items"][1]
    make_writable_tree(captured.root)
    stored = captured.root / item["object"]
    stored.write_bytes(bytes([stored.read_bytes()[0] ^ 1]) + stored.read_bytes()[1:])  # same size, other bytes
    with pytest.raises(ek.VerificationError) as info:
        _package(captured, tmp_path, key, now)
    assert info.value.problems[0].kind == "altered" and info.value.problems[0].expected == item["sha256"]
    assert not list(tmp_path.glob("*.zip")) and not list(tmp_path.glob(".*tmp*"))


def test_a_damaged_member_is_reported_not_raised(captured: ek.Case, tmp_path: Path, key: ek.SigningKey, now) -> None:
    result = _package(captured, tmp_path, key, now)
    data = bytearray(result.path.read_bytes())
    with zipfile.ZipFile(result.path) as archive:
        info = next(i for i in archive.infolist() if "/data/evidence/" in i.filename)
    data[info.header_offset + 30 + len(info.filename.encode()) + 2] ^= 1  # a byte of the stored content
    result.path.write_bytes(bytes(data))
    report = ek.verify(result.path, raise_on_failure=False)
    assert not report.ok and any(p.kind == "altered" for p in report.failures)


def test_a_signer_whose_key_file_name_has_runs_of_underscores_is_packaged(
    captured: ek.Case, tmp_path: Path, now
) -> None:
    """A fingerprint with `:/` or `//` gives a key file `SHA256__…` (case-layout §1); such a name is
    portable as it is, and must not be refused because `sanitize_name` would collapse the run."""
    from evidencekit.signing import generate_signing_key_for_tests

    signer = generate_signing_key_for_tests("lee", (30).to_bytes(32, "big"))
    assert signer.public.fingerprint.startswith("SHA256:/")
    (tmp_path / "more.txt").write_text("captured by a second person")
    ek.capture(captured, [tmp_path / "more.txt"], key=signer, now=now)  # a committing signer: its key files go in
    out = ek.package(captured, key=signer, out=tmp_path / "p.zip", now=now).path
    assert any("SHA256__" in name for name in zipfile.ZipFile(out).namelist())
    assert ek.verify(out).ok


def test_reports_that_cannot_be_made_stop_packaging_and_leave_nothing(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, now, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reports render on a thread while the evidence is zipped; their failure fails the package."""
    import importlib

    module = importlib.import_module("evidencekit.package")

    def broken(*_args: object) -> dict[str, bytes]:
        raise ek.EvidenceKitError("no font could print the report")

    monkeypatch.setattr(module, "_render_reports", broken)
    with pytest.raises(ek.EvidenceKitError, match="no font"):
        _package(captured, tmp_path, key, now)
    assert not list(tmp_path.glob("*.zip")) and not list(tmp_path.glob(".*tmp*"))


def test_the_package_sha256_is_read_back_once_with_progress(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, now
) -> None:
    result = _package(captured, tmp_path, key, now)
    seen: list[int] = []
    assert result.read_sha256(progress=seen.append) == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert sum(seen) == result.size
    assert result.read_sha256(progress=seen.append) == result.sha256 and sum(seen) == result.size  # not read again
