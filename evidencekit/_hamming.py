"""Perceptual hashes as numpy arrays, and vectorised Hamming distances between them.

Invariants: a hash of `b` bits is `b // 64` big-endian uint64 words, so bit order matches the
hex text in the manifest; distances are computed with XOR and a population count over whole
arrays (chunked to bound memory), never pair by pair in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import NDArray

Words = NDArray[np.uint64]
Distances = NDArray[np.uint16]

#: Bits set in each byte value: the fallback popcount for numpy < 2.0 (no `np.bitwise_count`).
_BYTE_BITS = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


def pack(hexes: Sequence[str | None], bits: int) -> Words:
    """Hex hashes as an (n, bits/64) uint64 array; `None` (no hash) gives all-zero words."""
    width = bits // 4
    text = "".join(value if value is not None else "0" * width for value in hexes)
    if len(text) != width * len(hexes):
        raise ValueError(f"expected {bits}-bit hashes ({width} hex digits each)")
    raw = np.frombuffer(bytes.fromhex(text), dtype=">u8") if hexes else np.zeros(0, dtype=">u8")
    return raw.astype(np.uint64).reshape(len(hexes), bits // 64)


def popcount(words: Words) -> Distances:
    """Bits set in each row of an (..., k) uint64 array, summed over the last axis."""
    if hasattr(np, "bitwise_count"):
        counts = np.bitwise_count(words)
    else:  # pragma: no cover - numpy < 2.0
        counts = _BYTE_BITS[words.view(np.uint8)].reshape(*words.shape, 8).sum(axis=-1)
    total: Distances = counts.sum(axis=-1, dtype=np.uint16)
    return total


def distances(rows: Words, cols: Words) -> Distances:
    """Every Hamming distance between `rows` (n, k) and `cols` (m, k), as an (n, m) array.

    One word at a time, so the temporary arrays are (n, m), never (n, m, k).
    """
    total = np.zeros((rows.shape[0], cols.shape[0]), dtype=np.uint16)
    for word in range(rows.shape[1]):
        total += popcount(rows[:, word, None, None] ^ cols[None, :, word, None])
    return total


def chunks(total: int, other: int, *, budget: int = 1 << 23) -> Iterator[slice]:
    """Slices of `range(total)` small enough that a chunk against `other` rows stays in budget."""
    step = max(1, budget // max(1, other))
    for start in range(0, total, step):
        yield slice(start, min(total, start + step))
