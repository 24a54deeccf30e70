"""Fonts for the PDF: bundled Noto Sans and Noto Sans Tamil, then system fonts for the rest.

Invariants: never downloads anything. The bundled fonts (SIL Open Font License, see
`fonts/OFL.txt`) print Malay, English and Tamil on every system. Other scripts (Chinese,
Japanese, Korean, emoji, symbols) use fonts already on the computer, looked for in
`$EVIDENCEKIT_FONTS` first, then in the usual places on Linux, macOS and Windows; a font
is loaded only when the report's text needs a character from it. A character no font
covers is printed as `[U+XXXX]` and named in the result's warnings, never dropped.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

BUNDLED = Path(__file__).parent / "fonts"
BASE = ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf")
TAMIL = ("NotoSansTamil-Regular.ttf", "NotoSansTamil-Bold.ttf")
FONTS_ENV = "EVIDENCEKIT_FONTS"

#: System fonts tried, in order, for characters the bundled fonts lack (first found that covers them wins).
SYSTEM_CANDIDATES = {
    "linux": [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian/Ubuntu fonts-noto-cjk
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch, Fedora
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # many monochrome emoji and symbols
        "/usr/share/fonts/truetype/noto/NotoSansSymbols2-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansSymbols-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",  # fonts-noto-color-emoji
        "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
    ],
    "darwin": [
        "/System/Library/Fonts/PingFang.ttc",
        "/System/Library/Fonts/STHeiti Light.ttc",
        "/System/Library/Fonts/Hiragino Sans GB.ttc",
        "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
        "/Library/Fonts/Arial Unicode.ttf",
        "/System/Library/Fonts/Apple Symbols.ttf",
        "/System/Library/Fonts/Apple Color Emoji.ttc",
    ],
    "win32": [
        "msyh.ttc",  # Microsoft YaHei: Chinese
        "simsun.ttc",
        "YuGothR.ttc",  # Japanese
        "malgun.ttf",  # Korean
        "seguiemj.ttf",  # Segoe UI Emoji
        "seguisym.ttf",  # Segoe UI Symbol
        "arialuni.ttf",
    ],
}
#: What to suggest when a script is missing (by the first word of the characters' Unicode names).
ADVICE = {
    "CJK": "Chinese/Japanese/Korean: install Noto Sans CJK (Debian/Ubuntu: apt install fonts-noto-cjk)",
    "HANGUL": "Korean: install Noto Sans CJK (Debian/Ubuntu: apt install fonts-noto-cjk)",
    "HIRAGANA": "Japanese: install Noto Sans CJK (Debian/Ubuntu: apt install fonts-noto-cjk)",
    "KATAKANA": "Japanese: install Noto Sans CJK (Debian/Ubuntu: apt install fonts-noto-cjk)",
}
DEFAULT_ADVICE = (
    "emoji and symbols: install DejaVu Sans or Noto Color Emoji (Debian/Ubuntu: apt install fonts-dejavu-core)"
)


@dataclass
class FontPlan:
    """Which font files to load for a text, and the characters no font covers."""

    fallbacks: list[tuple[str, int]] = field(default_factory=list)
    """(path, face index in a collection) of each system font to add, in order."""
    missing: set[str] = field(default_factory=set)

    def advice(self) -> list[str]:
        """One line per kind of missing character, saying what to install."""
        kinds = {_script(ch) for ch in self.missing}
        return sorted({ADVICE.get(kind, DEFAULT_ADVICE) for kind in kinds})


def _script(ch: str) -> str:
    return unicodedata.name(ch, "UNKNOWN").split(" ")[0]


@cache
def coverage(path: str, index: int = 0) -> frozenset[int]:
    """The code points a font file maps (its cmap), read with fontTools; empty if unreadable."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # noqa: BLE001 - a damaged or unsupported system font is just skipped
        return frozenset()


def bundled(name: str) -> str:
    """The path of a bundled font file."""
    return str(BUNDLED / name)


def candidates() -> list[str]:
    """System font files to try, in order: `$EVIDENCEKIT_FONTS` (a folder or files, `os.pathsep`-separated), then the OS's."""
    out: list[str] = []
    for entry in filter(None, os.environ.get(FONTS_ENV, "").split(os.pathsep)):
        path = Path(entry)
        if path.is_dir():
            out += sorted(str(p) for p in path.iterdir() if p.suffix.lower() in (".ttf", ".otf", ".ttc"))
        else:
            out.append(str(path))
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    windir = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
    for name in SYSTEM_CANDIDATES.get(platform, SYSTEM_CANDIDATES["linux"]):
        out.append(str(windir / name) if platform == "win32" else name)
    return [p for p in out if Path(p).is_file()]


def plan(chars: Iterable[str]) -> FontPlan:
    """Choose the system fonts needed for `chars` beyond the bundled ones."""
    covered = coverage(bundled(BASE[0])) | coverage(bundled(TAMIL[0]))
    needed = {ch for ch in set(chars) if ord(ch) not in covered and ch.isprintable() and not ch.isspace()}
    result = FontPlan()
    for path in candidates() if needed else []:
        found = coverage(path)
        hits = {ch for ch in needed if ord(ch) in found}
        if hits:
            result.fallbacks.append((path, 0))
            needed -= hits
        if not needed:
            break
    result.missing = needed
    return result


def printable(text: str, missing: set[str]) -> str:
    """`text` with every character no font covers written as `[U+XXXX]`."""
    if not missing or not any(ch in missing for ch in text):
        return text
    return "".join(f"[U+{ord(ch):04X}]" if ch in missing else ch for ch in text)


def needs_shaping(text: str) -> bool:
    """Whether `text` has characters (Tamil, Indic, Arabic…) that print right only with shaping."""
    return not text.isascii() and any(0x0590 <= ord(ch) <= 0x0DFF or 0x1000 <= ord(ch) <= 0x109F for ch in text)
