"""Find the photo-like regions of a screenshot, so a photo shown inside a chat can be matched.

Why this approach: a chat screenshot is flat colour (background, bubbles, bars) with text and
icons on it, and photos pasted in as rectangles. A block of pixels whose colours all lie within
a few levels of each other is *flat*; non-flat blocks that touch form regions. A text bubble is
a region too, but most of its pixels are the bubble's own colour, while a photo has no colour
covering most of it. The bounding box of each photo-like region is then moved to the exact rows
and columns where the picture starts and ends. This needs no model and no training, and it is
fast (a few milliseconds per screenshot at about 600 x 1300 pixels).

Invariants: pure functions of the pixels given; nothing is written or shown.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numpy.typing import NDArray

Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive), in pixels

_BLOCK = 8
_FLAT_RANGE = 12  # a block whose channels each span at most this many levels is flat
_MODE_TOLERANCE = 12
_TEXT_SHARE = 0.5  # a region whose main colour covers more than this is text or UI, not a photo
_MIN_SIDE = 0.12  # a photo region spans at least this share of the screenshot's width or height
_MAX_REGIONS = 3


def photo_regions(rgb: NDArray[np.uint8]) -> list[Box]:
    """Up to three photo-like boxes in an (h, w, 3) screenshot, largest first."""
    height, width = rgb.shape[0] // _BLOCK * _BLOCK, rgb.shape[1] // _BLOCK * _BLOCK
    pixels = rgb[:height, :width].astype(np.int16)
    blocks = pixels.reshape(height // _BLOCK, _BLOCK, width // _BLOCK, _BLOCK, 3)
    spread = (blocks.max(axis=(1, 3)) - blocks.min(axis=(1, 3))).max(axis=-1)
    found = []
    for cells in _components(spread > _FLAT_RANGE):
        box = _box(cells)
        if _big_enough(box, width, height) and _photo_like(pixels, box):
            found.append(_refine(pixels, box))
    found.sort(key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)
    return found[:_MAX_REGIONS]


def _components(busy: NDArray[np.bool_]) -> list[list[tuple[int, int]]]:
    """4-connected groups of busy blocks (breadth-first; the grid is a few thousand blocks)."""
    seen = np.zeros_like(busy)
    groups = []
    for start in zip(*np.nonzero(busy), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        queue, cells = deque([start]), []
        while queue:
            row, col = queue.popleft()
            cells.append((int(row), int(col)))
            for near in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
                if 0 <= near[0] < busy.shape[0] and 0 <= near[1] < busy.shape[1] and busy[near] and not seen[near]:
                    seen[near] = True
                    queue.append(near)
        groups.append(cells)
    return groups


def _box(cells: list[tuple[int, int]]) -> Box:
    rows = [row for row, _ in cells]
    cols = [col for _, col in cells]
    return min(cols) * _BLOCK, min(rows) * _BLOCK, (max(cols) + 1) * _BLOCK, (max(rows) + 1) * _BLOCK


def _big_enough(box: Box, width: int, height: int) -> bool:
    box_w, box_h = box[2] - box[0], box[3] - box[1]
    return min(box_w, box_h) >= 4 * _BLOCK and (box_w >= _MIN_SIDE * width or box_h >= _MIN_SIDE * height)


def _photo_like(pixels: NDArray[np.int16], box: Box) -> bool:
    """No single colour (within a tolerance) covers most of the box, as a bubble's colour would."""
    area = pixels[box[1] : box[3], box[0] : box[2]].reshape(-1, 3)
    main = _main_colour(area)
    share = float(np.mean(np.abs(area - main).max(axis=1) <= _MODE_TOLERANCE))
    return share <= _TEXT_SHARE


def _main_colour(area: NDArray[np.int16]) -> NDArray[np.int16]:
    coarse = (area // 16).astype(np.int32)
    codes = coarse[:, 0] * 256 + coarse[:, 1] * 16 + coarse[:, 2]
    members = area[codes == np.bincount(codes).argmax()]
    main: NDArray[np.int16] = np.median(members, axis=0).astype(np.int16)
    return main


def _refine(pixels: NDArray[np.int16], box: Box) -> Box:
    """Move each side of a block-aligned box to the first row or column that differs from the
    colour just outside it (the background around the photo)."""
    left, top, right, bottom = box
    height, width = pixels.shape[:2]
    outer = (max(0, left - _BLOCK), max(0, top - _BLOCK), min(width, right + _BLOCK), min(height, bottom + _BLOCK))
    area = pixels[outer[1] : outer[3], outer[0] : outer[2]]
    ring = np.concatenate([area[0], area[-1], area[:, 0], area[:, -1]])
    background = _main_colour(ring)
    differs = np.abs(area - background).max(axis=-1) > _MODE_TOLERANCE
    rows = np.nonzero(differs.mean(axis=1) > 0.5)[0]
    cols = np.nonzero(differs.mean(axis=0) > 0.5)[0]
    if rows.size == 0 or cols.size == 0:
        return box
    return outer[0] + int(cols[0]), outer[1] + int(rows[0]), outer[0] + int(cols[-1]) + 1, outer[1] + int(rows[-1]) + 1
