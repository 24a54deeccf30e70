"""Crash safety: real SIGKILLs at random moments; verify or recover always wins.

Each round starts an evidencekit command in a child process (capture of screenshots and
large files, capture of a WhatsApp export, package, custody transfer, reindex), kills it
with SIGKILL after a random delay, then checks the case: the rounds and their checks are in
`tests/crashing.py`, shared with `bench/bench_crash.py` (hundreds of rounds per command).
`EVIDENCEKIT_CRASH_ROUNDS` sets the rounds per command, `EVIDENCEKIT_CRASH_SEED` the seed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import evidencekit as ek

from .crashing import COMMANDS, run_rounds

#: Rounds per command in CI (about 30 s in all); set EVIDENCEKIT_CRASH_ROUNDS for long runs.
CI_ROUNDS = {"capture": 12, "capture-chat": 8, "package": 6, "custody-transfer": 8, "reindex": 8}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("command", list(COMMANDS))
def test_sigkill_at_any_moment_is_recoverable(command: str, tmp_path: Path, key: ek.SigningKey) -> None:
    rounds = int(os.environ.get("EVIDENCEKIT_CRASH_ROUNDS", CI_ROUNDS[command]))
    seed = int(os.environ.get("EVIDENCEKIT_CRASH_SEED", "20261128"))
    tally = run_rounds(COMMANDS[command], tmp_path, rounds, seed=seed, key=key)
    assert tally.rounds == rounds and not tally.failures
    print(f"crash outcomes, {command}:", tally.to_json())


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
