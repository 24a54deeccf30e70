"""A full disk during capture: a clear error naming the file, exit 3, never a traceback; the
case stays consistent (it verifies, or `recover` restores it once there is space again),
files saved before are kept, and no partial copy stays behind.

Two ways to fill the disk: `FullDisk` makes every write this process makes to a file of the
case fail with `ENOSPC` once the case's files would pass a size (a short write first, as
Linux does), patched in at the lowest level Python offers (`open`, `os.fdopen`, `os.write`);
and, when the tests run as root and may mount one, a real, small tmpfs.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import importlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import evidencekit as ek
from evidencekit import _chatcapture

from .conftest import REPO, png_bytes
from .crashing import whatsapp_zip

capture = importlib.import_module("evidencekit.capture")  # the module; `evidencekit.capture` is the function
capture_file = importlib.import_module("evidencekit._capture_file")
DISK_FULL = "the disk that holds the case is full"
FD_PATHS = Path("/proc/self/fd")


def _size(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # renamed or deleted meanwhile
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


class FullDisk:
    """A disk of `capacity` bytes holding `root`: a write that would pass it writes what fits
    (a short write), and the next one raises `OSError(ENOSPC)`. `fill()` leaves no space."""

    def __init__(self, root: Path, capacity: int):
        self.root = str(root.resolve())
        self.capacity = capacity
        self.refused = 0
        self._lock = threading.RLock()

    def fill(self) -> None:
        with self._lock:
            self.capacity = _size(Path(self.root))

    def covers(self, target: Any) -> bool:
        if isinstance(target, int):
            try:
                target = os.readlink(FD_PATHS / str(target))
            except OSError:
                return False
        if not isinstance(target, (str, os.PathLike)):
            return False
        return os.path.abspath(os.fspath(target)).startswith(self.root + os.sep)

    def write(self, name: str, data: Any, do_write: Any) -> int:
        """Write as much of `data` as fits with `do_write`; raise ENOSPC if nothing fits."""
        view = memoryview(data).cast("B")
        with self._lock:
            room = self.capacity - _size(Path(self.root))
            if room <= 0:
                self.refused += 1
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
            return int(do_write(view[:room]))


class _Limited:
    """A file object whose writes go through a `FullDisk`."""

    def __init__(self, handle: Any, disk: FullDisk, name: str, raw: bool):
        self._handle, self._disk, self._name, self._raw = handle, disk, name, raw

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        written = self._disk.write(self._name, view, self._write_now)
        if written < len(view) and not self._raw:  # a buffered file writes everything or raises
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._name)
        return written

    def _write_now(self, view: memoryview) -> int:
        written = self._handle.write(view)
        if not self._raw:
            self._handle.flush()  # count the bytes on disk now, not when the buffer fills
        return int(written)

    def __enter__(self) -> _Limited:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def limit_writes(root: Path, capacity: int, patch: Callable[[Any, str, Any], None]) -> FullDisk:
    """Put `root` on a `FullDisk`: `patch` (`monkeypatch.setattr`, or `setattr` in a child
    process) replaces `open`, `os.fdopen` and `os.write` with ones that write through it."""
    disk = FullDisk(root, capacity)
    real_open, real_fdopen, real_write = builtins.open, os.fdopen, os.write

    def limited(opener: Any, target: Any, mode: str = "r", buffering: int = -1, *args: Any, **kw: Any) -> Any:
        handle = opener(target, mode, buffering, *args, **kw)
        if not any(flag in mode for flag in "wax+") or not disk.covers(target):
            return handle
        return _Limited(handle, disk, str(target), raw=buffering == 0)

    def write(fd: int, data: Any) -> int:
        if not disk.covers(fd):
            return real_write(fd, data)
        return disk.write(str(fd), data, lambda view: real_write(fd, view))

    patch(builtins, "open", lambda *a, **k: limited(real_open, *a, **k))
    patch(os, "fdopen", lambda *a, **k: limited(real_fdopen, *a, **k))
    patch(os, "write", write)
    return disk


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`full_disk(case, capacity)` puts the case on a `FullDisk` until the test ends."""
    if not FD_PATHS.is_dir():
        pytest.skip("needs /proc/self/fd to tell which file a descriptor writes")
    yield lambda case, capacity: limit_writes(case.root, capacity, monkeypatch.setattr)


def _batch(folder: Path, big: int) -> Path:
    folder.mkdir()
    for index in range(5):
        (folder / f"shot-{index}.png").write_bytes(png_bytes((40 + index, 30), (index * 40, 20, 20)))
    (folder / "video.bin").write_bytes(os.urandom(big))
    return folder


def _only_disk_full(failed: list[dict[str, str]], batch: Path) -> list[str]:
    """The big file failed, each for a full disk; return the paths that failed. A screenshot
    copied at the moment the big copy filled the disk fails too (it is said, and can be
    captured again): the copies run on several threads, as on a real disk."""
    assert {row["reason"] for row in failed} == {capture_file.DISK_FULL_REASON}, failed
    paths = [row["path"] for row in failed]
    assert str(batch / "video.bin") in paths
    return paths


def _assert_no_partials(case: ek.Case) -> None:
    assert not list((case.root / "tmp").iterdir()), "a partial copy was left in tmp/"
    assert not [p for p in case.root.iterdir() if p.name.endswith(".tmp")]


def _stored_objects(case: ek.Case) -> set[str]:
    return {p.name for p in (case.root / "objects").rglob("*") if p.is_file()}


@pytest.mark.parametrize("streamed", [False, True], ids=["small-file", "streamed-file"])
def test_a_file_that_does_not_fit_fails_alone_and_the_rest_is_signed(
    captured: ek.Case,
    tmp_path: Path,
    key: ek.SigningKey,
    full_disk: Any,
    monkeypatch: pytest.MonkeyPatch,
    streamed: bool,
) -> None:
    if streamed:  # the big file goes through copy_and_hash's chunked, read-back copy
        monkeypatch.setattr(capture_file, "SMALL_FILE", 1 << 20)
    before = _stored_objects(captured)
    batch = _batch(tmp_path / "batch", 3 << 20)
    disk = full_disk(captured, _size(captured.root) + (1 << 20))
    result = ek.capture(captured, [batch], key=key)
    assert disk.refused >= 1
    failed = _only_disk_full(result.failed, batch)
    assert sorted(failed + [s["path"] for s in result.items]) == sorted(str(p) for p in batch.iterdir())
    _assert_no_partials(captured)
    monkeypatch.undo()  # space again
    ek.verify(captured)
    assert before < _stored_objects(captured)
    ek.capture(captured, failed, key=key)  # "then capture it again"
    ek.verify(captured)


CLI_ON_A_FULL_DISK = """
import sys
from pathlib import Path
from tests.test_disk_full import limit_writes
limit_writes(Path(sys.argv[1]), int(sys.argv[2]), setattr)
from evidencekit.cli import main
sys.argv[:3] = ["evidencekit"]
main()
"""


def test_the_cli_says_the_disk_is_full_names_the_file_and_exits_3(
    captured: ek.Case, tmp_path: Path, home: Path
) -> None:
    if not FD_PATHS.is_dir():
        pytest.skip("needs /proc/self/fd to tell which file a descriptor writes")
    batch = _batch(tmp_path / "batch", 3 << 20)
    capacity = _size(captured.root) + (1 << 20)
    done = subprocess.run(
        [sys.executable, "-c", CLI_ON_A_FULL_DISK, str(captured.root), str(capacity)]
        + ["capture", "--case", str(captured.root), str(batch)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"NOT captured: {batch / 'video.bin'}: {DISK_FULL}" in done.stderr
    assert "free some space" in done.stderr and "another drive" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    _assert_no_partials(captured)
    ek.verify(captured)


def test_a_disk_that_fills_while_committing_is_recovered_with_nothing_lost(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, full_disk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = _batch(tmp_path / "batch", 200_000)
    disk = full_disk(captured, 1 << 40)
    real_sync = capture.sync_store

    def fill_then_sync() -> None:  # another program takes the last space just before the commit
        disk.fill()
        real_sync()

    monkeypatch.setattr(capture, "sync_store", fill_then_sync)
    with pytest.raises(ek.CaseStateError, match=DISK_FULL) as info:
        ek.capture(captured, [batch], key=key)
    assert "recover" in (info.value.hint or "") and "free some space" in (info.value.hint or "")
    saved = _stored_objects(captured)
    _assert_no_partials(captured)
    monkeypatch.undo()
    _recover_keeps(captured, key, saved, expected_new=6)


def test_a_disk_that_fills_while_writing_a_transcript_is_recovered(
    captured: ek.Case, tmp_path: Path, key: ek.SigningKey, full_disk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = whatsapp_zip(tmp_path / "WhatsApp Chat - Kelab.zip", 1, messages=300)
    disk = full_disk(captured, 1 << 40)
    real_write = _chatcapture.write_transcript

    def fill_then_write(*args: Any) -> Any:
        disk.fill()
        return real_write(*args)

    monkeypatch.setattr(_chatcapture, "write_transcript", fill_then_write)
    with pytest.raises(ek.CaseStateError, match=DISK_FULL):
        ek.capture(captured, [archive], key=key)
    saved = _stored_objects(captured)
    _assert_no_partials(captured)
    monkeypatch.undo()
    _recover_keeps(captured, key, saved, expected_new=5)  # the zip, _chat.txt and three photos
    assert ek.list_chats(captured) == []  # not evidence: capturing the export again makes it
    ek.capture(captured, [archive], key=key)
    assert len(ek.list_chats(captured)) == 1


def _recover_keeps(case: ek.Case, key: ek.SigningKey, saved: set[str], *, expected_new: int) -> None:
    items_before = len(case.read_manifest()[1]["items"])
    with pytest.raises(ek.VerificationError) as info:
        ek.verify(case)
    kinds = {p.kind for p in info.value.problems}
    assert "interrupted" in kinds and kinds <= {"interrupted", "unexpected"}  # the journal; objects not yet named
    result = ek.recover(case, key=key)
    ek.verify(case)
    assert saved <= _stored_objects(case)
    assert len(result.adopted) == expected_new and not result.orphans
    items = case.read_manifest()[1]["items"]
    assert len(items) == items_before + expected_new
    assert not any(s.get("recovered") for item in items for s in item["sightings"]), "provenance was lost"


# --- a real full disk -----------------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, when the tests run as root and may mount one (skipped otherwise)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("small_file", [None, 1 << 20], ids=["small-file", "streamed-file"])
def test_a_real_full_disk_fails_the_file_clearly_and_keeps_the_rest(
    tmpfs: Path, tmp_path: Path, home: Path, small_file: int | None
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        prelude = f"import evidencekit._capture_file as c; c.SMALL_FILE = {small_file}; " if small_file else ""
        command = [sys.executable, "-c", f"{prelude}import sys; from evidencekit.cli import main; main()", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    case = tmpfs / "case"
    assert cli("init", str(case), "--title", "small disk").returncode == 0
    batch = _batch(tmp_path / "batch", 6 << 20)  # more than the whole disk
    done = cli("capture", "--case", str(case), str(batch))
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"{batch / 'video.bin'}: {DISK_FULL}" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    opened = ek.Case.open(case)
    _assert_no_partials(opened)
    ek.verify(opened)
    failed = [line for line in done.stderr.splitlines() if line.startswith("NOT captured:")]
    assert len(opened.read_manifest()[1]["items"]) == 6 - len(failed), failed
