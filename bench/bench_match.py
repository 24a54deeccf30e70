"""Accuracy and speed of `evidencekit.match`: recall per transformation, false matches, comparisons/s.

Reference photos are the real camera photos of ../shared/real-images/ (synthetic photos when it
is absent). Each reference is transformed as pictures are when re-shared (JPEG recompression,
resizing, cropping, a chat screenshot around it, rotation, mirroring, brightness) and hashed
exactly as `capture` hashes an item (`analyze_image`, plus the photo-like regions `match`
searches in screenshots). Every variant of every other reference, and a pool of unrelated
photos and chat screenshots, are the non-matching pairs. Matching uses the library's own
comparison (`evidencekit.matching._best_pairs`) at the default thresholds and at a small grid
around them. The last stdout line is a JSON summary.

    python bench/bench_match.py            # about 2 minutes on two cores
    python bench/bench_match.py --quick    # fewer references and unrelated pictures
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import _WORDS, _photo, make_screenshot  # noqa: E402

from evidencekit import _hamming  # noqa: E402
from evidencekit._hashrows import VARIANTS, HashRows, reference_rows, region_hashes, searchable  # noqa: E402
from evidencekit.imaging import analyze_image, hashing_pixels  # noqa: E402
from evidencekit.matching import Thresholds, _best_pairs  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-images" / "exif-samples" / "jpg"
#: The same scene more than once in the sample set: only the first of each group is a reference.
_SAME_SCENE = ("orientation/", "hdr/canon_hdr_YES", "hdr/iphone_hdr_YES", "invalid/", "corrupted")
AIMS = {"recompress": 0.95, "resize": 0.95, "mirror": 0.95, "rotate": 0.95, "crop-small": 0.95, "screenshot": 0.80}


def jpeg(image: Image.Image, quality: int) -> tuple[bytes, str]:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue(), "image/jpeg"


def png(image: Image.Image) -> tuple[bytes, str]:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), "image/png"


def crop(image: Image.Image, share: float, pick: random.Random) -> Image.Image:
    """Remove `share` of the width and of the height, split at random between the two sides."""
    width, height = image.size
    left, top = int(width * share * pick.random()), int(height * share * pick.random())
    return image.crop((left, top, left + round(width * (1 - share)), top + round(height * (1 - share))))


def chat_screenshot(photo: Image.Image, seed: int) -> Image.Image:
    """A phone screenshot of a chat showing `photo` in a bubble, with text bubbles around it."""
    pick = random.Random(seed)
    width, height = (1080, 2400) if seed % 2 else (1170, 2532)
    dark = seed % 3 == 0
    ink, bubble = ((235, 235, 235), (58, 58, 60)) if dark else ((0, 0, 0), (229, 229, 234))
    screen = Image.new("RGB", (width, height), (18, 18, 20) if dark else (240, 240, 240))
    draw = ImageDraw.Draw(screen)
    font = ImageFont.load_default(size=40)
    draw.rectangle((0, 0, width, 140), fill=(30, 30, 34) if dark else (247, 247, 247))
    draw.text((width // 2 - 150, 60), f"Group {seed}", font=font, fill=ink)
    y = 200 + pick.randint(0, 400)
    for _ in range(pick.randint(1, 3)):
        draw.rounded_rectangle((60, y, 60 + pick.randint(400, 900), y + 110), radius=30, fill=bubble)
        draw.text((90, y + 30), " ".join(pick.choice(_WORDS) for _ in range(5)), font=font, fill=ink)
        y += 150
    shown_w = int(width * pick.uniform(0.6, 0.85))
    shown = photo.resize((shown_w, max(1, round(photo.height * shown_w / photo.width))), Image.Resampling.LANCZOS)
    shown = shown.crop((0, 0, shown.width, min(shown.height, height - y - 300)))
    x = 60 if pick.random() < 0.5 else width - 60 - shown.width
    draw.rounded_rectangle((x - 8, y - 8, x + shown.width + 8, y + shown.height + 8), radius=24, fill=bubble)
    screen.paste(shown, (x, y))
    draw.text((x + shown.width - 110, y + shown.height - 50), "21:0" + str(seed % 10), font=font, fill=(255, 255, 255))
    y += shown.height + 40
    if y < height - 400:
        draw.rounded_rectangle((60, y, 700, y + 110), radius=30, fill=bubble)
        draw.text((90, y + 30), "jangan share", font=font, fill=ink)
    draw.rectangle((0, height - 200, width, height), fill=(30, 30, 34) if dark else (247, 247, 247))
    return screen


def variants(photo: Image.Image, seed: int) -> list[tuple[str, str, tuple[bytes, str]]]:
    """(transformation, detail, encoded picture) for every transformed copy of one reference."""
    pick = random.Random(seed)
    out = [("recompress", f"q{q}", jpeg(photo, q)) for q in (30, 50, 70)]
    for scale in (0.25, 0.5, 0.75):
        size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
        out.append(("resize", f"{scale:.0%}", jpeg(photo.resize(size, Image.Resampling.LANCZOS), 85)))
    out += [("crop-small", f"{s:.0%}", jpeg(crop(photo, s, pick), 85)) for s in (0.05, 0.1)]
    out += [("crop-large", f"{s:.0%}", jpeg(crop(photo, s, pick), 85)) for s in (0.15, 0.2)]
    out += [("rotate", "90°", jpeg(photo.transpose(Image.Transpose.ROTATE_90), 85))]
    out += [("rotate", "270°", jpeg(photo.transpose(Image.Transpose.ROTATE_270), 85))]
    out += [("mirror", "left-right", jpeg(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 85))]
    out += [("brightness", f"x{f}", jpeg(ImageEnhance.Brightness(photo).enhance(f), 85)) for f in (0.7, 1.3)]
    out += [("screenshot", "png", png(chat_screenshot(photo, seed)))]
    out += [("screenshot", "jpeg q70", jpeg(chat_screenshot(photo, seed + 1), 70))]
    return out


def hashes_of(data: bytes, media_type: str) -> list[tuple[str, dict[str, Any]]]:
    """(label, hashes) as `match` sees an item: the whole picture, then regions if it searches it."""
    analysis = analyze_image(data, media_type=media_type)
    if analysis["status"] != "ok":
        return []
    rows = [("whole picture", analysis["perceptual"])]
    if searchable({"storage": "stored", "analysis": analysis}):
        rows += region_hashes(data, media_type=media_type)
    return rows


def reference_job(job: tuple[int, str | None]) -> dict[str, Any]:
    """Hash one reference's variants (in a worker process)."""
    index, path = job
    if path is None:
        photo = _photo(np.random.default_rng(10_000 + index), 1200, 900)
        data, media_type = jpeg(photo, 92)
    else:
        data, media_type = Path(path).read_bytes(), "image/jpeg"
        photo = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    rows = reference_rows(f"R{index}", hashing_pixels(data, media_type=media_type))
    found = [(kind, detail, hashes_of(*encoded)) for kind, detail, encoded in variants(photo, index)]
    return {"name": f"R{index}", "source": path or "synthetic", "rows": rows, "variants": found}


def unrelated_job(index: int) -> list[tuple[str, dict[str, Any]]]:
    """One unrelated picture: a synthetic photo, a chat screenshot, or a real non-reference photo."""
    if index % 4 == 0:
        path = f"/tmp/ek-bench-unrelated-{os.getpid()}-{index}.png"
        make_screenshot(50_000 + index, path)
        data = Path(path).read_bytes()
        os.unlink(path)
        return hashes_of(data, "image/png")
    rng = np.random.default_rng(20_000 + index)
    size = (int(rng.integers(300, 1600)), int(rng.integers(300, 1600)))
    return hashes_of(*jpeg(_photo(rng, *size), 80))


def real_paths(limit: int) -> tuple[list[str], list[str]]:
    """(references, other real pictures): big enough photos, one per scene, and the rest."""
    if not REAL.is_dir():
        return [], []
    refs, others = [], []
    for path in sorted(REAL.rglob("*.jpg")):
        rel = path.relative_to(REAL).as_posix()
        if any(rel.startswith(s) for s in _SAME_SCENE) and rel != "orientation/landscape_1.jpg":
            continue
        try:
            with Image.open(path) as im:
                big = min(im.size) >= 300
        except Exception:  # noqa: BLE001 - broken samples are simply not used
            continue
        (refs if big and len(refs) < limit else others).append(str(path))
    return refs, others


def build(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[list[tuple[str, dict[str, Any]]]]]:
    refs, others = real_paths(args.references)
    jobs: list[tuple[int, str | None]] = list(enumerate(refs))
    jobs += [(len(jobs) + i, None) for i in range(max(0, args.references - len(jobs)) if not refs else 4)]
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        references = list(pool.map(reference_job, jobs))
        pool_items = list(pool.map(unrelated_job, range(args.unrelated)))
    pool_items += [hashes_of(Path(path).read_bytes(), "image/jpeg") for path in others]
    return references, pool_items


def item_table(references: list[dict[str, Any]], pool: list[list[tuple[str, dict[str, Any]]]]) -> HashRows:
    """Every variant and unrelated picture as item rows; owners are `R3|crop-small|10%` or `U17`."""
    owners, labels, hashes = [], [], []
    for ref in references:
        for kind, detail, rows in ref["variants"]:
            for label, value in rows:
                owners.append(f"{ref['name']}|{kind}|{detail}")
                labels.append(label)
                hashes.append(value)
    for number, rows in enumerate(pool):
        for label, value in rows:
            owners.append(f"U{number}")
            labels.append(label)
            hashes.append(value)
    return HashRows.from_hashes(owners, labels, hashes)


def evaluate(references: list[dict[str, Any]], pool_size: int, items: HashRows, limits: Thresholds) -> dict[str, Any]:
    refs = HashRows()
    for ref in references:
        refs = refs + ref["rows"]
    best = _best_pairs(items, refs, limits)
    hit = {(ref, item) for ref, item in best}
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for ref in references:
        for kind, detail, _ in ref["variants"]:
            counts = recall[kind]
            counts[0] += (ref["name"], f"{ref['name']}|{kind}|{detail}") in hit
            counts[1] += 1
    unrelated_items = set(items.owners)
    pairs = sum(1 for ref in references for item in unrelated_items if not item.startswith(ref["name"] + "|"))
    false = sorted((ref, item) for ref, item in hit if not item.startswith(ref + "|"))
    return {
        "thresholds": limits.to_json(),
        "recall": {k: round(v[0] / v[1], 4) for k, v in recall.items()},
        "counts": dict(recall.items()),
        "unrelated_pairs": pairs,
        "false_matches": len(false),
        "false_rate_per_10000": round(10_000 * len(false) / max(1, pairs), 3),
        "false_examples": false[:5],
    }


def speed(images: int, refs: int) -> dict[str, Any]:
    """Time `_best_pairs` on random hashes: `images` items against `refs` references (all variants)."""
    rng = np.random.default_rng(1)

    def table(count: int, label: str) -> HashRows:
        return HashRows(
            [label] * count,
            ["x"] * count,
            rng.integers(0, 2**63, size=(count, 4), dtype=np.int64).astype(np.uint64),
            np.ones(count, bool),
            rng.integers(0, 2**63, size=(count, 1), dtype=np.int64).astype(np.uint64),
            rng.integers(0, 2**63, size=(count, 1), dtype=np.int64).astype(np.uint64),
        )

    items, references = table(images, "item"), table(refs * len(VARIANTS), "ref")
    started = time.perf_counter()
    _best_pairs(items, references, Thresholds())
    seconds = time.perf_counter() - started
    comparisons = images * refs * len(VARIANTS)
    return {
        "images": images,
        "references": refs,
        "variants_per_reference": len(VARIANTS),
        "seconds": round(seconds, 2),
        "hash_comparisons_per_second": round(comparisons / seconds),
        "image_reference_pairs_per_second": round(images * refs / seconds),
        "popcount": "np.bitwise_count" if hasattr(np, "bitwise_count") else "lookup table",
        "word_layout": f"{_hamming.__name__}: PDQ 4 x uint64, pHash and dHash 1 x uint64",
    }


def report(result: dict[str, Any]) -> None:
    print(f"thresholds {result['thresholds']}")
    for kind, value in sorted(result["recall"].items()):
        aim = AIMS.get(kind)
        n = result["counts"][kind]
        print(f"  recall {kind:<12} {value:7.1%}  ({n[0]}/{n[1]})" + (f"  aim {aim:.0%}" if aim else ""))
    print(
        f"  false matches {result['false_matches']} in {result['unrelated_pairs']} unrelated pairs "
        f"= {result['false_rate_per_10000']} per 10,000 (aim <= 1)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 references, 200 unrelated pictures, 10,000 images")
    parser.add_argument("--references", type=int, default=None, help="most real references (default 60)")
    parser.add_argument("--unrelated", type=int, default=None, help="unrelated synthetic pictures (default 800)")
    parser.add_argument("--speed-images", type=int, default=None, help="images in the speed test (default 50,000)")
    args = parser.parse_args()
    args.references = args.references or (10 if args.quick else 60)
    args.unrelated = args.unrelated if args.unrelated is not None else (200 if args.quick else 800)
    started = time.perf_counter()
    references, pool = build(args)
    print(f"{len(references)} references ({sum(r['source'] != 'synthetic' for r in references)} real), "
          f"{len(pool)} unrelated pictures, built in {time.perf_counter() - started:.0f} s")  # fmt: skip
    items = item_table(references, pool)
    chosen = evaluate(references, len(pool), items, Thresholds())
    report(chosen)
    grid = []
    for pdq in (31, 50, 60, 70, 80, 90):
        for phash, dhash in ((0, 0), (6, 8), (8, 10), (10, 12), (12, 14)):
            row = evaluate(references, len(pool), items, Thresholds(pdq, phash, dhash))
            grid.append(row)
            print(f"grid pdq<={pdq:<3} phash<={phash:<2} dhash<={dhash:<2} false/10k {row['false_rate_per_10000']:<6} "
                  + " ".join(f"{k}={v:.2f}" for k, v in sorted(row["recall"].items())))  # fmt: skip
    fast = speed(args.speed_images or (10_000 if args.quick else 50_000), 100)
    print(f"speed: {fast['images']} images x {fast['references']} references x {fast['variants_per_reference']} "
          f"variants in {fast['seconds']} s = {fast['hash_comparisons_per_second']:,} comparisons/s")  # fmt: skip
    summary = {"chosen": {k: v for k, v in chosen.items() if k != "counts"}, "speed": fast}
    summary["aims_met"] = {k: chosen["recall"].get(k, 0) >= v for k, v in AIMS.items()}
    summary["aims_met"]["false_rate"] = chosen["false_rate_per_10000"] <= 1
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
