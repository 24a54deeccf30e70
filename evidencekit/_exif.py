"""EXIF as plain JSON-safe data, and the few facts evidence reports read from it.

Invariants: read-only (works on an already parsed `PIL.Image.Exif`, never on the file);
every value returned is JSON-safe with no floats (rationals become `[numerator,
denominator]` integer pairs, a zero denominator kept as is; decimal degrees and altitudes
are exact decimal strings computed with `fractions.Fraction`, rounded half to even); one
unreadable IFD or odd tag never stops the others from being read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from PIL import Image
from PIL.ExifTags import GPSTAGS, TAGS
from PIL.TiffImagePlugin import IFDRational

from .errors import FormatError

IFD_EXIF, IFD_GPS, IFD_INTEROP = 0x8769, 0x8825, 0xA005
#: Longest bytes value (and longest list) kept whole; longer ones are cut and marked.
MAX_BYTES = 4096
_MAX_SAFE_INT = 2**53 - 1
_POINTERS = frozenset({IFD_EXIF, IFD_GPS, IFD_INTEROP})
_MAKER_NOTE = 0x927C
# Values that start with an 8-byte character-code header (Exif 2.32 §4.6.5, table 9).
_CHARSET_TAGS = {"IFD0": frozenset(), "Exif": frozenset({0x9286}), "GPS": frozenset({0x1B, 0x1C})}
_XP_TAGS = frozenset({0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F})  # Windows: UCS-2 little-endian
_VERSION_TAGS = frozenset({0x9000, 0xA000})  # ExifVersion, FlashpixVersion: 4 ASCII digits
_INTEROP_NAMES = {1: "InteropIndex", 2: "InteropVersion"}
_JIS_CODECS = ("iso2022_jp", "shift_jis", "euc_jp")


class InvalidGPS(FormatError):
    """A GPS IFD whose coordinates cannot be turned into a position (message says why).

    Internal: `gps_summary` turns it into `{"invalid": reason}`; it never leaves this module.
    """


@dataclass(slots=True)
class ExifData:
    """The four IFDs read from one image, as Pillow returns them (tag number -> value)."""

    ifd0: dict[int, Any] = field(default_factory=dict)
    exif: dict[int, Any] = field(default_factory=dict)
    gps: dict[int, Any] = field(default_factory=dict)
    interop: dict[int, Any] = field(default_factory=dict)
    endian: str = "<"
    errors: list[str] = field(default_factory=list)


def read_exif(exif: Image.Exif) -> ExifData:
    """Collect IFD0, the Exif, GPS and Interop IFDs; a broken IFD is noted in `errors`."""
    data = ExifData(ifd0=dict(exif.items()), endian=getattr(exif, "endian", None) or "<")
    for tag, attr in ((IFD_EXIF, "exif"), (IFD_GPS, "gps"), (IFD_INTEROP, "interop")):
        try:
            setattr(data, attr, dict(exif.get_ifd(tag)))
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # Pillow raises many types on malformed IFDs
            data.errors.append(f"the {attr} IFD could not be read: {type(exc).__name__}: {exc}")
    return data


def exif_to_json(data: ExifData) -> dict[str, Any]:
    """All tags of the four IFDs, keyed by tag name (`"0x9c9b"` style when unknown).

    A name already used by an earlier IFD is prefixed with its IFD (`"GPS:..."`).
    """
    out: dict[str, Any] = {}
    for kind, ifd in (("IFD0", data.ifd0), ("Exif", data.exif), ("GPS", data.gps), ("Interop", data.interop)):
        for name, value in convert_ifd(ifd, kind, data.endian).items():
            out[f"{kind}:{name}" if name in out else name] = value
    return out


def convert_ifd(ifd: dict[int, Any], kind: str, endian: str = "<") -> dict[str, Any]:
    """Return one IFD as `{tag name: JSON-safe value}` (pointer tags left out)."""
    out: dict[str, Any] = {}
    for tag, value in ifd.items():
        if tag in _POINTERS and kind in ("IFD0", "Exif"):
            continue
        out[_tag_name(tag, kind)] = _convert_tag(tag, value, kind, endian)
    return out


def _tag_name(tag: int, kind: str) -> str:
    names = GPSTAGS if kind == "GPS" else TAGS
    name = _INTEROP_NAMES.get(tag) if kind == "Interop" else None
    return name or names.get(tag) or f"0x{tag:04x}"


def _convert_tag(tag: int, value: Any, kind: str, endian: str) -> Any:
    if kind == "Exif" and tag == _MAKER_NOTE:
        return {"omitted": "MakerNote", "bytes": len(value) if hasattr(value, "__len__") else 0}
    raw = _as_bytes(value)
    if raw is not None and tag in _CHARSET_TAGS.get(kind, ()):
        return _charset_text(raw, endian)
    if raw is not None and kind == "IFD0" and tag in _XP_TAGS:
        return _clean_text(raw.decode("utf-16-le", "replace"))
    if raw is not None and kind == "GPS" and tag in (0, 5):  # BYTE numbers: GPSVersionID, GPSAltitudeRef
        return list(raw) if tag == 0 or len(raw) != 1 else raw[0]
    is_version = (kind == "Exif" and tag in _VERSION_TAGS) or (kind == "Interop" and tag == 2)
    if isinstance(value, bytes) and is_version and value.isascii() and value.rstrip(b"\x00").isalnum():
        return value.rstrip(b"\x00").decode("ascii")
    return to_json(value)


def to_json(value: Any) -> Any:
    """Turn a Pillow EXIF value into JSON-safe data with no floats."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, IFDRational):
        return _rational_pair(value)
    if isinstance(value, int):
        return value if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else str(value)
    if isinstance(value, float):
        return repr(value)  # only odd FLOAT/DOUBLE tags; kept as text
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _hex(bytes(value))
    if isinstance(value, (tuple, list)):
        return _list(value)
    if isinstance(value, dict):
        return {str(key): to_json(inner) for key, inner in value.items()}
    if isinstance(value, Fraction):
        return [value.numerator, value.denominator]
    return _clean_text(str(value))


def _rational_pair(value: IFDRational) -> list[Any]:
    num, den = value.numerator, value.denominator
    if isinstance(num, int) and isinstance(den, int):
        return [to_json(num), to_json(den)]
    if not den:
        return [to_json(num), 0]
    exact = _exact(value)  # non-integer parts only come from values Pillow made itself
    return [to_json(exact.numerator), to_json(exact.denominator)]


def _exact(value: IFDRational) -> Fraction:
    """The exact value of a rational whose denominator is not zero."""
    num, den = value.numerator, value.denominator
    if isinstance(num, int) and isinstance(den, int):
        return Fraction(num, den)
    return Fraction(float(num)) / Fraction(float(den))


def _list(values: tuple[Any, ...] | list[Any]) -> Any:
    items = [to_json(item) for item in values[:MAX_BYTES]]
    if len(values) <= MAX_BYTES:
        return items
    return {"items": items, "truncated": True, "count": len(values)}


def _hex(data: bytes) -> dict[str, Any]:
    if len(data) <= MAX_BYTES:
        return {"hex": data.hex()}
    return {"hex": data[:MAX_BYTES].hex(), "truncated": True, "bytes": len(data)}


def _clean_text(text: str) -> str:
    """Drop trailing NULs (C-string padding) and replace lone surrogates."""
    return text.rstrip("\x00").encode("utf-8", "replace").decode("utf-8")


def _as_bytes(value: Any) -> bytes | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, tuple) and value and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value)
    return None


def _charset_text(raw: bytes, endian: str) -> Any:
    """Decode a value with an 8-byte character-code header (UserComment and GPS text tags)."""
    code, body = raw[:8], raw[8:]
    if len(raw) < 8:
        return _utf8_or_hex(raw)
    if code == b"ASCII\x00\x00\x00":
        return _utf8_or_hex(body, fallback="latin-1")
    if code == b"UNICODE\x00":
        return _clean_padding(_decode_ucs2(body, endian))
    if code == b"JIS\x00\x00\x00\x00\x00":
        return _first_decoding(body, _JIS_CODECS) or _hex(raw)
    if code == b"\x00" * 8:
        return _utf8_or_hex(body)
    return _utf8_or_hex(raw)


def _decode_ucs2(body: bytes, endian: str) -> str:
    """UCS-2 in the TIFF byte order (Exif 2.32), unless a BOM or the zero high bytes of
    Latin text show the writer used the other order, as some software does."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return body.decode("utf-16", "replace")
    zeros_first, zeros_second = body[0::2].count(0), body[1::2].count(0)
    little = zeros_second > zeros_first if zeros_first != zeros_second else endian != ">"
    return body[: len(body) // 2 * 2].decode("utf-16-le" if little else "utf-16-be", "replace")


def _utf8_or_hex(body: bytes, fallback: str | None = None) -> Any:
    text = _first_decoding(body, ("utf-8", fallback) if fallback else ("utf-8",))
    return _hex(body) if text is None else text


def _first_decoding(body: bytes, codecs: tuple[str, ...]) -> str | None:
    for codec in codecs:
        try:
            return _clean_padding(body.decode(codec))
        except UnicodeDecodeError:
            continue
    return None


def _clean_padding(text: str) -> str:
    return _clean_text(text.rstrip("\x00 "))


def text_value(value: Any) -> str | None:
    """A tag value as text up to its first NUL (EXIF ASCII is NUL-terminated), stripped.

    `None` when absent, empty or not text.
    """
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    return _clean_text(value.split("\x00", 1)[0]).strip() or None


def orientation(data: ExifData) -> int | None:
    """The IFD0 Orientation value as recorded (1-8 are meaningful), or `None`."""
    value = data.ifd0.get(0x0112)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def camera(data: ExifData) -> dict[str, str]:
    """Make, Model and Software from IFD0, only those present."""
    fields = (("make", 0x010F), ("model", 0x0110), ("software", 0x0131))
    found = {key: text_value(data.ifd0.get(tag)) for key, tag in fields}
    return {key: value for key, value in found.items() if value}


def datetime_original(data: ExifData) -> dict[str, str | None] | None:
    """DateTimeOriginal with its OffsetTimeOriginal and SubSecTimeOriginal, as recorded."""
    text = text_value(data.exif.get(0x9003))
    if text is None:
        return None
    return {"text": text, "offset": text_value(data.exif.get(0x9011)), "subsec": text_value(data.exif.get(0x9291))}


def gps_summary(data: ExifData) -> dict[str, Any] | None:
    """Decimal position from the GPS IFD, or `{"invalid": reason}`; always with `raw`."""
    if not data.gps:
        return None
    raw = convert_ifd(data.gps, "GPS", data.endian)
    try:
        summary = _gps_position(data.gps)
    except InvalidGPS as exc:
        return {"invalid": str(exc), "raw": raw}
    return {**summary, "raw": raw}


def _gps_position(gps: dict[int, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value_tag, ref_tag, refs, limit in (
        ("latitude", 2, 1, ("N", "S"), 90),
        ("longitude", 4, 3, ("E", "W"), 180),
    ):
        if value_tag in gps:
            out[key] = decimal_text(_coordinate(gps, value_tag, ref_tag, refs, limit), 7)
    if 6 in gps:
        altitude = _fraction(gps[6], "GPSAltitude")
        below = _as_bytes(gps.get(5)) == b"\x01" or gps.get(5) == 1
        out["altitude_m"] = decimal_text(-altitude if below else altitude, 2)
    return out


def _coordinate(gps: dict[int, Any], value_tag: int, ref_tag: int, refs: tuple[str, str], limit: int) -> Fraction:
    name = GPSTAGS[value_tag]
    parts = gps[value_tag] if isinstance(gps[value_tag], (tuple, list)) else (gps[value_tag],)
    if not 1 <= len(parts) <= 3:
        raise InvalidGPS(f"{name} has {len(parts)} parts; expected degrees, minutes and seconds")
    degrees = sum((_fraction(part, name) / 60**index for index, part in enumerate(parts)), Fraction(0))
    if degrees > limit:
        raise InvalidGPS(f"{name} is {decimal_text(degrees, 7)} degrees; expected at most {limit}")
    ref = text_value(gps.get(ref_tag))
    if ref is None or ref.upper() not in refs:
        found = "missing" if ref is None else f"{ref!r}"
        raise InvalidGPS(f"{GPSTAGS[ref_tag]} is {found}; expected {refs[0]!r} or {refs[1]!r}")
    return -degrees if ref.upper() == refs[1] else degrees


def _fraction(value: Any, name: str) -> Fraction:
    if isinstance(value, IFDRational):
        num, den = value.numerator, value.denominator
        if not den:
            raise InvalidGPS(f"{name} has a zero denominator ({num}/{den})")
        result = _exact(value)
    elif isinstance(value, (int, Fraction)) and not isinstance(value, bool):
        result = Fraction(value)
    else:
        raise InvalidGPS(f"{name} holds {type(value).__name__} {value!r}; expected a rational number")
    if result < 0:
        raise InvalidGPS(f"{name} has a negative part ({result}); the hemisphere is given by its Ref tag")
    return result


def decimal_text(value: Fraction, places: int) -> str:
    """Exact decimal text of `value` with `places` decimals (rounded half to even)."""
    scaled = round(abs(value) * 10**places)
    whole, part = divmod(scaled, 10**places)
    sign = "-" if value < 0 and scaled else ""
    return f"{sign}{whole}.{part:0{places}d}"
