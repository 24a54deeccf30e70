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
import os
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import (
    AIM,
    CHUNK,
    Probe,
    Timer,
    add_common_arguments,
    close_repeat,
    finish_arguments,
    hash_alone,
    line,
    log,
    measure,
    noise_warning,
    percent,
    record,
    results,
    rmtree,
    run_main,
    verdict,
    warm,
    write_big_file,
    write_screenshots,
)

ALGORITHMS = ("sha256", "sha1", "md5")

# --------------------------------------------------------------------------- arguments


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


# --------------------------------------------------------------------------- references


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


class Bench:
    def __init__(self, root: Path, repeat: int):
        import evidencekit as ek

        self.ek = ek
        self.root = root
        self.repeat = repeat
        home = root / "home"
        ek.create_key("bench", passphrase=None, home=home, kdf_rounds=4)
        self.key = ek.load_signing_key("bench", passphrase=None, home=home)
        self.sync = Probe("evidencekit.capture", "sync_store")
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
        rmtree(case_dir)
        return timer, sync_seconds, {"items": items}


def _files(inputs: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in inputs:
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


def _capture_rows(rows: dict[str, list[float]], timer: Timer, sync_seconds: float) -> None:
    record(rows, "capture", timer)
    rows["sync"].append(sync_seconds)
    rows["capture_no_sync"].append(timer.wall - sync_seconds)
    rows["cap_user"].append(timer.user)
    rows["cap_sys"].append(timer.sys)


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
                record(rows, name, timer)
                expected[name] = digest
            timer, _ = measure(lambda: three_side_by_side(path), lambda: warm([path]))
            record(rows, "three_threads", timer)
            target = bench.root / "plain-copy"
            timer, _ = measure(lambda: plain_copy(path, target), lambda: warm([path]))
            record(rows, "copy", timer)
            target.unlink()  # dropped before it is written back, so no sync cost later

        def capture() -> None:
            timer, sync_seconds, out = bench.capture([path], expect=1)
            captured["sha256"] = out["items"][0]["sha256"]
            _capture_rows(rows, timer, sync_seconds)

        for step in (references, capture) if rep % 2 == 0 else (capture, references):
            step()
        if captured["sha256"] != expected["sha256"]:
            raise SystemExit("the capture's SHA-256 differs from hashlib's")
        close_repeat(rows)
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
    return {"bytes": path.stat().st_size, "slowest_hash": slowest_name, **results(rows)}


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
            record(rows, "decode", timer)
            rows["decode_cpu"].append(timer.user + timer.sys)

        def capture() -> None:
            timer, sync_seconds, out = bench.capture([folder], expect=len(paths))
            bad = [i for i in out["items"] if i["analysis"] != "ok"]
            if bad:
                raise SystemExit(f"image analysis failed for {len(bad)} screenshots, e.g. {bad[0]}")
            _capture_rows(rows, timer, sync_seconds)

        for step in (reference, capture) if rep % 2 == 0 else (capture, reference):
            step()
        close_repeat(rows)
        rows["ratio"].append(rows["capture"][-1] / rows["decode"][-1])
        rows["ratio_no_sync"].append(rows["capture_no_sync"][-1] / rows["decode"][-1])
        log(
            f"  screenshots, repeat {rep + 1}: decode {rows['decode'][-1]:.2f}s; capture {rows['capture'][-1]:.2f}s "
            f"(sync {rows['sync'][-1]:.2f}s) -> ratio {rows['ratio'][-1]:.2f} "
            f"({rows['ratio_no_sync'][-1]:.2f} without sync); "
            f"other processes used up to {rows['others'][-1]:.0%} of the CPU"
        )
    return {"count": len(paths), "bytes": sum(p.stat().st_size for p in paths), **results(rows)}


# --------------------------------------------------------------------------- report


def report_big(big: dict[str, Any]) -> None:
    size = big["bytes"]
    print(
        f"\nBig file: {size / (1 << 30):.2f} GiB of random bytes ({len(big['runs']['capture'])} repeats)"
        f"{'':<7}{'min':>9} {'median':>9}"
    )
    for name in ALGORITHMS:
        print(line(f"{name} alone (read + hash, 1 MiB chunks)", big[name]))
    print(line(f"reference = slowest of the three ({big['slowest_hash']})", big["slowest"]))
    print(line("  info: the three on 3 threads at once", big["three_threads"]))
    print(line("  info: plain copy (read + write, no hash/sync)", big["copy"]))
    report_capture(big)


def report_screenshots(shots: dict[str, Any], cores: int) -> None:
    print(
        f"\nScreenshots: {shots['count']} PNGs, {shots['bytes'] / 1e6:.0f} MB "
        f"({len(shots['runs']['capture'])} repeats){'':<18}{'min':>9} {'median':>9}"
    )
    print(line(f"reference = one full decode each, {cores} threads", shots["decode"]))
    print(line("  reference CPU (user + system, all threads)", shots["decode_cpu"]))
    report_capture(shots)


def report_capture(result: dict[str, Any]) -> None:
    """The capture rows, ratios and verdict every scenario prints below its references."""
    print(line("capture (total)", result["capture"]))
    print(line("  of which os.sync() in sync_store", result["sync"]))
    print(line("  capture without the sync", result["capture_no_sync"]))
    print(line("  capture CPU user (all threads)", result["cap_user"]))
    print(line("  capture CPU system", result["cap_sys"]))
    print(line("  info: CPU used by other processes", percent(result["others"]), "%"))
    print(line("ratio capture / reference", result["ratio"], "x"))
    print(line("ratio capture without sync / reference", result["ratio_no_sync"], "x"))
    print(
        f"  aim <= {AIM}x: {verdict(result['ratio'])} with the sync (median), "
        f"{verdict(result['ratio_no_sync'])} without it"
    )
    noise_warning(result)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(args, what="capture", body=lambda root, out: measure_all(args, root, out), report=report)


def measure_all(args: argparse.Namespace, root: Path, out: dict[str, Any]) -> None:
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


def report(out: dict[str, Any]) -> None:
    if "big" in out:
        report_big(out["big"])
    if "screenshots" in out:
        report_screenshots(out["screenshots"], out["machine"]["cpus"])


if __name__ == "__main__":
    sys.exit(main())
