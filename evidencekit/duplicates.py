"""Near-duplicate pictures inside a case, and hash-only lists for takedown requests.

Invariants: read-only; uses only the hashes in the signed manifest (never opens a picture);
clusters join items whose hashes are within `Thresholds` of each other (single linkage), so
one picture re-posted 40 times is one cluster with 40 postings; a hash list carries no
content and, unless asked, no file names.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _hamming
from ._hashrows import HashRows, item_rows
from .case import Case
from .errors import InputError
from .matching import DEFAULT_THRESHOLDS, Thresholds, appearances


@dataclass(frozen=True, slots=True)
class DuplicateCluster:
    """Items that show the same picture: ids, how often each was captured and posted in chats."""

    items: list[str]
    sightings: int
    """Captures of these items, all together (`sightings` in the manifest)."""
    postings: int
    """Chat messages that carried one of these items (0 when no chat export names them)."""
    largest_distances: dict[str, int | None]
    """The largest PDQ (when usable), pHash and dHash distance between two joined items."""

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "sightings": self.sightings,
            "postings": self.postings,
            "largest_distances": self.largest_distances,
        }


def find_duplicates(
    case: Case | str | os.PathLike[str],
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    identities: Sequence[object] = (),
) -> list[DuplicateCluster]:
    """Clusters of near-identical pictures in the case, most often seen first.

    A cluster is listed when it holds two or more items, or one item captured or posted in
    chats more than once. Mirrored or rotated copies are not joined (use `match()` with the
    picture as a reference for that). An encrypted case's chats are read with `identities`.
    """
    case = Case.coerce(case)
    _, manifest = case.read_manifest()
    rows = item_rows(manifest["items"])
    groups, widest = _cluster(rows, thresholds)
    items = {item["id"]: item for item in manifest["items"]}
    seen = appearances(case, manifest, identities) if manifest.get("derived") else {}
    out = []
    for root, members in groups.items():
        ids = sorted(rows.owners[i] for i in members)
        sightings = sum(len(items[i]["sightings"]) for i in ids)
        postings = sum(len(seen.get(items[i]["sha256"], [])) for i in ids)
        if len(ids) > 1 or max(sightings, postings) > 1:
            out.append(DuplicateCluster(ids, sightings, postings, widest.get(root, _NONE)))
    out.sort(key=lambda c: (-max(c.sightings, c.postings), -len(c.items), c.items[0]))
    return out


_NONE: dict[str, int | None] = {"pdq": None, "phash": 0, "dhash": 0}


def _cluster(rows: HashRows, limits: Thresholds) -> tuple[dict[int, list[int]], dict[int, dict[str, int | None]]]:
    """Union-find over every pair within the thresholds, found chunk by chunk (vectorised)."""
    parent = list(range(len(rows)))
    links = []
    for part in _hamming.chunks(len(rows), 4 * len(rows)):
        later = slice(part.start, None)  # each pair once: this chunk against itself and what follows
        pdq = _hamming.distances(rows.pdq[part], rows.pdq[later])
        usable = rows.pdq_usable[part, None] & rows.pdq_usable[None, later]
        phash = _hamming.distances(rows.phash[part], rows.phash[later])
        dhash = _hamming.distances(rows.dhash[part], rows.dhash[later])
        near = (usable & (pdq <= limits.pdq)) | ((phash <= limits.phash) & (dhash <= limits.dhash))
        for a, b in zip(*np.nonzero(near), strict=True):
            first, second = part.start + int(a), part.start + int(b)
            if first < second:
                found = int(pdq[a, b]) if usable[a, b] else None
                links.append((first, second, found, int(phash[a, b]), int(dhash[a, b])))
    for first, second, *_ in links:
        parent[_find(parent, first)] = _find(parent, second)
    groups: dict[int, list[int]] = {}
    for index in range(len(rows)):
        groups.setdefault(_find(parent, index), []).append(index)
    return groups, _widest(parent, links)


def _find(parent: list[int], index: int) -> int:
    while parent[index] != index:
        parent[index] = parent[parent[index]]
        index = parent[index]
    return index


def _widest(parent: list[int], links: list[tuple[int, int, int | None, int, int]]) -> dict[int, dict[str, int | None]]:
    widest: dict[int, dict[str, int | None]] = {}
    for first, _, pdq, phash, dhash in links:
        root = _find(parent, first)
        now = widest.setdefault(root, dict(_NONE))
        if pdq is not None:
            now["pdq"] = max(pdq, now["pdq"] or 0)
        now["phash"] = max(phash, now["phash"] or 0)
        now["dhash"] = max(dhash, now["dhash"] or 0)
    return widest


#: Columns of the hash list, in order (spec: docs/spec/hash-list.md).
HASH_COLUMNS = ("item", "media_type", "size", "sha256", "md5", "pdq", "pdq_quality", "phash")


@dataclass(frozen=True, slots=True)
class HashList:
    """Hashes of items, without content: rows with `HASH_COLUMNS` (and `names` if asked for)."""

    rows: list[dict[str, Any]]
    names: bool

    def to_json(self) -> dict[str, Any]:
        return {"format": "evidencekit/hash-list/1", "items": self.rows}

    def to_csv(self) -> str:
        """The rows as CSV (RFC 4180, header row, LF line ends); `names` joined by ` | `."""
        out = io.StringIO()
        columns = [*HASH_COLUMNS, "names"] if self.names else list(HASH_COLUMNS)
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({**row, "names": " | ".join(row["names"])} if self.names else row)
        return out.getvalue()


def hash_list(case: Case | str | os.PathLike[str], *, items: Sequence[str] = (), names: bool = False) -> HashList:
    """A hash-only list of the case's items (or of `items`), for takedown requests.

    No content and, unless `names=True`, no file names. Raises `InputError` for an unknown item id.
    """
    _, manifest = Case.coerce(case).read_manifest()
    wanted = [i.strip().upper() for i in items]
    known = {item["id"] for item in manifest["items"]}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise InputError(f"no item {', '.join(unknown)} in this case", hint="list them with `evidencekit items`")
    chosen = [item for item in manifest["items"] if not wanted or item["id"] in wanted]
    return HashList([_hash_row(item, names) for item in chosen], names)


def _hash_row(item: dict[str, Any], names: bool) -> dict[str, Any]:
    perceptual = item["analysis"].get("perceptual", {})
    row = {
        "item": item["id"],
        "media_type": item["media_type"],
        "size": item["size"],
        "sha256": item["sha256"],
        "md5": item["md5"],
        "pdq": perceptual.get("pdq"),
        "pdq_quality": perceptual.get("pdq_quality"),
        "phash": perceptual.get("phash"),
    }
    if names:
        row["names"] = sorted({seen["name"] for seen in item["sightings"]})
    return row
