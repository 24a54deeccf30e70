#!/usr/bin/env python3
"""Kill evidencekit commands with SIGKILL at random moments, hundreds of times each, and count
what happened: the long run of the crash suite of issue 7 (`tests/test_crash.py` runs a few
rounds of the same loop in CI).

Commands: `capture` (40 screenshots and three 3 MiB files), `capture-chat` (a WhatsApp export
zip: members and a transcript in flight), `package`, `custody-transfer` and `reindex`. After
each kill the case must verify as it is, or verify after `recover`, with no stored object
lost or changed and every committed item intact; a killed `package` must leave the case
untouched and no half-written zip; a killed `reindex` must leave `list_messages` working
(the checks are in `tests/crashing.py`). A failed check is counted, and the loop goes on with
a fresh case. The last line of standard output is a JSON summary; the exit status is 1 when
any round failed.

    python bench/bench_crash.py                      # 200 rounds per command
    python bench/bench_crash.py --rounds 20 --only package --only reindex
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.crashing import COMMANDS, child_key, run_rounds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="kills per command (default 200)")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--only", action="append", choices=sorted(COMMANDS), help="run only this command")
    parser.add_argument("--workdir", type=Path, default=None, help="where the temporary folder is made")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-crash-", dir=args.workdir))
    summary: dict[str, dict[str, object]] = {}
    started = time.monotonic()
    try:
        for name in args.only or list(COMMANDS):
            began = time.monotonic()
            tally = run_rounds(
                COMMANDS[name], work / name, args.rounds, seed=args.seed, key=child_key(), keep_going=True
            )
            summary[name] = {**tally.to_json(), "seconds": round(time.monotonic() - began, 1)}
            print(
                f"{name}: {tally.rounds} rounds, {tally.outcomes.get('intact', 0)} intact, "
                f"{tally.outcomes.get('recovered', 0)} recovered, {len(tally.failures)} failed "
                f"(an uninterrupted run takes {tally.span:.2f} s)"
            )
            for failure in tally.failures[:5]:
                print(f"  FAILED {failure}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    totals = {
        key: sum(int(row[key]) for row in summary.values())  # type: ignore[call-overload]
        for key in ("rounds", "recoveries", "failures")
    }
    print(
        json.dumps(
            {"seed": args.seed, **totals, "seconds": round(time.monotonic() - started, 1), "commands": summary},
            sort_keys=True,
        )
    )
    return 1 if totals["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
