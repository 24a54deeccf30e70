"""The tamper matrix (issue 7): every kind of change to a case and to a package of it is
detected and named precisely, and nothing is reported on an untouched case or package.

Each change is one test id; the exact problems (kind, item, path) are pinned below.
`{E0003}` stands for that item's stored path, `{T0001}` for the transcript's file name and
`{lee}` for the second signer's key-file stem. Verification runs with `--trust` for the two
real signers, as an investigator with the fingerprints from paper would.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import evidencekit as ek
from evidencekit.bag import unpack_bag
from evidencekit.case import key_file_stem

from . import hostile as H
from . import tampering as T

NOW = datetime(2026, 3, 14, 21, 5, 9, tzinfo=timezone(timedelta(hours=8)))
COLLECTOR, VOLUNTEER, OUTSIDER = H.test_keys()
TRUSTED = {COLLECTOR.public.fingerprint, VOLUNTEER.public.fingerprint}
Row = tuple[str, str | None, str | None]

# fmt: off
EXPECTED: dict[str, list[Row]] = {
    'case-stored-file-changed': [('altered', 'E0003', '{E0003}')],
    'case-stored-file-deleted': [('missing', 'E0003', '{E0003}')],
    'case-stored-file-renamed': [('missing', 'E0003', '{E0003}'), ('unexpected', None, 'objects/sha256/23/renamed')],
    'case-transcript-changed': [('altered', 'T0001', 'derived/{T0001}')],
    'case-transcript-deleted': [('missing', 'T0001', 'derived/{T0001}')],
    'case-transcript-added': [('unexpected', None, 'derived/0000000000000000000000000000000000000000000000000000000000000000.jsonl')],
    'case-manifest-changed': [('bad-signature', None, 'manifest.json.sig'), ('manifest-mismatch', None, 'manifest.json')],
    'case-manifest-items-reordered': [('bad-signature', None, 'manifest.json.sig'), ('manifest-mismatch', None, 'manifest.json')],
    'case-manifest-item-removed': [('bad-signature', None, 'manifest.json.sig'), ('manifest-mismatch', None, 'manifest.json'), ('unexpected', None, '{E0001}')],
    'case-manifest-deleted': [('missing', None, 'manifest.json'), ('unexpected', None, 'derived/{T0001}')],
    'case-manifest-renamed': [('missing', None, 'manifest.json'), ('unexpected', None, 'derived/{T0001}'), ('unexpected', None, 'manifest.json.bak')],
    'case-manifest-changed-and-signed-by-another': [('manifest-mismatch', None, 'manifest.json'), ('untrusted-signer', None, None)],
    'case-ssh-signature-changed': [('bad-signature', None, 'manifest.json.sig')],
    'case-ssh-signature-deleted': [('missing', None, 'manifest.json.sig')],
    'case-raw-signature-changed': [('bad-signature', None, 'manifest.json.ed25519')],
    'case-raw-signature-deleted': [('missing', None, 'manifest.json.ed25519')],
    'case-signatures-swapped-for-another-persons': [('bad-signature', None, 'manifest.json.sig'), ('untrusted-signer', None, None)],
    'case-custody-record-edited': [('bad-signature', None, 'custody.jsonl:3'), ('chain-broken', None, 'custody.jsonl:4')],
    'case-custody-record-deleted': [('chain-broken', None, 'custody.jsonl:2'), ('chain-broken', None, 'custody.jsonl:3')],
    'case-custody-last-record-deleted': [('chain-broken', None, 'custody.jsonl')],
    'case-custody-records-reordered': [('chain-broken', None, 'custody.jsonl:2'), ('chain-broken', None, 'custody.jsonl:3'), ('chain-broken', None, 'custody.jsonl:4')],
    'case-custody-forged-record-appended': [('untrusted-signer', None, None)],
    'case-custody-log-deleted': [('missing', None, 'custody.jsonl')],
    'case-public-key-changed': [('altered', None, 'keys/{lee}.pub')],
    'case-public-key-deleted': [('missing', None, 'keys/{lee}.pem')],
    'case-public-key-added': [('unexpected', None, 'keys/SHA256_extra.pub')],
    'case-public-key-replaced-by-anothers': [('altered', None, 'keys/{lee}.pub')],
    'case-allowed-signers-changed': [('altered', None, 'allowed_signers')],
    'case-allowed-signers-reordered': [('altered', None, 'allowed_signers')],
    'case-allowed-signers-deleted': [('missing', None, 'allowed_signers')],
    'case-unexpected-file-added': [('unexpected', None, 'extra-note.txt')],
    'case-stored-file-added': [('unexpected', None, 'objects/sha256/55/5517c0b0dce25dda4552d3262cafa45cc24919337615ac17e39454ee4db59bff')],
    'case-index-changed': [],
    'case-index-deleted': [],
    'case-index-file-added': [],
    'package-payload-file-added': [('altered', None, 'bag-info.txt'), ('unexpected', None, 'data/evidence/E9999_planted.png')],
    'package-package-index-changed': [('altered', None, 'data/package.json')],
    'package-package-index-deleted': [('altered', None, 'bag-info.txt'), ('missing', None, 'data/package.json')],
    'package-bag-manifest-line-changed': [('altered', None, 'data/case/allowed_signers'), ('altered', None, 'manifest-sha256.txt')],
    'package-bag-manifest-lines-reordered': [('altered', None, 'manifest-sha256.txt')],
    'package-bag-manifest-line-removed': [('altered', None, 'manifest-sha256.txt'), ('unexpected', None, 'data/case/allowed_signers')],
    'package-bag-manifest-deleted': [('missing', None, 'manifest-sha512.txt')],
    'package-tag-manifest-changed': [('altered', None, 'VERIFY.txt'), ('bad-signature', None, 'tagmanifest-sha256.txt.sig')],
    'package-tag-manifest-line-malformed': [('bad-signature', None, 'tagmanifest-sha256.txt.sig'), ('malformed', None, 'tagmanifest-sha256.txt'), ('unexpected', None, 'VERIFY.txt')],
    'package-tag-manifest-lines-reordered': [('bad-signature', None, 'tagmanifest-sha256.txt.sig')],
    'package-tag-manifest-deleted': [('missing', None, 'tagmanifest-sha256.txt')],
    'package-tag-signature-changed': [('bad-signature', None, 'tagmanifest-sha256.txt.sig')],
    'package-tag-signature-deleted': [('missing', None, 'tagmanifest-sha256.txt.sig')],
    'package-tag-raw-signature-changed': [('bad-signature', None, 'tagmanifest-sha256.txt.ed25519')],
    'package-tag-raw-signature-deleted': [('missing', None, 'tagmanifest-sha256.txt.ed25519')],
    'package-tag-signatures-swapped-for-another-persons': [('untrusted-signer', None, None)],
    'package-packager-key-changed': [('altered', None, 'packager.pub')],
    'package-packager-allowed-signers-changed': [('altered', None, 'allowed_signers')],
    'package-bag-info-changed': [('altered', None, 'bag-info.txt')],
    'package-verify-text-changed': [('altered', None, 'VERIFY.txt')],
    'package-tag-file-added': [('unexpected', None, 'notes.txt')],
    'package-stored-file-changed': [('altered', 'E0001', 'data/evidence/E0001_red.png'), ('altered', None, 'data/evidence/E0001_red.png')],
    'package-stored-file-deleted': [('altered', None, 'bag-info.txt'), ('missing', 'E0001', '{E0001}'), ('missing', None, 'data/evidence/E0001_red.png')],
    'package-stored-file-renamed': [('missing', 'E0001', '{E0001}'), ('missing', None, 'data/evidence/E0001_red.png'), ('unexpected', None, 'data/evidence/renamed')],
    'package-transcript-changed': [('altered', 'T0001', 'data/case/derived/{T0001}'), ('altered', None, 'data/case/derived/{T0001}')],
    'package-transcript-deleted': [('altered', None, 'bag-info.txt'), ('missing', 'T0001', 'derived/{T0001}'), ('missing', None, 'data/case/derived/{T0001}')],
    'package-transcript-added': [('altered', None, 'bag-info.txt'), ('unexpected', None, 'data/case/derived/0000000000000000000000000000000000000000000000000000000000000000.jsonl'), ('unexpected', None, 'derived/0000000000000000000000000000000000000000000000000000000000000000.jsonl')],
    'package-manifest-changed': [('altered', None, 'bag-info.txt'), ('altered', None, 'data/case/manifest.json'), ('bad-signature', None, 'manifest.json.sig'), ('manifest-mismatch', None, 'data/package.json'), ('manifest-mismatch', None, 'manifest.json')],
    'package-manifest-items-reordered': [('altered', None, 'data/case/manifest.json'), ('bad-signature', None, 'manifest.json.sig'), ('manifest-mismatch', None, 'data/package.json'), ('manifest-mismatch', None, 'manifest.json')],
    'package-manifest-item-removed': [('altered', None, 'bag-info.txt'), ('altered', None, 'data/case/manifest.json'), ('bad-signature', None, 'manifest.json.sig'), ('manifest-mismatch', None, 'data/package.json'), ('manifest-mismatch', None, 'manifest.json'), ('unexpected', None, '{E0001}')],
    'package-manifest-deleted': [('altered', None, 'bag-info.txt'), ('manifest-mismatch', None, 'data/package.json'), ('missing', None, 'data/case/manifest.json'), ('missing', None, 'manifest.json'), ('unexpected', None, 'derived/{T0001}')],
    'package-manifest-renamed': [('manifest-mismatch', None, 'data/package.json'), ('missing', None, 'data/case/manifest.json'), ('missing', None, 'manifest.json'), ('unexpected', None, 'data/case/manifest.json.bak'), ('unexpected', None, 'derived/{T0001}'), ('unexpected', None, 'manifest.json.bak')],
    'package-manifest-changed-and-signed-by-another': [('altered', None, 'bag-info.txt'), ('altered', None, 'data/case/manifest.json'), ('altered', None, 'data/case/manifest.json.ed25519'), ('altered', None, 'data/case/manifest.json.sig'), ('manifest-mismatch', None, 'data/package.json'), ('manifest-mismatch', None, 'manifest.json'), ('untrusted-signer', None, None)],
    'package-ssh-signature-changed': [('altered', None, 'data/case/manifest.json.sig'), ('bad-signature', None, 'manifest.json.sig')],
    'package-ssh-signature-deleted': [('altered', None, 'bag-info.txt'), ('missing', None, 'data/case/manifest.json.sig'), ('missing', None, 'manifest.json.sig')],
    'package-raw-signature-changed': [('altered', None, 'data/case/manifest.json.ed25519'), ('bad-signature', None, 'manifest.json.ed25519')],
    'package-raw-signature-deleted': [('altered', None, 'bag-info.txt'), ('missing', None, 'data/case/manifest.json.ed25519'), ('missing', None, 'manifest.json.ed25519')],
    'package-signatures-swapped-for-another-persons': [('altered', None, 'data/case/manifest.json.ed25519'), ('altered', None, 'data/case/manifest.json.sig'), ('bad-signature', None, 'manifest.json.sig'), ('untrusted-signer', None, None)],
    'package-custody-record-edited': [('altered', None, 'bag-info.txt'), ('altered', None, 'data/case/custody.jsonl'), ('bad-signature', None, 'custody.jsonl:3'), ('chain-broken', None, 'custody.jsonl:4')],
    'package-custody-record-deleted': [('altered', None, 'bag-info.txt'), ('altered', None, 'data/case/custody.jsonl'), ('chain-broken', None, 'custody.jsonl:2'), ('chain-broken', None, 'custody.jsonl:3')],
    'package-custody-last-record-deleted': [('altered', None, 'bag-info.txt'), ('altered', None, 'data/case/custody.jsonl')],
    'package-custody-records-reordered': [('altered', None, 'data/case/custody.jsonl'), ('chain-broken', None, 'custody.jsonl:2'), ('chain-broken', None, 'custody.jsonl:3'), ('chain-broken', None, 'custody.jsonl:4')],
    'package-custody-forged-record-appended': [('altered', None, 'bag-info.txt'), ('altered', None, 'data/case/custody.jsonl'), ('untrusted-signer', None, None)],
    'package-custody-log-deleted': [('altered', None, 'bag-info.txt'), ('missing', None, 'custody.jsonl'), ('missing', None, 'data/case/custody.jsonl')],
    'package-public-key-changed': [('altered', None, 'data/case/keys/{lee}.pub'), ('altered', None, 'keys/{lee}.pub')],
    'package-public-key-deleted': [('altered', None, 'bag-info.txt'), ('missing', None, 'data/case/keys/{lee}.pem'), ('missing', None, 'keys/{lee}.pem')],
    'package-public-key-added': [('altered', None, 'bag-info.txt'), ('unexpected', None, 'data/case/keys/SHA256_extra.pub'), ('unexpected', None, 'keys/SHA256_extra.pub')],
    'package-public-key-replaced-by-anothers': [('altered', None, 'bag-info.txt'), ('altered', None, 'data/case/keys/{lee}.pub'), ('altered', None, 'keys/{lee}.pub')],
    'package-allowed-signers-changed': [('altered', None, 'allowed_signers'), ('altered', None, 'bag-info.txt'), ('altered', None, 'data/case/allowed_signers')],
    'package-allowed-signers-reordered': [('altered', None, 'allowed_signers'), ('altered', None, 'data/case/allowed_signers')],
    'package-allowed-signers-deleted': [('altered', None, 'bag-info.txt'), ('missing', None, 'allowed_signers'), ('missing', None, 'data/case/allowed_signers')],
    'package-unexpected-file-added': [('altered', None, 'bag-info.txt'), ('unexpected', None, 'data/case/extra-note.txt'), ('unexpected', None, 'extra-note.txt')],
}
# fmt: on

#: Changes verify cannot see yet, each pinned as a strict xfail.
UNDETECTED = {
    "case-custody-last-record-deleted": "design limit: a trailing custody record that did not change the manifest "
    "(note, verify) can be cut off unseen; nothing signed commits to the log's length (needs a log-head commitment)",
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tamper")
    case = H.build_case(root / "case", root / "work", NOW)
    H.make_writable(case.root)
    package = H.build_package(case, root / "EK-TAMPER.zip", NOW)
    unpacked = unpack_bag(package, root / "unpacked")
    H.make_writable(unpacked)
    return {"case": case.root, "package": unpacked, "zip": package}


def _names(root: Path) -> dict[str, str]:
    _, manifest = ek.Case.coerce(root).read_manifest()
    names = {item["id"]: item["object"] for item in manifest["items"] if item["storage"] == "stored"}
    names |= {entry["id"]: entry["object"].removeprefix("derived/") for entry in manifest.get("derived", [])}
    return names | {"lee": key_file_stem(VOLUNTEER.public.fingerprint)}


def _problems(target: Path) -> set[Row]:
    report = ek.verify(target, trusted_keys=TRUSTED, raise_on_failure=False)
    return {(problem.kind, problem.item, problem.path) for problem in report.failures}


@pytest.mark.parametrize("target", ["case", "package", "zip"])
def test_untouched_case_and_package_report_nothing(pristine: dict[str, Path], target: str) -> None:
    report = ek.verify(pristine[target], trusted_keys=TRUSTED, raise_on_failure=False)
    assert report.ok and not report.problems, report.problems


def _params() -> list[object]:
    params = []
    for tamper in T.all_tampers():
        marks = [pytest.mark.xfail(strict=True, reason=UNDETECTED[tamper.name])] if tamper.name in UNDETECTED else []
        params.append(pytest.param(tamper, id=tamper.name, marks=marks))
    return params


def test_every_tamper_has_a_pinned_outcome() -> None:
    assert sorted(EXPECTED) == sorted(t.name for t in T.all_tampers())


@pytest.mark.parametrize("tamper", _params())
def test_tamper_is_detected_and_named(pristine: dict[str, Path], tmp_path: Path, tamper: T.Case) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(pristine[tamper.target], copy, symlinks=True)
    tamper.apply(copy)
    found = _problems(copy)
    if tamper.name.startswith("case-index-"):  # the search index is not evidence: never reported
        assert not found
        return
    assert found, f"{tamper.name}: not detected"
    names = _names(pristine["case"])
    expected = {(kind, item, path.format_map(names) if path else None) for kind, item, path in EXPECTED[tamper.name]}
    assert found == expected


def test_a_tampered_zip_is_detected_too(pristine: dict[str, Path], tmp_path: Path) -> None:
    """The same change made inside the zip itself (not an unpacked copy) is found the same way."""
    import zipfile

    source, target = pristine["zip"], tmp_path / "EK-TAMPER.zip"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename.endswith("data/evidence/E0001_red.png"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            new.writestr(info, data)
    found = _problems(target)
    assert ("altered", "E0001", "data/evidence/E0001_red.png") in found
