"""Gather what a report shows, once, for both renderers: header, items, chats, custody, check.

Invariants: only reads the case (the chat search index may be rebuilt, as `messages` does);
never opens an evidence file except to make a thumbnail when asked; chat messages are never
gathered here but streamed by `messages()` while a renderer writes, so memory stays bounded
however long a chat is.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from .._content import need_key
from .._time import stamp
from .._tz import parse_timezone
from .._version import __version__
from ..case import Case, custody_log
from ..chatindex import list_chats, transcript_end, transcript_messages
from ..errors import InputError
from ..manifest import is_encrypted
from ..verify import VerificationReport, verify


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows except chat messages (streamed by `messages()`)."""

    case: Case
    header: dict[str, Any]
    revision: int
    manifest_sha256: str
    zone: tzinfo
    signers: list[dict[str, str]]
    items: list[dict[str, Any]]
    total_items: int
    chats: list[dict[str, Any]]
    custody: list[dict[str, Any]]
    check: VerificationReport
    checked_while_packaging: bool
    generated: dict[str, str]
    tool: str
    identities: Sequence[object] = ()  # keys that open an encrypted case's copies and transcripts
    transcripts: dict[str, dict[str, Any]] = field(default_factory=dict)  # the manifest's `derived` entries by id
    item_ids: dict[str, str] = field(default_factory=dict)  # every item's id by its SHA-256 (attachments)

    def messages(self, chat_id: str) -> Iterator[dict[str, Any]]:
        """One chat's messages in the export's order, streamed from its transcript (never all in
        memory; never from the search index, which is not signed)."""
        return transcript_messages(self.case, self.transcripts[chat_id], self.item_ids, self.identities)

    def local(self, utc_text: str | None) -> tuple[str, str]:
        """A UTC time as (`2026-03-14 21:05:09 +08:00`, `13:05:09 UTC`) in the case's zone."""
        if not utc_text:
            return "", ""
        moment = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
        return _local_text(moment.astimezone(self.zone)), f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"

    def when(self, utc_text: str | None) -> str:
        """A UTC time for people: `2026-03-14 21:05:09 +08:00 (2026-03-14 13:05:09 UTC)`; empty if none."""
        local, utc = self.local(utc_text)
        return f"{local} ({utc})" if local else ""

    def stamp_text(self, stamp_: dict[str, str]) -> str:
        """A stored stamp for people, in the case's zone with UTC after it."""
        return self.when(stamp_["utc"])


def _local_text(moment: datetime) -> str:
    offset = f"{moment:%z}"
    return f"{moment:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def gather(
    case: Case,
    *,
    items: Sequence[str] = (),
    now: datetime | None = None,
    hash_objects: bool = True,
    identities: Sequence[object] = (),
    checked: VerificationReport | None = None,
) -> ReportData:
    """Read the case once for a report. Raises `InputError` for an unknown item id, and
    `SigningKeyError` for an encrypted case with chats and no `identities`.

    `checked` is a verification the caller has just made of this case (packaging makes one
    first, without hashing the stored copies, which it hashes while zipping them); without
    it, the case is verified here."""
    manifest_bytes, manifest = case.read_manifest()
    chosen = _select(manifest["items"], items)
    ids = {item["id"] for item in chosen}
    chats = [chat for chat in list_chats(case, identities=identities) if not items or ids & set(chat["sources"])]
    entries = {entry["id"]: entry for entry in manifest.get("derived", [])}
    if chats and is_encrypted(manifest) and not identities:
        raise need_key()
    for chat in chats:
        chat["end"] = _chat_end(case, entries[chat["id"]], identities)
    check = checked or verify(case, raise_on_failure=False, hash_objects=hash_objects, identities=identities)
    return ReportData(
        case=case,
        header=manifest["case"],
        revision=manifest["revision"],
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        zone=parse_timezone(manifest["case"]["timezone"]),
        signers=[{"name": v["name"], "fingerprint": fp} for fp, v in sorted(manifest["signers"].items())],
        items=chosen,
        total_items=len(manifest["items"]),
        chats=chats,
        custody=custody_log(case),
        check=check,
        checked_while_packaging=not hash_objects,
        generated=stamp(now),
        tool=f"evidencekit {__version__}",
        identities=identities,
        transcripts=entries,
        item_ids={item["sha256"]: item["id"] for item in manifest["items"]},
    )


def _select(items: list[dict[str, Any]], wanted: Sequence[str]) -> list[dict[str, Any]]:
    if not wanted:
        return items
    by_id = {item["id"]: item for item in items}
    ids = list(dict.fromkeys(w.strip().upper() for w in wanted))
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise InputError(f"no item {', '.join(unknown)} in this case", hint="list the ids with `evidencekit items`")
    return [by_id[i] for i in sorted(ids)]


def _chat_end(case: Case, entry: dict[str, Any], identities: Sequence[object]) -> dict[str, Any]:
    from ..errors import EvidenceKitError

    try:
        return transcript_end(case, entry, identities)
    except (OSError, EvidenceKitError):
        return {}  # a missing or damaged transcript: the verification section says so


def type_counts(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(strings key, count) per plain-language kind of file, most common first; screenshots after pictures."""
    kinds: Counter[str] = Counter()
    for item in items:
        major, _, minor = item["media_type"].partition("/")
        if major in ("image", "video", "audio", "text"):
            kinds[f"type_{major}"] += 1
        elif minor in ("zip", "x-zip-compressed"):
            kinds["type_archive"] += 1
        else:
            kinds["type_other"] += 1
    out = kinds.most_common()
    shots = sum(1 for item in items if is_screenshot(item))
    if shots:
        at = next(i for i, (key, _) in enumerate(out) if key == "type_image") + 1
        out.insert(at, ("type_screenshot", shots))
    return out


def is_screenshot(item: dict[str, Any]) -> bool:
    """Whether capture's analysis judged the item likely a screenshot."""
    return bool((item["analysis"].get("screenshot") or {}).get("likely"))


def spans(data: ReportData) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """(first, last) UTC of collection, and of the times the evidence shows (chat messages, EXIF)."""
    captured = [s["captured"]["utc"] for item in data.items for s in item["sightings"]]
    shown = [t for chat in data.chats for t in (chat["first"], chat["last"]) if t]
    shown += [t for item in data.items if (t := exif_utc(item))]
    return (
        (min(captured), max(captured)) if captured else None,
        (min(shown), max(shown)) if shown else None,
    )


def exif_utc(item: dict[str, Any]) -> str | None:
    """The picture's original time as UTC text, when its EXIF gives both a time and an offset."""
    original = item["analysis"].get("datetime_original") or {}
    if not original.get("text") or not original.get("offset"):
        return None
    try:
        moment = datetime.strptime(f"{original['text']} {original['offset']}", "%Y:%m:%d %H:%M:%S %z")
    except ValueError:
        return None
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"


def id_ranges(ids: Sequence[str], limit: int = 12) -> str:
    """`E0001–E0040, E0042` for a list of item ids; very long lists end with `… (N in all)`."""
    parts: list[str] = []
    run: list[str] = []
    for item_id in ids:
        if run and _number(item_id) == _number(run[-1]) + 1:
            run.append(item_id)
            continue
        if run:
            parts.append(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}")
        run = [item_id]
    if run:
        parts.append(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}")
    if len(parts) > limit:
        return ", ".join(parts[:limit]) + f", … ({len(ids)} in all)"
    return ", ".join(parts)


def _number(item_id: str) -> int:
    digits = item_id[1:]
    return int(digits) if digits.isdigit() else -2
