#!/usr/bin/env python3
"""Count what the security suites of issue 7 show, outside pytest: hostile inputs tried and their
outcomes, chat-parser fuzz examples run, tamper cases detected, false problems on untouched data.

* **Hostile inputs**: every generator of `tests/hostile.py` (bombs, absurd EXIF, truncated files,
  hostile zips, huge and deeply nested chats, odd names, link loops, FIFOs, unreadable files),
  plus every file of `../shared/real-images` when present; each captured alone, with an
  ordinary file, into a new case, then verified. A Python exception other than evidencekit's
  own, a lost ordinary file or a failing `verify` afterwards counts as a bug.
* **Fuzz**: each chat parser fed `--fuzz-examples` mutated copies of a valid main file
  (hypothesis, random seed); any exception other than an `EvidenceKitError` counts as a crash.
* **Tamper matrix**: every change of `tests/tampering.py` to a copy of a case and of an
  unpacked package; detected when `verify` (with `--trust` for the real signers) reports a
  failing problem (for the search index, which is not evidence: when it reports nothing).

The last line of standard output is a JSON summary.

    python bench/bench_security.py                      # 500 fuzz examples per parser
    python bench/bench_security.py --fuzz-examples 20000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import evidencekit as ek  # noqa: E402
from evidencekit.bag import unpack_bag  # noqa: E402
from evidencekit.chats import parsers  # noqa: E402
from evidencekit.errors import EvidenceKitError  # noqa: E402
from tests import hostile as H  # noqa: E402
from tests import tampering as T  # noqa: E402

NOW = datetime(2026, 3, 14, 13, 5, 9, tzinfo=UTC)
REAL_IMAGES = ROOT.parent / "shared" / "real-images"


def run_hostile(work: Path) -> dict[str, Any]:
    key, _, _ = H.test_keys()
    inputs = H.make_all(work / "in")
    if REAL_IMAGES.is_dir():
        inputs += H.real_image_inputs(REAL_IMAGES)
    good = H.good_file(work)
    outcomes: Counter[str] = Counter()
    bugs: list[str] = []
    for n, hostile in enumerate(inputs):
        case = ek.init_case(work / f"c{n}", title="hostile", key=key, case_id="EK-HOSTILE", now=NOW)
        try:
            result = ek.capture(case, [*hostile.paths, good], key=key, now=NOW).to_json()
        except Exception as exc:  # noqa: BLE001 - counted, shown, and the run goes on
            bugs.append(f"{hostile.name}: {exc!r}")
            outcomes["exception"] += 1
            continue
        outcomes.update(H.outcome(hostile, result))
        bugs += H.problems_with(hostile, result)
        if not ek.verify(case, raise_on_failure=False).ok:
            bugs.append(f"{hostile.name}: the case does not verify afterwards")
        shutil.rmtree(case.root, ignore_errors=True)
    return {"inputs": len(inputs), "outcomes": dict(sorted(outcomes.items())), "bugs": bugs}


def run_fuzz(examples: int) -> dict[str, Any]:
    samples = H.fuzz_samples()
    counts: dict[str, int] = {}
    crashes: list[str] = []
    for parser in parsers():
        name = parser.__name__.rsplit(".", 1)[-1]
        if name in samples:
            counts[name], found = _fuzz_one(parser, name, samples[name], examples)
            crashes += found
    return {"examples": sum(counts.values()), "per_parser": counts, "crashes": crashes}


def _fuzz_one(parser: Any, name: str, sample: bytes, examples: int) -> tuple[int, list[str]]:
    from hypothesis import HealthCheck, given, settings

    main, seen, found = H.MAIN_NAMES[name], [0], []

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(H.fuzz_strategy(sample))
    def one(data: bytes) -> None:
        seen[0] += 1
        try:
            with H.bounded(10):
                H.run_parser(parser, H.MemoryTree({main: data}))
        except EvidenceKitError:
            pass
        except Exception as exc:  # noqa: BLE001 - a crash: keep the first few, keep going
            if len(found) < 5:
                found.append(f"{name}: {exc!r} on {data[:80]!r}")

    one()
    return seen[0], found


def run_tamper(work: Path) -> dict[str, Any]:
    collector, volunteer, _ = H.test_keys()
    trusted = {collector.public.fingerprint, volunteer.public.fingerprint}
    case = H.build_case(work / "case", work / "material", NOW)
    H.make_writable(case.root)
    package = H.build_package(case, work / "EK-TAMPER.zip", NOW)
    unpacked = unpack_bag(package, work / "unpacked")
    H.make_writable(unpacked)
    targets = {"case": case.root, "package": unpacked}
    false = sum(
        len(ek.verify(t, trusted_keys=trusted, raise_on_failure=False).problems) for t in (case.root, unpacked, package)
    )
    detected, missed = 0, []
    tampers = T.all_tampers()
    for tamper in tampers:
        copy = work / "copies" / tamper.name
        shutil.copytree(targets[tamper.target], copy, symlinks=True)
        tamper.apply(copy)
        failures = ek.verify(copy, trusted_keys=trusted, raise_on_failure=False).failures
        ok = not failures if tamper.name.startswith("case-index-") else bool(failures)
        detected += ok
        if not ok:
            missed.append(tamper.name)
        shutil.rmtree(copy)
    return {"cases": len(tampers), "detected": detected, "missed": missed, "false_problems_untouched": false}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fuzz-examples", type=int, default=500, help="examples per chat parser (default 500)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # Pillow's "corrupt EXIF" warnings are the point here, not news
    summary: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ek-bench-security-") as folder:
        for name, step in (
            ("hostile", lambda: run_hostile(Path(folder) / "hostile")),
            ("fuzz", lambda: run_fuzz(args.fuzz_examples)),
            ("tamper", lambda: run_tamper(Path(folder) / "tamper")),
        ):
            start = time.perf_counter()
            try:
                summary[name] = step()
            except Exception:  # noqa: BLE001 - report the step as broken, run the others
                summary[name] = {"error": traceback.format_exc(limit=3)}
            summary[name]["seconds"] = round(time.perf_counter() - start, 1)
    hostile, fuzz, tamper = summary["hostile"], summary["fuzz"], summary["tamper"]
    print(f"hostile inputs tried: {hostile.get('inputs')}, outcomes: {hostile.get('outcomes')}")
    for bug in hostile.get("bugs", []):
        print(f"  BUG {bug}")
    print(
        f"fuzz examples run: {fuzz.get('examples')} {fuzz.get('per_parser')}, crashes: {len(fuzz.get('crashes', []))}"
    )
    for crash in fuzz.get("crashes", []):
        print(f"  CRASH {crash}")
    print(f"tamper cases detected: {tamper.get('detected')}/{tamper.get('cases')}, missed: {tamper.get('missed')}")
    print(f"false problems on untouched case and package: {tamper.get('false_problems_untouched')}")
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
