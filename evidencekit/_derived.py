"""Derived files (chat transcripts) in the manifest (spec: docs/spec/manifest.md §4.5).

Invariants: a derived file is named by its SHA-256 and listed once; it names the items it
was read from by id, mapped from the SHA-256s the capture journal recorded; the same
transcript recorded again adds nothing.
"""

from __future__ import annotations

from typing import Any

from .manifest import Manifest, next_derived_id

#: Journal-entry fields copied into the manifest entry as they are.
_COPIED = ("sha256", "sha1", "md5", "size", "object", "blob", "parser", "export", "options", "chat", "created", "by")


def apply_derived(manifest: Manifest, entry: dict[str, Any]) -> dict[str, Any]:
    """Add a journal entry of kind `derived` to the manifest; return a summary (id, new, chat)."""
    derived = manifest.setdefault("derived", [])
    existing = next((d for d in derived if d["sha256"] == entry["sha256"]), None)
    if existing is None:
        by_sha = {item["sha256"]: item["id"] for item in manifest["items"]}
        existing = {k: entry[k] for k in _COPIED if k in entry}
        existing["id"] = next_derived_id(manifest)
        existing["kind"] = entry["derived_kind"]
        existing["sources"] = sorted({by_sha[sha] for sha in entry["sources"] if sha in by_sha})
        derived.append(existing)
        new = True
    else:
        new = False
    summary = {"id": existing["id"], "new": new, "sha256": existing["sha256"], **existing.get("chat", {})}
    return summary | {"problem_list": entry.get("problem_list", [])}
