"""Crash safety: real SIGKILLs at random moments during capture; verify or recover always wins.

Each round starts a capture in a child process, kills it with SIGKILL after a random
delay, then checks: the case verifies, or `recover()` brings it back to verifying, and
no stored object that existed after the kill was lost.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import evidencekit as ek

from .conftest import REPO, png_bytes

CHILD = """
import sys
from evidencekit import Case, capture
from evidencekit.signing import generate_signing_key_for_tests
key = generate_signing_key_for_tests("aisyah", bytes(range(32)))
capture(Case.open(sys.argv[1]), [sys.argv[2]], key=key, source="crash test")
"""
FAILING_BUT_RECOVERABLE = {"interrupted", "manifest-mismatch", "bad-signature", "unexpected"}


def _make_batch(folder: Path, rng: random.Random, round_no: int) -> None:
    folder.mkdir(parents=True)
    for index in range(40):
        (folder / f"shot-{index:03d}.png").write_bytes(
            png_bytes((32 + index, 32), (round_no % 256, index * 5 % 256, 9))
        )
    for index in range(3):
        (folder / f"video-{index}.bin").write_bytes(rng.randbytes(3 << 20))


def _objects(case: ek.Case) -> set[str]:
    return {p.name for p in (case.root / "objects").rglob("*") if p.is_file()}


def _start(case: ek.Case, batch: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(case.root), str(batch)], env=env)


def _full_run_seconds(case: ek.Case, tmp_path: Path, rng: random.Random) -> float:
    """How long one uninterrupted capture takes here, so kills land anywhere inside it."""
    batch = tmp_path / "batch-timing"
    _make_batch(batch, rng, 999)
    started = time.monotonic()
    assert _start(case, batch).wait() == 0
    return time.monotonic() - started


def _one_round(
    case: ek.Case, tmp_path: Path, rng: random.Random, round_no: int, key: ek.SigningKey, span: float
) -> str:
    batch = tmp_path / f"batch-{round_no}"
    _make_batch(batch, rng, round_no)
    child = _start(case, batch)
    time.sleep(rng.uniform(0.0, span))
    child.send_signal(signal.SIGKILL)
    child.wait()
    saved = _objects(case)
    try:
        ek.verify(case)
        outcome = "intact"
    except ek.VerificationError as exc:
        kinds = {p.kind for p in exc.problems}
        assert kinds <= FAILING_BUT_RECOVERABLE, exc.problems
        ek.recover(case, key=key)
        try:
            ek.verify(case)
        except ek.VerificationError as after:
            raise AssertionError(f"still failing after recover: {after.problems}; before: {exc.problems}") from None
        outcome = "recovered"
    assert saved <= _objects(case), "recover lost a stored object"
    referenced = {item["sha256"] for item in case.read_manifest()[1]["items"]}
    assert _objects(case) <= referenced, "an object in the store is not in the manifest"
    return outcome


def _run_rounds(rounds: int, case: ek.Case, tmp_path: Path, key: ek.SigningKey) -> dict[str, int]:
    rng = random.Random(int(os.environ.get("EVIDENCEKIT_CRASH_SEED", "20261128")))
    outcomes: dict[str, int] = {}
    span = _full_run_seconds(case, tmp_path, rng)
    for round_no in range(rounds):
        outcome = _one_round(case, tmp_path, rng, round_no, key, span)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_capture_is_always_recoverable(case: ek.Case, tmp_path: Path, key: ek.SigningKey) -> None:
    outcomes = _run_rounds(int(os.environ.get("EVIDENCEKIT_CRASH_ROUNDS", "12")), case, tmp_path, key)
    assert sum(outcomes.values()) >= 1
    print("crash outcomes:", outcomes)


def test_recover_refuses_a_tampered_log(captured: ek.Case, key: ek.SigningKey) -> None:
    path = captured.root / "custody.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0].replace(b'"init"', b'"note"') + b"".join(lines[1:]))
    with pytest.raises(ek.CaseStateError):
        ek.recover(captured, key=key)


def test_commands_refuse_an_interrupted_case_until_recovered(
    captured: ek.Case, samples: Path, key: ek.SigningKey
) -> None:
    (captured.root / "journal" / "capture.jsonl").write_bytes(b'{"base_revision":2,"kind":"start"}\n')
    with pytest.raises(ek.CaseStateError, match="interrupted"):
        ek.capture(captured, [samples], key=key)
    ek.recover(captured, key=key)
    ek.capture(captured, [samples / "note.txt"], key=key)
    ek.verify(captured)
    assert [r["action"] for r in ek.custody_log(captured)] == ["init", "capture", "recover", "capture"]


def test_recover_adopts_an_object_with_no_record(captured: ek.Case, key: ek.SigningKey) -> None:
    import hashlib

    data = b"saved just before the crash"
    digest = hashlib.sha256(data).hexdigest()
    target = captured.root / "objects" / "sha256" / digest[:2] / digest
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    result = ek.recover(captured, key=key)
    assert [a["sha256"] for a in result.adopted] == [digest]
    item = ek.show_item(captured, result.adopted[0]["id"])
    assert item["sightings"][0]["recovered"] is True
    ek.verify(captured)


def test_leftover_of_an_interrupted_atomic_write_is_cleaned(captured: ek.Case, key: ek.SigningKey) -> None:
    (captured.root / ".manifest.json.x1y2.tmp").write_bytes(b"{half a manifest")
    with pytest.raises(ek.VerificationError) as info:
        ek.verify(captured)
    assert [p.kind for p in info.value.problems] == ["interrupted"]
    assert ek.recover(captured, key=key).partials_removed == 1
    ek.verify(captured)


def test_recover_on_a_healthy_case_changes_nothing(captured: ek.Case, key: ek.SigningKey) -> None:
    before = (captured.root / "custody.jsonl").read_bytes()
    result = ek.recover(captured, key=key)
    assert result.resigned is False and not result.adopted
    assert (captured.root / "custody.jsonl").read_bytes() == before


def test_commands_refuse_a_case_with_partial_copies(captured: ek.Case, samples: Path, key: ek.SigningKey) -> None:
    (captured.root / "tmp" / "partial-xyz").write_bytes(b"half a file")
    with pytest.raises(ek.CaseStateError, match="interrupted"):
        ek.capture(captured, [samples], key=key)
    with pytest.raises(ek.CaseStateError, match="interrupted"):
        ek.custody_note(captured, "x", key=key)
    assert ek.recover(captured, key=key).partials_removed == 1
    ek.verify(captured)
