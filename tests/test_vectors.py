"""Golden vectors: each declares its outcome; regenerating them gives the checked-in bytes."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

import evidencekit as ek

from .vectors._generate import ENCRYPTED, EXAMINER, HERE, SPECIAL, VECTORS, generate

NAMES = sorted([*VECTORS, *SPECIAL, *ENCRYPTED])


def _expect(folder: Path) -> str:
    line = (folder / "expect.txt").read_text().strip()
    assert line.startswith("expect: ")
    return line.removeprefix("expect: ")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", NAMES)
def test_vector_outcome(name: str, tmp_path: Path) -> None:
    folder = HERE / name
    expect = _expect(folder)
    if expect == "ok":
        assert ek.verify(folder / "case").ok
        return
    with pytest.raises(ek.VerificationError) as info:
        ek.verify(folder / "case")
    assert expect in {p.kind for p in info.value.problems}, info.value.problems


@pytest.mark.parametrize("name", sorted(ENCRYPTED))
def test_encrypted_vector_with_the_key(name: str) -> None:
    """With the examiner's key, verify also decrypts each blob and checks the plaintext's hashes."""
    from evidencekit.encryption import identity_from_signing_key

    folder = HERE / name
    identities = [identity_from_signing_key(EXAMINER)]
    report = ek.verify(folder / "case", identities=identities, raise_on_failure=False)
    kinds = {p.kind for p in report.problems}
    assert "encrypted-not-checked" not in kinds
    if _expect(folder) == "ok":
        assert report.ok and report.stored == 2
    else:
        assert _expect(folder) in {p.kind for p in report.failures}


def test_vectors_are_reproducible(tmp_path: Path) -> None:
    generate(tmp_path)
    for name in NAMES:
        assert _tree(tmp_path / name) == _tree(HERE / name), f"vector {name} changed: rerun tests/vectors/_generate.py"
    assert not filecmp.dircmp(tmp_path, HERE).left_only
