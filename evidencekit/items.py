"""Read-only views of a case's items: a list for people and scripts, one item in full.

Invariant: these views never open the evidence files themselves and never show a picture.
"""

from __future__ import annotations

import os
from typing import Any

from .case import Case
from .errors import InputError
from .manifest import find_item


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    first = item["sightings"][0]
    analysis = item["analysis"]
    return {
        "id": item["id"],
        "name": first["name"],
        "media_type": item["media_type"],
        "size": item["size"],
        "sha256": item["sha256"],
        "md5": item["md5"],
        "storage": item["storage"],
        "sightings": len(item["sightings"]),
        "captured": first["captured"]["utc"],
        "analysis": analysis.get("status", "not-applicable"),
        "screenshot": bool(analysis.get("screenshot", {}).get("likely")),
    }


def list_items(case: Case | str | os.PathLike[str]) -> list[dict[str, Any]]:
    """One summary row per item, in id order (metadata only)."""
    _, manifest = Case.coerce(case).read_manifest()
    return [_summary(item) for item in manifest["items"]]


def show_item(case: Case | str | os.PathLike[str], item_id: str) -> dict[str, Any]:
    """The full manifest record of one item; raises `InputError` for an unknown id."""
    _, manifest = Case.coerce(case).read_manifest()
    item = find_item(manifest, item_id.strip().upper())
    if item is None:
        ids = [i["id"] for i in manifest["items"]]
        shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "") if ids else "none yet"
        raise InputError(f"no item {item_id!r} in this case (ids: {shown})", hint="list them with `evidencekit items`")
    return item
