"""Streaming age encryption and decryption between threads, with flat memory.

Invariants: pyrage pulls from a reader and pushes to a writer, so a stream we read
(decryption) or write (a transcript being encrypted) runs pyrage on a helper thread joined
to ours by a bounded queue of chunks: memory stays at a few chunks whatever the size.
Decrypted bytes only ever pass through memory, never a file. pyrage hands on only chunks
that authenticated; a failure (a changed or cut blob, no matching key) is raised to the
reader when it reaches that point, never silently turned into a short read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, cast

import pyrage  # type: ignore[import-untyped]

from .errors import InputError

_DEPTH = 16  # chunks in flight between the threads (pyrage moves 8 KiB to 64 KiB at a time)
_POLL = 0.1  # seconds between checks that the other side has gone away
_READ = 1 << 20  # plaintext reads: large, so hashing threads get whole chunks


class _Channel:
    """A bounded byte channel: one thread puts chunks, the other takes them; either may hang up."""

    def __init__(self) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue(_DEPTH)
        self.closed = threading.Event()
        self.error: BaseException | None = None

    def put(self, chunk: bytes | None) -> None:
        while True:
            if self.closed.is_set():
                raise OSError(errno.EPIPE, "the other side stopped reading")
            try:
                self._queue.put(chunk, timeout=_POLL)
                return
            except queue.Full:
                continue

    def get(self) -> bytes | None:
        while True:
            if self.closed.is_set():
                return None
            try:
                return self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue

    def hang_up(self) -> None:
        self.closed.set()


class _ChannelWriter(io.RawIOBase):
    """The writing end of a channel, as the file object pyrage writes to."""

    def __init__(self, channel: _Channel):
        self.channel = channel

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        if chunk:
            self.channel.put(chunk)
        return len(chunk)


class _ChannelReader(io.RawIOBase):
    """The reading end of a channel; raises the producer's error (translated) at that point."""

    def __init__(self, channel: _Channel, translate: Callable[[BaseException], BaseException]):
        self.channel = channel
        self._translate = translate
        self._buffer = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._buffer and not self._done:
            chunk = self.channel.get()
            if chunk is None:
                self._done = True
                if self.channel.error is not None:
                    raise self._translate(self.channel.error)
            else:
                self._buffer = memoryview(chunk)
        count = min(len(buffer), len(self._buffer))
        buffer[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


class DecryptingReader(_ChannelReader):
    """A readable stream of the plaintext of the age file at `path` (low-level).

    Raises, when read, `SigningKeyError` if none of `identities` opens the file and
    `FormatError` if it is not intact (see `evidencekit.encryption`). Close it (or use `with`)
    to stop the helper thread.
    """

    def __init__(self, path: Path, identities: Sequence[object], *, source: IO[bytes] | io.RawIOBase | None = None):
        """Decrypt the file at `path`, or `source` when given (an open stream of it; `path` then names it in errors)."""
        from .encryption import _decrypt_failure

        try:
            self._source = source if source is not None else open(path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise InputError(f"cannot read the stored copy: {exc.strerror or exc}", path=path) from None
        super().__init__(_Channel(), lambda exc: _decrypt_failure(exc, path))  # type: ignore[arg-type]
        self._thread = threading.Thread(target=self._run, args=(list(identities),), daemon=True)
        self._thread.start()

    def _run(self, identities: list[object]) -> None:
        try:
            pyrage.decrypt_io(self._source, _ChannelWriter(self.channel), identities)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self.channel.error = exc
        with contextlib.suppress(OSError):  # the reader may have hung up first
            self.channel.put(None)

    def close(self) -> None:
        if not self.closed:
            self.channel.hang_up()
            self._thread.join()
            self._source.close()
        super().close()


class Hashing(io.RawIOBase):
    """Wraps a writable file: hashes (SHA-256) and counts every byte written through it."""

    def __init__(self, target: IO[bytes] | io.RawIOBase, names: Sequence[str] = ("sha256",)):
        self.target = target
        self.hashers = {name: hashlib.new(name) for name in names}
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        for hasher in self.hashers.values():
            hasher.update(view)
        self.target.write(view)
        self.size += len(view)
        return len(view)


class HashingReader(io.RawIOBase):
    """Wraps a readable file: hashes (SHA-256) and counts every byte read through it; the
    reading twin of `Hashing` (verify hashes a stored age file as the decryptor reads it)."""

    def __init__(self, source: IO[bytes] | io.RawIOBase, progress: Callable[[int], None] | None = None):
        self.source = source
        self.progress = progress
        self.hasher = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.source.readinto(buffer) or 0  # type: ignore[union-attr]
        if count:
            self.hasher.update(memoryview(buffer)[:count])
            self.size += count
            if self.progress:
                self.progress(count)
        return count

    def drain(self) -> None:
        """Read on to the end of the file, so the hash covers all of it."""
        buffer = bytearray(1 << 20)
        while self.readinto(buffer):
            pass


def decrypting(
    path: Path, identities: Sequence[object], *, source: IO[bytes] | io.RawIOBase | None = None
) -> IO[bytes]:
    """The plaintext of the age file at `path` (or of `source`, an open stream of it), buffered in 1 MiB reads."""
    return cast(IO[bytes], io.BufferedReader(DecryptingReader(path, identities, source=source), _READ))


class EncryptingWriter(io.RawIOBase):
    """A writable stream whose bytes go, encrypted to `recipients`, into the file `out` (low-level).

    `plain` and `sealed` count and hash what was written and what reached `out`. Call
    `finish()` once everything is written; it raises `InputError` if encryption failed.
    """

    def __init__(self, out: IO[bytes], recipients: Sequence[object], plain_hashes: Sequence[str]):
        self._channel = _Channel()
        self.plain = Hashing(_ChannelWriter(self._channel), plain_hashes)
        self.sealed = Hashing(out)
        self._reader = _ChannelReader(self._channel, lambda exc: exc)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(list(recipients),), daemon=True)
        self._thread.start()

    def _run(self, recipients: list[object]) -> None:
        try:
            pyrage.encrypt_io(self._reader, self.sealed, recipients)
        except BaseException as exc:  # noqa: BLE001 - raised by finish() on the writing thread
            self._failure = exc
            self._channel.hang_up()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        try:
            return self.plain.write(data)
        except OSError:
            self._thread.join()
            raise InputError(f"cannot encrypt: {self._failure}") from None

    def finish(self) -> None:
        """Signal the end of the plaintext and wait until the age file is complete."""
        if self._thread.is_alive():
            with contextlib.suppress(OSError):
                self._channel.put(None)
            self._thread.join()
        if self._failure is not None:
            raise InputError(f"cannot encrypt: {self._failure}") from None

    def close(self) -> None:
        if self._thread.is_alive():
            self._channel.hang_up()
            self._thread.join()
        super().close()
