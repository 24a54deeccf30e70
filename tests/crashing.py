"""Crash rounds for `tests/test_crash.py` and `bench/bench_crash.py`: run an evidencekit
command in a child process, SIGKILL it at a random moment, then check the case.

After every kill, whatever the command: the case verifies as it is, or `recover()` brings
it back to verifying; every stored object that existed after the kill is still there,
untouched (same inode, size and time; `verify` then proves its bytes match its name); every
item of the manifest committed before the round is still in the manifest with the same
SHA-256; every object in the store is named by the manifest; and the next command may run
(`ensure_consistent`). Each `Command` adds its own checks (a killed `package` changes
nothing in the case and leaves no half-written zip; a killed `reindex` never breaks
`list_messages`; ...).

The kill lands in the command itself: the child says `ready` once Python and evidencekit
are imported and `done` when the command returned, and the parent waits a random time
between 0 and the time from `ready` to `done` of an uninterrupted run of the same command.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

import evidencekit as ek
from evidencekit.case import ensure_consistent, manifest_sha256
from evidencekit.chatindex import index_path
from evidencekit.signing import generate_signing_key_for_tests

REPO = Path(__file__).resolve().parents[1]
TIMEZONE = "Asia/Kuala_Lumpur"
#: Problem kinds a killed command may leave, all of which `recover` must repair.
FAILING_BUT_RECOVERABLE = {"interrupted", "manifest-mismatch", "bad-signature", "unexpected"}
CHILD = """
import sys
import evidencekit as ek
from evidencekit.signing import generate_signing_key_for_tests
key = generate_signing_key_for_tests("aisyah", bytes(range(32)))
case, arg = ek.Case.open(sys.argv[1]), sys.argv[2]
print("ready", flush=True)
"""


def child_key() -> ek.SigningKey:
    """The key the children sign with (the same as the `key` fixture of `tests/conftest.py`)."""
    return generate_signing_key_for_tests("aisyah", bytes(range(32)))


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def make_batch(folder: Path, rng: random.Random, round_no: int) -> Path:
    """Forty distinct screenshots and three 3 MiB 'videos' (the copies take a while)."""
    folder.mkdir(parents=True)
    for index in range(40):
        (folder / f"shot-{index:03d}.png").write_bytes(png((32 + index, 32), (round_no % 256, index * 5 % 256, 9)))
    for index in range(3):
        (folder / f"video-{index}.bin").write_bytes(rng.randbytes(3 << 20))
    return folder


def whatsapp_zip(path: Path, round_no: int, *, messages: int = 40, photos: int = 3) -> Path:
    """An iOS-style WhatsApp 'Export chat' zip (like `tests/test_chat_capture.py`'s), distinct
    per round: `_chat.txt` with `messages` lines and `photos` attached pictures."""
    names = [f"{round_no:08d}-PHOTO-2023-08-23-21-{n:02d}-10.jpg" for n in range(photos)]
    lines = []
    for n in range(messages):
        stamp = f"[23/08/23, {21 + n // 3600 % 3:02d}:{n // 60 % 60:02d}:{n % 60:02d}]"
        sender = ("Lina", "Badrul")[n % 2]
        text = f"\u200e<attached: {names[n]}>" if n < photos else f"round {round_no} message {n}: don't share this"
        lines.append(f"{stamp} {sender}: {text}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("_chat.txt", "\r\n".join(lines) + "\r\n")
        for n, name in enumerate(names):
            zf.writestr(name, png((40 + n, 30), (round_no % 256, n * 40 % 256, 10)))
    return path


def _stats(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under `folder` by relative path: (inode, size, modification time)."""
    out = {}
    for path in folder.rglob("*"):
        if path.is_file():
            info = path.stat()
            out[path.relative_to(folder).as_posix()] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return out


def case_files(case: ek.Case) -> dict[str, tuple[int, int, int]]:
    """The case's files, less the lock and the search index (neither is part of the case's state)."""
    return {k: v for k, v in _stats(case.root).items() if k != ".lock" and not k.startswith("index/")}


@dataclass
class Round:
    """One round: the case, the round's work folder and what the case held before it started."""

    case: ek.Case
    work: Path
    rng: random.Random
    number: int
    files: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)  # id -> sha256 of the committed manifest
    records: int = 0
    state: dict[str, Any] = field(default_factory=dict)  # the command's own, from its `setup`
    notes: dict[str, int] = field(default_factory=dict)  # command-specific counts, summed over rounds


@dataclass(frozen=True)
class Command:
    """An evidencekit command to kill: Python run in the child after `CHILD`, how to make each
    round's argument, and what to check after the common checks."""

    name: str
    call: str  # `case`, `key` and `arg` are defined
    prepare: Callable[[Round], str]
    setup: Callable[[ek.Case, Path, ek.SigningKey], dict[str, Any]] = lambda case, work, key: {}
    check: Callable[[Round, str], None] = lambda round_, outcome: None


def _start(command: Command, case: ek.Case, arg: str, tmpdir: Path) -> subprocess.Popen[bytes]:
    tmpdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmpdir)}
    child = subprocess.Popen(
        [sys.executable, "-c", f"{CHILD}{command.call}\nprint('done', flush=True)\n", str(case.root), arg],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line == b"ready\n", (line, child.communicate()[1].decode(errors="replace"))
    return child


def _finish(child: subprocess.Popen[bytes], delay: float | None) -> int:
    """Kill the child after `delay` seconds (or let it run to the end); return its exit status."""
    if delay is not None:
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
    _, err = child.communicate()
    assert child.returncode in (0, -signal.SIGKILL), f"{child.returncode}: {err.decode(errors='replace')}"
    return child.returncode


def _snapshot(round_: Round) -> None:
    data, manifest = round_.case.read_manifest()
    last = round_.case.last_record()
    assert last is not None and last.data["manifest_sha256"] == manifest_sha256(data)
    round_.items = {item["id"]: item["sha256"] for item in manifest["items"]}
    round_.files = case_files(round_.case)
    round_.records = last.seq


def check_after_kill(round_: Round, key: ek.SigningKey) -> str:
    """The checks every command shares; returns `intact` or `recovered`."""
    case = round_.case
    saved = {k: v for k, v in case_files(case).items() if k.startswith("objects/")}
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
    ensure_consistent(case)  # the next command may run
    now = {k: v for k, v in case_files(case).items() if k.startswith("objects/")}
    lost = [name for name, stat in saved.items() if now.get(name) != stat]
    assert not lost, f"stored objects lost or changed: {lost}"
    manifest = case.read_manifest()[1]
    by_id = {item["id"]: item["sha256"] for item in manifest["items"]}
    dropped = [i for i, sha in round_.items.items() if by_id.get(i) != sha]
    assert not dropped, f"committed items gone or changed: {dropped}"
    assert {Path(name).name for name in now} <= set(by_id.values()), "an object in the store is not in the manifest"
    return outcome


def run_round(command: Command, round_: Round, key: ek.SigningKey, span: float) -> str:
    """Start the command, kill it at a random moment, run every check; return the outcome."""
    _snapshot(round_)
    arg = command.prepare(round_)
    child = _start(command, round_.case, arg, round_.work / "tmpdir")
    _finish(child, round_.rng.uniform(0.0, span))
    outcome = check_after_kill(round_, key)
    command.check(round_, outcome)
    return outcome


def measure(command: Command, round_: Round) -> float:
    """Run the command once to the end; return how long it took (from `ready` to `done`)."""
    arg = command.prepare(round_)
    child = _start(command, round_.case, arg, round_.work / "tmpdir")
    started = time.monotonic()
    assert child.stdout is not None and child.stdout.readline() == b"done\n"
    took = time.monotonic() - started
    assert _finish(child, None) == 0
    return took


@dataclass
class Tally:
    """What a run of rounds of one command gave."""

    rounds: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    span: float = 0.0
    notes: dict[str, int] = field(default_factory=dict)  # command-specific counts (leftover temp files...)

    def to_json(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "intact": self.outcomes.get("intact", 0),
            "recoveries": self.outcomes.get("recovered", 0),
            "failures": len(self.failures),
            "first_failures": self.failures[:5],
            "seconds_per_run": round(self.span, 3),
            **self.notes,
        }


def run_rounds(
    command: Command,
    folder: Path,
    rounds: int,
    *,
    seed: int,
    key: ek.SigningKey,
    keep_going: bool = False,
    rounds_per_case: int = 25,
) -> Tally:
    """`rounds` kills of `command`, on a fresh case in `folder` every `rounds_per_case` rounds
    (so `verify`, which hashes every stored byte, stays quick). A failed check raises, unless
    `keep_going` (the bench): then it is counted and the next round starts on a fresh case."""
    rng = random.Random(f"{seed}-{command.name}")
    tally = Tally()
    case, state = _fresh_case(command, folder / "case-0", key)
    tally.span = measure(command, Round(case, folder / "timing", rng, 10_000, state=state))
    for number in range(rounds):
        if number and number % rounds_per_case == 0:
            case, state = _fresh_case(command, folder / f"case-{number}", key)
        round_ = Round(case, folder / f"round-{number}", rng, number, state=state, notes=tally.notes)
        try:
            outcome = run_round(command, round_, key, tally.span)
        except AssertionError as exc:
            if not keep_going:
                raise AssertionError(f"{command.name}, round {number} (seed {seed}): {exc}") from exc
            tally.failures.append(f"round {number}: {str(exc)[:300]}")
            case, state = _fresh_case(command, folder / f"case-{number}-after-failure", key)
            outcome = "failed"
        shutil.rmtree(round_.work, ignore_errors=True)
        tally.rounds += 1
        tally.outcomes[outcome] = tally.outcomes.get(outcome, 0) + 1
    return tally


def _fresh_case(command: Command, root: Path, key: ek.SigningKey) -> tuple[ek.Case, dict[str, Any]]:
    case = ek.init_case(root, title="Crash test", key=key, case_id="EK-CRASH", timezone=TIMEZONE)
    return case, command.setup(case, root.parent / f"{root.name}-setup", key)


def _note(round_: Round, name: str, count: int = 1) -> None:
    round_.notes[name] = round_.notes.get(name, 0) + count


# --- the commands -------------------------------------------------------------------------


def _populate(case: ek.Case, work: Path, key: ek.SigningKey, *, messages: int = 40) -> None:
    """Give a case some screenshots and a chat with its transcript."""
    rng = random.Random(7)
    batch = work / "batch"
    batch.mkdir(parents=True)
    for index in range(6):
        (batch / f"shot-{index}.png").write_bytes(png((50 + index, 40), (index * 30, 90, 9)))
    (batch / "clip.bin").write_bytes(rng.randbytes(1 << 20))
    chat = whatsapp_zip(work / "WhatsApp Chat - Kelab.zip", 9_999, messages=messages)
    ek.capture(case, [batch, chat], key=key, source="crash test setup", timezone=TIMEZONE)


def _prepare_capture(round_: Round) -> str:
    return str(make_batch(round_.work / "batch", round_.rng, round_.number))


def _prepare_chat(round_: Round) -> str:
    return str(whatsapp_zip(round_.work / f"WhatsApp Chat - round {round_.number}.zip", round_.number, messages=400))


def _check_chat(round_: Round, outcome: str) -> None:
    """Every transcript the manifest names reads back, message for message."""
    expected = sum(chat["messages"] for chat in ek.list_chats(round_.case))
    assert len(list(ek.list_messages(round_.case))) == expected


PACKAGE_TEMP = re.compile(r"\.EK-CRASH\.zip\..+\.tmp")


def _prepare_package(round_: Round) -> str:
    out = round_.work / "out"
    out.mkdir(parents=True)
    return str(out / "EK-CRASH.zip")


def _check_package(round_: Round, outcome: str) -> None:
    assert outcome == "intact", "a killed package changed the case"
    assert case_files(round_.case) == round_.files, "a killed package changed a file of the case"
    out = round_.work / "out"
    for path in out.iterdir():
        if path.name == "EK-CRASH.zip":
            ek.verify(path)  # published only once complete: it must check out
            _note(round_, "packages_completed")
        else:
            assert PACKAGE_TEMP.fullmatch(path.name), f"unexpected file next to the package: {path.name}"
            _note(round_, "package_temp_files_seen_after_kill")
    left = [p.name for p in (round_.work / "tmpdir").iterdir()]
    assert all(name.startswith("evidencekit-report-") for name in left), left
    _note(round_, "report_temp_folders_seen_after_kill", len(left))


def _setup_populated(case: ek.Case, work: Path, key: ek.SigningKey) -> dict[str, Any]:
    _populate(case, work, key)
    return {}


def _setup_transfer(case: ek.Case, work: Path, key: ek.SigningKey) -> dict[str, Any]:
    _populate(case, work, key)
    return {"package": str(ek.package(case, key=key, out=work / "EK-CRASH.zip", reports=False).path)}


def _check_transfer(round_: Round, outcome: str) -> None:
    assert outcome == "intact", "a killed transfer needed recover"
    assert case_files(round_.case).get("manifest.json") == round_.files["manifest.json"]
    last = round_.case.last_record()
    assert last is not None and last.seq in (round_.records, round_.records + 1)
    if last.seq > round_.records:
        assert last.data["action"] == "transfer"
        _note(round_, "transfers_recorded")


def _setup_reindex(case: ek.Case, work: Path, key: ek.SigningKey) -> dict[str, Any]:
    _populate(case, work, key, messages=6000)
    return {"messages": list(ek.list_messages(case))}


def _prepare_reindex(round_: Round) -> str:
    if round_.rng.random() < 0.5:  # half the rounds kill the first build of the index
        index_path(round_.case).unlink(missing_ok=True)
    return ""


def _check_reindex(round_: Round, outcome: str) -> None:
    assert outcome == "intact", "a killed reindex needed recover"
    assert case_files(round_.case) == round_.files, "a killed reindex changed a file of the case"
    assert list(ek.list_messages(round_.case)) == round_.state["messages"]
    _note(round_, "index_temp_files_seen_after_kill", len(_index_leftovers(round_.case)))
    ek.reindex(round_.case)  # the next build removes what killed builds left: they do not pile up
    assert not _index_leftovers(round_.case), "temp files of killed index builds were not removed"


def _index_leftovers(case: ek.Case) -> list[str]:
    return [p.name for p in index_path(case).parent.iterdir() if p.name != "chats.sqlite"]


COMMANDS = {
    command.name: command
    for command in (
        Command("capture", "ek.capture(case, [arg], key=key, source='crash test')", _prepare_capture),
        Command(
            "capture-chat", f"ek.capture(case, [arg], key=key, timezone={TIMEZONE!r})", _prepare_chat, check=_check_chat
        ),
        Command(
            "package",
            "ek.package(case, key=key, out=arg)",
            _prepare_package,
            setup=_setup_populated,
            check=_check_package,
        ),
        Command(
            "custody-transfer",
            "ek.custody_transfer(case, key=key, to='Officer Tan', package=arg)",
            lambda round_: str(round_.state["package"]),
            setup=_setup_transfer,
            check=_check_transfer,
        ),
        Command("reindex", "ek.reindex(case)", _prepare_reindex, setup=_setup_reindex, check=_check_reindex),
    )
}
