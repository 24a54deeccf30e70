"""Content sniffing: each supported type from its first bytes, and no crash on any input."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from evidencekit.media import IMAGE_TYPES, SNIFF_BYTES, sniff_media_type

REAL_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "real-images"


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x00\x08free"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG")
    return buf.getvalue()


CASES = [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"\xff\xd8\xff\xe1\x3f\xfeExif\x00\x00", "image/jpeg"),
    (_png(), "image/png"),
    (b"GIF87a\x01\x00\x01\x00", "image/gif"),
    (b"GIF89a\x01\x00\x01\x00", "image/gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
    (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
    (b"BM" + b"\x00" * 12 + struct.pack("<I", 40) + b"\x00" * 20, "image/bmp"),
    (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
    (_ftyp(b"heix", b"mif1"), "image/heic"),
    (_ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
    (_ftyp(b"mif1", b"mif1", b"miaf"), "image/heif"),
    (_ftyp(b"msf1", b"msf1"), "image/heif"),
    (_ftyp(b"avif", b"avif", b"mif1"), "image/avif"),
    (_ftyp(b"mif1", b"avif", b"mif1"), "image/avif"),
    (_ftyp(b"isom", b"isom", b"iso2", b"mp41"), "video/mp4"),
    (_ftyp(b"mp42", b"isom"), "video/mp4"),
    (_ftyp(b"M4A ", b"M4A ", b"mp42"), "audio/mp4"),
    (_ftyp(b"3gp4", b"3gp4"), "video/3gpp"),
    (_ftyp(b"qt  ", b"qt  "), "video/quicktime"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
    (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
    (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x13OpusHead", "audio/ogg"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00", "audio/mpeg"),
    (b"\xff\xfb\x90\x64\x00\x00", "audio/mpeg"),
    (b"\xff\xf1\x50\x80\x02\x1f\xfc", "audio/aac"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
    (b"PK\x03\x04\x14\x00\x00\x00", "application/zip"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07\x01\x00", "application/vnd.rar"),
    (b"Rar!\x1a\x07\x00", "application/vnd.rar"),
    (b"SQLite format 3\x00\x10\x00", "application/vnd.sqlite3"),
    (b'{\n "name": "Aisyah",\n "type": "personal_chat",\n "messages": [', "application/json"),
    (b'\xef\xbb\xbf  [1, 2, {"a": tr', "application/json"),
    (b"\n\t[]", "application/json"),
    (b"<!DOCTYPE html>\n<html>", "text/html"),
    (b"  \r\n<HTML lang=ms><head>", "text/html"),
    (b"\xef\xbb\xbf<!doctype HTML>", "text/html"),
    (b"12/01/2024, 10:11 - Aisyah: hello\n", "text/plain"),
    # WhatsApp exports from iPhones start with "[" but are not JSON.
    (b"[12/01/2024, 10:11:12] Aisyah: Selamat pagi\n[12/01/2024, 10:12:00] Mei: ok\n", "text/plain"),
    ("Terima kasih 谢谢 😀".encode(), "text/plain"),
    ("Terima kasih 谢谢 😀".encode()[:-2], "text/plain"),  # multi-byte character cut at the end
    (b"\xff\xfe" + "Hello, dunia".encode("utf-16-le"), "text/plain"),
    (b"\xfe\xff" + "Hello".encode("utf-16-be"), "text/plain"),
    (b"\xff\xfe" + '{"a": 1}'.encode("utf-16-le"), "application/json"),
    (b"BMW and friends\n", "text/plain"),
    (b"hello\x00world", "application/octet-stream"),
    (b"\x80\x81\x82binary", "application/octet-stream"),
    (b"\x01\x02\x03\x04", "application/octet-stream"),
    (b"", "application/x-empty"),
]


@pytest.mark.parametrize(("head", "expected"), CASES, ids=[f"{i}-{e}" for i, (_, e) in enumerate(CASES)])
def test_sniff_table(head: bytes, expected: str) -> None:
    assert sniff_media_type(head) == expected


def test_sniff_ignores_bytes_beyond_the_head() -> None:
    head = (b"plain text " * SNIFF_BYTES)[:SNIFF_BYTES] + b"\x00" * 100
    assert sniff_media_type(head) == "text/plain"


def test_id3_tag_followed_by_flac_is_flac() -> None:
    assert sniff_media_type(b"ID3\x04\x00\x00\x00\x00\x00\x00fLaC\x00\x00\x00\x22") == "audio/flac"


def test_sniff_made_files() -> None:
    """Files written by Pillow and zlib, not hand-made headers."""
    made = {"WEBP": "image/webp", "TIFF": "image/tiff", "BMP": "image/bmp", "GIF": "image/gif", "JPEG": "image/jpeg"}
    for fmt, expected in made.items():
        buf = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buf, fmt)
        assert sniff_media_type(buf.getvalue()[:SNIFF_BYTES]) == expected, fmt
    assert sniff_media_type(zlib.compress(b"x" * 100)) != "text/plain"


def test_image_types() -> None:
    assert {"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp"} <= IMAGE_TYPES
    assert all(t.startswith("image/") for t in IMAGE_TYPES)
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        assert "image/heic" not in IMAGE_TYPES
    else:
        assert {"image/heic", "image/heif"} <= IMAGE_TYPES


@pytest.mark.skipif(not REAL_IMAGES.is_dir(), reason="../shared/real-images is not present")
def test_real_jpegs_sniff_as_jpeg() -> None:
    paths = [p for p in REAL_IMAGES.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg")]
    assert paths
    for path in paths:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
        if head.startswith(b"\xff\xd8\xff"):
            assert sniff_media_type(head) == "image/jpeg", path


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=SNIFF_BYTES + 64))
def test_sniff_never_raises(data: bytes) -> None:
    result = sniff_media_type(data)
    assert isinstance(result, str) and "/" in result


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300).filter(lambda t: "\x00" not in t), st.integers(min_value=0, max_value=3))
def test_utf8_text_cut_anywhere_is_still_text(text: str, cut: int) -> None:
    data = ("note: " + text).encode("utf-8")
    data = data[: max(6, len(data) - cut)]
    kept = data.decode("utf-8", "ignore")
    controls = any(ord(c) < 32 and c not in "\t\n\v\f\r\x1b" for c in kept)
    assert sniff_media_type(data) in (("application/octet-stream",) if controls else ("text/plain",))
