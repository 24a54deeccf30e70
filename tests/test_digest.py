"""The streaming hasher: every layout of hash threads and calling-thread hashing gives hashlib's digests."""

from __future__ import annotations

import hashlib
import io
import os

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
