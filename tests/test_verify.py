"""Verify: an untouched case passes; every change to any file or record is found and named."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

import evidencekit as ek
from evidencekit.case import ALLOWED_SIGNERS, CUSTODY, MANIFEST, RAW_SIGNATURE, SIGNATURE

from .conftest import make_writable_tree, tool_or_skip


def _problems(case: ek.Case, **kwargs) -> list[ek.Problem]:
    with pytest.raises(ek.VerificationError) as info:
        ek.verify(case, **kwargs)
    assert info.value.report is not None and not info.value.report.ok
    return info.value.problems


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _case_files(case: ek.Case) -> list[Path]:
    skip = {"README.txt", ".lock"}
    return sorted(p for p in case.root.rglob("*") if p.is_file() and p.name not in skip)


def test_untouched_case_verifies_with_no_false_problem(captured: ek.Case, key: ek.SigningKey) -> None:
    report = ek.verify(captured)
    assert report.ok and report.items == 3 and report.stored == 3 and report.custody_records == 2
    assert [p.kind for p in report.problems] == ["unpinned-signer"]
    assert report.signers == [{"fingerprint": key.public.fingerprint, "name": "aisyah", "trusted": False}]
    assert ek.is_intact(captured)


def test_trust_pins_the_signer(captured: ek.Case, key: ek.SigningKey, other_key: ek.SigningKey) -> None:
    report = ek.verify(captured, trusted_keys={key.public.fingerprint})
    assert report.signers[0]["trusted"] is True and not report.problems
    problems = _problems(captured, trusted_keys={other_key.public.fingerprint})
    assert [p.kind for p in problems] == ["untrusted-signer"] and problems[0].found == key.public.fingerprint


def test_parse_trust_accepts_fingerprints_and_key_files(tmp_path: Path, key: ek.SigningKey) -> None:
    (tmp_path / "k.pub").write_text(key.public.openssh("x") + "\n")
    (tmp_path / "k.pem").write_text(key.public.pem())
    assert ek.parse_trust([str(tmp_path / "k.pub"), str(tmp_path / "k.pem"), "SHA256:abc"]) == {
        key.public.fingerprint,
        "SHA256:abc",
    }


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_flipping_a_byte_in_any_case_file_is_detected(captured: ek.Case, where: str) -> None:
    make_writable_tree(captured.root)
    for path in _case_files(captured):
        original = path.read_bytes()
        offset = {"start": 0, "middle": len(original) // 2, "end": len(original) - 1}[where]
        _flip(path, offset)
        problems = _problems(captured)
        relpath = path.relative_to(captured.root).as_posix()
        named = [
            p
            for p in problems
            if relpath in (p.path or "")
            or (p.item and relpath.endswith(p.item))
            or (relpath.startswith("objects/") and p.kind == "altered")
        ]
        assert named, f"{relpath} changed at {offset} but no problem names it: {problems}"
        path.write_bytes(original)
    ek.verify(captured)


def test_random_byte_flips_in_manifest_and_log_are_detected(captured: ek.Case) -> None:
    rng = random.Random(7)
    for name in (MANIFEST, CUSTODY, SIGNATURE, RAW_SIGNATURE):
        path = captured.root / name
        original = path.read_bytes()
        for offset in rng.sample(range(len(original)), 12):
            _flip(path, offset)
            assert _problems(captured), f"{name} byte {offset}"
            path.write_bytes(original)


def test_altered_object_reports_expected_and_found(captured: ek.Case) -> None:
    item = captured.read_manifest()[1]["items"][0]
    path = captured.root / item["object"]
    make_writable_tree(captured.root)
    path.write_bytes(path.read_bytes() + b"x")
    [problem] = [p for p in _problems(captured) if p.kind == "altered"]
    assert problem.item == item["id"] and problem.path == item["object"] and problem.expected == item["sha256"]
    assert problem.found and problem.found != problem.expected


def test_every_problem_is_reported_not_only_the_first(captured: ek.Case) -> None:
    items = captured.read_manifest()[1]["items"]
    make_writable_tree(captured.root)
    (captured.root / items[0]["object"]).unlink()
    _flip(captured.root / items[1]["object"], 0)
    (captured.root / "objects" / "stray.bin").write_bytes(b"x")
    kinds = sorted(p.kind for p in _problems(captured))
    assert kinds == ["altered", "missing", "unexpected"]


@pytest.mark.parametrize("name", [MANIFEST, SIGNATURE, RAW_SIGNATURE, CUSTODY, ALLOWED_SIGNERS])
def test_deleted_case_file_is_missing(captured: ek.Case, name: str) -> None:
    (captured.root / name).unlink()
    assert any(p.kind == "missing" and p.path == name for p in _problems(captured))


def test_reordered_or_dropped_custody_records_break_the_chain(captured: ek.Case, key: ek.SigningKey) -> None:
    ek.custody_note(captured, "first note", key=key)
    ek.custody_note(captured, "second note", key=key)
    path = captured.root / CUSTODY
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2] + lines[1] + lines[3])
    assert "chain-broken" in {p.kind for p in _problems(captured)}
    path.write_bytes(lines[0] + lines[2] + lines[3])
    assert "chain-broken" in {p.kind for p in _problems(captured)}


def test_truncated_custody_log_is_a_manifest_mismatch(captured: ek.Case) -> None:
    path = captured.root / CUSTODY
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0])
    assert "manifest-mismatch" in {p.kind for p in _problems(captured)}


def test_someone_elses_valid_signature_is_caught(captured: ek.Case, other_key: ek.SigningKey) -> None:
    data = (captured.root / MANIFEST).read_bytes()
    (captured.root / SIGNATURE).write_text(other_key.sign_ssh(data))
    (captured.root / RAW_SIGNATURE).write_bytes(other_key.sign_raw(data))
    problems = _problems(captured)
    assert any(p.kind == "bad-signature" and p.found == other_key.public.fingerprint for p in problems)


def test_rewritten_history_signed_by_another_key_is_untrusted(
    captured: ek.Case, samples: Path, other_key: ek.SigningKey, key: ek.SigningKey
) -> None:
    ek.capture(captured, [samples / "note.txt"], key=other_key)  # a second person captures: a valid chain
    report = ek.verify(captured)
    assert {s["fingerprint"] for s in report.signers} == {key.public.fingerprint, other_key.public.fingerprint}
    problems = _problems(captured, trusted_keys={key.public.fingerprint})
    assert [p.kind for p in problems] == ["untrusted-signer"]


def test_interrupted_leftovers_are_reported(captured: ek.Case) -> None:
    (captured.root / "tmp" / "partial-abc").write_bytes(b"half")
    [problem] = _problems(captured)
    assert problem.kind == "interrupted" and "recover" in problem.message


def test_unparseable_manifest_is_malformed_not_a_crash(captured: ek.Case) -> None:
    (captured.root / MANIFEST).write_bytes(b'{"format":"evidencekit/manifest/99"}\n')
    kinds = {p.kind for p in _problems(captured)}
    assert {"malformed", "bad-signature", "manifest-mismatch"} <= kinds


def _ssh_keygen_verify(case: ek.Case) -> subprocess.CompletedProcess[str]:
    command = [
        "ssh-keygen",
        "-Y",
        "verify",
        "-f",
        ALLOWED_SIGNERS,
        "-I",
        "aisyah",
        "-n",
        "evidencekit",
        "-s",
        SIGNATURE,
    ]
    with open(case.root / MANIFEST, "rb") as data:
        return subprocess.run(command, stdin=data, cwd=case.root, capture_output=True, text=True)


def test_manifest_signature_checks_with_ssh_keygen_and_openssl(captured: ek.Case) -> None:
    tool_or_skip("ssh-keygen")
    result = _ssh_keygen_verify(captured)
    assert result.returncode == 0, result.stderr
    assert 'Good "evidencekit" signature for aisyah' in result.stdout
    tool_or_skip("openssl")
    [pem] = (captured.root / "keys").glob("*.pem")
    result = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(pem),
            "-rawin",
            "-in",
            MANIFEST,
            "-sigfile",
            RAW_SIGNATURE,
        ],
        cwd=captured.root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "Signature Verified Successfully" in result.stdout


def test_ssh_keygen_rejects_a_changed_manifest(captured: ek.Case) -> None:
    tool_or_skip("ssh-keygen")
    _flip(captured.root / MANIFEST, 10)
    result = _ssh_keygen_verify(captured)
    assert result.returncode != 0


def test_last_custody_record_matches_sha256sum_of_manifest(captured: ek.Case) -> None:
    import hashlib

    last = ek.custody_log(captured)[-1]
    assert last["manifest_sha256"] == hashlib.sha256((captured.root / MANIFEST).read_bytes()).hexdigest()
    assert os.path.getsize(captured.root / MANIFEST) > 0


def test_record_adds_a_verify_record_only_when_intact(captured: ek.Case, key: ek.SigningKey) -> None:
    ek.verify(captured, trusted_keys={key.public.fingerprint}, record_key=key)
    last = ek.custody_log(captured)[-1]
    assert last["action"] == "verify" and last["details"]["result"] == "match"
    assert last["details"]["trusted"] == [key.public.fingerprint]
    ek.verify(captured)
    item = captured.read_manifest()[1]["items"][0]
    make_writable_tree(captured.root)
    (captured.root / item["object"]).write_bytes(b"tampered")
    with pytest.raises(ek.VerificationError):
        ek.verify(captured, record_key=key)
    assert ek.custody_log(captured)[-1]["action"] == "verify" and len(ek.custody_log(captured)) == 3


def test_notes_and_checks_do_not_re_sign_the_manifest(
    captured: ek.Case, key: ek.SigningKey, other_key: ek.SigningKey
) -> None:
    manifest = (captured.root / MANIFEST).read_bytes()
    ek.custody_note(captured, "handed to officer", key=other_key)
    ek.verify(captured, record_key=other_key)
    assert (captured.root / MANIFEST).read_bytes() == manifest
    assert [r["action"] for r in ek.custody_log(captured)] == ["init", "capture", "note", "verify"]
    report = ek.verify(captured, trusted_keys={key.public.fingerprint, other_key.public.fingerprint})
    assert all(s["trusted"] for s in report.signers)
    problems = _problems(captured, trusted_keys={key.public.fingerprint})
    assert [p.kind for p in problems] == ["untrusted-signer"] and problems[0].found == other_key.public.fingerprint


def test_a_damaged_manifest_is_one_problem_not_a_flood(captured: ek.Case) -> None:
    (captured.root / MANIFEST).write_bytes(b"garbage\n")
    kinds = sorted(p.kind for p in _problems(captured))
    assert kinds == ["bad-signature", "malformed", "manifest-mismatch"]


def test_paths_work_wherever_a_case_is_expected(captured: ek.Case, samples: Path, key: ek.SigningKey) -> None:
    root = str(captured.root)
    assert ek.list_items(root) and ek.show_item(root, "e0001")["id"] == "E0001"
    assert ek.custody_log(root)[0]["action"] == "init"
    ek.capture(root, [samples / "note.txt"], key=key)
    ek.custody_note(root, "checked", key=key)
    assert ek.recover(root, key=key).resigned is False
