"""Hostile inputs for evidencekit, made on the spot: shared by tests/test_hostile.py and bench/bench_security.py.

Every generator writes its files under a folder it is given and returns one `Hostile`: the
paths to hand to `capture` and what must happen to them (`expect`). Nothing here needs
pytest, so the bench runs the same inputs; nothing here reads the network or writes
outside the folder it is given.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import struct
import sys
import threading
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

#: What a hostile input may end as (checked against the capture result, see `outcome`):
#: "item"      captured byte for byte (images: analysed, or analysis "failed" with a reason)
#: "failed"    listed in `failed` with a reason (cannot be read); the batch goes on
#: "skipped"   listed in `skipped` with a reason (not a regular file, refused zip member)
#: "link"      recorded as a link, not followed
#: "unread"    captured, but the chat export could not be read (listed in `unread`)
#: "chat"      captured and read into a transcript
OUTCOMES = ("item", "analysis-failed", "failed", "skipped", "link", "unread", "chat")


@dataclass(frozen=True)
class Hostile:
    """One hostile input: what to capture and which outcomes are acceptable."""

    name: str
    paths: tuple[str, ...]
    expect: frozenset[str]
    #: names (basenames, or zip member paths) that must be refused (skipped) and never become items
    refused: tuple[str, ...] = ()
    #: the bytes, when the input is one plain file (the parser fuzz harness reuses them)
    data: bytes | None = field(default=None, repr=False)


# ---------------------------------------------------------------- small building blocks


def png_bytes(size: tuple[int, int] = (32, 24), colour: tuple[int, int, int] = (200, 30, 30), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG", **save)
    return out.getvalue()


def encoded(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (40, 90, 160))
    for x in range(0, size[0], 4):  # some detail, so that codecs produce several blocks
        image.putpixel((x, x % size[1]), (250, 250, 0))
    image.save(out, fmt)
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int, extra: bytes = b"") -> bytes:
    """A PNG whose header declares `width` x `height` pixels, with only a little data (a bomb)."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + extra + _chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + _chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    """A JPEG whose frame header (SOF0) declares `width` x `height`, followed by junk scan data."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    dqt = b"\xff\xdb\x00\x43\x00" + bytes([1] * 64)
    huff = b"\xff\xc4\x00\x14\x00" + bytes([0, 1] + [0] * 14) + b"\x00\x00"
    sos = b"\xff\xda\x00\x0c\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00"
    return b"\xff\xd8" + dqt + sof + huff + sos + b"\x00" * 64 + b"\xff\xd9"


def gif_declaring(width: int, height: int) -> bytes:
    """A GIF whose screen and one frame declare `width` x `height`."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x4c\x01\x00"
    return screen + frame + b";"


def webp_declaring(width: int, height: int) -> bytes:
    """An extended WebP (VP8X) whose canvas declares `width` x `height`, with no image data."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def _ifd(entries: list[tuple[int, int, int, bytes]], next_offset: int, count: int | None = None) -> bytes:
    """A little-endian TIFF IFD: (tag, type, count, 4-byte value or offset) entries."""
    body = struct.pack("<H", len(entries) if count is None else count)
    for tag, kind, n, value in entries:
        body += struct.pack("<HHI", tag, kind, n) + value.ljust(4, b"\0")[:4]
    return body + struct.pack("<I", next_offset)


def tiff_header(first_ifd: int = 8) -> bytes:
    return b"II*\x00" + struct.pack("<I", first_ifd)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


#: EXIF (TIFF) blocks that broke or could break readers: loops, absurd counts, wrong types.
EXIF_BLOCKS: dict[str, bytes] = {
    # IFD0 claims 65535 entries in a 30-byte block
    "exif-huge-entry-count": tiff_header() + _ifd([(0x010F, 2, 4, b"Cam\0")], 0, count=0xFFFF),
    # one entry of 2**31 LONGs, its data "at" an offset far past the end
    "exif-huge-value-count": tiff_header() + _ifd([(0x0110, 4, 0x7FFFFFFF, _u32(0x7FFFFFF0))], 0),
    # IFD0's next-IFD pointer points back at IFD0 (an endless chain of IFDs)
    "exif-ifd-loop": tiff_header() + _ifd([(0x0112, 3, 1, b"\x01\x00")], 8),
    # IFD0 -> IFD1 -> IFD0
    "exif-two-ifd-loop": tiff_header() + _ifd([(0x0112, 3, 1, b"\x01\x00")], 26) + _ifd([(0x0100, 3, 1, b"\x10")], 8),
    # the Exif sub-IFD and the GPS IFD pointers both point at IFD0 (a loop through sub-IFDs)
    "exif-subifd-loop": tiff_header() + _ifd([(0x8769, 4, 1, _u32(8)), (0x8825, 4, 1, _u32(8))], 0),
    # wrong types: Orientation as text, DateTime as a rational, Make as a number, GPS pointer as text
    "exif-wrong-types": tiff_header()
    + _ifd(
        [
            (0x010F, 4, 1, _u32(7)),
            (0x0112, 2, 4, b"up!\0"),
            (0x0132, 5, 1, _u32(62)),
            (0x8825, 2, 4, b"gps\0"),
        ],
        0,
    )
    + struct.pack("<II", 1, 0),  # the rational DateTime points here: 1/0
    # a GPS IFD whose latitude is text and longitude a rational with zero denominators
    "exif-bad-gps": tiff_header()
    + _ifd([(0x8825, 4, 1, _u32(26))], 0)
    + _ifd(
        [(0x0001, 2, 2, b"N\0"), (0x0002, 2, 4, b"1.5\0"), (0x0003, 2, 2, b"E\0"), (0x0004, 5, 3, _u32(80))],
        0,
    )
    + struct.pack("<6I", 1, 0, 2, 0, 3, 0),
    # an unknown field type (99) and a count that overflows 32 bits when multiplied by its size
    "exif-unknown-type": tiff_header() + _ifd([(0x010F, 99, 1, b"abcd"), (0x9003, 12, 0x20000000, _u32(8))], 0),
    # an IFD offset pointing past the end, and one pointing into the header
    "exif-offset-outside": tiff_header(0xFFFFFF00),
    "exif-offset-into-header": tiff_header(2),
}


def jpeg_with_exif(tiff: bytes) -> bytes:
    """A small valid JPEG carrying `tiff` as its EXIF (APP1) block."""
    base = encoded("JPEG", (16, 16))
    app1 = b"Exif\0\0" + tiff
    return base[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + base[2:]


def png_with_exif(tiff: bytes) -> bytes:
    """A small PNG carrying `tiff` in an eXIf chunk (before the image data)."""
    base = png_bytes((16, 16))
    end_of_ihdr = 8 + 25
    return base[:end_of_ihdr] + _chunk(b"eXIf", tiff) + base[end_of_ihdr:]


def mp4_header() -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isomiso2"
    return ftyp + struct.pack(">I", 1 << 20) + b"moov" + b"\0" * 100  # a moov box cut short


def pdf_bytes() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" + b"x" * 200 + b"\n%%EOF\n"


def heic_bytes() -> bytes | None:
    try:
        import pillow_heif
    except ImportError:
        return None
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 10)).save(out, "HEIF")
    return out.getvalue()


def whatsapp_text(lines: int = 3) -> str:
    body = [
        f"[23/08/23, 21:{minute:02d}:00] {'Lina' if minute % 2 else 'Badrul'}: message {minute}"
        for minute in range(lines)
    ]
    return "\r\n".join(body) + "\r\n"


def whatsapp_zip_bytes(extra: Callable[[zipfile.ZipFile], None] | None = None) -> bytes:
    """An iOS-style WhatsApp export zip (`_chat.txt` and a photo), with `extra` members added."""
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as zf:
        warnings.simplefilter("ignore")  # duplicate member names are made on purpose
        text = (
            whatsapp_text(2)
            + "[23/08/23, 21:05:00] Badrul: \u200e<attached: 00000002-PHOTO-2023-08-23-21-05-00.jpg>\r\n"
        )
        stamp = (2023, 8, 23, 21, 10, 0)  # fixed, so the zip (and every test's item order) is the same each run
        zf.writestr(zipfile.ZipInfo("_chat.txt", date_time=stamp), text)
        zf.writestr(zipfile.ZipInfo("00000002-PHOTO-2023-08-23-21-05-00.jpg", date_time=stamp), png_bytes((8, 8)))
        if extra is not None:
            extra(zf)
    return out.getvalue()


def telegram_json(messages: list[dict[str, Any]] | None = None, **extra: Any) -> bytes:
    if messages is None:
        messages = [
            {"id": n, "type": "message", "date": f"2023-08-23T21:0{n}:00", "date_unixtime": str(1692795600 + 60 * n),
             "from": "Lina", "from_id": "user111", "text": f"hello {n}", "text_entities": [{"type": "plain", "text": f"hello {n}"}]}
            for n in range(1, 4)
        ]  # fmt: skip
    document = {"name": "Kelab Rahsia", "type": "private_supergroup", "id": 4242, "messages": messages, **extra}
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


# ---------------------------------------------------------------- the generators

Generator = Callable[[Path], Iterator[Hostile]]
GENERATORS: list[Generator] = []


def generator(func: Generator) -> Generator:
    GENERATORS.append(func)
    return func


def _file(folder: Path, name: str, data: bytes, expect: set[str], label: str | None = None) -> Hostile:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Hostile(label or Path(name).stem, (str(path),), frozenset(expect), data=data)


IMAGE_OK_OR_FAILED = {"item", "analysis-failed"}


@generator
def bombs(folder: Path) -> Iterator[Hostile]:
    """Decompression bombs: huge declared dimensions with almost no data."""
    yield _file(folder, "bomb-png-100k.png", png_declaring(100_000, 100_000), {"analysis-failed"})
    yield _file(folder, "bomb-png-max.png", png_declaring(0x7FFFFFFF, 0x7FFFFFFF), {"analysis-failed"})
    yield _file(folder, "bomb-jpeg-65k.jpg", jpeg_declaring(65_500, 65_500), {"analysis-failed"})
    yield _file(folder, "bomb-gif-65k.gif", gif_declaring(65_535, 65_535), {"analysis-failed"})
    yield _file(folder, "bomb-webp-16k.webp", webp_declaring(16_384, 16_384), {"analysis-failed"})
    yield _file(folder, "zero-size.png", png_declaring(0, 0), {"analysis-failed"})


@generator
def absurd_exif(folder: Path) -> Iterator[Hostile]:
    """JPEGs and PNGs whose EXIF has loops, absurd counts or wrong types: kept; analysed or failed."""
    for name, tiff in EXIF_BLOCKS.items():
        yield _file(folder, f"{name}.jpg", jpeg_with_exif(tiff), IMAGE_OK_OR_FAILED, label=f"{name}-jpeg")
        yield _file(folder, f"{name}.png", png_with_exif(tiff), IMAGE_OK_OR_FAILED, label=f"{name}-png")
    # a TIFF file is all IFDs: the loops are in the image structure itself
    yield _file(folder, "tiff-ifd-loop.tif", EXIF_BLOCKS["exif-ifd-loop"], IMAGE_OK_OR_FAILED)
    yield _file(folder, "tiff-subifd-loop.tif", EXIF_BLOCKS["exif-subifd-loop"], IMAGE_OK_OR_FAILED)


def _samples() -> dict[str, tuple[str, bytes]]:
    samples = {
        "png": ("png", encoded("PNG")),
        "jpeg": ("jpg", encoded("JPEG")),
        "gif": ("gif", encoded("GIF")),
        "webp": ("webp", encoded("WEBP")),
        "tiff": ("tif", encoded("TIFF")),
        "mp4": ("mp4", mp4_header()),
        "pdf": ("pdf", pdf_bytes()),
        "zip": ("zip", whatsapp_zip_bytes()),
        "telegram-json": ("json", telegram_json()),
        "whatsapp-txt": ("txt", whatsapp_text(20).encode()),
    }
    heic = heic_bytes()
    if heic is not None:
        samples["heic"] = ("heic", heic)
    return samples


@generator
def truncated(folder: Path) -> Iterator[Hostile]:
    """Each supported type cut short: after its magic bytes, in the middle, one byte before the end."""
    for kind, (suffix, data) in _samples().items():
        expect = {"item", "analysis-failed", "unread", "chat"}
        for label, cut in (("magic", 12), ("half", len(data) // 2), ("last", len(data) - 1)):
            name = f"truncated/{kind}-{label}.{suffix}"
            yield _file(folder, name, data[:cut], expect, label=f"truncated-{kind}-{label}")


@generator
def hostile_zips(folder: Path) -> Iterator[Hostile]:
    """Chat-export zips with escaping, absolute, drive-letter, link and bomb members, and broken zips."""

    def escaping(zf: zipfile.ZipFile) -> None:
        for name in ("../escape.txt", "../../etc/passwd", "/etc/absolute.txt", "C:/drive.txt", "C:\\windows.txt"):
            zf.writestr(name, "outside")
        zf.writestr("media/..\\..\\backslash.txt", "outside")
        link = zipfile.ZipInfo("link-to-root")
        link.external_attr = (0o120777 << 16) | 0x20
        zf.writestr(link, "/")
        zf.writestr("NUL\0byte.txt", "nul")

    refused = ("../escape.txt", "../../etc/passwd", "/etc/absolute.txt", "C:/drive.txt", "link-to-root")
    data = whatsapp_zip_bytes(escaping)
    yield Hostile(
        "zip-escaping-members", (str(_write(folder / "escaping.zip", data)),), frozenset({"chat"}), refused, data
    )

    def bomb(zf: zipfile.ZipFile) -> None:
        zf.writestr(zipfile.ZipInfo("bomb.bin"), b"\0" * (16 << 20), compress_type=zipfile.ZIP_DEFLATED)

    data = whatsapp_zip_bytes(bomb)
    yield Hostile(
        "zip-bomb-member", (str(_write(folder / "bomb.zip", data)),), frozenset({"chat"}), ("bomb.bin",), data
    )

    def twins(zf: zipfile.ZipFile) -> None:
        zf.writestr(unicodedata.normalize("NFC", "café.txt"), "nfc")
        zf.writestr(unicodedata.normalize("NFD", "café.txt"), "nfd")
        zf.writestr("_chat.txt", "a second member with the same name")

    with_twins = whatsapp_zip_bytes(twins)
    yield Hostile(
        "zip-duplicate-and-twin-members",
        (str(_write(folder / "twins.zip", with_twins)),),
        frozenset({"chat", "skipped"}),
    )
    yield Hostile("zip-nested-bomb", (str(_write(folder / "nested.zip", _nested_zip_bomb())),), frozenset({"item"}))
    whole = whatsapp_zip_bytes()
    for label, data in (
        ("half", whole[: len(whole) // 2]),
        ("no-central-directory", whole[: whole.rfind(b"PK\x01\x02")]),
    ):
        yield _file(folder, f"broken-zip-{label}.zip", data, {"item"}, label=f"zip-{label}")
    crc = bytearray(whole)
    at = crc.find(b"message 0")
    crc[at] ^= 0x20  # the member's bytes no longer match its CRC-32
    yield _file(folder, "bad-crc.zip", bytes(crc), {"item", "chat", "unread", "failed"}, label="zip-bad-crc")
    yield _file(
        folder, "lying-sizes.zip", _lying_sizes(whole), {"item", "chat", "unread", "failed"}, label="zip-lying-sizes"
    )


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _nested_zip_bomb() -> bytes:
    """A zip holding a zip holding 16 MiB of zeros (only the outer zip is a file of the batch)."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (16 << 20))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as zf:
        for n in range(4):
            zf.writestr(f"layer{n}.zip", inner.getvalue())
    return outer.getvalue()


def _lying_sizes(data: bytes) -> bytes:
    """The central directory claims the first member is 3 GiB uncompressed."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    out[at + 24 : at + 28] = struct.pack("<I", 3 << 30)
    return bytes(out)


BIG = 10 << 20


@generator
def long_and_deep_chats(folder: Path) -> Iterator[Hostile]:
    """A 10 MB single-line chat (WhatsApp and Telegram JSON), deeply nested JSON, JSON that is not a chat."""
    long_line = "x" * BIG
    text = (
        "[23/08/23, 21:00:00] Lina: hi\n[23/08/23, 21:01:00] Badrul: " + long_line + "\n[23/08/23, 21:02:00] Lina: ok\n"
    )
    yield _file(folder, "long-whatsapp/_chat.txt", text.encode(), {"chat"}, label="whatsapp-10mb-line")
    yield _file(
        folder,
        "long-whatsapp-only/_chat.txt",
        ("[23/08/23, 21:01:00] Badrul: " + long_line).encode(),
        {"item", "chat"},
        label="whatsapp-10mb-only-line",
    )
    message = {"id": 1, "type": "message", "date": "2023-08-23T21:00:00", "date_unixtime": "1692795600",
               "from": "Lina", "from_id": "user111", "text": long_line, "text_entities": [{"type": "plain", "text": long_line}]}  # fmt: skip
    one_line = json.dumps({"name": "x", "type": "personal_chat", "id": 1, "messages": [message]}).encode()
    yield _file(folder, "long-telegram/result.json", one_line, {"chat"}, label="telegram-10mb-line")
    yield _file(
        folder,
        "long-json-no-newline/data.json",
        b'{"k":"' + long_line.encode() + b'"}',
        {"item"},
        label="json-10mb-not-a-chat",
    )
    depth = 100_000
    deep = b"[" * depth + b"]" * depth
    head = b'{"name":"x","type":"personal_chat","id":1,"messages":['
    yield _file(
        folder,
        "deep-messages/result.json",
        head + deep + b"]}",
        {"item", "chat", "unread"},
        label="json-deep-in-messages",
    )
    message_head = b'{"id":1,"type":"message","date":"2023-08-23T21:00:00","from":"A","text":'
    deep_message = head + message_head + deep + b"}]}"
    yield _file(
        folder, "deep-message/result.json", deep_message, {"item", "chat", "unread"}, label="json-deep-in-a-message"
    )
    yield _file(folder, "deep-top/result.json", deep, {"item", "unread"}, label="json-deep-top-level")
    yield _file(
        folder,
        "deep-objects/data.json",
        b'{"a":' * depth + b"1" + b"}" * depth,
        {"item", "unread"},
        label="json-deep-objects",
    )
    html = b'<html><body><div class="history">' + b"<div>" * depth + b"</div>" * depth + b"</div></body></html>"
    yield _file(folder, "deep-html/messages.html", html, {"item", "unread", "chat"}, label="html-deep-nesting")
    not_chat = {"messages": "none here", "guild": [], "channel": 3, "volume": 3}
    yield _file(
        folder, "not-a-chat/result.json", json.dumps(not_chat).encode(), {"item", "unread"}, label="json-not-a-chat"
    )
    wrong_types = telegram_json(
        [{"id": "x", "type": 5, "date": 7, "from": ["a"], "text": {"b": 1}, "text_entities": "no"}, 3, None]
    )
    yield _file(
        folder, "wrong-types/result.json", wrong_types, {"item", "chat", "unread"}, label="telegram-wrong-types"
    )
    yield _file(
        folder,
        "binary/result.json",
        b'{"name":"x","messages":[' + bytes(range(256)) * 64,
        {"item", "unread", "chat"},
        label="json-binary-garbage",
    )


@generator
def hostile_names(folder: Path) -> Iterator[Hostile]:
    """File names with control characters, invalid UTF-8, terminal escapes, NFC/NFD twins."""
    names = {
        "name-control-chars": "bell\x07tab\tcr\rnl\nend.txt",
        "name-terminal-escape": "\x1b[2J\x1b[31mred\x1b[0m.png",
        "name-bidi-override": "evil\u202egnp.exe",
        "name-leading-dash": "--help",
        "name-long-255-bytes": "n" * 251 + ".txt",
    }
    for label, name in names.items():
        data = png_bytes((4, 4)) if name.endswith(".png") else label.encode()
        yield _file(folder / "names", name, data, {"item"}, label=label)
    if sys.platform != "win32" and sys.platform != "darwin":  # both refuse invalid UTF-8 names
        raw = os.path.join(os.fsencode(folder / "names"), b"bad-\xff\xfe-utf8.txt")
        with open(raw, "wb") as out:
            out.write(b"invalid utf-8 name")
        yield Hostile("name-invalid-utf8", (os.fsdecode(raw),), frozenset({"item"}))
    twins = folder / "twins"
    twins.mkdir(parents=True, exist_ok=True)
    nfc, nfd = unicodedata.normalize("NFC", "café.txt"), unicodedata.normalize("NFD", "café.txt")
    (twins / nfc).write_text("the NFC one")
    with contextlib.suppress(OSError):  # a file system that normalises names (macOS) keeps only one
        (twins / nfd).write_text("the NFD one")
    yield Hostile("name-nfc-nfd-twins", (str(twins),), frozenset({"item"}))


@generator
def special_files(folder: Path) -> Iterator[Hostile]:
    """Symbolic-link loops, FIFOs, unreadable files, missing paths."""
    if sys.platform == "win32":
        return
    links = folder / "links"
    links.mkdir(parents=True, exist_ok=True)
    (links / "real.txt").write_text("real")
    (links / "a").symlink_to("b")
    (links / "b").symlink_to("a")
    (links / "self").symlink_to("self")
    (links / "up").symlink_to(".")
    (links / "root").symlink_to("/")
    yield Hostile("symlink-loops-in-folder", (str(links),), frozenset({"item", "link"}))
    yield Hostile("symlink-loop-given", (str(links / "self"),), frozenset({"failed"}))
    yield Hostile("symlink-to-folder-given", (str(links / "up"),), frozenset({"item", "link"}))
    os.mkfifo(folder / "fifo-given")
    yield Hostile("fifo-given", (str(folder / "fifo-given"),), frozenset({"skipped"}))
    fifos = folder / "fifos"
    fifos.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifos / "pipe")
    (fifos / "ok.txt").write_text("ok")
    yield Hostile("fifo-in-folder", (str(fifos),), frozenset({"item", "skipped"}))
    yield Hostile("missing-path", (str(folder / "does-not-exist.png"),), frozenset({"failed"}))
    yield from _unreadable(folder)


def _unreadable(folder: Path) -> Iterator[Hostile]:
    """Files that cannot be read. `chmod 000` stops only non-root users (CI runs as root), so on
    Linux `/proc/self/mem` also stands in: a regular file whose first read fails with EIO."""
    if os.geteuid() != 0:
        locked = folder / "locked.txt"
        locked.write_text("no access")
        locked.chmod(0)
        yield Hostile("unreadable-chmod-000", (str(locked),), frozenset({"failed"}))
        locked_dir = folder / "locked-dir"
        locked_dir.mkdir()
        (locked_dir / "inside.txt").write_text("x")
        locked_dir.chmod(0)
        yield Hostile("unreadable-folder", (str(locked_dir),), frozenset({"failed"}))
    if sys.platform.startswith("linux") and os.path.exists("/proc/self/mem"):
        yield Hostile("unreadable-proc-self-mem", ("/proc/self/mem",), frozenset({"failed"}))


def real_image_inputs(real_images: Path) -> Iterator[Hostile]:
    """Every file of ../shared/real-images (broken ones included), one input each."""
    for path in sorted(real_images.rglob("*")):
        if path.is_file():
            label = "real-" + path.relative_to(real_images).as_posix().replace("/", "-")
            yield Hostile(label, (str(path),), frozenset({"item", "analysis-failed"}))


def make_all(folder: Path) -> list[Hostile]:
    """Write every generated hostile input under `folder`; return them (names are unique)."""
    made = [hostile for make in GENERATORS for hostile in make(folder)]
    names = [hostile.name for hostile in made]
    assert len(names) == len(set(names)), "hostile input names must be unique"
    return made


def good_file(folder: Path) -> Path:
    """An ordinary picture that goes into every batch: it must always be captured."""
    path = folder / "good" / "ordinary.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes((48, 32), (1, 2, 3)))
    return path


# ---------------------------------------------------------------- judging a capture


def shown(path: str) -> str:
    """A path as capture results show it (undecodable bytes of a name become U+FFFD)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def outcome(hostile: Hostile, result: dict[str, Any]) -> set[str]:
    """The outcomes a capture result (`CaptureResult.to_json()`) of this input alone (plus
    `good_file`) shows."""
    found: set[str] = set()

    given = [shown(path) for path in hostile.paths]

    def mine(path: str) -> bool:
        return any(path == g or path.startswith((g + os.sep, g + ": ")) for g in given)

    for row in result["items"]:
        if mine(row["path"]):
            found.add("analysis-failed" if row["analysis"] == "failed" else "item")
    for name in ("failed", "skipped", "unread"):
        if any(mine(row["path"]) for row in result[name]):
            found.add(name)
    if any(mine(row["path"]) for row in result["links"]):
        found.add("link")
    if result["chats"]:
        found.add("chat")
    return found


def problems_with(hostile: Hostile, result: dict[str, Any]) -> list[str]:
    """What is wrong with the way one hostile input, captured alone, was handled (empty: fine)."""
    seen = outcome(hostile, result)
    allowed = hostile.expect | {"item"} | ({"skipped"} if hostile.refused else set())
    wrong = []
    if not seen & hostile.expect or not seen <= allowed:
        wrong.append(f"{hostile.name}: outcome {sorted(seen)}, expected one of {sorted(hostile.expect)}")
    rows = result["failed"] + result["skipped"] + result["unread"]
    wrong += [f"{hostile.name}: {row['path']} has no reason" for row in rows if not row.get("reason")]
    members = {row["path"].split(": ", 1)[-1] for row in result["skipped"]}
    wrong += [f"{hostile.name}: member {name!r} was not refused" for name in hostile.refused if name not in members]
    captured_members = {row["path"].split(": ", 1)[-1] for row in result["items"]}
    wrong += [f"{hostile.name}: member {name!r} became an item" for name in hostile.refused if name in captured_members]
    return wrong


# ---------------------------------------------------------------- parsers on their own


@contextlib.contextmanager
def bounded(seconds: int) -> Iterator[None]:
    """Raise `TimeoutError` in the block after `seconds` instead of hanging (POSIX main thread
    only; elsewhere the block is not bounded). Pure-Python loops are interrupted; C code is
    interrupted when it returns."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class MemoryTree:
    """An export held in memory, for feeding parsers directly (the `ExportTree` protocol)."""

    def __init__(self, files: dict[str, bytes], label: str = "memory"):
        self.files = dict(sorted(files.items()))
        self.label = label

    def names(self) -> list[str]:
        return list(self.files)

    def exists(self, name: str) -> bool:
        return name in self.files

    def open(self, name: str) -> io.BytesIO:
        return io.BytesIO(self.files[name])

    def sha256(self, name: str) -> str:
        import hashlib

        return hashlib.sha256(self.files[name]).hexdigest()


#: Each parser's usual main file name (what its `detect` looks for), to feed it arbitrary bytes.
MAIN_NAMES = {
    "discord": "channel.json",
    "telegram_json": "result.json",
    "meta": "your_activity_across_facebook/messages/inbox/alice_1/message_1.json",
    "telegram_html": "messages.html",
    "whatsapp": "_chat.txt",
    "signal": "data.json",
}


def run_parser(parser: Any, tree: Any, *, forced_main: str | None = None) -> int:
    """Detect and parse every chat `parser` finds in `tree` (and `forced_main`, even when not
    detected), writing each transcript as capture does; return how many messages were read. Raises what the parser raises."""
    from evidencekit.chats import ParseOptions, mains_of, read
    from evidencekit.chats.transcript import write_transcript

    options = ParseOptions(timezone="Asia/Kuala_Lumpur", timezone_from="option", date_order="dmy")
    mains = mains_of(parser, tree)
    if forced_main is not None and forced_main not in mains:
        mains.append(forced_main)
    count = 0
    for main in mains:
        for chat in read(parser, tree, main, options):  # as capture does
            written = write_transcript(io.BytesIO(), parser, tree, main, chat)  # as capture does: canonical JSON
            count += int(written.summary["messages"])
    return count


DATA = Path(__file__).resolve().parent / "data" / "chats"


def _discord_sample() -> bytes:
    who = {"id": "900000000000000001", "name": "aina.k", "discriminator": "0000", "nickname": "Aina", "isBot": False}
    messages = [
        {"id": str((1709298900000 + n * 1000 - 1_420_070_400_000) << 22), "type": "Default",
         "timestamp": f"2024-03-01T21:15:0{n}.000+08:00", "timestampEdited": None, "content": f"hello {n}",
         "author": who, "attachments": [], "reactions": []}
        for n in range(3)
    ]  # fmt: skip
    body = {"guild": {"id": "1100000000000000000", "name": "Kampus Chat", "iconUrl": ""},
            "channel": {"id": "1100000000000000001", "type": "GuildTextChat", "categoryId": "5", "category": "General", "name": "gossip", "topic": None},
            "dateRange": {"after": None, "before": None}, "exportedAt": "2024-03-02T09:00:00.000+08:00",
            "messages": messages, "messageCount": len(messages)}  # fmt: skip
    return json.dumps(body, indent=1).encode()


def _signal_sample() -> bytes:
    lines = [
        {"date": "2024-03-01 21:15:00", "sender": "Aina", "body": "hello", "quote": "", "reactions": [["Lee", "👍"]]},
        {
            "date": "2024-03-01 21:16:00",
            "sender": "Lee",
            "body": "see this",
            "attachments": [{"path": "media/a.jpg", "name": "a.jpg"}],
        },
        {"date": "2024-03-01 21:17:00", "sender": "Aina", "body": "", "sticker": {"emoji": "😀"}},
    ]
    return b"".join(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines)


def fuzz_samples() -> dict[str, bytes]:
    """A small valid main file for each parser (by parser name), the seed of its fuzz harness."""
    meta = (
        DATA / "messenger/msgvault/json_simple/your_activity_across_facebook/messages/inbox/alice_ABC123/message_1.json"
    )
    html = DATA / "telegram/langchain/telegram_chat_html/messages.html"
    samples = {
        "discord": _discord_sample(),
        "telegram_json": telegram_json(),
        "whatsapp": whatsapp_text(6).encode(),
        "signal": _signal_sample(),
    }
    for name, path in (("meta", meta), ("telegram_html", html)):
        if path.is_file():
            samples[name] = path.read_bytes()
    return samples


# ---------------------------------------------------------------- a small real case and its package


def test_keys() -> tuple[Any, Any, Any]:
    """Deterministic keys: the collector, a second signer (a volunteer), and an outsider."""
    from evidencekit.signing import generate_signing_key_for_tests

    return (
        generate_signing_key_for_tests("aisyah", bytes(range(32))),
        generate_signing_key_for_tests("volunteer-lee", bytes(range(2, 34))),
        generate_signing_key_for_tests("mallory", bytes(range(1, 33))),
    )


def build_case(root: Path, work: Path, now: Any) -> Any:
    """A small case: two pictures and a text file by one signer, a WhatsApp export (a
    transcript in derived/, an index in index/) and a custody note by a second signer."""
    import evidencekit as ek

    collector, volunteer, _ = test_keys()
    work.mkdir(parents=True, exist_ok=True)
    (work / "red.png").write_bytes(png_bytes((32, 24), (200, 30, 30)))
    (work / "blue.png").write_bytes(png_bytes((32, 24), (20, 20, 220)))
    (work / "note.txt").write_text("seen at 9pm\n")
    (work / "chat.zip").write_bytes(whatsapp_zip_bytes())
    case = ek.init_case(
        root, title="Tamper test", key=collector, case_id="EK-TAMPER", timezone="Asia/Kuala_Lumpur", now=now
    )
    ek.capture(case, [work / "red.png", work / "blue.png", work / "note.txt"], key=collector, source="group", now=now)
    ek.capture(case, [work / "chat.zip"], key=volunteer, now=now)
    ek.custody_note(case, "Gave a copy to IPD Brickfields", key=volunteer, now=now)
    ek.reindex(case)
    return case


def build_package(case: Any, out: Path, now: Any) -> Path:
    import evidencekit as ek

    collector, _, _ = test_keys()
    return Path(ek.package(case, key=collector, out=out, now=now).path)


def case_files(root: Path) -> list[str]:
    """Every file of a case or unpacked package that is evidence or a record (not the index, lock or README)."""
    skip = {"README.txt", ".lock"}
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name not in skip and p.relative_to(root).parts[0] != "index"
    )


def make_writable(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chmod(os.path.join(folder, name), 0o755 if name in dirs else 0o644)


# ---------------------------------------------------------------- fuzzing

try:  # hypothesis is a test dependency; the rest of this module works without it
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    st = None


def _mutate(draw: Any, sample: bytes) -> bytes:
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "duplicate", "nest", "junk"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
        elif op == "nest":  # deep nesting spliced in: JSON and HTML recursion
            depth = draw(st.sampled_from([50, 2000, 50_000]))
            data[at:at] = draw(
                st.sampled_from([b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth, b"<div>" * depth])
            )
        elif op == "junk":
            data[at:at] = draw(
                st.sampled_from(
                    [b"\xff\xfe", b"\x00", b"NaN", b"1e400", b"-0.5", b'"\\ud800"', b"\r", "\u2028".encode()]
                )
            )
    return bytes(data)


def fuzz_strategy(sample: bytes) -> Any:
    """A hypothesis strategy: `sample` mutated 1-4 times (flips, cuts, inserts, deep nesting,
    junk tokens), or one time in ten arbitrary bytes."""

    @st.composite
    def fuzzed(draw: Any) -> bytes:
        if draw(st.integers(0, 9)) == 0:
            return bytes(draw(st.binary(max_size=2000)))
        return _mutate(draw, sample)

    return fuzzed()
