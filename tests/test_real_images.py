"""The whole real-image collection (broken files included) captured into one case, then verified."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

import evidencekit as ek

from .conftest import real_images_or_skip


@pytest.fixture(scope="module")
def real_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[ek.Case, ek.CaptureResult]:
    from evidencekit.signing import generate_signing_key_for_tests

    folder = real_images_or_skip()
    key = generate_signing_key_for_tests("aisyah", bytes(range(32)))
    case = ek.init_case(tmp_path_factory.mktemp("real") / "case", title="real images", key=key)
    return case, ek.capture(case, [folder], key=key, source="exif-samples")


def _item_for(case: ek.Case, result: ek.CaptureResult, suffix: str) -> dict:
    row = next(r for r in result.items if r["path"].endswith(suffix))
    return ek.show_item(case, row["id"])


def test_every_real_file_is_captured_and_the_case_verifies(real_case) -> None:
    case, result = real_case
    files = [p for p in real_images_or_skip().rglob("*") if p.is_file()]
    assert len(result.items) == len(files) and not result.failed
    ek.verify(case)


def test_gps_and_camera_match_the_file(real_case) -> None:
    case, result = real_case
    item = _item_for(case, result, "gps/DSCN0010.jpg")
    analysis = item["analysis"]
    assert analysis["gps"]["latitude"] == "43.4674483" and analysis["camera"]["make"] == "NIKON"
    assert item["media_type"] == "image/jpeg" and not analysis["screenshot"]["likely"]


def test_orientation_matches_the_file(real_case) -> None:
    case, result = real_case
    for row in result.items:
        match = re.search(r"orientation/(landscape|portrait)_(\d)\.jpg$", row["path"])
        if match:
            assert ek.show_item(case, row["id"])["analysis"]["orientation"] == int(match.group(2)), row["path"]


def test_broken_files_are_captured_with_their_bytes(real_case) -> None:
    case, result = real_case
    for suffix in ("corrupted.jpg", "invalid/image01551.jpg"):
        item = _item_for(case, result, suffix)
        stored = case.root / item["object"]
        assert stored.read_bytes() == (real_images_or_skip() / suffix).read_bytes()
        assert item["analysis"]["status"] in ("ok", "failed")


def test_heic_photo_is_captured_with_exif(tmp_path: Path, case: ek.Case, key: ek.SigningKey) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    image = Image.new("RGB", (640, 480), (10, 150, 90))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 15"
    out = io.BytesIO()
    try:
        pillow_heif.from_pillow(image).save(out, format="HEIF", exif=exif.tobytes())
    except Exception as exc:  # noqa: BLE001 - an encoder-less libheif build
        pytest.skip(f"no HEIC encoder here: {exc}")
    (tmp_path / "IMG_0001.HEIC").write_bytes(out.getvalue())
    ek.capture(case, [tmp_path / "IMG_0001.HEIC"], key=key)
    item = ek.list_items(case)[0]
    full = ek.show_item(case, item["id"])
    assert full["media_type"] in ("image/heic", "image/heif")
    assert full["analysis"]["status"] == "ok" and full["analysis"]["camera"]["model"] == "iPhone 15"
    assert (full["analysis"]["width"], full["analysis"]["height"]) == (640, 480)
