"""Streaming, single-pass hashing (SHA-256, SHA-1, MD5) with an optional verified copy.

Invariants: the source is read once, in chunks, through one file descriptor; every digest
covers exactly the bytes read; when a copy is made, each chunk written is read back from
the copy and compared with the very bytes that were hashed, so a recorded copy is proven
identical to the hashed bytes. Memory stays bounded (a few chunks) whatever the file size.
Large files hash on one thread per algorithm, so the three digests use the machine's cores.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from io import RawIOBase
from typing import IO, BinaryIO, Protocol

from ._fs import write_all
from .errors import InputError

ALGORITHMS = ("sha256", "sha1", "md5")
CHUNK = 1 << 20
#: Files up to this size are read whole (then analysed from memory, never re-read).
SMALL_FILE = 32 << 20
_QUEUE_DEPTH = 8

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class FileDigest:
    """The digests and size of one byte stream; hex digests are lowercase."""

    sha256: str
    sha1: str
    md5: str
    size: int

    def to_json(self) -> dict[str, str | int]:
        """Return the digests as a dict (`sha256`, `sha1`, `md5`, `size`)."""
        return {"sha256": self.sha256, "sha1": self.sha1, "md5": self.md5, "size": self.size}


def hash_bytes(data: bytes) -> FileDigest:
    """Hash a bytes object in memory."""
    return FileDigest(
        hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data)
    )


#: Hash threads: MD5, the slowest, alone; SHA-256 and SHA-1 (both SHA-NI fast) together, so
#: on two cores MD5 keeps a core of its own while the other thread and the copy share the rest.
_GROUPS = (("md5",), ("sha256", "sha1"))
#: The copy is pushed to disk and dropped from the page cache in windows of this size, so a
#: big copy reuses cache pages instead of taking fresh memory (slow on virtual machines).
_WINDOW = 64 << 20


class _HashWorker(threading.Thread):
    """Feeds chunks from a queue into its hash objects, then releases each chunk.

    A `Future` in the queue ends one stream: it receives that stream's digests, and the
    hashers start afresh for the next one. `None` stops the thread.
    """

    def __init__(self, names: tuple[str, ...], release: Callable[[int], None]):
        super().__init__(daemon=True)
        self.names = names
        self.queue: queue.Queue[tuple[int, memoryview] | Future[dict[str, str]] | None] = queue.Queue()
        self._release = release

    def run(self) -> None:
        hashers = {name: hashlib.new(name) for name in self.names}
        while (job := self.queue.get()) is not None:
            if isinstance(job, Future):
                job.set_result({name: hasher.hexdigest() for name, hasher in hashers.items()})
                hashers = {name: hashlib.new(name) for name in self.names}
                continue
            slot, view = job
            for hasher in hashers.values():
                hasher.update(view)
            self._release(slot)


class _BufferRing:
    """A fixed set of reusable chunk buffers; a slot is free again when every hasher has used it.

    Reusing buffers keeps memory flat and avoids touching fresh pages for every chunk,
    which is expensive on virtual machines. Rings are lent from a small process-wide pool
    (`_borrow_ring`), so hashing many small files does not allocate 8 MiB per file.
    """

    def __init__(self) -> None:
        self.buffers = [bytearray(CHUNK) for _ in range(_QUEUE_DEPTH)]
        self._pending = [0] * _QUEUE_DEPTH
        self._consumers = 0
        self._free: queue.Queue[int] = queue.Queue()
        self._lock = threading.Lock()

    def reset(self, consumers: int) -> None:
        """Make every slot free, each to be released by `consumers` hashers once taken."""
        self._consumers = consumers
        self._free = queue.Queue()
        for slot in range(_QUEUE_DEPTH):
            self._free.put(slot)

    def take(self) -> int:
        slot = self._free.get()
        self._pending[slot] = self._consumers
        return slot

    def untake(self, slot: int) -> None:
        """Give back a slot taken but not used (the end of a stream)."""
        self._free.put(slot)

    def release(self, slot: int) -> None:
        with self._lock:
            self._pending[slot] -= 1
            done = self._pending[slot] == 0
        if done:
            self._free.put(slot)


#: Idle rings kept for reuse (8 MiB each); more concurrent hashing allocates, then drops the extra.
_POOL_KEEP = 4
_pool: list[_BufferRing] = []
_pool_lock = threading.Lock()


def _reset_pool_lock() -> None:
    global _pool_lock
    _pool_lock = threading.Lock()  # a fork may have copied it held by another thread


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pool_lock)


def _borrow_ring(consumers: int) -> _BufferRing:
    with _pool_lock:
        ring = _pool.pop() if _pool else None
    ring = ring or _BufferRing()
    ring.reset(consumers)
    return ring


def _return_ring(ring: _BufferRing, workers: list[_HashWorker]) -> None:
    """Give the ring back for reuse, unless a hash thread might still read its buffers."""
    if any(worker.is_alive() for worker in workers):
        return
    with _pool_lock:
        if len(_pool) < _POOL_KEEP:
            _pool.append(ring)


def _write_checked(
    dst: BinaryIO, check: RawIOBase, buffer: bytearray, count: int, scratch: bytearray, offset: int, where: str
) -> None:
    write_all(dst, memoryview(buffer)[:count])  # a short write (disk nearly full) is not a short copy
    got = check.readinto(scratch)
    # spec: the copy equals the hashed bytes (bytearray == bytearray compares with memcmp)
    same = scratch == buffer if count == CHUNK else scratch[:got] == buffer[:count]
    if got != count or not same:
        raise InputError(
            f"the copy differs from the bytes read at offset {offset}",
            path=where,
            hint="the disk may be failing; capture to another drive",
        )


def release_window(dst: BinaryIO | IO[bytes], offset: int, count: int) -> None:
    """At each window boundary, start writing the last window to disk and drop the one before.

    The dropped window was already checked and written back, so nothing is lost (a file that
    is only read has both windows dropped at once); where the OS has no `posix_fadvise` this
    does nothing.
    """
    end = offset + count
    if not hasattr(os, "posix_fadvise") or end // _WINDOW == offset // _WINDOW:
        return
    boundary = (end // _WINDOW) * _WINDOW
    fd = dst.fileno()
    os.posix_fadvise(fd, boundary - _WINDOW, _WINDOW, os.POSIX_FADV_DONTNEED)  # starts write-back
    if boundary >= 2 * _WINDOW:
        os.posix_fadvise(fd, boundary - 2 * _WINDOW, _WINDOW, os.POSIX_FADV_DONTNEED)  # now clean: dropped


class Readable(Protocol):
    """Anything `copy_and_hash` can read from: files, zip members, sockets' file objects."""

    def readinto(self, buffer: bytearray, /) -> int | None: ...


class HashLane:
    """Hash many streams one after another with the same hash threads (a context manager).

    For callers that read many files in a row (packaging): no thread is started per file,
    and the caller reads the next file while the threads finish the last one. Each
    `stream` reads its source once in 1 MiB chunks into a shared ring of buffers.
    """

    def __init__(self, groups: tuple[tuple[str, ...], ...]):
        self._ring = _borrow_ring(len(groups) or 1)  # without hash threads, the caller frees each chunk
        self._workers = [_HashWorker(names, self._ring.release) for names in groups]
        for worker in self._workers:
            worker.start()

    def __enter__(self) -> HashLane:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the threads once they have hashed everything given to them."""
        for worker in self._workers:
            worker.queue.put(None)
        for worker in self._workers:
            worker.join()
        _return_ring(self._ring, self._workers)

    def stream(
        self,
        src: Readable | RawIOBase | IO[bytes],
        *,
        inline: tuple[str, ...] = (),
        sink: Callable[[bytearray, int, int], None] | None = None,
        progress: Progress | None = None,
    ) -> tuple[dict[str, str], int, Callable[[], dict[str, str]]]:
        """Read `src` to its end: its `inline` digests, its byte count, and a call that waits for the threads' digests.

        The `inline` algorithms are computed on the calling thread, before `sink`: with as
        many busy threads as cores, none waits for a core (packaging on two cores: SHA-512
        on its thread, SHA-256 and the zip writing here). `sink(buffer, count, offset)` runs
        on the calling thread while the hash threads work.
        """
        ring, workers = self._ring, self._workers
        here = {name: hashlib.new(name) for name in inline}
        ends: list[Future[dict[str, str]]] = [Future() for _ in workers]
        size = 0
        try:
            while True:
                slot = ring.take()
                try:
                    count = src.readinto(ring.buffers[slot])  # type: ignore[union-attr]
                except BaseException:
                    ring.untake(slot)  # a failed read leaves the lane's ring whole for the next stream
                    raise
                if not count:
                    ring.untake(slot)
                    break
                view = memoryview(ring.buffers[slot])[:count]
                for worker in workers:
                    worker.queue.put((slot, view))  # each thread releases it once hashed
                try:
                    for hasher in here.values():
                        hasher.update(view)
                    if sink is not None:
                        sink(ring.buffers[slot], count, size)
                    size += count
                    if progress:
                        progress(count)
                finally:
                    if not workers:
                        ring.release(slot)
        finally:  # the threads start afresh for the next stream, even after an error
            for worker, end in zip(workers, ends, strict=True):
                worker.queue.put(end)

        def rest() -> dict[str, str]:
            return {name: digest for end in ends for name, digest in end.result().items()}

        return {name: hasher.hexdigest() for name, hasher in here.items()}, size, rest


def stream_hashes(
    src: Readable | RawIOBase | IO[bytes],
    *,
    groups: tuple[tuple[str, ...], ...],
    inline: tuple[str, ...] = (),
    sink: Callable[[bytearray, int, int], None] | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, str], int]:
    """Read `src` once in chunks, hashing on one thread per group; give each chunk to `sink`.

    Returns the hex digests by algorithm name and the byte count (see `HashLane.stream`).
    Low-level; most callers want `copy_and_hash` or `hash_file`.
    """
    with HashLane(groups) as lane:
        digests, size, rest = lane.stream(src, inline=inline, sink=sink, progress=progress)
        return {**digests, **rest()}, size


def copy_and_hash(
    src: Readable | RawIOBase | IO[bytes],
    dst: BinaryIO | None = None,
    check: RawIOBase | None = None,
    *,
    where: str,
    progress: Progress | None = None,
) -> FileDigest:
    """Read `src` once, hashing it with every algorithm; optionally copy it to `dst`.

    `check` is a second, unbuffered read handle on the copy: each chunk written is read
    back through it and compared with the hashed bytes. `where` names the source in
    errors. Raises `InputError` when the copy does not read back identical.
    """
    sink = None
    if dst is not None and check is not None:
        scratch = bytearray(CHUNK)
        copy_to, read_back = dst, check

        def sink(buffer: bytearray, count: int, offset: int) -> None:
            _write_checked(copy_to, read_back, buffer, count, scratch, offset, where)
            release_window(copy_to, offset, count)

    digests, size = stream_hashes(src, groups=_GROUPS, sink=sink, progress=progress)
    return FileDigest(digests["sha256"], digests["sha1"], digests["md5"], size)


def hash_file(path: str | os.PathLike[str], *, progress: Progress | None = None) -> FileDigest:
    """Hash a file in one streaming pass (low-level; `capture()` records files)."""
    try:
        with open(path, "rb", buffering=0) as src:
            return copy_and_hash(src, where=os.fspath(path), progress=progress)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path=os.fspath(path)) from exc


def file_sha256(path: str | os.PathLike[str], *, progress: Progress | None = None) -> str:
    """The SHA-256 of a whole file read back from disk (a finished package; low-level).

    Windows already read are dropped from the page cache as it goes, so reading a big file
    reuses cache pages instead of taking fresh memory (3x faster on virtual machines).
    """
    try:
        with open(path, "rb", buffering=0) as src:
            digests, _ = stream_hashes(
                src,
                groups=(("sha256",),),
                sink=lambda _buffer, count, offset: release_window(src, offset, count),
                progress=progress,
            )
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path=os.fspath(path)) from exc
    return digests["sha256"]
