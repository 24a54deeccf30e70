"""Media types from content: the first bytes of a file decide, never its name.

Invariants: `sniff_media_type` is a pure function of the bytes it is given (callers pass
the first `SNIFF_BYTES` of a file); it never raises, never reads a file and never looks
at a file name or extension, so a renamed file cannot change what is recorded. Binary
signatures are checked before text, and text is only reported for data that decodes
cleanly (a multi-byte character cut at the end of the head is tolerated).
"""

from __future__ import annotations

import codecs
import json
import re

#: How many leading bytes of a file `sniff_media_type` needs to decide.
SNIFF_BYTES = 4096

_OCTET = "application/octet-stream"

_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"II+\x00", "image/tiff"),  # BigTIFF
    (b"MM\x00+", "image/tiff"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # empty archive
    (b"PK\x07\x08", "application/zip"),  # spanned archive
    (b"\x1f\x8b\x08", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (b"fLaC", "audio/flac"),
    (b"#!AMR", "audio/amr"),
)

# ISO base media file format (ftyp box) brands.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"miaf"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_BMFF_BRANDS = {
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"M4P ": "audio/mp4",
    b"M4V ": "video/mp4",
    b"3g2a": "video/3gpp2",
    b"3g2b": "video/3gpp2",
    b"3g2c": "video/3gpp2",
    b"crx ": "image/x-canon-cr3",
}

_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
# C0 controls other than tab, newlines, form feed and ESC (ANSI colour codes) mean "not text".
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _image_types() -> frozenset[str]:
    """Return the media types `evidencekit.imaging` can decode with what is installed."""
    from PIL import features

    types = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp"}
    try:
        import pillow_heif  # noqa: F401  (only whether it imports matters here)
    except ImportError:
        pass
    else:
        types |= {"image/heic", "image/heif"}
    if features.check_module("avif"):  # Pillow's own AVIF plugin (pillow-heif 1.x reads no AVIF)
        types.add("image/avif")
    return frozenset(types)


#: Media types `evidencekit.imaging.analyze_image` can analyse on this installation.
IMAGE_TYPES: frozenset[str] = _image_types()


def sniff_media_type(head: bytes) -> str:
    """Return the media type of data that starts with `head` (content only).

    Pass the first `SNIFF_BYTES` bytes of a file. Returns `"application/x-empty"` for
    empty input and `"application/octet-stream"` when nothing matches. Never raises.
    """
    head = bytes(head[:SNIFF_BYTES])
    if not head:
        return "application/x-empty"
    for sniff in (_sniff_prefix, _sniff_riff, _sniff_bmff, _sniff_container, _sniff_bmp, _sniff_bom_text, _sniff_audio):
        found = sniff(head)
        if found:
            return found
    return _sniff_text(head) or _OCTET


def _sniff_prefix(head: bytes) -> str | None:
    for prefix, media_type in _PREFIXES:
        if head.startswith(prefix):
            return media_type
    return None


def _sniff_riff(head: bytes) -> str | None:
    if not head.startswith(b"RIFF") or len(head) < 12:
        return None
    return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(head[8:12])


def _sniff_bmff(head: bytes) -> str | None:
    """ISO-BMFF (`ftyp` box first): HEIF family, AVIF, MP4, 3GP, QuickTime."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    major = head[8:12]
    box_end = min(int.from_bytes(head[0:4], "big"), len(head))
    compatible = {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    image = _bmff_image_type(major, compatible)
    if image:
        return image
    if major in _BMFF_BRANDS:
        return _BMFF_BRANDS[major]
    if major.startswith(b"3gp") or major.startswith(b"3ge") or major.startswith(b"3gg"):
        return "video/3gpp"
    return "video/mp4"


def _bmff_image_type(major: bytes, compatible: set[bytes]) -> str | None:
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major in _AVIF_BRANDS:
        return "image/avif"
    if major not in _HEIF_BRANDS:
        return None
    if compatible & _AVIF_BRANDS:
        return "image/avif"
    if compatible & _HEIC_BRANDS:
        return "image/heic"
    return "image/heif"


def _sniff_container(head: bytes) -> str | None:
    """EBML (WebM/Matroska) and Ogg."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head.startswith(b"OggS"):
        return "video/ogg" if b"\x80theora" in head[:128] else "audio/ogg"
    return None


def _sniff_bmp(head: bytes) -> str | None:
    """BMP: "BM" alone is too weak (text can start with it), so check the DIB header size."""
    if len(head) < 18 or not head.startswith(b"BM"):
        return None
    return "image/bmp" if int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES else None


def _sniff_bom_text(head: bytes) -> str | None:
    """Text with a UTF-16/32 byte-order mark, checked before MPEG sync (0xFF 0xFE matches both)."""
    return _sniff_text(head) if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) else None


def _sniff_audio(head: bytes) -> str | None:
    """MP3 (ID3 tag or MPEG audio frame sync) and AAC in ADTS frames; looks past an ID3 tag."""
    if head.startswith(b"ID3") and len(head) >= 10:
        size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
        after = head[10 + size + (10 if head[5] & 0x10 else 0) :]
        return (_sniff_prefix(after) if after.startswith(b"fLaC") else _sniff_frames(after)) or "audio/mpeg"
    return _sniff_frames(head)


def _sniff_frames(head: bytes) -> str | None:
    if len(head) < 3 or head[0] != 0xFF:
        return None
    b1, b2 = head[1], head[2]
    if b1 & 0xF6 == 0xF0:  # 12-bit sync, layer 00: ADTS
        return "audio/aac"
    layer, version = (b1 >> 1) & 3, (b1 >> 3) & 3
    if b1 & 0xE0 == 0xE0 and layer != 0 and version != 1 and b2 >> 4 != 0xF and (b2 >> 2) & 3 != 3:
        return "audio/mpeg"
    return None


def _sniff_text(head: bytes) -> str | None:
    """JSON, HTML or plain text, for data that decodes cleanly and holds no NUL or stray controls."""
    text = _decode_text(head)
    if text is None or _BINARY_CONTROLS.search(text):
        return None
    body = text.lstrip("\ufeff \t\r\n\f\v")
    lowered = body[:15].lower()
    if lowered.startswith("<!doctype html") or lowered.startswith("<html"):
        return "text/html"
    if body[:1] in ("{", "[") and _looks_like_json(body):
        return "application/json"
    return "text/plain"


def _decode_text(head: bytes) -> str | None:
    encoding, start = "utf-8", 0
    for bom, name in _BOMS:
        if head.startswith(bom):
            encoding, start = name, len(bom)
            break
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        # final=False: a character cut at the end of the head is not an error.
        return decoder.decode(head[start:], final=False)
    except UnicodeDecodeError:
        return None


def _looks_like_json(body: str) -> bool:
    """Whether `body` is JSON or a JSON document cut short (the head may end mid-document).

    A bare "[" is not enough: WhatsApp chat exports from iPhones start with "[12/01/2024, ...".
    """
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(body.rstrip()) - 6
    except (ValueError, RecursionError):
        return False
    return True
