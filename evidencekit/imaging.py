"""Image analysis for evidence items: size, EXIF, GPS, screenshot hints and perceptual hashes.

Invariants:

- **Read-only.** The source is opened for reading only and nothing is ever written.
- **Opened once, decoded at most once.** JPEGs are decoded with `draft` (DCT scaling) to
  about `HASH_TARGET` pixels; other formats are decoded in full once and then `reduce()`d.
  Metadata that Pillow only finds by decoding (PNG EXIF and text chunks after the image
  data) is read after that single load, never before.
- **JSON-safe.** Every value returned is a str, int, bool, None, list or dict with str keys,
  never a float, so `evidencekit._canonical.dumps` accepts the result as is.
- **Never raises for a bad image.** Corrupt, truncated, unsupported or oversized images give
  `{"status": "failed", "reason": ...}`. Only `MemoryError`, `KeyboardInterrupt`, programmer
  misuse (`TypeError`) and an unreadable path (`InputError`) escape.
- **Thread-safe.** All state is per call. Python's warning filters are process-wide, so the
  decompression-bomb warning is turned into an error only under `_OPEN_LOCK`, around the
  header read, which is cheap. (Other code that changes warning filters on another thread at
  the same moment can still race with it: a limit of `warnings.catch_warnings` before 3.14.)
- **One global setting.** Pillow checks only its own `PIL.Image.MAX_IMAGE_PIXELS`, so importing
  this module sets it to `MAX_JPEG_PIXELS` (Pillow's default is 89,478,485); other formats
  are held to the stricter `MAX_PIXELS` by our own check before decoding.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import imagehash
import numpy as np
from PIL import Image, UnidentifiedImageError

from . import _exif, _screenshot
from .errors import InputError
from .media import IMAGE_TYPES

#: Most pixels (width x height) a fully decoded image may declare; larger ones are refused as
#: possible decompression bombs.
MAX_PIXELS = 100_000_000
#: JPEGs are decoded DCT-scaled (at most 1/8 on each side), so they may declare more: a
#: 200 MP phone photo decodes as about 3 MP. Also set as `PIL.Image.MAX_IMAGE_PIXELS`.
MAX_JPEG_PIXELS = 1_000_000_000
#: Pixels are reduced to about this size (long side 256-511) before perceptual hashing: PDQ
#: works on 64x64 and pHash on 32x32, so more pixels only cost time (bench/bench_capture.py).
HASH_TARGET = 256

Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS

try:
    import pillow_heif
except ImportError:  # HEIC/HEIF then fail with a reason that says so
    HEIF_AVAILABLE = False
else:
    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True

try:
    import pdqhash  # type: ignore[import-untyped]
except ImportError:  # optional extra: evidencekit[pdq]
    pdqhash = None

_OPEN_LOCK = threading.Lock()
# The only Pillow openers each media type may use (the JPEG one also returns MPO files).
_FORMATS = {
    "image/jpeg": ("JPEG",),
    "image/png": ("PNG",),
    "image/gif": ("GIF",),
    "image/webp": ("WEBP",),
    "image/tiff": ("TIFF",),
    "image/bmp": ("BMP", "DIB"),
    "image/heic": ("HEIF",),
    "image/heif": ("HEIF",),
    "image/avif": ("AVIF",),
}
# EXIF orientation -> the transpose that shows the image upright (as PIL.ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_DECODER_ORIENTED = ("TIFF", "HEIF")  # Pillow's TIFF loader and pillow-heif turn pixels upright
_PDQ_MISSING = "PDQ hashing is not installed; install evidencekit[pdq]"
#: Whether PDQ hashes are computed here (the optional `evidencekit[pdq]` extra).
PDQ_AVAILABLE = pdqhash is not None


class _Refused(InputError):
    """An image this module will not decode; the message is the reason given to the caller.

    Internal: `analyze_image` turns it into `{"status": "failed", "reason": ...}`.
    """


def analyze_image(source: bytes | Path, *, media_type: str, name: str = "") -> dict[str, Any]:
    """Describe one image: format, size, EXIF, GPS, screenshot hints and perceptual hashes.

    `source` is the image bytes or a path; `media_type` is the sniffed type (see
    `evidencekit.media.sniff_media_type`) and limits which decoder may open the data;
    `name` is the original file name, used only as one screenshot hint. Returns
    `{"status": "ok", ...}` or `{"status": "failed", "reason": ...}` (see module docs).

    On success `width`/`height` are the stored size, before draft/reduce and before EXIF
    orientation (TIFF and HEIF decoders turn pixels upright; their sizes are reported as
    stored too). `orientation` and `exif` come from EXIF only (Pillow's fallback to XMP
    `tiff:Orientation` is ignored); for HEIF it is the value pillow-heif found before it
    rewrote it. `exif_errors` appears only when an IFD could not be read.

    Raises `InputError` if `source` is a path that cannot be opened for reading.
    """
    refusal = _unsupported(media_type)
    if refusal:
        return _failed(refusal)
    try:
        with _binary(source) as fp, _refusing(media_type):
            return _analyze(fp, media_type, name)
    except _Refused as exc:
        return _failed(str(exc))


def hashing_pixels(source: bytes | Path, *, media_type: str, target: int = HASH_TARGET) -> Image.Image:
    """The upright RGB pixels `analyze_image` computes its perceptual hashes from.

    With the default `target` these are exactly the pixels behind `perceptual` (same
    draft decode, reduction, flattening and orientation), so a photo hashed here compares
    with captured items as if it had been captured. A larger `target` keeps more pixels
    (long side `target` to `2 * target - 1`), for finding a photo inside a screenshot.
    Raises `InputError` if the image cannot be decoded (the message says why) or `source`
    cannot be opened.
    """
    refusal = _unsupported(media_type)
    if refusal:
        raise _Refused(refusal)
    with _binary(source) as fp, _refusing(media_type):
        im, frames = _open(fp, _FORMATS[media_type])
        with im:
            _, basis, data = _load(im, frames, target)
            return _working_pixels(im, basis, data, target)


def perceptual_hashes(rgb: Image.Image) -> dict[str, Any]:
    """pHash and dHash (ImageHash, 64 bits) and PDQ (256 bits) with `pdq_quality`, as hex text.

    Without the PDQ extra, `pdq_unavailable` says so instead. `analyze_image` records
    these for its working pixels (`hashing_pixels`) under `perceptual`.
    """
    out: dict[str, Any] = {"phash": str(imagehash.phash(rgb)), "dhash": str(imagehash.dhash(rgb))}
    if pdqhash is None:
        out["pdq_unavailable"] = _PDQ_MISSING
        return out
    bits, quality = pdqhash.compute(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)))
    out["pdq"] = pdq_hex(bits)
    out["pdq_quality"] = int(quality)
    return out


@contextlib.contextmanager
def _refusing(media_type: str) -> Iterator[None]:
    """Turn whatever decoding a bad image raises into `_Refused` with a plain reason."""
    try:
        yield
    except (MemoryError, _Refused):
        raise
    except Exception as exc:  # Pillow, plugins and ImageHash raise many types on bad data
        raise _Refused(_explain(exc, media_type)) from exc


def _unsupported(media_type: str) -> str | None:
    if media_type in IMAGE_TYPES:
        return None
    if media_type in ("image/heic", "image/heif") and not HEIF_AVAILABLE:
        return f"expected to read a {media_type} image, but pillow-heif is not installed (pip install pillow-heif)"
    return f"{media_type} is not an image type this tool can analyse (it reads {', '.join(sorted(IMAGE_TYPES))})"


def _failed(reason: str) -> dict[str, Any]:
    return {"status": "failed", "reason": reason}


@contextlib.contextmanager
def _binary(source: bytes | Path) -> Iterator[IO[bytes]]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source)
        return
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be bytes or a path, not {type(source).__name__}")
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below, read-only
    except OSError as exc:
        raise InputError(f"cannot open the image for reading: {exc.strerror or exc}", path=source) from exc
    with handle:
        yield handle


def _analyze(fp: IO[bytes], media_type: str, name: str) -> dict[str, Any]:
    im, frames = _open(fp, _FORMATS[media_type])
    with im:
        facts, basis, data = _load(im, frames, HASH_TARGET)
        png_text = _png_text(im)
        xmp = _xmp_bytes(im, data)
        pixels = _working_pixels(im, basis, data, HASH_TARGET)
    result = {"status": "ok", **facts, **_exif_facts(data), "png_text": png_text, "xmp": bool(xmp)}
    result["screenshot"] = _screenshot.hints(result, xmp, name)
    result["perceptual"] = _perceptual(pixels, ", ".join(basis))
    return result


def _load(im: Image.Image, frames: int, target: int) -> tuple[dict[str, Any], list[str], _exif.ExifData]:
    """Check the size, read EXIF and decode once: the stored facts, how it was decoded, the EXIF."""
    _check_pixels(im.width, im.height, MAX_JPEG_PIXELS if im.format in ("JPEG", "MPO") else MAX_PIXELS)
    early = None if im.format == "PNG" else _read_exif(im)  # PNG: getexif() would decode
    facts = {"format": im.format, **_stored_size(im, early), "mode": im.mode, "frames": frames}
    basis = _decode(im, target)
    data = early if early is not None else _read_exif(im)
    return facts, basis, data


def _open(fp: IO[bytes], formats: tuple[str, ...]) -> tuple[Image.Image, int]:
    """Read the header (no pixels) and count frames, bomb warnings raised as errors."""
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = Image.open(fp, formats=list(formats))
        try:
            return im, int(getattr(im, "n_frames", 1))
        except BaseException:
            im.close()
            raise


def _check_pixels(width: int, height: int, limit: int) -> None:
    """Our own limit, per format (Pillow's global one is the loosest, for draft-decoded JPEGs)."""
    if width * height > limit:
        raise _Refused(_bomb_reason(f"{width}x{height} = {width * height}", limit))


def _bomb_reason(pixels: str, limit: int) -> str:
    return (
        f"refused as a possible decompression bomb: the image declares {pixels} pixels, "
        f"more than the limit of {limit} pixels"
    )


def _stored_size(im: Image.Image, data: _exif.ExifData | None) -> dict[str, int]:
    """Width and height as stored, before any EXIF orientation is applied (as for JPEG)."""
    width, height = im.size
    if im.format == "TIFF":  # Pillow reports TIFF sizes already turned upright
        tags = getattr(im, "tag_v2", {})
        width, height = tags.get(256, width), tags.get(257, height)
    elif im.format == "HEIF" and data is not None and _exif.orientation(data) in (5, 6, 7, 8):
        width, height = height, width  # pillow-heif reports the size after its rotation
    return {"width": int(width), "height": int(height)}


def _decode(im: Image.Image, target: int) -> list[str]:
    """Decode the first frame once (JPEG: DCT-scaled draft) and say how, for the hash basis."""
    if im.format in ("JPEG", "MPO"):
        full_width = im.width
        draft = im.draft("RGB", (target, target))  # (mode, (0, 0, width/scale, height/scale))
        scale = round(full_width / draft[1][2]) if draft and draft[1][2] else 1
        basis = [f"jpeg draft 1/{scale}" if scale > 1 else "jpeg full decode"]
    else:
        basis = [f"{(im.format or 'image').lower()} full decode"]
    if getattr(im, "n_frames", 1) > 1:
        basis.append("first frame")
    im.load()
    return basis


def _read_exif(im: Image.Image) -> _exif.ExifData:
    try:
        data = _exif.read_exif(im.getexif())
    except MemoryError:
        raise
    except Exception as exc:  # a damaged EXIF block must not hide the rest of the analysis
        return _exif.ExifData(errors=[f"EXIF could not be read: {type(exc).__name__}: {exc}"])
    original = im.info.get("original_orientation")
    if im.format == "HEIF" and isinstance(original, int):
        data.ifd0[0x0112] = original  # pillow-heif rotates the pixels and rewrites Orientation to 1
    elif 0x0112 in data.ifd0 and _orientation_only_in_xmp(im):
        del data.ifd0[0x0112]  # Pillow's getexif() copies tiff:Orientation from XMP; report EXIF only
    return data


def _orientation_only_in_xmp(im: Image.Image) -> bool:
    if not (im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")):
        return False
    raw = im.info.get("exif")
    if isinstance(raw, bytes):
        exif = Image.Exif()
        exif.load(raw)
        return 0x0112 not in exif
    tags = getattr(im, "tag_v2", None)
    return 0x0112 not in tags if tags is not None else "Raw profile type exif" not in im.info


def _png_text(im: Image.Image) -> dict[str, Any]:
    """tEXt, zTXt and iTXt chunks (APNG: those up to the first frame, to avoid a second decode)."""
    if im.format != "PNG":
        return {}
    return {str(key): _exif.to_json(str(value)) for key, value in getattr(im, "text", {}).items()}


def _xmp_bytes(im: Image.Image, data: _exif.ExifData) -> bytes:
    xmp = im.info.get("xmp") or data.ifd0.get(0x02BC) or b""  # TIFF keeps XMP in tag 700
    if isinstance(xmp, str):
        return xmp.encode("utf-8", "replace")
    return bytes(xmp) if isinstance(xmp, (bytes, bytearray, tuple)) else b""


def _exif_facts(data: _exif.ExifData) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "exif": _exif.exif_to_json(data),
        "orientation": _exif.orientation(data),
        "datetime_original": _exif.datetime_original(data),
        "camera": _exif.camera(data),
        "gps": _exif.gps_summary(data),
    }
    if data.errors:
        facts["exif_errors"] = data.errors
    return facts


def _working_pixels(im: Image.Image, basis: list[str], data: _exif.ExifData, target: int) -> Image.Image:
    """Reduce the decoded frame, flatten it to RGB and turn it upright; `basis` says how."""
    image = _reducible(im, basis)
    factor = reduction(image.size, target)
    if factor >= 2:
        image = image.reduce(factor)
        basis.append(f"reduce 1/{factor}")
    image = _to_rgb(image, basis)
    orientation = _exif.orientation(data)
    if im.format in _DECODER_ORIENTED:
        basis.append(f"orientation applied by the {im.format} decoder")
    elif orientation in _UPRIGHT:
        image = image.transpose(_UPRIGHT[orientation])
        basis.append(f"EXIF orientation {orientation} applied")
    basis.append("RGB")
    return image


def reduction(size: tuple[int, int], target: int = HASH_TARGET) -> int:
    """The whole factor `reduce()` shrinks an image of `size` by before hashing (1: not at all)."""
    return max(1, max(size) // target)


def _reducible(image: Image.Image, basis: list[str]) -> Image.Image:
    """A mode `reduce()` averages correctly (palette indices must not be averaged)."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if mode.startswith("I") or mode == "F":
        return _to_8bit(image, basis)
    target = "RGBA" if "A" in mode or "transparency" in image.info else "RGB"
    basis.append(f"{mode} converted to {target}")
    return image.convert(target)


def _to_8bit(image: Image.Image, basis: list[str]) -> Image.Image:
    samples = np.asarray(image)
    if image.mode.startswith("I;16"):
        basis.append("16-bit samples shifted to 8 bits")
        return Image.fromarray((samples >> 8).astype(np.uint8), "L")
    basis.append(f"{image.mode} samples clipped to 0-255")
    return Image.fromarray(np.clip(samples, 0, 255).astype(np.uint8), "L")


def _to_rgb(image: Image.Image, basis: list[str]) -> Image.Image:
    if image.mode not in ("RGBA", "LA"):
        return image.convert("RGB")
    basis.append("transparency flattened onto white")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")


def _perceptual(rgb: Image.Image, basis: str) -> dict[str, Any]:
    return {"basis": basis, **perceptual_hashes(rgb)}


def pdq_hex(bits: Any) -> str:
    """256 PDQ bits as 64 hex digits: bit 0 is the most significant bit of the first digit.

    With `pdqhash.compute`'s bit vector this is the usual PDQ text form (ThreatExchange
    `Hash256::format`: words 15 down to 0, most significant bit first).
    """
    packed = np.packbits(np.asarray(bits, dtype=np.uint8).reshape(-1))
    if packed.size != 32:
        raise ValueError(f"expected 256 PDQ bits, got {np.asarray(bits).size}")
    return packed.tobytes().hex()


def _explain(exc: Exception, media_type: str) -> str:
    """The reason for a failure in plain words: what was expected and what was found."""
    label = media_type.split("/")[-1].upper()
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        numbers = [int(n) for n in re.findall(r"\d+", str(exc))]  # "Image size (N pixels) exceeds limit of L"
        limit = min(numbers[1], MAX_PIXELS) if len(numbers) >= 2 else MAX_PIXELS
        return _bomb_reason(str(numbers[0]) if numbers else "too many", limit)
    if isinstance(exc, UnidentifiedImageError):
        return f"expected a {label} image, but the data could not be identified as one (damaged, or not really {label})"
    if isinstance(exc, OSError) and "truncated" in str(exc):
        return f"expected complete {label} image data, but the data ends early (truncated): {exc}"
    return f"expected a readable {label} image, but decoding failed: {type(exc).__name__}: {exc}"
