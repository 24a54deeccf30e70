"""Image analysis on real camera files and on images made here with Pillow and pillow-heif."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
import time
import unicodedata
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageDraw, PngImagePlugin
from PIL.TiffImagePlugin import IFDRational

from evidencekit import imaging
from evidencekit._canonical import dumps
from evidencekit.errors import InputError
from evidencekit.imaging import MAX_JPEG_PIXELS, analyze_image
from evidencekit.media import SNIFF_BYTES, sniff_media_type

REAL_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "real-images"
JPG = REAL_IMAGES / "exif-samples" / "jpg"
needs_real = pytest.mark.skipif(not JPG.is_dir(), reason="../shared/real-images is not present")

OK_KEYS = {
    "status",
    "format",
    "width",
    "height",
    "mode",
    "frames",
    "exif",
    "orientation",
    "datetime_original",
    "camera",
    "gps",
    "png_text",
    "xmp",
    "screenshot",
    "perceptual",
}


# ---------------------------------------------------------------- helpers


def _scene(width: int = 800, height: int = 600) -> Image.Image:
    """A deterministic picture with gradients and shapes (perceptual hashes need structure)."""
    x = np.arange(width, dtype=np.uint32)[None, :]
    y = np.arange(height, dtype=np.uint32)[:, None]
    planes = [x * 255 // width + 0 * y, y * 255 // height + 0 * x, (x + y) * 255 // (width + height)]
    image = Image.fromarray(np.stack(planes, axis=-1).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 8, height // 6, width // 2, height * 2 // 3), fill=(240, 30, 30))
    draw.rectangle((width * 3 // 5, height // 10, width * 9 // 10, height // 2), fill=(20, 20, 160))
    draw.polygon([(width // 2, height * 9 // 10), (width * 4 // 5, height * 3 // 5), (width, height)], fill="white")
    return image


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _exif(**tags: Any) -> bytes:
    exif = Image.Exif()
    names = {"make": 0x010F, "model": 0x0110, "software": 0x0131, "orientation": 0x0112}
    for name, value in tags.items():
        exif[names[name]] = value
    return exif.tobytes()


def _analyze(data: bytes, name: str = "") -> dict[str, Any]:
    result = analyze_image(data, media_type=sniff_media_type(data[:SNIFF_BYTES]), name=name)
    dumps(result)  # JSON-safe, no floats
    return result


def _distance(hex_a: str, hex_b: str) -> int:
    return bin(int(hex_a, 16) ^ int(hex_b, 16)).count("1")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares `width` x `height` 1-bit pixels (only row 0 present)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + (width + 7) // 8))
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _with_chunk_before_iend(png: bytes, kind: bytes, data: bytes) -> bytes:
    """Insert a chunk after the image data, where Pillow only finds it by decoding."""
    end = png.rindex(b"IEND") - 4
    return png[:end] + _png_chunk(kind, data) + png[end:]


def _assert_ok_shape(result: dict[str, Any]) -> None:
    assert set(result) >= OK_KEYS, result.keys()
    assert isinstance(result["width"], int) and isinstance(result["height"], int)
    perceptual = result["perceptual"]
    assert len(perceptual["phash"]) == 16 and len(perceptual["dhash"]) == 16
    int(perceptual["phash"], 16), int(perceptual["dhash"], 16)
    assert "RGB" in perceptual["basis"]
    assert isinstance(result["screenshot"]["likely"], bool)


@pytest.fixture
def decoder_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every pixel decoder Pillow creates (one per decode of a frame); clear before use."""
    calls: list[str] = []
    real = Image._getdecoder

    def counting(mode: str, decoder_name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(decoder_name)
        return real(mode, decoder_name, *args, **kwargs)

    monkeypatch.setattr(Image, "_getdecoder", counting)
    return calls


# ---------------------------------------------------------------- real camera files


@needs_real
def test_every_real_jpeg_gives_a_json_safe_result_quickly() -> None:
    paths = sorted(p for p in REAL_IMAGES.rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg"))
    assert len(paths) > 50
    assert any("invalid" in p.parts for p in paths) and any(p.name == "corrupted.jpg" for p in paths)
    for path in paths:
        start = time.perf_counter()
        result = analyze_image(path, media_type="image/jpeg", name=path.name)
        assert time.perf_counter() - start < 3.0, path
        dumps(result)
        if result["status"] == "failed":
            assert isinstance(result["reason"], str) and len(result["reason"]) > 10, path
        else:
            assert result["status"] == "ok", path
            _assert_ok_shape(result)


@needs_real
def test_truncated_real_jpeg_fails_with_a_reason() -> None:
    data = (JPG / "hdr" / "iphone_hdr_NO.jpg").read_bytes()
    result = _analyze(data[: len(data) // 3])
    assert result["status"] == "failed"
    assert "truncated" in result["reason"] and "JPEG" in result["reason"]


def _independent_degrees(parts: list[list[int]], ref: str) -> str:
    """Decimal degrees from the raw [numerator, denominator] pairs, with Decimal arithmetic."""
    with localcontext() as ctx:
        ctx.prec = 60
        total = sum(Decimal(num) / Decimal(den) / Decimal(60) ** i for i, (num, den) in enumerate(parts))
        value = total.quantize(Decimal("0.0000001"), rounding=ROUND_HALF_EVEN)
    return f"-{value}" if ref in ("S", "W") else str(value)


@needs_real
def test_gps_of_dscn0010_matches_its_rationals() -> None:
    result = analyze_image(JPG / "gps" / "DSCN0010.jpg", media_type="image/jpeg")
    gps = result["gps"]
    raw = gps["raw"]
    assert raw["GPSLatitude"] == [[43, 1], [28, 1], [281400000, 100000000]]
    assert gps["latitude"] == _independent_degrees(raw["GPSLatitude"], raw["GPSLatitudeRef"]) == "43.4674483"
    assert gps["longitude"] == _independent_degrees(raw["GPSLongitude"], raw["GPSLongitudeRef"]) == "11.8851267"
    assert "altitude_m" not in gps  # the file has no GPSAltitude
    assert result["exif"]["MakerNote"] == {"omitted": "MakerNote", "bytes": 3298}
    assert result["exif"]["UserComment"] == "" and result["exif"]["ExifVersion"] == "0220"


@needs_real
def test_southern_and_western_coordinates_are_negative() -> None:
    kodak = analyze_image(JPG / "Kodak_CX7530.jpg", media_type="image/jpeg")["gps"]
    assert kodak["raw"]["GPSLatitudeRef"] == "S" and kodak["latitude"].startswith("-")
    iphone = analyze_image(JPG / "hdr" / "iphone_hdr_NO.jpg", media_type="image/jpeg")["gps"]
    assert iphone["raw"]["GPSLongitudeRef"] == "W" and iphone["longitude"] == "-3.7247528"
    assert iphone["altitude_m"] == "639.59"


def _tool_text(tool: dict[str, Any], key: str) -> str | None:
    return str(tool[key]).strip() or None if key in tool else None


@needs_real
@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_gps_make_model_orientation_agree_with_exiftool() -> None:
    paths = sorted(p for p in JPG.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    tags = ["-EXIF:Make", "-EXIF:Model", "-EXIF:Orientation", "-GPSLatitude", "-GPSLongitude", "-GPSAltitude"]
    run = subprocess.run(["exiftool", "-j", "-n", *tags, *map(str, paths)], capture_output=True, text=True, timeout=60)
    expected = {item["SourceFile"]: item for item in json.loads(run.stdout)}
    compared = 0
    for path in paths:
        result, tool = analyze_image(path, media_type="image/jpeg"), expected[str(path)]
        if result["status"] != "ok":
            continue
        assert result["camera"].get("make") == _tool_text(tool, "Make"), path
        assert result["camera"].get("model") == _tool_text(tool, "Model"), path
        assert result["orientation"] == tool.get("Orientation"), path
        for ours, theirs, places in (
            ("latitude", "GPSLatitude", 7),
            ("longitude", "GPSLongitude", 7),
            ("altitude_m", "GPSAltitude", 2),
        ):
            if theirs in tool:
                gap = abs(Decimal(result["gps"][ours]) - Decimal(repr(tool[theirs])))
                assert gap <= Decimal(6) / 10 ** (places + 1), (path, ours)
                compared += 1
    assert compared >= 20


@needs_real
def test_orientation_files_report_the_digit_in_their_name_and_hash_upright() -> None:
    for kind in ("landscape", "portrait"):
        upright = analyze_image(JPG / "orientation" / f"{kind}_1.jpg", media_type="image/jpeg")["perceptual"]
        for number in range(1, 9):
            result = analyze_image(JPG / "orientation" / f"{kind}_{number}.jpg", media_type="image/jpeg")
            assert result["orientation"] == number
            assert result["exif"]["Orientation"] == number
            assert _distance(result["perceptual"]["phash"], upright["phash"]) <= 6, (kind, number)


@needs_real
def test_canon_40d() -> None:
    result = analyze_image(JPG / "Canon_40D.jpg", media_type="image/jpeg", name="Canon_40D.jpg")
    assert result["camera"] == {"make": "Canon", "model": "Canon EOS 40D", "software": "GIMP 2.4.5"}
    assert result["datetime_original"] == {"text": "2008:05:30 15:56:01", "offset": None, "subsec": "00"}
    assert result["exif"]["ExposureTime"] == [1, 160]
    assert result["screenshot"]["likely"] is False


def _jpeg_with(exif: Image.Exif) -> dict[str, Any]:
    return _analyze(_encode(Image.new("RGB", (32, 32)), "JPEG", exif=exif.tobytes()))


def test_gps_south_west_and_below_sea_level() -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update(
        {
            1: "S",
            2: (IFDRational(3), IFDRational(8), IFDRational(2844, 100)),
            3: "W",
            4: (IFDRational(101), IFDRational(41), IFDRational(0)),
            5: b"\x01",
            6: IFDRational(125, 10),
        }
    )
    result = _jpeg_with(exif)["gps"]
    assert (result["latitude"], result["longitude"], result["altitude_m"]) == ("-3.1412333", "-101.6833333", "-12.50")
    assert result["raw"]["GPSAltitudeRef"] == 1


@pytest.mark.parametrize(
    ("latitude", "ref", "words"),
    [
        ((IFDRational(3, 0), IFDRational(8), IFDRational(0)), "N", "zero denominator"),
        ((IFDRational(95), IFDRational(0), IFDRational(0)), "N", "at most 90"),
        ((IFDRational(5), IFDRational(0), IFDRational(0)), None, "GPSLatitudeRef is missing"),
    ],
)
def test_invalid_gps_is_reported_with_the_raw_tags(latitude: tuple[Any, ...], ref: str | None, words: str) -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[2] = latitude
    if ref:
        gps[1] = ref
    result = _jpeg_with(exif)["gps"]
    assert words in result["invalid"] and "latitude" not in result
    assert "GPSLatitude" in result["raw"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_exif_text_and_bytes(encoding: str) -> None:
    exif = Image.Exif()
    exif[0x9C9C] = "Komen saya".encode("utf-16-le") + b"\x00\x00"  # XPComment
    inner = exif.get_ifd(0x8769)
    inner[0x9286] = b"UNICODE\x00" + "Tangkapan layar 截屏".encode(encoding)  # UserComment
    inner[0xA40B] = bytes(range(256)) * 20  # DeviceSettingDescription, 5120 bytes
    inner[0x9003], inner[0x9011], inner[0x9291] = "2024:01:02 10:11:12", "+08:00", "123"
    result = _jpeg_with(exif)
    assert result["exif"]["XPComment"] == "Komen saya"
    assert result["exif"]["UserComment"] == "Tangkapan layar 截屏"
    long = result["exif"]["DeviceSettingDescription"]
    assert long == {"hex": (bytes(range(256)) * 16).hex(), "truncated": True, "bytes": 5120}
    assert result["datetime_original"] == {"text": "2024:01:02 10:11:12", "offset": "+08:00", "subsec": "123"}


# ---------------------------------------------------------------- screenshots


def test_phone_sized_png_without_exif_is_a_likely_screenshot() -> None:
    result = _analyze(_encode(_scene(1170, 2532), "PNG"), name="IMG_0412.PNG")
    assert result["status"] == "ok" and result["exif"] == {} and result["camera"] == {}
    assert result["screenshot"]["likely"] is True
    assert any("1170x2532" in reason and "phone" in reason for reason in result["screenshot"]["reasons"])


def test_camera_jpeg_is_not_a_screenshot() -> None:
    data = _encode(_scene(1170, 2532), "JPEG", quality=90, exif=_exif(make="samsung", model="SM-G991B"))
    result = _analyze(data, name="20240101_101010.jpg")
    assert result["screenshot"]["likely"] is False
    assert any("camera" in reason for reason in result["screenshot"]["reasons"])


def test_screenshot_file_names() -> None:
    data = _encode(_scene(300, 200), "PNG")
    for name in (
        "Screenshot_20240101-101010_WhatsApp.png",
        "Screen Shot 2019-01-02 at 10.11.12.png",
        "Tangkapan layar 2024-01-01 101010.png",
        "Cuplikan layar 2024.png",
        "截屏2024-01-01.png",
        unicodedata.normalize("NFD", "Capture d’écran 2024-01-01.png"),
    ):
        result = _analyze(data, name=name)
        assert result["screenshot"]["likely"] is True, name
        assert any("file name" in reason for reason in result["screenshot"]["reasons"]), name
    assert _analyze(data, name="holiday.png")["screenshot"] == {"likely": False, "reasons": []}


def test_screenshot_written_in_metadata() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "gnome-screenshot")
    result = _analyze(_encode(_scene(300, 200), "PNG", pnginfo=info))
    assert result["png_text"] == {"Software": "gnome-screenshot"}
    assert result["screenshot"]["likely"] is True
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00Screenshot"
    result = _analyze(_encode(_scene(300, 200), "PNG", exif=exif.tobytes()))
    assert result["exif"]["UserComment"] == "Screenshot"
    assert result["screenshot"]["likely"] is True


# ---------------------------------------------------------------- formats


def test_heic_made_with_pillow_heif() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("pillow-heif has no HEVC encoder here")
    stored = _scene(96, 64)
    try:
        data = _encode(stored, "HEIF", quality=90, exif=_exif(make="Apple", model="iPhone 13", orientation=6))
    except (OSError, ValueError, KeyError) as exc:
        pytest.skip(f"cannot encode HEIC here: {exc}")
    assert sniff_media_type(data[:SNIFF_BYTES]) == "image/heic"
    result = _analyze(data)
    assert result["status"] == "ok" and result["format"] == "HEIF"
    assert (result["width"], result["height"]) == (96, 64)
    assert result["orientation"] == 6 and result["exif"]["Orientation"] == 6
    assert result["camera"] == {"make": "Apple", "model": "iPhone 13"}
    jpeg = _analyze(_encode(stored, "JPEG", quality=95, exif=_exif(orientation=6)))
    assert _distance(result["perceptual"]["phash"], jpeg["perceptual"]["phash"]) <= 6


def test_png_exif_and_text_after_the_image_data_are_read_with_one_decode(decoder_calls: list[str]) -> None:
    png = _encode(_scene(1170, 2532), "PNG")
    exif = _exif(make="Google", model="Pixel 7", orientation=3)[6:]  # eXIf holds the TIFF part only
    png = _with_chunk_before_iend(png, b"eXIf", exif)
    png = _with_chunk_before_iend(png, b"tEXt", b"Comment\x00made after IDAT")
    decoder_calls.clear()
    result = _analyze(png)
    assert decoder_calls == ["zip"]
    assert result["orientation"] == 3 and result["camera"] == {"make": "Google", "model": "Pixel 7"}
    assert result["png_text"] == {"Comment": "made after IDAT"}
    assert result["screenshot"]["likely"] is False  # a camera is named


def test_12mp_jpeg_is_draft_decoded_once(decoder_calls: list[str]) -> None:
    data = _encode(_scene(4000, 3000), "JPEG", quality=90)
    decoder_calls.clear()
    result = _analyze(data)
    assert decoder_calls == ["jpeg"]
    assert (result["width"], result["height"]) == (4000, 3000)
    assert result["perceptual"]["basis"].startswith("jpeg draft 1/8")


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "BMP", "WEBP", "PNG"])
def test_other_formats_decode_once(fmt: str, decoder_calls: list[str]) -> None:
    frames = [_scene(640, 480).rotate(angle) for angle in (0, 90, 180)]
    animated = fmt in ("GIF", "WEBP", "PNG")  # PNG: APNG
    data = _encode(frames[0], fmt, save_all=animated, append_images=frames[1:])
    decoder_calls.clear()
    result = _analyze(data)
    assert result["status"] == "ok" and result["format"] == fmt
    assert len(decoder_calls) <= 1  # WebP decodes through its own module, not a Pillow decoder
    if animated:
        assert result["frames"] == 3 and "first frame" in result["perceptual"]["basis"]


def test_orientation_only_in_xmp_is_not_reported_as_exif() -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
    )
    result = _analyze(_encode(_scene(320, 240), "JPEG", xmp=xmp))
    assert result["xmp"] is True
    assert result["orientation"] is None and "Orientation" not in result["exif"]
    both = _analyze(_encode(_scene(320, 240), "JPEG", xmp=xmp, exif=_exif(orientation=3)))
    assert both["orientation"] == 3


def test_tiff_orientation_is_reported_as_stored() -> None:
    stored = _scene(800, 600)
    tiff = _analyze(_encode(stored, "TIFF", exif=_exif(orientation=6)))
    jpeg = _analyze(_encode(stored, "JPEG", quality=95, exif=_exif(orientation=6)))
    assert (tiff["width"], tiff["height"], tiff["orientation"]) == (800, 600, 6)
    assert _distance(tiff["perceptual"]["phash"], jpeg["perceptual"]["phash"]) <= 6


def test_sixteen_bit_and_palette_images() -> None:
    grey16 = Image.fromarray(np.arange(300 * 200, dtype=np.uint16).reshape(200, 300) * 7)
    result = _analyze(_encode(grey16, "PNG"))
    assert result["status"] == "ok" and result["mode"].startswith("I")
    assert "16-bit samples shifted to 8 bits" in result["perceptual"]["basis"]
    palette = _analyze(_encode(_scene(300, 200).convert("P"), "PNG", transparency=0))
    assert palette["status"] == "ok" and "converted to RGBA" in palette["perceptual"]["basis"]


# ---------------------------------------------------------------- refusals and failures


@pytest.mark.parametrize(("width", "height"), [(30000, 30000), (10001, 10000)])
def test_decompression_bomb_is_refused_quickly(width: int, height: int) -> None:
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _analyze(_png_declaring(width, height))
    assert time.perf_counter() - start < 1.0
    assert result["status"] == "failed"
    assert "decompression bomb" in result["reason"] and str(width * height) in result["reason"]
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_bomb_made_by_pillow_is_refused() -> None:
    data = _encode(Image.new("1", (10500, 10000)), "PNG")
    result = _analyze(data)
    assert result["status"] == "failed" and "105000000" in result["reason"]
    assert Image.MAX_IMAGE_PIXELS == MAX_JPEG_PIXELS


def test_huge_jpeg_is_analysed_from_its_draft_not_refused() -> None:
    # a 120 MP JPEG (a high-resolution phone photo) decodes DCT-scaled, so it is not a bomb
    data = _encode(Image.new("RGB", (12000, 10000), (90, 120, 150)), "JPEG")
    result = _analyze(data)
    assert result["status"] == "ok" and result["width"] == 12000
    assert result["perceptual"]["basis"].startswith("jpeg draft 1/8")


def test_truncated_and_damaged_images_fail_with_reasons() -> None:
    png = _encode(_scene(640, 480), "PNG")
    jpeg = _encode(_scene(640, 480), "JPEG")
    for data in (png[: len(png) // 2], jpeg[: len(jpeg) // 2], png[:60], b"\xff\xd8\xff" + bytes(200)):
        result = _analyze(data)
        assert result["status"] == "failed", result
        assert "expected" in result["reason"]
    wrong = analyze_image(png, media_type="image/jpeg")
    assert wrong["status"] == "failed" and "JPEG" in wrong["reason"]


def test_unsupported_media_type_and_bad_sources(tmp_path: Path) -> None:
    result = analyze_image(b"%PDF-1.7", media_type="application/pdf")
    assert result["status"] == "failed" and "application/pdf" in result["reason"]
    with pytest.raises(InputError):
        analyze_image(tmp_path / "missing.jpg", media_type="image/jpeg")
    with pytest.raises(TypeError):
        analyze_image(12345, media_type="image/jpeg")  # type: ignore[arg-type]


# ---------------------------------------------------------------- perceptual hashes


def test_png_and_high_quality_jpeg_hash_alike() -> None:
    scene = _scene(1200, 900)
    png = _analyze(_encode(scene, "PNG"))["perceptual"]
    jpeg = _analyze(_encode(scene, "JPEG", quality=92))["perceptual"]
    assert _distance(png["phash"], jpeg["phash"]) <= 6
    assert _distance(png["dhash"], jpeg["dhash"]) <= 10
    if "pdq" in png:
        assert _distance(png["pdq"], jpeg["pdq"]) <= 31  # PDQ's usual match threshold


# How a camera stores an upright picture under each EXIF orientation (Exif 2.32, tag 0x0112).
STORED_AS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # shown after turning 90 degrees clockwise
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_rotated_jpeg_hashes_like_the_upright_one(orientation: int) -> None:
    upright = _scene(800, 600)
    stored = upright.transpose(STORED_AS[orientation]) if orientation in STORED_AS else upright
    reference = _analyze(_encode(upright, "JPEG", quality=95))["perceptual"]
    result = _analyze(_encode(stored, "JPEG", quality=95, exif=_exif(orientation=orientation)))
    assert result["orientation"] == orientation
    assert _distance(result["perceptual"]["phash"], reference["phash"]) <= 6


def test_pdq_fields() -> None:
    perceptual = _analyze(_encode(_scene(640, 480), "PNG"))["perceptual"]
    try:
        import pdqhash
    except ImportError:
        assert perceptual["pdq_unavailable"].startswith("PDQ hashing is not installed")
        return
    assert len(perceptual["pdq"]) == 64 and isinstance(perceptual["pdq_quality"], int)
    bits, _ = pdqhash.compute(np.asarray(_scene(640, 480)))
    assert imaging.pdq_hex(bits) == f"{int(''.join(str(int(b)) for b in bits), 2):064x}"


def test_pdq_bit_order() -> None:
    bits = np.zeros(256, dtype=np.uint8)
    bits[0] = 1
    bits[255] = 1
    assert imaging.pdq_hex(bits) == "8" + "0" * 62 + "1"


def test_phash_matches_imagehash_on_the_reduced_pixels() -> None:
    scene = _scene(400, 300)
    result = _analyze(_encode(scene, "PNG"))["perceptual"]
    assert result["basis"] == "png full decode, RGB"
    assert result["phash"] == str(imagehash.phash(scene))


# ---------------------------------------------------------------- threads


def test_results_are_the_same_on_a_thread_pool() -> None:
    inputs = [_encode(_scene(900 + 40 * i, 700), fmt) for i, fmt in enumerate(["PNG", "JPEG", "WEBP", "TIFF"] * 3)]
    inputs += [_png_declaring(10001, 10000), _png_declaring(30000, 30000)]
    filters = list(warnings.filters)
    serial = [_analyze(data) for data in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(_analyze, inputs))
    assert parallel == serial
    assert warnings.filters == filters


def test_without_the_optional_modules() -> None:
    """pdqhash is an optional extra and pillow-heif may be missing: both degrade to plain reasons."""
    script = """
import io, json, sys
sys.modules["pdqhash"] = None
sys.modules["pillow_heif"] = None
from PIL import Image
from evidencekit.imaging import analyze_image
buf = io.BytesIO()
Image.new("RGB", (64, 48), "red").save(buf, "PNG")
heic = b"\\x00\\x00\\x00\\x18ftypheic\\x00\\x00\\x00\\x00mif1heic"
print(json.dumps([analyze_image(buf.getvalue(), media_type="image/png"), analyze_image(heic, media_type="image/heic")]))
"""
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 0, run.stderr
    png, heic = json.loads(run.stdout)
    assert png["perceptual"]["pdq_unavailable"] == "PDQ hashing is not installed; install evidencekit[pdq]"
    assert "pdq" not in png["perceptual"]
    assert heic["status"] == "failed" and "pillow-heif is not installed" in heic["reason"]
