#!/usr/bin/env python3
"""Benchmark `evidencekit.capture` against plain hashlib / Pillow references measured in the same run.

Two scenarios, each repeated `--repeat` times with a fresh case per repeat, reference and
capture interleaved (the order alternates between repeats):

* **big file** (`--big-size`, default 2 GiB of `os.urandom` bytes). References: the file read
  in 1 MiB chunks and hashed with SHA-256 alone, SHA-1 alone and MD5 alone; the reference is
  the slowest of the three. Aim: capture within 1.3x of it. The capture's final durability
  step (`os.sync()` in `evidencekit._store.sync_store`) is timed separately by wrapping it in
  this script, and the ratio is printed with and without it.
* **screenshots** (`--screenshots`, default 300 PNGs of 1170x2532, every tenth 1080x2400, with
  chat bubbles, text and photo-like regions). Reference: one full decode per image
  (`Image.open(p).load()`) spread over `os.cpu_count()` threads. Aim: capture within 1.3x.

The page cache is warmed identically (every byte read once) before each reference and each
capture, and `os.sync()` runs before each so earlier writes do not land in a measurement.
Wall times are printed, never asserted. The last line of standard output is a JSON summary.

    python bench/bench_capture.py            # full sizes (several minutes)
    python bench/bench_capture.py --quick    # smoke run: 64 MiB and 20 screenshots
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import stat
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
ALGORITHMS = ("sha256", "sha1", "md5")
AIM = 1.3
NOISY = 0.10  # warn when other processes used more than this share of the CPU during a measurement
QUICK_BIG = 64 << 20
QUICK_SCREENSHOTS = 20

# --------------------------------------------------------------------------- arguments


def parse_size(text: str) -> int:
    """`2147483648`, `2G`, `2GiB`, `64M`, `64MiB`, `512k` -> bytes (binary units)."""
    units = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    value = text.strip().lower().removesuffix("ib").removesuffix("b")
    suffix = value[-1] if value and value[-1] in units else ""
    number = value[: len(value) - len(suffix)]
    try:
        size = int(float(number) * units[suffix])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 2G, 64M or a byte count)") from None
    if size <= 0:
        raise argparse.ArgumentTypeError("the size must be positive")
    return size


def add_common_arguments(parser: argparse.ArgumentParser, *, workdir_help: str, keep_help: str) -> None:
    """The options every evidencekit benchmark takes (sizes, repeats, --quick, --keep, --settle)."""
    parser.add_argument(
        "--big-size", type=parse_size, default=None, help="size of the big file (default 2 GiB; 64 MiB with --quick)"
    )
    parser.add_argument(
        "--screenshots", type=int, default=None, help="number of screenshots (default 300; 20 with --quick)"
    )
    parser.add_argument("--workdir", type=Path, default=None, help=workdir_help)
    parser.add_argument("--repeat", type=int, default=3, help="repeats; min and median are reported")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run (64 MiB, 20 screenshots)")
    parser.add_argument("--keep", action="store_true", help=keep_help)
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each measurement, wait up to SECONDS for other processes to use at most "
        f"{NOISY * 100:.0f}%% of the CPU (for shared machines; default 0: do not wait)",
    )


def finish_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse, then fill the size defaults (which depend on --quick) and check them."""
    args = parser.parse_args(argv)
    if args.big_size is None:
        args.big_size = QUICK_BIG if args.quick else 2 << 30
    if args.screenshots is None:
        args.screenshots = QUICK_SCREENSHOTS if args.quick else 300
    if args.repeat < 1 or args.screenshots < 1:
        parser.error("--repeat and --screenshots must be at least 1")
    return args


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_arguments(
        parser,
        workdir_help="folder for the test data and cases (a temporary folder is made inside it "
        "and removed at the end; default: the system temp folder)",
        keep_help="keep the temporary folder (test data and key; cases are removed after each run)",
    )
    parser.add_argument("--only", choices=("big", "screenshots"), default=None, help="run one scenario only")
    return finish_arguments(parser, argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- test data


def write_big_file(path: Path, size: int) -> None:
    """`size` random bytes, written in 8 MiB chunks."""
    step = 8 << 20
    with open(path, "wb") as out:
        left = size
        while left:
            n = min(step, left)
            out.write(os.urandom(n))
            left -= n


_WORDS = [
    "ok",
    "see",
    "you",
    "tomorrow",
    "lol",
    "did",
    "you",
    "see",
    "what",
    "they",
    "posted",
    "in",
    "the",
    "group",
    "send",
    "me",
    "the",
    "link",
    "please",
    "delete",
    "it",
    "now",
    "this",
    "is",
    "not",
    "funny",
    "who",
    "shared",
    "it",
    "I",
    "saved",
    "a",
    "copy",
    "for",
    "the",
    "report",
    "meet",
    "at",
    "the",
    "station",
    "at",
    "7",
    "yes",
    "no",
    "maybe",
    "thanks",
    "where",
    "are",
    "you",
    "why",
    "would",
    "anyone",
    "do",
    "this",
]


def _photo(rng: Any, width: int, height: int) -> Any:
    """A photo-like block: smooth random colours (a low-resolution grid upscaled) plus fine grain."""
    import numpy as np
    from PIL import Image

    grid = rng.integers(0, 256, size=(max(2, height // 60), max(2, width // 60), 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(grid).resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.integers(-6, 7, size=(height, width, 3), dtype=np.int16)
    return Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8))


def make_screenshot(index: int, path: str) -> int:
    """Draw one distinct phone screenshot (chat bubbles, avatars, text, photos); return its size."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(index)
    pick = random.Random(index)
    width, height = (1080, 2400) if index % 10 == 9 else (1170, 2532)
    dark = pick.random() < 0.3
    background = (18, 18, 20) if dark else (pick.randint(228, 250),) * 3
    bar = (30, 30, 34) if dark else (247, 247, 247)
    ink = (235, 235, 235) if dark else (0, 0, 0)
    im = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=40)
    small = ImageFont.load_default(size=30)
    draw.rectangle((0, 0, width, 140), fill=bar)
    draw.text((60, 50), f"{pick.randint(0, 23):02d}:{pick.randint(0, 59):02d}", font=font, fill=(128, 128, 128))
    draw.text((width // 2 - 170, 170), f"Group chat #{index}", font=font, fill=ink)
    y, bottom = 260, height - 260
    while y < bottom - 120:
        if pick.random() < 0.15:  # a shared photo
            photo_w, photo_h = pick.randint(600, width - 200), min(pick.randint(500, 1100), bottom - y)
            x = 60 if pick.random() < 0.5 else width - 60 - photo_w
            im.paste(_photo(rng, photo_w, photo_h), (x, y))
            y += photo_h + 40
            continue
        lines = [" ".join(pick.choice(_WORDS) for _ in range(pick.randint(3, 6))) for _ in range(pick.randint(1, 4))]
        bubble_h, bubble_w = 40 + 52 * len(lines), pick.randint(420, width - 260)
        mine = pick.random() < 0.5
        if mine:
            x, colour, text = width - 60 - bubble_w, (0, 122, 255), (255, 255, 255)
        else:  # incoming: an avatar (a small photo) beside the bubble
            avatar = _photo(rng, 96, 96)
            mask = Image.new("L", (96, 96), 0)
            ImageDraw.Draw(mask).ellipse((0, 0, 95, 95), fill=255)
            im.paste(avatar, (30, y + bubble_h - 96), mask)
            x, colour, text = 140, ((58, 58, 60) if dark else (229, 229, 234)), ink
        draw.rounded_rectangle((x, y, x + bubble_w, y + bubble_h), radius=36, fill=colour)
        for i, line in enumerate(lines):
            draw.text((x + 30, y + 20 + 52 * i), line, font=font, fill=text)
        draw.text(
            (x + bubble_w - 120, y + bubble_h - 36),
            f"{pick.randint(0, 23):02d}:{pick.randint(0, 59):02d}",
            font=small,
            fill=text,
        )
        y += bubble_h + 30
    draw.rectangle((0, height - 200, width, height), fill=bar)
    draw.rounded_rectangle((40, height - 170, width - 160, height - 80), radius=45, outline=(150, 150, 150), width=3)
    im.save(path, "PNG")
    return os.path.getsize(path)


def write_screenshots(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    paths = [folder / f"Screenshot_2026-03-{1 + i % 28:02d}-{i:04d}.png" for i in range(count)]
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        sizes = list(pool.map(make_screenshot, range(count), [str(p) for p in paths], chunksize=4))
    log(
        f"  {count} screenshots, {sum(sizes) / 1e6:.0f} MB, {min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB each "
        f"(mean {statistics.mean(sizes) / 1e6:.2f} MB)"
    )
    return paths


# --------------------------------------------------------------------------- references


def warm(paths: list[Path]) -> None:
    """Read every byte once so the next run starts from the page cache."""
    buffer = bytearray(CHUNK)
    for path in paths:
        with open(path, "rb", buffering=0) as src:
            while src.readinto(buffer):
                pass


def hash_alone(path: Path, name: str) -> str:
    """Read `path` in 1 MiB chunks and hash it with one algorithm."""
    hasher = hashlib.new(name)
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as src:
        while n := src.readinto(buffer):
            hasher.update(view[:n])
    return hasher.hexdigest()


def three_side_by_side(path: Path) -> None:
    """Informational: the three hashes on three threads at once (each reading the file)."""
    with ThreadPoolExecutor(len(ALGORITHMS)) as pool:
        list(pool.map(lambda name: hash_alone(path, name), ALGORITHMS))


def plain_copy(path: Path, target: Path) -> None:
    """Informational: read and write the bytes to a new file, no hashing and no sync."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as src, open(target, "wb", buffering=0) as dst:
        while n := src.readinto(buffer):
            dst.write(view[:n])


def decode_all(paths: list[Path]) -> None:
    """One full decode per image, spread over os.cpu_count() threads."""
    from PIL import Image

    def decode(path: Path) -> None:
        with Image.open(path) as im:
            im.load()

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(decode, paths))


# --------------------------------------------------------------------------- measuring


def _machine_busy() -> float | None:
    """User-space CPU seconds all processes have used since boot (Linux /proc/stat), or None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as info:
            fields = [int(v) for v in info.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user + nice only: kernel time also holds this process's own writeback (flusher threads)
    busy = fields[0] + fields[1]
    return busy / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)


class Timer:
    """Wall time and CPU time of a block: this process's (user, system; all threads) and others'.

    `others` is the share of the machine's CPU capacity that other processes used in user space
    meanwhile (Linux only, else 0): a busy neighbour inflates both references and captures.
    """

    def __enter__(self) -> Timer:
        self._busy = _machine_busy()
        self._cpu = os.times()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._start
        cpu = os.times()
        self.user = cpu.user - self._cpu.user
        self.sys = cpu.system - self._cpu.system
        busy = _machine_busy()
        self.others = 0.0
        if busy is not None and self._busy is not None and self.wall > 0:
            other_seconds = max(0.0, (busy - self._busy) - self.user)
            self.others = min(1.0, other_seconds / (self.wall * (os.cpu_count() or 1)))


SETTLE = {"seconds": 0.0}  # --settle: how long to wait for other processes to quieten before a measurement


def settle() -> None:
    """Wait (up to --settle seconds) until other processes use at most NOISY of the CPU for 1 s."""
    deadline = time.monotonic() + SETTLE["seconds"]
    waited = False
    while time.monotonic() < deadline:
        with Timer() as probe:
            time.sleep(1.0)
        if probe.others <= NOISY:
            break
        if not waited:
            log(f"    waiting for other processes to quieten (they use {probe.others:.0%} of the CPU)")
            waited = True


def measure(fn: Callable[[], Any], before: Callable[[], None]) -> tuple[Timer, Any]:
    """Wait for a quiet machine (--settle), sync, run `before` (warming), then time `fn`."""
    settle()
    if hasattr(os, "sync"):
        os.sync()
    before()
    with Timer() as timer:
        value = fn()
    return timer, value


class SyncProbe:
    """Wraps `sync_store` as `evidencekit.capture` calls it, to time the final durability step."""

    def __init__(self) -> None:
        import importlib

        # `evidencekit.capture` the attribute is the function; the module is in sys.modules
        capture_module = importlib.import_module("evidencekit.capture")
        self._module = capture_module
        self._original = capture_module.sync_store
        self.seconds: list[float] = []
        capture_module.sync_store = self._timed  # type: ignore[assignment]

    def _timed(self, *args: Any, **kwargs: Any) -> None:
        start = time.perf_counter()
        try:
            self._original(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - start)

    def take(self) -> float:
        total = sum(self.seconds)
        self.seconds.clear()
        return total

    def close(self) -> None:
        self._module.sync_store = self._original  # type: ignore[assignment]


def _rmtree(path: Path) -> None:
    def retry(func: Callable[..., Any], target: str, _exc: Any) -> None:
        os.chmod(target, stat.S_IWRITE | stat.S_IREAD)  # objects are read-only (matters on Windows)
        func(target)

    if path.exists():
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=retry)
        else:
            shutil.rmtree(path, onerror=retry)


class Bench:
    def __init__(self, root: Path, repeat: int):
        import evidencekit as ek

        self.ek = ek
        self.root = root
        self.repeat = repeat
        home = root / "home"
        ek.create_key("bench", passphrase=None, home=home, kdf_rounds=4)
        self.key = ek.load_signing_key("bench", passphrase=None, home=home)
        self.sync = SyncProbe()
        self._cases = 0

    def capture(self, inputs: list[Path], expect: int) -> tuple[Timer, float, dict[str, Any]]:
        """Capture `inputs` into a fresh case; return the timer, the sync seconds and the result."""
        self._cases += 1
        case_dir = self.root / f"case-{self._cases}"
        case = self.ek.init_case(case_dir, title="benchmark", key=self.key)
        self.sync.take()
        timer, result = measure(lambda: self.ek.capture(case, inputs, key=self.key), lambda: warm(_files(inputs)))
        sync_seconds = self.sync.take()
        if result.failed or len(result.items) != expect:
            raise SystemExit(f"capture went wrong: {len(result.items)} items, failed: {result.failed[:3]}")
        items = list(result.items)
        _rmtree(case_dir)
        return timer, sync_seconds, {"items": items}


def _files(inputs: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in inputs:
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values)}


def _record(rows: dict[str, list[float]], name: str, timer: Timer) -> None:
    rows[name].append(timer.wall)
    rows.setdefault("_others", []).append(timer.others)


def _close_repeat(rows: dict[str, list[float]]) -> None:
    """The busiest neighbour load seen in this repeat's measurements becomes its `others` figure."""
    rows["others"].append(max(rows.pop("_others", [0.0])))


def _capture_rows(rows: dict[str, list[float]], timer: Timer, sync_seconds: float) -> None:
    _record(rows, "capture", timer)
    rows["sync"].append(sync_seconds)
    rows["capture_no_sync"].append(timer.wall - sync_seconds)
    rows["cap_user"].append(timer.user)
    rows["cap_sys"].append(timer.sys)


def _results(rows: dict[str, list[float]]) -> dict[str, Any]:
    return {
        "runs": {k: [round(v, 4) for v in vs] for k, vs in rows.items()},
        **{k: summary(vs) for k, vs in rows.items()},
    }


def run_big(bench: Bench, path: Path) -> dict[str, Any]:
    rows: dict[str, list[float]] = {
        k: []
        for k in (
            *ALGORITHMS,
            "slowest",
            "capture",
            "sync",
            "capture_no_sync",
            "cap_user",
            "cap_sys",
            "three_threads",
            "copy",
            "ratio",
            "ratio_no_sync",
            "others",
        )
    }
    expected: dict[str, str] = {}
    captured: dict[str, str] = {}
    for rep in range(bench.repeat):

        def references() -> None:
            for name in ALGORITHMS:
                timer, digest = measure(lambda n=name: hash_alone(path, n), lambda: warm([path]))
                _record(rows, name, timer)
                expected[name] = digest
            timer, _ = measure(lambda: three_side_by_side(path), lambda: warm([path]))
            _record(rows, "three_threads", timer)
            target = bench.root / "plain-copy"
            timer, _ = measure(lambda: plain_copy(path, target), lambda: warm([path]))
            _record(rows, "copy", timer)
            target.unlink()  # dropped before it is written back, so no sync cost later

        def capture() -> None:
            timer, sync_seconds, out = bench.capture([path], expect=1)
            captured["sha256"] = out["items"][0]["sha256"]
            _capture_rows(rows, timer, sync_seconds)

        for step in (references, capture) if rep % 2 == 0 else (capture, references):
            step()
        if captured["sha256"] != expected["sha256"]:
            raise SystemExit("the capture's SHA-256 differs from hashlib's")
        _close_repeat(rows)
        slowest = max(rows[name][-1] for name in ALGORITHMS)
        rows["slowest"].append(slowest)
        rows["ratio"].append(rows["capture"][-1] / slowest)
        rows["ratio_no_sync"].append(rows["capture_no_sync"][-1] / slowest)
        log(
            f"  big file, repeat {rep + 1}: "
            + ", ".join(f"{name} {rows[name][-1]:.2f}s" for name in ALGORITHMS)
            + f"; capture {rows['capture'][-1]:.2f}s (sync {rows['sync'][-1]:.2f}s) "
            f"-> ratio {rows['ratio'][-1]:.2f} ({rows['ratio_no_sync'][-1]:.2f} without sync); "
            f"other processes used up to {rows['others'][-1]:.0%} of the CPU"
        )
    slowest_name = max(ALGORITHMS, key=lambda n: statistics.median(rows[n]))
    return {"bytes": path.stat().st_size, "slowest_hash": slowest_name, **_results(rows)}


def run_screenshots(bench: Bench, folder: Path, paths: list[Path]) -> dict[str, Any]:
    rows: dict[str, list[float]] = {
        k: []
        for k in (
            "decode",
            "decode_cpu",
            "capture",
            "sync",
            "capture_no_sync",
            "cap_user",
            "cap_sys",
            "ratio",
            "ratio_no_sync",
            "others",
        )
    }
    for rep in range(bench.repeat):

        def reference() -> None:
            timer, _ = measure(lambda: decode_all(paths), lambda: warm(paths))
            _record(rows, "decode", timer)
            rows["decode_cpu"].append(timer.user + timer.sys)

        def capture() -> None:
            timer, sync_seconds, out = bench.capture([folder], expect=len(paths))
            bad = [i for i in out["items"] if i["analysis"] != "ok"]
            if bad:
                raise SystemExit(f"image analysis failed for {len(bad)} screenshots, e.g. {bad[0]}")
            _capture_rows(rows, timer, sync_seconds)

        for step in (reference, capture) if rep % 2 == 0 else (capture, reference):
            step()
        _close_repeat(rows)
        rows["ratio"].append(rows["capture"][-1] / rows["decode"][-1])
        rows["ratio_no_sync"].append(rows["capture_no_sync"][-1] / rows["decode"][-1])
        log(
            f"  screenshots, repeat {rep + 1}: decode {rows['decode'][-1]:.2f}s; capture {rows['capture'][-1]:.2f}s "
            f"(sync {rows['sync'][-1]:.2f}s) -> ratio {rows['ratio'][-1]:.2f} "
            f"({rows['ratio_no_sync'][-1]:.2f} without sync); "
            f"other processes used up to {rows['others'][-1]:.0%} of the CPU"
        )
    return {"count": len(paths), "bytes": sum(p.stat().st_size for p in paths), **_results(rows)}


# --------------------------------------------------------------------------- report


def _line(label: str, values: dict[str, float], unit: str = "s") -> str:
    return f"  {label:<48} {values['min']:>8.2f}{unit} {values['median']:>8.2f}{unit}"


def _percent(values: dict[str, float]) -> dict[str, float]:
    return {k: 100 * v for k, v in values.items()}


def _noise_warning(result: dict[str, Any]) -> None:
    worst = max(result["runs"]["others"])
    if worst > NOISY:
        print(
            f"  WARNING: other processes used up to {worst:.0%} of the CPU during a measurement; "
            "the figures are inflated and noisy, run again on a quiet machine"
        )


def _verdict(ratio: dict[str, float]) -> str:
    return "met" if ratio["median"] <= AIM else "NOT met"


def report_big(big: dict[str, Any]) -> None:
    size = big["bytes"]
    print(
        f"\nBig file: {size / (1 << 30):.2f} GiB of random bytes ({len(big['runs']['capture'])} repeats)"
        f"{'':<7}{'min':>9} {'median':>9}"
    )
    for name in ALGORITHMS:
        print(_line(f"{name} alone (read + hash, 1 MiB chunks)", big[name]))
    print(_line(f"reference = slowest of the three ({big['slowest_hash']})", big["slowest"]))
    print(_line("  info: the three on 3 threads at once", big["three_threads"]))
    print(_line("  info: plain copy (read + write, no hash/sync)", big["copy"]))
    print(_line("capture (total)", big["capture"]))
    print(_line("  of which os.sync() in sync_store", big["sync"]))
    print(_line("  capture without the sync", big["capture_no_sync"]))
    print(_line("  capture CPU user (all threads)", big["cap_user"]))
    print(_line("  capture CPU system", big["cap_sys"]))
    print(_line("  info: CPU used by other processes", _percent(big["others"]), "%"))
    print(_line("ratio capture / reference", big["ratio"], "x"))
    print(_line("ratio capture without sync / reference", big["ratio_no_sync"], "x"))
    print(
        f"  aim <= {AIM}x: {_verdict(big['ratio'])} with the sync (median), {_verdict(big['ratio_no_sync'])} without it"
    )
    _noise_warning(big)


def report_screenshots(shots: dict[str, Any], cores: int) -> None:
    print(
        f"\nScreenshots: {shots['count']} PNGs, {shots['bytes'] / 1e6:.0f} MB "
        f"({len(shots['runs']['capture'])} repeats){'':<18}{'min':>9} {'median':>9}"
    )
    print(_line(f"reference = one full decode each, {cores} threads", shots["decode"]))
    print(_line("  reference CPU (user + system, all threads)", shots["decode_cpu"]))
    print(_line("capture (total)", shots["capture"]))
    print(_line("  of which os.sync() in sync_store", shots["sync"]))
    print(_line("  capture without the sync", shots["capture_no_sync"]))
    print(_line("  capture CPU user (all threads)", shots["cap_user"]))
    print(_line("  capture CPU system", shots["cap_sys"]))
    print(_line("  info: CPU used by other processes", _percent(shots["others"]), "%"))
    print(_line("ratio capture / reference", shots["ratio"], "x"))
    print(_line("ratio capture without sync / reference", shots["ratio_no_sync"], "x"))
    print(
        f"  aim <= {AIM}x: {_verdict(shots['ratio'])} with the sync (median), "
        f"{_verdict(shots['ratio_no_sync'])} without it"
    )
    _noise_warning(shots)


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    from PIL import __version__ as pillow

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pillow": pillow,
        "openssl": __import__("ssl").OPENSSL_VERSION,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="evidencekit-bench-", dir=args.workdir))
    SETTLE["seconds"] = args.settle
    started = time.perf_counter()
    out: dict[str, Any] = {"aim": AIM, "quick": args.quick, "repeat": args.repeat, "machine": machine()}
    try:
        log(f"workdir {root}; generating test data")
        inputs = root / "inputs"
        inputs.mkdir()
        if args.only in (None, "big"):
            big_path = inputs / "big.bin"
            write_big_file(big_path, args.big_size)
        if args.only in (None, "screenshots"):
            shots_dir = inputs / "Screenshots"
            shots = write_screenshots(shots_dir, args.screenshots)
        if hasattr(os, "sync"):
            os.sync()
        bench = Bench(root, args.repeat)
        try:
            if args.only in (None, "big"):
                log("big file")
                out["big"] = run_big(bench, big_path)
            if args.only in (None, "screenshots"):
                log("screenshots")
                out["screenshots"] = run_screenshots(bench, shots_dir, shots)
        finally:
            bench.sync.close()
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            _rmtree(root)
    m = out["machine"]
    print(
        f"evidencekit capture benchmark: {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"Pillow {m['pillow']}, {m['openssl']}"
    )
    if "big" in out:
        report_big(out["big"])
    if "screenshots" in out:
        report_screenshots(out["screenshots"], m["cpus"])
    out["seconds_total"] = round(time.perf_counter() - started, 2)
    print(f"\n(total {out['seconds_total']:.1f} s; ratios are per repeat, capture / reference of the same repeat)")
    print(json.dumps(_rounded(out), sort_keys=True))
    return 0


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
