#!/usr/bin/env python3
"""Benchmark reports: a case with 2,000 items and a 50,000-message chat, HTML and PDF.

The case: `--items` tiny text files (default 2,000; each a distinct line, so each is an
item) and one WhatsApp (Android-style) `.txt` export of `--messages` messages (default
50,000), captured with a fixed key. Measured, each in a fresh child process that reports its
wall time and its own peak resident memory (VmHWM on Linux: the whole process, interpreter
and imports included):

* **baseline**: building the manifest itself: `encode_manifest` of the case's manifest plus
  both signatures over it (SSHSIG and raw Ed25519), as every capture does;
* **html**: `report(case, format="html")` (every item and every message, streamed);
* **pdf**: `report(case, format="pdf")` (officer's summary and certificate templates).

The chat index is built once before measuring (as `evidencekit messages` would; reports no
longer read it: they stream each chat from its transcript), so the figures are the reports' own. Times are printed, never asserted. The last line of standard
output is a JSON summary with ratios against the baseline.

    python bench/bench_report.py            # 2,000 items, 50,000 messages (~1 minute to set up)
    python bench/bench_report.py --quick    # 200 items, 5,000 messages
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NOW = datetime(2026, 3, 14, 13, 5, 9, tzinfo=UTC)
SENDERS = ["Aisyah Rahman", "Mallory K", "Group admin", "Kumar குமார்", "小明"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_chat(path: Path, messages: int) -> None:
    """An Android-style WhatsApp export (`dd/mm/yyyy, hh:mm - Name: text`), one message a minute."""
    start = datetime(2025, 1, 1, 8, 0).timestamp()
    with open(path, "w", encoding="utf-8") as out:
        for number in range(messages):
            moment = datetime.fromtimestamp(start + number * 61)
            sender = SENDERS[number % len(SENDERS)]
            out.write(f"{moment:%d/%m/%Y, %H:%M} - {sender}: message {number} please delete this now\n")


def build_case(folder: Path, items: int, messages: int) -> Path:
    import evidencekit as ek
    from evidencekit.signing import generate_signing_key_for_tests

    key = generate_signing_key_for_tests("bench", bytes(range(32)))
    case = ek.init_case(folder / "case", title="Benchmark case", key=key, case_id="EK-BENCH", now=NOW)
    files = folder / "files"
    files.mkdir()
    for number in range(items):
        (files / f"note-{number:05d}.txt").write_text(f"evidence note {number}\n", encoding="utf-8")
    chat = folder / "WhatsApp Chat with Benchmark group.txt"
    write_chat(chat, messages)
    started = time.perf_counter()
    ek.capture(case, [files], key=key, source="bench", now=NOW)
    ek.capture(case, [chat], key=key, timezone="Asia/Kuala_Lumpur", date_order="dmy", now=NOW)
    log(f"captured {items} items and a {messages}-message chat in {time.perf_counter() - started:.1f} s")
    ek.reindex(case)
    return case.root


def child(task: str, case_dir: str, out: str) -> None:
    """Run one measurement in this (fresh) process and print {"seconds", "peak_mb"}."""
    import evidencekit as ek

    started = time.perf_counter()
    if task == "baseline":
        from evidencekit.manifest import encode_manifest
        from evidencekit.signing import generate_signing_key_for_tests

        key = generate_signing_key_for_tests("bench", bytes(range(32)))
        _, manifest = ek.Case.open(case_dir).read_manifest()
        data = encode_manifest(manifest)
        key.sign_ssh(data)
        key.sign_raw(data)
    else:
        ek.report(case_dir, format=task, out=out, now=NOW)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {"seconds": seconds, "peak_mb": peak_mb(), "size": Path(out).stat().st_size if task != "baseline" else 0}
        )
    )


def peak_mb() -> float:
    """This process's peak resident memory: VmHWM on Linux (reset by exec, unlike ru_maxrss, which
    a child forked from a big parent inherits), else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20 if sys.platform == "darwin" else 1 << 10)


def measure(task: str, case_dir: Path, work: Path, repeat: int) -> dict[str, Any]:
    runs = []
    for number in range(repeat):
        out = work / f"{task}-{number}.{task}"
        done = subprocess.run(
            [sys.executable, __file__, "--child", task, str(case_dir), str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        out.unlink(missing_ok=True)
    best = min(runs, key=lambda r: r["seconds"])
    return {"seconds": best["seconds"], "peak_mb": max(r["peak_mb"] for r in runs), "size": best["size"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=None, help="tiny evidence files (default 2,000; 200 with --quick)")
    parser.add_argument("--messages", type=int, default=None, help="chat messages (default 50,000; 5,000 with --quick)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats; the fastest is reported")
    parser.add_argument("--quick", action="store_true", help="a small case for a smoke run")
    parser.add_argument("--child", nargs=3, metavar=("TASK", "CASE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    items = args.items or (200 if args.quick else 2_000)
    messages = args.messages or (5_000 if args.quick else 50_000)
    with tempfile.TemporaryDirectory(prefix="ek-bench-report-") as temp:
        work = Path(temp)
        case_dir = build_case(work, items, messages)
        results = {task: measure(task, case_dir, work, args.repeat) for task in ("baseline", "html", "pdf")}
    base = results["baseline"]
    for task in ("html", "pdf"):
        result = results[task]
        result["time_ratio"] = result["seconds"] / base["seconds"]
        result["memory_ratio"] = result["peak_mb"] / base["peak_mb"]
    for task, result in results.items():
        log(
            f"{task:<9} {result['seconds']:8.2f} s   peak {result['peak_mb']:7.1f} MB   output {result['size'] / 1e6:6.1f} MB"
        )
    summary = {
        "items": items,
        "messages": messages,
        "results": {k: {m: round(v, 3) for m, v in r.items()} for k, r in results.items()},
        "machine": {"python": platform.python_version(), "system": platform.platform()},
    }
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
