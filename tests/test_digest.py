"""The streaming hasher: every layout of hash threads and calling-thread hashing gives hashlib's digests."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

import pytest

from evidencekit.digest import CHUNK, stream_hashes

DATA = os.urandom(11 * CHUNK + 12345)  # more chunks than the ring has buffers, and a partial last one
LAYOUTS = [
    ((("sha512",), ("sha256",)), ()),
    ((("sha512",),), ("sha256",)),
    ((), ("sha256", "sha512")),  # no hash thread at all: the calling thread frees each buffer
    ((("md5", "sha1"), ("sha512", "sha256")), ()),
]


@pytest.mark.parametrize(("groups", "inline"), LAYOUTS)
def test_every_layout_gives_hashlibs_digests(groups: tuple[tuple[str, ...], ...], inline: tuple[str, ...]) -> None:
    seen: list[tuple[int, bytes]] = []

    def sink(buffer: bytearray, count: int, offset: int) -> None:
        seen.append((offset, bytes(buffer[:count])))

    digests, size = stream_hashes(io.BytesIO(DATA), groups=groups, inline=inline, sink=sink)
    names = [name for group in groups for name in group] + list(inline)
    assert digests == {name: hashlib.new(name, DATA).hexdigest() for name in names}
    assert size == len(DATA)
    assert b"".join(chunk for _, chunk in seen) == DATA
    assert [offset for offset, _ in seen] == [i * CHUNK for i in range(len(seen))]


def test_empty_stream() -> None:
    digests, size = stream_hashes(io.BytesIO(b""), groups=(("sha512",),), inline=("sha256",))
    assert size == 0
    assert digests == {"sha256": hashlib.sha256(b"").hexdigest(), "sha512": hashlib.sha512(b"").hexdigest()}


def test_a_lane_hashes_streams_in_a_row_and_recovers_from_a_failed_one() -> None:
    """Packaging reads many files through one lane; a file that fails midway leaves the next one's digests right."""
    from evidencekit.digest import HashLane

    others = [os.urandom(n) for n in (0, 1, CHUNK, 3 * CHUNK + 7, 9 * CHUNK)]

    def failing_sink(_buffer: bytearray, _count: int, offset: int) -> None:
        if offset >= 2 * CHUNK:
            raise OSError("the disk went away")

    with HashLane((("sha512",), ("md5",))) as lane:
        pending = []
        for data in others[:2]:
            digests, size, rest = lane.stream(io.BytesIO(data), inline=("sha256",))
            pending.append((data, digests, size, rest))
        with pytest.raises(OSError, match="went away"):
            lane.stream(io.BytesIO(DATA), inline=("sha256",), sink=failing_sink)
        for data in others[2:]:
            digests, size, rest = lane.stream(io.BytesIO(data), inline=("sha256",))
            pending.append((data, digests, size, rest))
        for data, digests, size, rest in pending:  # the threads' digests are collected at the end
            assert size == len(data)
            assert {**digests, **rest()} == {
                name: hashlib.new(name, data).hexdigest() for name in ("sha256", "sha512", "md5")
            }


class _FailingReader(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: Any) -> int:
        raise OSError("unreadable sector")


@pytest.mark.parametrize("groups", [(("sha512",),), ()])
def test_failed_reads_and_sinks_never_use_up_the_lanes_buffers(groups: tuple[tuple[str, ...], ...]) -> None:
    """More failures than the ring has buffers, then a whole stream: no buffer is lost, nothing hangs."""
    from evidencekit.digest import HashLane

    def failing_sink(_buffer: bytearray, _count: int, _offset: int) -> None:
        raise OSError("the disk is full")

    with HashLane(groups) as lane:
        for _ in range(12):
            with pytest.raises(OSError):
                lane.stream(_FailingReader(), inline=("sha256",))
            with pytest.raises(OSError):
                lane.stream(io.BytesIO(b"x" * 10), inline=("sha256",), sink=failing_sink)
        digests, size, rest = lane.stream(io.BytesIO(DATA), inline=("sha256",))
        assert {**digests, **rest()}["sha256"] == hashlib.sha256(DATA).hexdigest() and size == len(DATA)
