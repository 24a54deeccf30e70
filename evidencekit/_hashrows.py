"""Rows of perceptual hashes to compare: a reference photo's variants, a case's items and regions.

Invariants: a reference is decoded and hashed in memory only, exactly as `capture` hashes an
item (`imaging.hashing_pixels`), and never written anywhere; item hashes come from the signed
manifest, except those of photo-like regions of screenshots, which are computed from the stored
copy at match time (they are not in the manifest); PDQ counts only where its quality is at
least `PDQ_MIN_QUALITY` (below that, ThreatExchange's guidance is that the hash is unreliable).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from . import _hamming
from ._content import content_source
from ._regions import photo_regions
from .errors import EvidenceKitError, InputError, SigningKeyError
from .imaging import hashing_pixels, perceptual_hashes, reduction
from .media import SNIFF_BYTES, sniff_media_type

PDQ_MIN_QUALITY = 50
#: Screenshots are searched at this size (long side 1024-2047): a photo in them keeps enough pixels.
REGION_TARGET = 1024

T = Image.Transpose
#: The eight rotations and flips of the whole reference (a picture may be re-posted turned or mirrored).
DIHEDRAL: tuple[tuple[str, Image.Transpose | None], ...] = (
    ("as is", None),
    ("mirrored", T.FLIP_LEFT_RIGHT),
    ("flipped upside down", T.FLIP_TOP_BOTTOM),
    ("rotated 180°", T.ROTATE_180),
    ("rotated 90°", T.ROTATE_90),
    ("rotated 270°", T.ROTATE_270),
    ("mirrored and rotated 90°", T.TRANSPOSE),
    ("mirrored and rotated 270°", T.TRANSVERSE),
)
#: Parts of each axis kept by the reference's crop variants (start, end as shares of the side):
#: hashes change fast under cropping, so crops of up to 20 % are searched for on a grid.
_SPANS = ((0.0, 1.0), (0.0, 0.9), (0.05, 0.95), (0.1, 1.0), (0.0, 0.8), (0.1, 0.9), (0.2, 1.0))
CROPS = tuple((x, y) for x in _SPANS for y in _SPANS if (x, y) != (_SPANS[0], _SPANS[0]))
#: Labels of a reference's rows, in order: every reference has exactly these.
VARIANTS = tuple(name for name, _ in DIHEDRAL) + tuple(
    f"cropped to {x0:.0%}-{x1:.0%} across, {y0:.0%}-{y1:.0%} down" for (x0, x1), (y0, y1) in CROPS
)


@dataclass(frozen=True, slots=True)
class HashRows:
    """Hashes as arrays, one row per hashed picture, with who owns each row and what it is."""

    owners: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    pdq: _hamming.Words = field(default_factory=lambda: np.zeros((0, 4), np.uint64))
    pdq_usable: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    phash: _hamming.Words = field(default_factory=lambda: np.zeros((0, 1), np.uint64))
    dhash: _hamming.Words = field(default_factory=lambda: np.zeros((0, 1), np.uint64))

    @classmethod
    def from_hashes(cls, owners: list[str], labels: list[str], hashes: Sequence[dict[str, Any]]) -> HashRows:
        """Rows from `perceptual` dicts (`pdq`, `pdq_quality`, `phash`, `dhash`, hex text)."""
        quality = np.array([h.get("pdq_quality", 0) if h.get("pdq") else 0 for h in hashes], dtype=np.int64)
        return cls(
            owners,
            labels,
            _hamming.pack([h.get("pdq") for h in hashes], 256),
            quality >= PDQ_MIN_QUALITY,
            _hamming.pack([h["phash"] for h in hashes], 64),
            _hamming.pack([h["dhash"] for h in hashes], 64),
        )

    def __add__(self, other: HashRows) -> HashRows:
        return HashRows(
            self.owners + other.owners,
            self.labels + other.labels,
            np.concatenate([self.pdq, other.pdq]),
            np.concatenate([self.pdq_usable, other.pdq_usable]),
            np.concatenate([self.phash, other.phash]),
            np.concatenate([self.dhash, other.dhash]),
        )

    def __len__(self) -> int:
        return len(self.owners)


def read_reference(path: str | os.PathLike[str]) -> tuple[Image.Image, str]:
    """Decode a reference photo into the pixels `capture` would hash, and its SHA-256.

    Raises `InputError` naming the file if it cannot be read or decoded."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        raise InputError(f"cannot read the reference photo: {exc.strerror or exc}", path=str(path)) from exc
    media_type = sniff_media_type(data[:SNIFF_BYTES])
    try:
        return hashing_pixels(data, media_type=media_type), hashlib.sha256(data).hexdigest()
    except EvidenceKitError as exc:
        raise InputError(f"cannot use this file as a reference photo: {exc.message}", path=str(path)) from exc


def reference_rows(name: str, rgb: Image.Image) -> HashRows:
    """Every variant of one reference (`VARIANTS`, in order), hashed in memory."""
    pictures = [rgb if turn is None else rgb.transpose(turn) for _, turn in DIHEDRAL]
    width, height = rgb.size
    for (x0, x1), (y0, y1) in CROPS:
        box = (round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height))
        pictures.append(rgb.crop(box))
    return HashRows.from_hashes([name] * len(pictures), list(VARIANTS), [perceptual_hashes(p) for p in pictures])


def item_rows(items: Sequence[dict[str, Any]]) -> HashRows:
    """One row per analysed image item, from the hashes in the manifest."""
    hashed = [item for item in items if "perceptual" in item["analysis"]]
    return HashRows.from_hashes(
        [item["id"] for item in hashed], ["whole picture"] * len(hashed), [i["analysis"]["perceptual"] for i in hashed]
    )


def searchable(item: dict[str, Any]) -> bool:
    """Whether an item may show a photo inside it: a stored screenshot, or a tall or wide picture."""
    analysis = item["analysis"]
    if item["storage"] != "stored" or analysis.get("status") != "ok":
        return False
    sides = sorted((analysis["width"], analysis["height"]))
    return bool(analysis.get("screenshot", {}).get("likely")) or sides[1] >= 1.6 * max(1, sides[0])


def region_rows(root: Path, items: Sequence[dict[str, Any]], identities: Sequence[object] = ()) -> HashRows:
    """Rows for the photo-like regions of screenshots, hashed from their stored copies now
    (decrypted in memory with `identities` in an encrypted case; `SigningKeyError` without)."""
    rows = HashRows()
    for item in items:
        try:
            found = region_hashes(content_source(root, item, identities), media_type=item["media_type"])
        except SigningKeyError:
            raise
        except EvidenceKitError:
            continue  # a damaged copy: `verify` reports it; its whole-picture hashes still count
        labels = [label for label, _ in found]
        rows = rows + HashRows.from_hashes([item["id"]] * len(found), labels, [hashes for _, hashes in found])
    return rows


def region_hashes(source: bytes | Path, *, media_type: str) -> list[tuple[str, dict[str, Any]]]:
    """(label, hashes) of each photo-like region of a screenshot, largest first."""
    rgb = hashing_pixels(source, media_type=media_type, target=REGION_TARGET)
    boxes = photo_regions(np.asarray(rgb))
    return [(_region_label(box, rgb.size), perceptual_hashes(_hashable(rgb.crop(box)))) for box in boxes]


def _hashable(crop: Image.Image) -> Image.Image:
    factor = reduction(crop.size)
    return crop.reduce(factor) if factor >= 2 else crop


def _region_label(box: tuple[int, int, int, int], size: tuple[int, int]) -> str:
    width, height = size
    return (
        f"photo-like region {box[0] / width:.0%}-{box[2] / width:.0%} across, "
        f"{box[1] / height:.0%}-{box[3] / height:.0%} down"
    )
