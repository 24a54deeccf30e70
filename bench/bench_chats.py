#!/usr/bin/env python3
"""Benchmark the chat parsers: a generated Telegram result.json against `json.load` of the same file.

* **Telegram JSON** (`--messages`, default 1,000,000; 50,000 with `--quick`): a result.json in
  Telegram Desktop's own layout (one-space indentation, `date` and `date_unixtime`, text as a
  string or an entity list, `text_entities`, some replies, photos and edits). Reference:
  `json.load` of the file (what a naive parser does). Measured: parse + transcript write
  (`telegram_json.parse` and `transcript.write_transcript` to a file in the temporary folder).
  Each measurement runs in a fresh child process, which reports its wall and CPU time and its own peak
  resident memory (`resource.getrusage(RUSAGE_SELF).ru_maxrss`, i.e. the whole process:
  interpreter, imports and the parse). Aim: the parse's peak below 300 MB.
* **WhatsApp** (`--whatsapp-messages`, default 40,000): a generated Android-style `.txt`,
  parsed and written the same way, if `evidencekit/chats/whatsapp.py` exists.

Wall times are printed, never asserted. The last line of standard output is a JSON summary.

    python bench/bench_chats.py            # 1,000,000 messages (~350 MB; a few minutes)
    python bench/bench_chats.py --quick    # 50,000 messages
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import WORDS, log  # the same words and log line as the other benchmarks

AIM_MB = 300
QUICK_MESSAGES = 50_000
SENDERS = [("Aisyah Rahman", "user5123456781"), ("Mallory K", "user6987654321"), ("Group admin", "user1000000001")]


# --------------------------------------------------------------------------- test data


def _text(number: int) -> str:
    count = 3 + number % 12
    return " ".join(WORDS[(number * 7 + i) % len(WORDS)] for i in range(count))


def _telegram_message(number: int, start: int) -> str:
    name, user = SENDERS[number % len(SENDERS)]
    unixtime = start + number * 37
    local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(unixtime + 8 * 3600))
    text = json.dumps(_text(number), ensure_ascii=False)
    lines = [
        f'   "id": {number + 1}',
        '   "type": "message"',
        f'   "date": "{local}"',
        f'   "date_unixtime": "{unixtime}"',
    ]
    if number % 50 == 7:
        lines += [f'   "edited": "{local}"', f'   "edited_unixtime": "{unixtime + 60}"']
    lines += [f'   "from": "{name}"', f'   "from_id": "{user}"']
    if number % 10 == 3:
        lines.append(f'   "reply_to_message_id": {number}')
    if number % 40 == 5:
        lines += [
            '   "photo": "(File not included. Change data exporting settings to download.)"',
            '   "width": 1280',
            '   "height": 960',
        ]
    if number % 25 == 11:
        link = '{\n     "type": "link",\n     "text": "https://t.me/example"\n    }'
        lines.append(f'   "text": [\n    {text},\n    {link}\n   ]')
        lines.append(
            f'   "text_entities": [\n    {{\n     "type": "plain",\n     "text": {text}\n    }},\n    {link}\n   ]'
        )
    else:
        lines.append(f'   "text": {text}')
        lines.append(f'   "text_entities": [\n    {{\n     "type": "plain",\n     "text": {text}\n    }}\n   ]')
    return "  {\n" + ",\n".join(lines) + "\n  }"


def write_telegram(path: Path, messages: int) -> None:
    """A single-chat result.json of `messages` messages, written in 10,000-message blocks."""
    start = 1_700_000_000
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            '{\n "name": "Benchmark group",\n "type": "private_supergroup",\n "id": 1234567890,\n "messages": [\n'
        )
        for block in range(0, messages, 10_000):
            items = [_telegram_message(n, start) for n in range(block, min(block + 10_000, messages))]
            out.write(("," if block else "") + ",\n".join(items) + "\n")
        out.write(" ]\n}\n")


def write_whatsapp(path: Path, messages: int) -> None:
    """An Android-style WhatsApp export: "dd/mm/yyyy, HH:MM - Name: text", some multi-line."""
    start = 1_700_000_000
    with open(path, "w", encoding="utf-8") as out:
        for number in range(messages):
            moment = time.gmtime(start + number * 61)
            name = SENDERS[number % len(SENDERS)][0]
            extra = "\nand one more line" if number % 20 == 9 else ""
            out.write(f"{time.strftime('%d/%m/%Y, %H:%M', moment)} - {name}: {_text(number)}{extra}\n")


# --------------------------------------------------------------------------- child processes


def child(kind: str, target: str, out: str) -> None:
    """Run one measurement in this (fresh) process; print its seconds and peak memory as JSON."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result: dict[str, Any] = {}
    if kind == "json-load":
        with open(target, encoding="utf-8") as stream:
            result["messages"] = len(json.load(stream)["messages"])
    else:
        from evidencekit.chats import ParseOptions, open_tree
        from evidencekit.chats.transcript import write_transcript

        module = importlib.import_module(f"evidencekit.chats.{kind}")
        tree = open_tree(target)
        options = ParseOptions(timezone="Asia/Kuala_Lumpur")
        result["messages"] = 0
        with open(out, "wb") as sink:
            for main in module.detect(tree):
                for chat in module.parse(tree, main, options):
                    written = write_transcript(sink, module, tree, main, chat)
                    result["messages"] += written.summary["messages"]
    result["seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["peak_mb"] = peak / (1 << 20) if sys.platform == "darwin" else peak / 1024
    print(json.dumps(result))


def measure(kind: str, target: Path, out: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(target), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------- scenarios


def run_telegram(root: Path, messages: int, repeat: int) -> dict[str, Any]:
    folder = root / "ChatExport_2026-03-14"
    folder.mkdir()
    path = folder / "result.json"
    log(f"generating a {messages:,}-message result.json")
    write_telegram(path, messages)
    rows: dict[str, list[float]] = {
        k: [] for k in ("json_load", "json_load_mb", "parse", "parse_cpu", "parse_mb", "ratio", "cpu_ratio")
    }
    for rep in range(repeat):
        order = ("json-load", "telegram_json") if rep % 2 == 0 else ("telegram_json", "json-load")
        results = {kind: measure(kind, path if kind == "json-load" else folder, root / "t.jsonl") for kind in order}
        load, parse = results["json-load"], results["telegram_json"]
        if parse["messages"] != messages or load["messages"] != messages:
            raise SystemExit(f"expected {messages} messages, parse read {parse['messages']}")
        rows["json_load"].append(load["seconds"])
        rows["json_load_mb"].append(load["peak_mb"])
        rows["parse"].append(parse["seconds"])
        rows["parse_cpu"].append(parse["cpu_seconds"])
        rows["parse_mb"].append(parse["peak_mb"])
        rows["ratio"].append(parse["seconds"] / load["seconds"])
        rows["cpu_ratio"].append(parse["cpu_seconds"] / load["cpu_seconds"])
        log(
            f"  repeat {rep + 1}: json.load {load['seconds']:.2f}s ({load['peak_mb']:.0f} MB peak); "
            f"parse + write {parse['seconds']:.2f}s ({parse['peak_mb']:.0f} MB peak) -> ratio {rows['ratio'][-1]:.2f}"
        )
    return {"messages": messages, "bytes": path.stat().st_size, **_summaries(rows)}


def run_whatsapp(root: Path, messages: int, repeat: int) -> dict[str, Any] | None:
    if importlib.util.find_spec("evidencekit.chats.whatsapp") is None:
        print("\nWhatsApp: skipped (evidencekit/chats/whatsapp.py does not exist yet)")
        return None
    folder = root / "whatsapp"
    folder.mkdir()
    path = folder / "WhatsApp Chat with Benchmark.txt"
    write_whatsapp(path, messages)
    rows: dict[str, list[float]] = {"parse": [], "parse_cpu": [], "parse_mb": []}
    for rep in range(repeat):
        result = measure("whatsapp", folder, root / "w.jsonl")
        rows["parse"].append(result["seconds"])
        rows["parse_cpu"].append(result["cpu_seconds"])
        rows["parse_mb"].append(result["peak_mb"])
        log(
            f"  whatsapp repeat {rep + 1}: {result['messages']:,} messages in {result['seconds']:.2f}s "
            f"({result['cpu_seconds']:.2f}s CPU)"
        )
    return {"messages": messages, "bytes": path.stat().st_size, **_summaries(rows)}


def _summaries(rows: dict[str, list[float]]) -> dict[str, Any]:
    return {k: {"min": min(v), "median": statistics.median(v), "max": max(v)} for k, v in rows.items()}


def report(telegram: dict[str, Any], whatsapp: dict[str, Any] | None) -> None:
    def line(label: str, values: dict[str, float], unit: str) -> None:
        print(f"  {label:<44} {values['min']:>9.2f}{unit} {values['median']:>9.2f}{unit} {values['max']:>9.2f}{unit}")

    print(
        f"\nTelegram result.json: {telegram['messages']:,} messages, {telegram['bytes'] / 1e6:.0f} MB"
        f"{'':<6}{'min':>10} {'median':>10} {'max':>10}"
    )
    line("reference: json.load (child process)", telegram["json_load"], "s")
    line("  its peak memory (whole process)", telegram["json_load_mb"], "M")
    line("parse + transcript write (child process)", telegram["parse"], "s")
    line("  its CPU time", telegram["parse_cpu"], "s")
    line("  its peak memory (whole process)", telegram["parse_mb"], "M")
    line("ratio parse + write / json.load", telegram["ratio"], "x")
    line("  the same in CPU time", telegram["cpu_ratio"], "x")
    verdict = "met" if telegram["parse_mb"]["max"] < AIM_MB else "NOT met"
    print(f"  aim: peak memory of the parse < {AIM_MB} MB: {verdict}")
    if whatsapp is not None:
        print(f"\nWhatsApp .txt: {whatsapp['messages']:,} messages, {whatsapp['bytes'] / 1e6:.1f} MB")
        line("parse + transcript write (child process)", whatsapp["parse"], "s")
        line("  its CPU time", whatsapp["parse_cpu"], "s")
        line("  its peak memory (whole process)", whatsapp["parse_mb"], "M")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=None, help="Telegram messages (default 1,000,000)")
    parser.add_argument("--whatsapp-messages", type=int, default=40_000, help="WhatsApp messages (default 40,000)")
    parser.add_argument("--repeat", type=int, default=1, help="repeats; min, median and max are reported")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_MESSAGES:,} Telegram messages")
    parser.add_argument("--workdir", type=Path, default=None, help="where the temporary folder is made")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.messages is None:
        args.messages = QUICK_MESSAGES if args.quick else 1_000_000
    if args.repeat < 1 or args.messages < 1:
        parser.error("--repeat and --messages must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return 0
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="evidencekit-bench-chats-", dir=args.workdir))
    started = time.perf_counter()
    try:
        telegram = run_telegram(root, args.messages, args.repeat)
        whatsapp = run_whatsapp(root, args.whatsapp_messages, args.repeat)
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"evidencekit chat parser benchmark: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    report(telegram, whatsapp)
    summary = {
        "aim_peak_mb": AIM_MB,
        "quick": args.quick,
        "repeat": args.repeat,
        "memory": "ru_maxrss of a child process running only the measured step (whole process)",
        "telegram": telegram,
        "whatsapp": whatsapp,
        "seconds_total": time.perf_counter() - started,
    }
    print(json.dumps(_rounded(summary), sort_keys=True))
    return 0


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


if __name__ == "__main__":
    sys.exit(main())
