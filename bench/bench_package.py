#!/usr/bin/env python3
"""Benchmark `evidencekit.package` and package verification against hashlib references measured in the same run.

One case is built once, with the public API and a test key: a big file (`--big-size`,
default 2 GiB of `os.urandom` bytes) and `--screenshots` PNGs (default 300), captured
together. Then, `--repeat` times (the order of the steps alternates between repeats):

* **references**: every stored object of the case read in 1 MiB chunks and hashed with
  hashlib, one algorithm at a time: SHA-256, SHA-512, SHA-1, MD5. Each operation must compute
  some of them over every stored byte:
  - `package()`: SHA-256 and SHA-512 (the bag's two payload manifests);
  - `verify(zip)`: SHA-256 + SHA-512 (bag) and SHA-256 + SHA-1 + MD5 (the case's items);
  - `verify(case)`: SHA-256 + SHA-1 + MD5.
  **An operation's reference is the least time hashlib needs for its digests on this
  machine**: the slowest of them alone, or, when they add up to more than one per core,
  their total shared perfectly over the cores, whichever is longer. (With a core per
  digest, that is the slowest digest alone; on two cores, verify(zip)'s four digests
  cannot take less than half their total.) For information, each operation's ratio to the
  slowest of its digests alone.
* `evidencekit.package(case, key=..., out=..., now=fixed)`: a fresh zip each repeat. Its
  parts are timed by wrapping library functions in this script (the library is not changed):
  the `verify(case)` it runs first (a full re-hash of the case before commit 4ad72a0; since then
  `hash_objects=False`, with each stored copy checked while it is zipped), the zip writing
  (`_bagwrite.write_zip`), the four reports (`package._render_reports`, on their own thread
  while the zip is written), the `os.fsync` of the zip, and the rest (renaming it into place).
  `package()` does not hash its own zip: `PackageResult.sha256` reads the zip back when first
  asked for. That read-back is timed after the package, for information (the CLI prints the
  SHA-256, so `evidencekit package` pays it).
* `evidencekit.package(..., reports=False)`, as `evidencekit package --no-reports`.
* `evidencekit.verify(zip)` of a package made before the repeats.
* `evidencekit.verify(case folder)`, for comparison.

Aim (from the issue): packaging and package verification within 1.3x of the reference.
The page cache is warmed identically before every measurement (every input byte read once)
and `os.sync()` runs first. Wall times are printed, never asserted. The last line of standard
output is a JSON summary.

    python bench/bench_package.py            # full sizes (several minutes)
    python bench/bench_package.py --quick    # smoke run: 64 MiB and 20 screenshots
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from _common import (
    AIM,
    Probe,
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

HASHES = ("sha256", "sha512", "sha1", "md5")
#: The algorithms each operation must compute over every stored byte.
NEEDS = {
    "package": ("sha256", "sha512"),
    "verify_zip": ("sha256", "sha512", "sha1", "md5"),
    "verify_case": ("sha256", "sha1", "md5"),
}
OPERATIONS = {"package": "package()", "verify_zip": "verify(zip)", "verify_case": "verify(case)"}
NOW = datetime(2026, 3, 14, 21, 5, 9, tzinfo=timezone(timedelta(hours=8)))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_arguments(
        parser,
        workdir_help="folder for the case and packages (a temporary folder is made inside it "
        "and removed at the end; default: the system temp folder)",
        keep_help="keep the temporary folder (the case and one package)",
    )
    return finish_arguments(parser, argv)


# --------------------------------------------------------------------------- references


def hash_files(paths: list[Path], name: str) -> list[str]:
    """Each file read in 1 MiB chunks and hashed with one algorithm (a fresh hasher per file)."""
    return [hash_alone(path, name) for path in paths]


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def reference(seconds: dict[str, float], needs: tuple[str, ...], cpus: int) -> float:
    """The least time hashlib needs for `needs` here: the slowest alone, or their total shared over the CPUs."""
    return max(max(seconds[name] for name in needs), sum(seconds[name] for name in needs) / cpus)


# --------------------------------------------------------------------------- probes


class PackageProbes:
    """The parts of `package()`: its `verify(case)` pre-check, writing the zip, its fsync, and the rest."""

    def __init__(self) -> None:
        # `package()` imports `verify` from the module at call time; `evidencekit.verify` the
        # attribute is the function, so the module is taken from sys.modules
        self.verify = Probe("evidencekit.verify", "verify")
        self.write_zip = Probe("evidencekit._bagwrite", "write_zip")
        self.atomic = Probe("evidencekit._bagwrite", "write_atomically")
        self.fsync = Probe(os, "fsync")
        self.reports = Probe("evidencekit.package", "_render_reports")

    def take(self) -> dict[str, float]:
        atomic, write, fsync = self.atomic.take(), self.write_zip.take(), self.fsync.take()
        # write_atomically = write_zip + fsync (+ the folder's) + chmod/link
        return {
            "pre_verify": self.verify.take(),
            "reports": self.reports.take(),
            "write_zip": write,
            "fsync": fsync,
            "rest": atomic - write - fsync,
        }

    def close(self) -> None:
        for probe in (self.verify, self.reports, self.write_zip, self.atomic, self.fsync):
            probe.close()


# --------------------------------------------------------------------------- the case


class Setup:
    """The case (built once), its stored objects, and one package to verify."""

    def __init__(self, root: Path, big_size: int, screenshots: int):
        import evidencekit as ek
        from evidencekit.signing import generate_signing_key_for_tests

        self.ek = ek
        self.root = root
        self.key = generate_signing_key_for_tests("bench", bytes(range(32)))
        inputs = root / "inputs"
        inputs.mkdir()
        log(f"  writing a {big_size / (1 << 30):.2f} GiB random file and {screenshots} screenshots")
        big = inputs / "big.bin"
        write_big_file(big, big_size)
        shots = inputs / "Screenshots"
        write_screenshots(shots, screenshots)
        log("  capturing them into one case")
        self.case = ek.init_case(root / "case", title="package benchmark", key=self.key, now=NOW)
        result = ek.capture(self.case, [big, shots], key=self.key, now=NOW)
        if result.failed or len(result.items) != 1 + screenshots:
            raise SystemExit(f"capture went wrong: {len(result.items)} items, failed: {result.failed[:3]}")
        rmtree(inputs)  # only the case is needed from here on
        _, manifest = self.case.read_manifest()
        self.objects = [self.case.root / item["object"] for item in manifest["items"]]
        self.bytes = sum(p.stat().st_size for p in self.objects)
        self.case_files = [p for p in self.case.root.rglob("*") if p.is_file()]
        self.expected_sha256 = [item["sha256"] for item in manifest["items"]]
        log("  packaging it once (the package that verify(zip) checks)")
        self.zip = root / "reference-package.zip"
        self.package_sha256 = self.package(self.zip).sha256
        if hash_alone(self.zip, "sha256") != self.package_sha256:
            raise SystemExit("package() reported a SHA-256 that is not the zip's")
        self.zip_size = self.zip.stat().st_size

    def package(self, out: Path, *, reports: bool = True) -> Any:
        return self.ek.package(self.case, key=self.key, out=out, now=NOW, reports=reports)


def run(setup: Setup, repeat: int) -> dict[str, Any]:
    ek = setup.ek
    cpus = usable_cpus()
    names = (
        *HASHES,
        "ref_package",
        "ref_verify_zip",
        "ref_verify_case",
        "slowest_package",
        "slowest_verify_zip",
        "slowest_verify_case",
        "package",
        "pre_verify",
        "reports",
        "write_zip",
        "fsync",
        "rest",
        "sha256_on_demand",
        "package_and_sha256",
        "package_no_fsync",
        "pkg_user",
        "pkg_sys",
        "verify_zip",
        "vzip_user",
        "vzip_sys",
        "verify_case",
        "vcase_user",
        "vcase_sys",
        "ratio_package",
        "ratio_package_no_fsync",
        "ratio_pre_verify",
        "ratio_package_rest",
        "package_no_reports",
        "ratio_package_no_reports",
        "ratio_package_and_sha256",
        "ratio_verify_zip",
        "ratio_verify_case",
        "ratio_package_vs_slowest",
        "ratio_verify_zip_vs_slowest",
        "ratio_verify_case_vs_slowest",
        "others",
    )
    rows: dict[str, list[float]] = {k: [] for k in names}
    probes = PackageProbes()
    objects = setup.objects
    try:
        for rep in range(repeat):

            def references() -> None:
                for name in HASHES:
                    timer, digests = measure(partial(hash_files, objects, name), lambda: warm(objects))
                    record(rows, name, timer)
                    if name == "sha256" and digests != setup.expected_sha256:
                        raise SystemExit("hashlib's SHA-256 of the stored objects differs from the manifest")

            def package(out: Path = setup.root / f"package-{rep + 1}.zip") -> None:
                probes.take()
                timer, result = measure(lambda: setup.package(out), lambda: warm(setup.case_files))
                parts = probes.take()
                start = time.perf_counter()
                if result.sha256 != setup.package_sha256:  # read back on demand: what the CLI pays to print it
                    raise SystemExit("packaging the same case at the same time gave different bytes")
                rows["sha256_on_demand"].append(time.perf_counter() - start)
                rows["package_and_sha256"].append(timer.wall + rows["sha256_on_demand"][-1])
                if hash_alone(out, "sha256") != result.sha256:  # checked after the timing
                    raise SystemExit("package() reported a SHA-256 that is not the zip's")
                out.unlink()
                record(rows, "package", timer)
                for part, seconds in parts.items():
                    rows[part].append(seconds)
                rows["package_no_fsync"].append(timer.wall - parts["fsync"])
                rows["pkg_user"].append(timer.user)
                rows["pkg_sys"].append(timer.sys)
                plain = out.with_name(f"{out.stem}-no-reports.zip")  # as `evidencekit package --no-reports`
                timer, _ = measure(lambda: setup.package(plain, reports=False), lambda: warm(setup.case_files))
                plain.unlink()
                probes.take()
                record(rows, "package_no_reports", timer)

            def verify_zip() -> None:
                timer, report = measure(lambda: ek.verify(setup.zip), lambda: warm([setup.zip]))
                if not report.ok or report.stored != len(objects):
                    raise SystemExit(f"verify(zip) failed: {report.failures[:3]}")
                record(rows, "verify_zip", timer)
                rows["vzip_user"].append(timer.user)
                rows["vzip_sys"].append(timer.sys)

            def verify_case() -> None:
                probes.take()
                timer, report = measure(lambda: ek.verify(setup.case), lambda: warm(setup.case_files))
                probes.take()
                if not report.ok or report.stored != len(objects):
                    raise SystemExit(f"verify(case) failed: {report.failures[:3]}")
                record(rows, "verify_case", timer)
                rows["vcase_user"].append(timer.user)
                rows["vcase_sys"].append(timer.sys)

            steps = (references, package, verify_zip, verify_case)
            for step in steps if rep % 2 == 0 else tuple(reversed(steps)):
                step()
            close_repeat(rows)
            last = {name: rows[name][-1] for name in HASHES}
            refs = {op: reference(last, needs, cpus) for op, needs in NEEDS.items()}
            for op, needs in NEEDS.items():
                rows[f"ref_{op}"].append(refs[op])
                rows[f"slowest_{op}"].append(max(last[n] for n in needs))
                rows[f"ratio_{op}_vs_slowest"].append(rows[op][-1] / rows[f"slowest_{op}"][-1])
            rows["ratio_package"].append(rows["package"][-1] / refs["package"])
            rows["ratio_package_no_fsync"].append(rows["package_no_fsync"][-1] / refs["package"])
            rows["ratio_pre_verify"].append(rows["pre_verify"][-1] / refs["package"])
            rows["ratio_package_rest"].append((rows["package"][-1] - rows["pre_verify"][-1]) / refs["package"])
            rows["ratio_package_no_reports"].append(rows["package_no_reports"][-1] / refs["package"])
            rows["ratio_package_and_sha256"].append(rows["package_and_sha256"][-1] / refs["package"])
            rows["ratio_verify_zip"].append(rows["verify_zip"][-1] / refs["verify_zip"])
            rows["ratio_verify_case"].append(rows["verify_case"][-1] / refs["verify_case"])
            log(
                f"  repeat {rep + 1}: "
                + ", ".join(f"{name} {last[name]:.2f}s" for name in HASHES)
                + f"; package {rows['package'][-1]:.2f}s (pre-check verify {rows['pre_verify'][-1]:.2f}s, "
                f"reports {rows['reports'][-1]:.2f}s, "
                f"zip {rows['write_zip'][-1]:.2f}s, fsync {rows['fsync'][-1]:.2f}s, "
                f"rest {rows['rest'][-1]:.2f}s) -> {rows['ratio_package'][-1]:.2f}x "
                f"(+ SHA-256 on demand {rows['sha256_on_demand'][-1]:.2f}s); "
                f"without reports {rows['package_no_reports'][-1]:.2f}s -> "
                f"{rows['ratio_package_no_reports'][-1]:.2f}x; "
                f"verify(zip) {rows['verify_zip'][-1]:.2f}s -> {rows['ratio_verify_zip'][-1]:.2f}x; "
                f"verify(case) {rows['verify_case'][-1]:.2f}s -> {rows['ratio_verify_case'][-1]:.2f}x; "
                f"other processes used up to {rows['others'][-1]:.0%} of the CPU"
            )
    finally:
        probes.close()
    slowest = {op: max(needs, key=lambda n: statistics.median(rows[n])) for op, needs in NEEDS.items()}
    return {"slowest": slowest, "cpus": cpus, **results(rows)}


# --------------------------------------------------------------------------- report


def report(out: dict[str, Any]) -> None:
    res, slow, cores = out["results"], out["results"]["slowest"], out["results"]["cpus"]
    print(
        f"\nOne case: a {out['big_bytes'] / (1 << 30):.2f} GiB random file + {out['screenshots']} screenshots, "
        f"{out['stored_bytes'] / (1 << 30):.2f} GiB stored; package {out['zip_bytes'] / (1 << 30):.2f} GiB "
        f"({len(res['runs']['package'])} repeats, {cores} CPUs){'':<4}{'min':>9} {'median':>9}"
    )
    print(f"references: hashlib over every stored byte (1 MiB chunks); least time on {cores} CPUs")
    for name in HASHES:
        print(line(f"  info: {name} alone", res[name]))
    for op, label in OPERATIONS.items():
        print(line(f"{label} ref: {' + '.join(NEEDS[op])}", res[f"ref_{op}"]))
    print("package(case, key, out, now)")
    print(line("package (total)", res["package"]))
    print(line("  pre-check: the verify(case) in package()", res["pre_verify"]))
    print(line("  the four reports, rendered while the zip is written", res["reports"]))
    print(line("  zip writing (read, SHA-256+SHA-512, CRC, write)", res["write_zip"]))
    print(line("  os.fsync() of the zip", res["fsync"]))
    print(line("  the rest (rename into place)", res["rest"]))
    print(line("  info: result.sha256 afterwards (zip read back)", res["sha256_on_demand"]))
    print(line("  info: package + result.sha256 (as the CLI)", res["package_and_sha256"]))
    print(line("  package without the fsync", res["package_no_fsync"]))
    print(line("  package CPU user (all threads)", res["pkg_user"]))
    print(line("  package CPU system", res["pkg_sys"]))
    print(line("package(..., reports=False)", res["package_no_reports"]))
    print("verify")
    print(line("verify(zip)", res["verify_zip"]))
    print(line("  verify(zip) CPU user (all threads)", res["vzip_user"]))
    print(line("  verify(zip) CPU system", res["vzip_sys"]))
    print(line("verify(case folder)", res["verify_case"]))
    print(line("  verify(case) CPU user (all threads)", res["vcase_user"]))
    print(line("  verify(case) CPU system", res["vcase_sys"]))
    print(line("info: CPU used by other processes", percent(res["others"]), "%"))
    print("ratios (per repeat, operation / its reference of the same repeat)")
    print(line("package / its reference", res["ratio_package"], "x"))
    print(line("  of which the verify(case) pre-check", res["ratio_pre_verify"], "x"))
    print(line("  package without fsync / reference", res["ratio_package_no_fsync"], "x"))
    print(line("  info: package + result.sha256 / reference", res["ratio_package_and_sha256"], "x"))
    print(line("package(reports=False) / the same reference", res["ratio_package_no_reports"], "x"))
    print(line("verify(zip) / its reference", res["ratio_verify_zip"], "x"))
    print(line("verify(case) / its reference", res["ratio_verify_case"], "x"))
    for op, label in OPERATIONS.items():
        print(line(f"  info: {label} / {slow[op]} alone", res[f"ratio_{op}_vs_slowest"], "x"))
    print(
        f"  aim <= {AIM}x (median): package {verdict(res['ratio_package'])}, "
        f"package without reports {verdict(res['ratio_package_no_reports'])}, "
        f"verify(zip) {verdict(res['ratio_verify_zip'])}, "
        f"verify(case) {verdict(res['ratio_verify_case'])}"
    )
    noise_warning(res)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(args, what="package", body=lambda root, out: measure_all(args, root, out), report=report)


def measure_all(args: argparse.Namespace, root: Path, out: dict[str, Any]) -> None:
    started = time.perf_counter()
    log(f"workdir {root}; building the case")
    setup = Setup(root, args.big_size, args.screenshots)
    if hasattr(os, "sync"):
        os.sync()
    out.update(
        big_bytes=args.big_size,
        screenshots=args.screenshots,
        stored_bytes=setup.bytes,
        zip_bytes=setup.zip_size,
        setup_seconds=round(time.perf_counter() - started, 2),
    )
    log("measuring")
    out["results"] = run(setup, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
