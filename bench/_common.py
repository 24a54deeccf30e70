"""What both evidencekit benchmarks share: options, test data, warming, timing, machine load, reporting.

`bench_capture.py` and `bench_package.py` import from here; see README.md for the method.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
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


WORDS = [
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
        lines = [" ".join(pick.choice(WORDS) for _ in range(pick.randint(3, 6))) for _ in range(pick.randint(1, 4))]
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


class Probe:
    """Wraps `module.attr` (looked up by the library at call time) and adds up the time spent in it."""

    def __init__(self, module: str | Any, attr: str):
        # a module name is looked up in sys.modules: `evidencekit.verify` the attribute is the function
        self._module = importlib.import_module(module) if isinstance(module, str) else module
        self._attr = attr
        self._original = getattr(self._module, attr)
        self.seconds = 0.0
        original = self._original

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        setattr(self._module, attr, timed)

    def take(self) -> float:
        """The seconds spent in it since the last `take()`."""
        seconds, self.seconds = self.seconds, 0.0
        return seconds

    def close(self) -> None:
        setattr(self._module, self._attr, self._original)


def rmtree(path: Path) -> None:
    def retry(func: Callable[..., Any], target: str, _exc: Any) -> None:
        os.chmod(target, stat.S_IWRITE | stat.S_IREAD)  # objects are read-only (matters on Windows)
        func(target)

    if path.exists():
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=retry)
        else:
            shutil.rmtree(path, onerror=retry)


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values)}


def record(rows: dict[str, list[float]], name: str, timer: Timer) -> None:
    rows[name].append(timer.wall)
    rows.setdefault("_others", []).append(timer.others)


def close_repeat(rows: dict[str, list[float]]) -> None:
    """The busiest neighbour load seen in this repeat's measurements becomes its `others` figure."""
    rows["others"].append(max(rows.pop("_others", [0.0])))


def results(rows: dict[str, list[float]]) -> dict[str, Any]:
    return {
        "runs": {k: [round(v, 4) for v in vs] for k, vs in rows.items()},
        **{k: summary(vs) for k, vs in rows.items()},
    }


# --------------------------------------------------------------------------- report


def line(label: str, values: dict[str, float], unit: str = "s") -> str:
    return f"  {label:<48} {values['min']:>8.2f}{unit} {values['median']:>8.2f}{unit}"


def percent(values: dict[str, float]) -> dict[str, float]:
    return {k: 100 * v for k, v in values.items()}


def noise_warning(result: dict[str, Any]) -> None:
    worst = max(result["runs"]["others"])
    if worst > NOISY:
        print(
            f"  WARNING: other processes used up to {worst:.0%} of the CPU during a measurement; "
            "the figures are inflated and noisy, run again on a quiet machine"
        )


def verdict(ratio: dict[str, float]) -> str:
    return "met" if ratio["median"] <= AIM else "NOT met"


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


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def run_main(
    args: argparse.Namespace,
    *,
    what: str,
    body: Callable[[Path, dict[str, Any]], None],
    report: Callable[[dict[str, Any]], None],
) -> int:
    """Run `body(root, out)` in a fresh temporary folder (removed unless --keep), then print the report.

    `out` starts with the aim, options and machine; `body` adds its results. The last line of
    standard output is `out` as JSON.
    """
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"evidencekit-bench-{what}-", dir=args.workdir))
    SETTLE["seconds"] = args.settle
    started = time.perf_counter()
    out: dict[str, Any] = {"aim": AIM, "quick": args.quick, "repeat": args.repeat, "machine": machine()}
    try:
        body(root, out)
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            rmtree(root)
    m = out["machine"]
    print(
        f"evidencekit {what} benchmark: {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"Pillow {m['pillow']}, {m['openssl']}"
    )
    report(out)
    out["seconds_total"] = round(time.perf_counter() - started, 2)
    setup = f", of which {out['setup_seconds']:.1f} s building the test data" if "setup_seconds" in out else ""
    print(f"\n(total {out['seconds_total']:.1f} s{setup}; ratios are per repeat, against the same repeat's reference)")
    print(json.dumps(rounded(out), sort_keys=True))
    return 0
