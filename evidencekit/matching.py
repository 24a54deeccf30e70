"""Find where pictures appear in a case: matching reference photos, and near-duplicate clusters.

Invariants: read-only unless `capture=True` (then only through `capture()`); reference photos
are hashed in memory and never written, shown or logged; results name items, chats, messages
and distances, never picture content; comparisons are vectorised (`_hamming`), one chunk of
items against every reference variant at a time. Method and measured accuracy: docs/matching.md.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from . import _hamming
from ._hashrows import VARIANTS, HashRows, item_rows, read_reference, reference_rows, region_rows, searchable
from .case import Case
from .chatindex import MessageQuery, list_chats, list_messages
from .errors import EvidenceKitError
from .media import IMAGE_TYPES, SNIFF_BYTES, sniff_media_type
from .signing import SigningKey


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Largest Hamming distances that still count as the same picture (chosen in docs/matching.md).

    A pair matches when its PDQ distance is at most `pdq` (both PDQ qualities at least 50), or
    when both its pHash and dHash distances are at most `phash` and `dhash`.
    """

    pdq: int = 70
    phash: int = 10
    dhash: int = 12

    def to_json(self) -> dict[str, int]:
        return {"pdq": self.pdq, "phash": self.phash, "dhash": self.dhash}


#: The thresholds chosen from bench/bench_match.py (docs/matching.md).
DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Match:
    """One reference photo found in one item: how close, in what form, and where it appeared."""

    reference: str
    item: str
    pdq: int | None
    phash: int
    dhash: int
    reference_form: str
    """Which form of the reference matched: `as is`, `mirrored`, `rotated 90°`, a crop, …"""
    found_in: str
    """`whole picture`, or the photo-like region of a screenshot that matched."""
    identical: bool
    """The item's bytes are the reference's bytes (same SHA-256)."""
    sightings: int
    appearances: list[dict[str, Any]] = field(default_factory=list)
    """Chat messages that carried the item: `chat`, `title`, `n`, `id`, `sender`, `time`."""

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "item": self.item,
            "distances": {"pdq": self.pdq, "phash": self.phash, "dhash": self.dhash},
            "reference_form": self.reference_form,
            "found_in": self.found_in,
            "identical": self.identical,
            "sightings": self.sightings,
            "appearances": self.appearances,
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What `match()` found: matches best first, references it could not use, items it compared."""

    matches: list[Match]
    failed: list[dict[str, str]]
    """`{"reference", "reason"}` for each reference that could not be read or decoded."""
    references: int
    items: int
    regions: int
    thresholds: Thresholds
    captured: dict[str, str] = field(default_factory=dict)
    """Reference path -> item id, when `capture=True`."""

    def to_json(self) -> dict[str, Any]:
        return {
            "matches": [m.to_json() for m in self.matches],
            "failed": self.failed,
            "compared": {"references": self.references, "items": self.items, "regions": self.regions},
            "thresholds": self.thresholds.to_json(),
            "captured": self.captured,
        }


def match(
    case: Case | str | os.PathLike[str],
    references: Sequence[str | os.PathLike[str]],
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    regions: bool = True,
    capture: bool = False,
    key: SigningKey | None = None,
    identities: Sequence[object] = (),
    now: datetime | None = None,
) -> MatchResult:
    """Find the case's pictures that look like the `references` (photos given by the survivor).

    References are hashed in memory and never stored, unless `capture=True` (then they are
    captured into the case with `key`, after matching). `regions=False` skips searching inside
    screenshots (faster). A reference that cannot be read is listed in `.failed`; the others
    are still matched. Raises `ValueError` if `capture` is set without a `key`. In an
    encrypted case, searching inside screenshots and reading the chats decrypts them in
    memory with `identities` (`SigningKeyError` without them).
    """
    if capture and key is None:
        raise ValueError("capture=True needs key=")
    case = Case.coerce(case)
    _, manifest = case.read_manifest()
    references = expand_references(references)
    refs, sha256, failed = _reference_table(references)
    items = item_rows(manifest["items"])
    found = (
        region_rows(case.root, [i for i in manifest["items"] if searchable(i)], identities) if regions else HashRows()
    )
    best = _best_pairs(items + found, refs, thresholds)
    matches = _describe(case, manifest, best, sha256, identities)
    captured = _capture_references(case, references, failed, key, now) if capture and key else {}
    return MatchResult(matches, failed, len(refs) // len(VARIANTS), len(items), len(found), thresholds, captured)


def expand_references(references: Sequence[str | os.PathLike[str]]) -> list[str]:
    """The reference files: files as given, and the pictures below each folder given (by content;
    other files in a folder are left out, links are not followed), sorted."""
    out: list[str] = []
    for given in (os.fspath(reference) for reference in references):
        if not os.path.isdir(given):
            out.append(given)
            continue
        for folder, dirs, files in os.walk(given):
            dirs.sort()
            out.extend(p for p in (os.path.join(folder, f) for f in sorted(files)) if _is_picture(p))
    return out


def _is_picture(path: str) -> bool:
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as handle:
            return sniff_media_type(handle.read(SNIFF_BYTES)) in IMAGE_TYPES
    except OSError:
        return True  # let reading it report why it cannot be used


def _reference_table(
    references: Sequence[str | os.PathLike[str]],
) -> tuple[HashRows, dict[str, str], list[dict[str, str]]]:
    table, sha256, failed = HashRows(), {}, []
    for path in references:
        try:
            rgb, sha256[str(path)] = read_reference(path)
        except EvidenceKitError as exc:
            failed.append({"reference": str(path), "reason": exc.message})
            continue
        table = table + reference_rows(str(path), rgb)
    return table, sha256, failed


Pair = tuple[str, str]  # (reference, item id)
Best = dict[Pair, tuple[float, int | None, int, int, str, str]]  # score, pdq, phash, dhash, form, found in


def _best_pairs(items: HashRows, refs: HashRows, limits: Thresholds) -> Best:
    """The closest matching variant for every (reference, item) pair within the thresholds."""
    best: Best = {}
    for part in _hamming.chunks(len(items), 4 * len(refs)):
        pdq = _hamming.distances(items.pdq[part], refs.pdq)
        usable = items.pdq_usable[part, None] & refs.pdq_usable[None, :]
        phash = _hamming.distances(items.phash[part], refs.phash)
        dhash = _hamming.distances(items.dhash[part], refs.dhash)
        hits = (usable & (pdq <= limits.pdq)) | ((phash <= limits.phash) & (dhash <= limits.dhash))
        for row, col in zip(*np.nonzero(hits), strict=True):
            at = part.start + int(row)
            quality = bool(usable[row, col])
            distance = int(pdq[row, col]) if quality else None
            score = distance / 256 if distance is not None else (int(phash[row, col]) + int(dhash[row, col])) / 128
            pair = (refs.owners[col], items.owners[at])
            if pair not in best or score < best[pair][0]:
                best[pair] = (
                    score,
                    distance,
                    int(phash[row, col]),
                    int(dhash[row, col]),
                    refs.labels[col],
                    items.labels[at],
                )
    return best


def _describe(
    case: Case, manifest: dict[str, Any], best: Best, sha256: dict[str, str], identities: Sequence[object]
) -> list[Match]:
    items = {item["id"]: item for item in manifest["items"]}
    seen = appearances(case, manifest, identities) if manifest.get("derived") else {}
    out = []
    for (reference, item_id), (_, pdq, phash, dhash, form, where) in sorted(best.items(), key=lambda kv: kv[1][0]):
        item = items[item_id]
        same = sha256.get(reference) == item["sha256"]
        count = len(item["sightings"])
        out.append(Match(reference, item_id, pdq, phash, dhash, form, where, same, count, seen.get(item["sha256"], [])))
    return out


def appearances(
    case: Case, manifest: dict[str, Any], identities: Sequence[object] = ()
) -> dict[str, list[dict[str, Any]]]:
    """Every chat message that carried each file, by SHA-256: chat id and title, message, sender, time
    (an encrypted case's transcripts are read with `identities`)."""
    titles = {chat["id"]: chat["title"] for chat in list_chats(case)}
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in list_messages(case, MessageQuery(with_attachments=True), identities=identities):
        for attachment in message.get("attachments", ()):
            if attachment.get("sha256"):
                found[attachment["sha256"]].append(
                    {
                        "chat": message["chat"],
                        "title": titles.get(message["chat"]),
                        "n": message["n"],
                        "id": message.get("id"),
                        "sender": message.get("from", {}).get("name"),
                        "time": message.get("time", {}).get("utc") or message.get("time", {}).get("text"),
                    }
                )
    return dict(found)


def _capture_references(
    case: Case,
    references: Sequence[str | os.PathLike[str]],
    failed: list[dict[str, str]],
    key: SigningKey,
    now: datetime | None,
) -> dict[str, str]:
    from .capture import capture as capture_files

    usable = [p for p in references if str(p) not in {f["reference"] for f in failed}]
    if not usable:
        return {}
    result = capture_files(case, usable, key=key, note="reference photo given for matching", now=now)
    return {row["path"]: row["id"] for row in result.items}
