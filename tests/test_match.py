"""Finding pictures: matching reference photos (also inside screenshots and chats), near-duplicate
clusters and hash-only lists, through the library and the real command line."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import evidencekit as ek
from evidencekit import _hamming
from evidencekit._regions import photo_regions

from .conftest import real_images_or_skip
from .test_cli import run


def photo(seed: int, size: tuple[int, int] = (900, 700)) -> Image.Image:
    """A photo-like picture: smooth random colours (a coarse grid upscaled) plus fine grain."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, size=(8, 10, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(grid).resize(size, Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.integers(-5, 6, size=base.shape, dtype=np.int16)
    return Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8))


def save(image: Image.Image, path: Path, **options: int) -> Path:
    image.save(path, **options)
    return path


def screenshot(shown: Image.Image) -> Image.Image:
    """A light chat screen (1170x2532) with a text bubble and `shown` as a photo in a bubble."""
    screen = Image.new("RGB", (1170, 2532), (240, 240, 240))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 1170, 140), fill=(247, 247, 247))
    draw.rounded_rectangle((60, 300, 800, 410), radius=30, fill=(229, 229, 234))
    draw.text((90, 330), "look what she sent lol", fill=(0, 0, 0))
    inner = shown.resize((800, round(shown.height * 800 / shown.width)))
    draw.rounded_rectangle((52, 492, 868, 508 + inner.height), radius=24, fill=(229, 229, 234))
    screen.paste(inner, (60, 500))
    return screen


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    """The survivor's photo (reference, outside the case) and what was found in a group."""
    folder, refs = tmp_path / "found", tmp_path / "mine"
    folder.mkdir()
    refs.mkdir()
    mine, other = photo(1), photo(2)
    return {
        "reference": save(mine, refs / "holiday.png"),
        "recompressed": save(mine.resize((450, 350)), folder / "IMG-20230823-WA0001.jpg", quality=40),
        "mirrored": save(mine.transpose(Image.Transpose.FLIP_LEFT_RIGHT), folder / "mirror.jpg", quality=80),
        "screenshot": save(screenshot(mine), folder / "Screenshot_20230823-210110.png"),
        "unrelated": save(other, folder / "other.jpg", quality=80),
    }


def ids_by_name(case: ek.Case) -> dict[str, str]:
    return {row["name"]: row["id"] for row in ek.list_items(case)}


def test_match_finds_recompressed_mirrored_and_in_a_screenshot_but_not_unrelated(
    case: ek.Case, pictures: dict[str, Path], key: ek.SigningKey, now: datetime
) -> None:
    ek.capture(case, [pictures["reference"].parents[1] / "found"], key=key, now=now)
    ids = ids_by_name(case)
    result = ek.match(case, [pictures["reference"]])
    found = {m.item: m for m in result.matches}
    assert set(found) == {ids["IMG-20230823-WA0001.jpg"], ids["mirror.jpg"], ids["Screenshot_20230823-210110.png"]}
    assert found[ids["mirror.jpg"]].reference_form == "mirrored"
    shot = found[ids["Screenshot_20230823-210110.png"]]
    assert shot.found_in.startswith("photo-like region") and shot.reference == str(pictures["reference"])
    assert result.matches[0].pdq is None or result.matches[0].pdq <= result.matches[-1].pdq  # type: ignore[operator]
    assert (result.references, result.items, result.regions, result.failed) == (1, 4, 1, [])
    assert json.loads(json.dumps(result.to_json()))["thresholds"] == ek.Thresholds().to_json()


def test_references_are_not_stored_unless_captured(
    case: ek.Case, pictures: dict[str, Path], key: ek.SigningKey, now: datetime
) -> None:
    ek.capture(case, [pictures["unrelated"]], key=key, now=now)
    before = {p: p.read_bytes() for p in case.root.rglob("*") if p.is_file()}
    result = ek.match(case, [pictures["reference"]])
    assert not result.matches and not result.captured
    assert {p: p.read_bytes() for p in case.root.rglob("*") if p.is_file()} == before

    kept = ek.match(case, [pictures["reference"]], capture=True, key=key, now=now)
    assert list(kept.captured) == [str(pictures["reference"])]
    assert ek.show_item(case, kept.captured[str(pictures["reference"])])["sightings"][0]["note"]
    assert ek.verify(case).ok
    with pytest.raises(ValueError):
        ek.match(case, [pictures["reference"]], capture=True)


def test_real_photo_matches_its_resized_copy_and_not_another_real_photo(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    real = real_images_or_skip()
    reference, other = real / "gps" / "DSCN0010.jpg", real / "Canon_PowerShot_S40.jpg"
    copy = tmp_path / "forwarded.jpg"
    with Image.open(reference) as im:
        save(im.convert("RGB").resize((320, 240)), copy, quality=35)
    ek.capture(case, [copy, other], key=key, now=now)
    ids = ids_by_name(case)
    result = ek.match(case, [reference, other])
    pairs = {(Path(m.reference).name, m.item) for m in result.matches}
    assert ("DSCN0010.jpg", ids["forwarded.jpg"]) in pairs
    assert ("Canon_PowerShot_S40.jpg", ids["Canon_PowerShot_S40.jpg"]) in pairs
    assert ("DSCN0010.jpg", ids["Canon_PowerShot_S40.jpg"]) not in pairs
    assert ("Canon_PowerShot_S40.jpg", ids["forwarded.jpg"]) not in pairs
    identical = next(m for m in result.matches if m.item == ids["Canon_PowerShot_S40.jpg"])
    assert identical.identical and identical.phash == 0


def whatsapp_zip(path: Path, picture: bytes) -> Path:
    lines = [
        "[23/08/23, 21:00:00] Lina: hi all",
        "[23/08/23, 21:01:10] Badrul: \u200e<attached: 00000002-PHOTO-2023-08-23-21-01-10.jpg>",
        "[23/08/23, 21:02:00] Badrul: don't share this",
    ]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("_chat.txt", "\r\n".join(lines) + "\r\n")
        zf.writestr("00000002-PHOTO-2023-08-23-21-01-10.jpg", picture)
    return path


def test_a_match_names_the_chat_message_sender_and_time(
    case: ek.Case, pictures: dict[str, Path], tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    archive = whatsapp_zip(tmp_path / "WhatsApp Chat - Kelab.zip", pictures["recompressed"].read_bytes())
    ek.capture(case, [archive], key=key, now=now)
    result = ek.match(case, [pictures["reference"]])
    assert len(result.matches) == 1
    seen = result.matches[0].appearances
    assert seen == [
        {"chat": "T0001", "title": None, "n": 2, "id": None, "sender": "Badrul", "time": "2023-08-23T13:01:10Z"}
    ]


def test_duplicates_cluster_near_identical_pictures(
    case: ek.Case, pictures: dict[str, Path], tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    again = tmp_path / "again"
    again.mkdir()
    (again / "copy.jpg").write_bytes(pictures["recompressed"].read_bytes())  # same bytes: one item, two sightings
    save(Image.open(pictures["reference"]), again / "q70.jpg", quality=70)
    ek.capture(case, [pictures["recompressed"].parent, again], key=key, now=now)
    ids = ids_by_name(case)
    clusters = ek.find_duplicates(case)
    assert len(clusters) == 1
    cluster = clusters[0]
    assert cluster.items == sorted([ids["IMG-20230823-WA0001.jpg"], ids["q70.jpg"]])
    assert cluster.sightings == 3 and cluster.postings == 0
    assert cluster.to_json()["largest_distances"]["phash"] <= ek.Thresholds().phash


def test_hash_list_has_hashes_and_no_names_unless_asked(
    case: ek.Case, pictures: dict[str, Path], key: ek.SigningKey, now: datetime
) -> None:
    ek.capture(case, [pictures["unrelated"], pictures["screenshot"]], key=key, now=now)
    listed = ek.hash_list(case)
    text = listed.to_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == "item,media_type,size,sha256,md5,pdq,pdq_quality,phash"
    assert [r["item"] for r in rows] == ["E0001", "E0002"]
    assert "other" not in text and "Screenshot" not in text
    assert len(rows[0]["sha256"]) == 64 and len(rows[0]["phash"]) == 16
    named = ek.hash_list(case, items=["e0002"], names=True)
    assert [r["names"] for r in named.to_json()["items"]] == [["Screenshot_20230823-210110.png"]]
    with pytest.raises(ek.InputError, match="E0099"):
        ek.hash_list(case, items=["E0099"])


def test_cli_match_json_and_a_bad_reference_named_while_others_are_compared(
    home: Path, tmp_path: Path, pictures: dict[str, Path]
) -> None:
    folder = tmp_path / "c"
    assert run("init", str(folder), "--title", "match").returncode == 0
    assert run("capture", "--case", str(folder), str(pictures["recompressed"])).returncode == 0
    broken = tmp_path / "mine" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    missing = tmp_path / "mine" / "gone.jpg"
    result = run("match", "--case", str(folder), "--json", str(broken), str(pictures["reference"]), str(missing))
    assert result.returncode == 3, result.stderr
    data = json.loads(result.stdout)
    assert [m["item"] for m in data["matches"]] == ["E0001"]
    assert [f["reference"] for f in data["failed"]] == [str(broken), str(missing)]
    assert "2 reference photo(s) could not be used" in result.stderr
    assert result.stdout.count('"ok": false') == 0  # one JSON document: the result

    text = run("match", "--case", str(folder), str(broken))
    assert text.returncode == 3 and f"NOT compared: {broken}" in text.stderr
    assert run("match", "--case", str(folder), "--threshold", "pdq=lots", str(broken)).returncode == 2


def test_cli_duplicates_and_hashes(home: Path, tmp_path: Path, pictures: dict[str, Path]) -> None:
    folder = tmp_path / "c"
    assert run("init", str(folder), "--title", "dups").returncode == 0
    assert run("capture", "--case", str(folder), str(pictures["recompressed"].parent)).returncode == 0
    dups = run("duplicates", "--case", str(folder), "--json")
    assert dups.returncode == 0 and json.loads(dups.stdout) == []
    hashes = run("hashes", "--case", str(folder))
    assert hashes.returncode == 0 and hashes.stdout.startswith(
        "item,media_type,size,sha256,md5,pdq,pdq_quality,phash\n"
    )
    assert "mirror.jpg" not in hashes.stdout and len(hashes.stdout.splitlines()) == 5
    named = run("hashes", "--case", str(folder), "--format", "json", "--with-names", "--items", "E0001")
    assert json.loads(named.stdout)["items"][0]["names"]
    assert run("hashes", "--case", str(folder), "--items", "E0099").returncode == 3


def test_photo_region_of_a_generated_screenshot_is_found() -> None:
    shot = np.asarray(screenshot(photo(3)).reduce(2))
    boxes = photo_regions(shot)
    assert len(boxes) == 1
    left, top, right, bottom = boxes[0]
    assert abs(left - 30) <= 2 and abs(top - 250) <= 2 and abs(right - 430) <= 2


def test_hamming_distances_are_popcounts_of_xor() -> None:
    a = _hamming.pack(["ffffffffffffffff", "0000000000000001"], 64)
    b = _hamming.pack(["0000000000000000", "0000000000000003"], 64)
    assert _hamming.distances(a, b).tolist() == [[64, 62], [1, 1]]


def test_a_folder_of_references_is_every_picture_in_it(
    case: ek.Case, pictures: dict[str, Path], key: ek.SigningKey, now: datetime
) -> None:
    ek.capture(case, [pictures["recompressed"]], key=key, now=now)
    mine = pictures["reference"].parent
    (mine / "notes.txt").write_text("not a picture: left out, not a failure")
    (mine / "sub").mkdir()
    save(photo(7), mine / "sub" / "another.png")
    result = ek.match(case, [mine])
    assert (result.references, result.failed) == (2, [])
    assert [m.reference for m in result.matches] == [str(pictures["reference"])]
