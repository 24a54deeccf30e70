"""Hints that an image is a screenshot rather than a camera photo, with reasons in plain words.

Invariants: a pure function of already extracted metadata (no file access, no pixels);
every reason names what was seen, so a person can check it. The verdict is a hint for
the people describing evidence, never a finding: a camera Make/Model counts against it,
and only text written by the device itself ("Screenshot" in EXIF, XMP or PNG text)
outweighs a camera.
"""

from __future__ import annotations

import unicodedata
from typing import Any

_MARKER = "screenshot"
_TOOLS = (
    "gnome-screenshot",
    "screenshot",
    "snipping",
    "snip & sketch",
    "screencapture",
    "spectacle",
    "flameshot",
    "greenshot",
    "sharex",
    "lightshot",
    "xfce4-screenshooter",
)
# What phones and desktops call a screenshot file, in the languages volunteers meet most.
_NAME_WORDS = (
    "screenshot",
    "screen shot",
    "tangkapan layar",
    "cuplikan layar",
    "截屏",
    "截图",
    "螢幕截圖",
    "屏幕截图",
    "スクリーンショット",
    "bildschirmfoto",
    "captura de pantalla",
    "capture d’écran",
    "capture d'écran",
    "schermafbeelding",
    "снимок экрана",
)
_PHONE_SIZES = (
    "640x1136 750x1334 828x1792 1080x1920 1125x2436 1170x2532 1179x2556 1206x2622 1242x2208 "
    "1242x2688 1284x2778 1290x2796 1320x2868 720x1280 720x1520 720x1600 1080x2160 1080x2220 "
    "1080x2280 1080x2340 1080x2400 1080x2408 1080x2412 1080x2424 1440x2560 1440x2960 1440x3040 "
    "1440x3088 1440x3120 1440x3200 1344x2992 1260x2800"
)
_DESKTOP_SIZES = (
    "1024x768 1280x720 1280x800 1280x1024 1366x768 1440x900 1536x864 1600x900 1680x1050 "
    "1920x1080 1920x1200 2560x1080 2560x1440 2560x1600 2560x1664 2880x1800 2880x1864 2940x1912 "
    "3024x1964 3456x2234 3840x2160 3840x2400 4480x2520 5120x2880 2736x1824 2880x1920"
)
_TABLET_SIZES = "1536x2048 1620x2160 1640x2360 1668x2388 2048x2732 1488x2266 1200x1920 1600x2560 1800x2880"


def _size_table() -> dict[tuple[int, int], str]:
    table = {}
    for kind, sizes in (("phone", _PHONE_SIZES), ("desktop", _DESKTOP_SIZES), ("tablet", _TABLET_SIZES)):
        for size in sizes.split():
            width, height = (int(part) for part in size.split("x"))
            table[(min(width, height), max(width, height))] = kind
    return table


_SCREEN_SIZES = _size_table()


def hints(facts: dict[str, Any], xmp: bytes, name: str) -> dict[str, Any]:
    """Return `{"likely": bool, "reasons": [...]}` from an image's facts, XMP and file name.

    `facts` holds `format`, `width`, `height`, `camera`, `exif` and `png_text` as
    `evidencekit.imaging.analyze_image` reports them.
    """
    camera = facts.get("camera") or {}
    marker = _embedded_marker(facts, xmp)
    found = [reason for reason in (marker, _software(facts), _name(name), _size(facts, camera)) if reason]
    against = _camera_against(camera)
    likely = bool(marker) or (bool(found) and against is None)
    return {"likely": likely, "reasons": found + ([against] if against else [])}


def _embedded_marker(facts: dict[str, Any], xmp: bytes) -> str | None:
    exif = facts.get("exif") or {}
    for tag in ("UserComment", "ImageDescription", "XPComment", "XPTitle"):
        value = exif.get(tag)
        if isinstance(value, str) and _MARKER in value.casefold():
            return f"the EXIF {tag} says {_quote(value)}"
    if _MARKER.encode() in xmp.lower():
        return "the XMP metadata mentions 'Screenshot'"
    for key, value in (facts.get("png_text") or {}).items():
        if isinstance(value, str) and _MARKER in f"{key} {value}".casefold():
            return f"the PNG text chunk {_quote(key)} says {_quote(value)}"
    return None


def _software(facts: dict[str, Any]) -> str | None:
    software = [(facts.get("camera") or {}).get("software"), (facts.get("png_text") or {}).get("Software")]
    for value in software:
        if isinstance(value, str) and any(tool in value.casefold() for tool in _TOOLS):
            return f"the Software tag is {_quote(value)}, a screenshot tool"
    return None


def _name(name: str) -> str | None:
    folded = unicodedata.normalize("NFC", name).casefold()
    for word in _NAME_WORDS:
        if word in folded:
            return f"the file name {_quote(name)} contains {_quote(word)}"
    return None


def _size(facts: dict[str, Any], camera: dict[str, str]) -> str | None:
    if facts.get("format") not in ("PNG", "WEBP") or "make" in camera or "model" in camera:
        return None
    width, height = int(facts.get("width") or 0), int(facts.get("height") or 0)
    kind = _SCREEN_SIZES.get((min(width, height), max(width, height)))
    if kind is None:
        return None
    return f"a {facts['format']} with no camera Make/Model, {width}x{height}, the size of a common {kind} screen"


def _camera_against(camera: dict[str, str]) -> str | None:
    named = " ".join(camera[key] for key in ("make", "model") if key in camera)
    return f"against: the EXIF names a camera ({_quote(named)}), which points to a photo" if named else None


def _quote(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
