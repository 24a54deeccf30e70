"""Hostile inputs (issue 7): bombs, absurd EXIF, truncated files, hostile zips, link loops, FIFOs,
unreadable files, odd names, huge and deeply nested chats. Each one gives a clear error or a
recorded analysis failure, never a traceback or a hang; the rest of the batch still goes in,
and the case verifies afterwards. The inputs are made by tests/hostile.py (shared with
bench/bench_security.py); ../shared/real-images is added when present.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import evidencekit as ek
from evidencekit.chats import ZipTree, parsers
from evidencekit.errors import EvidenceKitError

from . import hostile as H
from .conftest import REAL_IMAGES, REPO

TIMEOUT = 60  # seconds any one capture may take, hostile or not


def run(*args: str, timeout: int = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """The real command line, in its own process, bounded in time."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "evidencekit", *args]
    return subprocess.run(command, env=env, text=True, capture_output=True, timeout=timeout)


def capture_alone(hostile: H.Hostile, root: Path, good: Path, key: ek.SigningKey, now: datetime) -> list[str]:
    """Capture one hostile input with an ordinary file in a new case; return what went wrong."""
    case = ek.init_case(root, title="hostile", key=key, case_id="EK-HOSTILE", timezone="Asia/Kuala_Lumpur", now=now)
    try:
        with H.bounded(TIMEOUT):
            result = ek.capture(case, [*hostile.paths, good], key=key, now=now).to_json()
    except EvidenceKitError as exc:  # a clear error is allowed only when nothing of the batch is lost
        return [f"{hostile.name}: capture refused the whole batch: {exc}"]
    except Exception as exc:  # noqa: BLE001 - a traceback is exactly what this suite looks for
        return [f"{hostile.name}: capture raised {exc!r}"]
    wrong = H.problems_with(hostile, result)
    if not any(row["path"] == str(good) for row in result["items"]):
        wrong.append(f"{hostile.name}: the ordinary file of the batch was not captured")
    wrong += [
        f"{hostile.name}: analysis failed without a reason"
        for row in result["items"]
        if row["analysis"] == "failed" and not _reason(case, row["id"])
    ]
    report = ek.verify(case, raise_on_failure=False)
    wrong += [
        f"{hostile.name}: verify afterwards: {problem.kind} {problem.path}: {problem.message}"
        for problem in report.failures
    ]
    return wrong


def _reason(case: ek.Case, item_id: str) -> str:
    item = ek.show_item(case, item_id)
    return str(item["analysis"].get("reason", ""))


@pytest.mark.parametrize("make", H.GENERATORS, ids=lambda make: make.__name__)
def test_each_hostile_input_is_kept_or_refused_with_a_reason(
    make: Any, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    inputs = list(make(tmp_path / "in"))
    good = H.good_file(tmp_path)
    wrong = [
        line for n, hostile in enumerate(inputs) for line in capture_alone(hostile, tmp_path / f"c{n}", good, key, now)
    ]
    assert not wrong, "\n".join(wrong)


def test_every_real_image_is_kept_and_analysed_or_failed_with_a_reason(
    tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    if not REAL_IMAGES.is_dir():
        pytest.skip("../shared/real-images is not present")
    inputs = list(H.real_image_inputs(REAL_IMAGES.parent.parent))
    case = ek.init_case(tmp_path / "c", title="real", key=key, case_id="EK-REAL", now=now)
    with H.bounded(TIMEOUT):
        result = ek.capture(case, [path for hostile in inputs for path in hostile.paths], key=key, now=now).to_json()
    assert not result["failed"] and not result["skipped"]
    assert {row["path"] for row in result["items"]} == {hostile.paths[0] for hostile in inputs}
    failed = [row for row in result["items"] if row["analysis"] == "failed"]
    assert all(_reason(case, row["id"]) for row in failed)
    assert ek.verify(case, raise_on_failure=False).ok


def test_the_command_line_takes_every_hostile_input_in_one_batch(home: Path, tmp_path: Path) -> None:
    """One `capture` of everything at once: exit 3 (some paths could not be read), never 4, no
    traceback, bounded time; everything else is in, and `verify` passes."""
    inputs = H.make_all(tmp_path / "in")
    if REAL_IMAGES.is_dir():
        inputs += H.real_image_inputs(REAL_IMAGES.parent.parent)
    good = H.good_file(tmp_path)
    folder = tmp_path / "c"
    assert run("init", str(folder), "--title", "hostile batch", "--timezone", "Asia/Kuala_Lumpur").returncode == 0
    paths = [path for hostile in inputs for path in hostile.paths]
    result = run("capture", "--case", str(folder), "--json", *paths, str(good), timeout=TIMEOUT * 3)
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "error: " in result.stderr and "hint: " in result.stderr
    captured, _ = json.JSONDecoder().raw_decode(result.stdout)
    assert str(good) in {row["path"] for row in captured["items"]}
    expected_failures = {H.shown(p) for h in inputs if h.expect == {"failed"} for p in h.paths}
    assert {row["path"] for row in captured["failed"]} == expected_failures
    refused = {name for hostile in inputs for name in hostile.refused}
    assert not refused & {row["path"].split(": ", 1)[-1] for row in captured["items"]}
    assert all(row["reason"] for row in captured["failed"] + captured["skipped"] + captured["unread"])
    verified = run("verify", str(folder), "--json", timeout=TIMEOUT)
    assert verified.returncode == 0, verified.stdout[-3000:]
    assert json.loads(verified.stdout)["ok"] is True


def test_terminal_escapes_in_a_file_name_never_reach_the_terminal(home: Path, tmp_path: Path) -> None:
    names = tmp_path / "names"
    names.mkdir()
    (names / "\x1b]0;owned\x07\x1b[2Jclear.txt").write_text("escape")
    folder = tmp_path / "c"
    assert run("init", str(folder), "--title", "names").returncode == 0
    result = run("capture", "--case", str(folder), str(names))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr


# ---------------------------------------------------------------- zip members never land outside


def test_hostile_zip_members_never_leave_the_case(tmp_path: Path, key: ek.SigningKey, now: datetime) -> None:
    work = tmp_path / "deep" / "er"
    hostile = next(h for h in H.hostile_zips(work) if h.name == "zip-escaping-members")
    case = ek.init_case(work / "case", title="zip", key=key, now=now)
    before = set(tmp_path.rglob("*"))
    result = ek.capture(case, list(hostile.paths), key=key, now=now)
    after = set(tmp_path.rglob("*")) - before
    assert all(case.root in p.parents for p in after), sorted(after)
    assert result.chats and ek.verify(case, raise_on_failure=False).ok


# ---------------------------------------------------------------- parsers fed hostile main files


def _single_file_inputs(tmp_path: Path) -> list[H.Hostile]:
    return [h for make in (H.long_and_deep_chats, H.truncated) for h in make(tmp_path) if h.data is not None]


def _parser_failures(parser: Any, inputs: list[H.Hostile]) -> list[str]:
    name = parser.__name__.rsplit(".", 1)[-1]
    wrong = []
    for hostile in inputs:
        assert hostile.data is not None
        tree = H.MemoryTree({H.MAIN_NAMES[name]: hostile.data})
        try:
            with H.bounded(TIMEOUT):
                H.run_parser(parser, tree)
        except EvidenceKitError:
            continue
        except Exception as exc:  # noqa: BLE001 - anything else is a parser bug
            wrong.append(f"{name} on {hostile.name}: {exc!r}")
    return wrong


#: Parsers that still raise something other than an EvidenceKitError on these inputs: none at present.
PARSER_XFAIL: dict[str, str] = {}


@pytest.mark.parametrize(
    "parser",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=PARSER_XFAIL[n]))
        if (n := p.__name__.rsplit(".", 1)[-1]) in PARSER_XFAIL
        else p
        for p in parsers()
    ],
    ids=lambda p: p.__name__.rsplit(".", 1)[-1],
)
def test_parsers_raise_only_their_own_errors_on_hostile_files(parser: Any, tmp_path: Path) -> None:
    failures = _parser_failures(parser, _single_file_inputs(tmp_path))
    assert not failures, "\n".join(failures)


def test_reading_a_damaged_zip_member_raises_a_format_error(tmp_path: Path) -> None:
    hostile = next(h for h in H.hostile_zips(tmp_path) if h.name == "zip-bad-crc")
    with ZipTree(hostile.paths[0]) as tree, pytest.raises(EvidenceKitError):
        tree.open("_chat.txt").read()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX links")
def test_a_loop_of_links_is_recorded_as_a_link(tmp_path: Path, key: ek.SigningKey, now: datetime) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a").symlink_to("b")
    (folder / "b").symlink_to("a")
    case = ek.init_case(tmp_path / "c", title="loops", key=key, now=now)
    result = ek.capture(case, [folder], key=key, now=now)
    assert [Path(row["path"]).name for row in result.links] == ["a", "b"]
    assert all("loop" in row["reason"] for row in result.links)
    assert ek.verify(case, raise_on_failure=False).ok


def test_deeply_nested_json_is_captured_and_reported_unread(tmp_path: Path, key: ek.SigningKey, now: datetime) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "result.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    case = ek.init_case(tmp_path / "c", title="deep", key=key, now=now)
    result = ek.capture(case, [folder], key=key, now=now)
    assert len(result.items) == 1 and not result.chats  # a bare array is no chat export: an ordinary item
    assert not result.unread and not result.failed


def test_zip_members_are_not_written_by_the_zip_module(tmp_path: Path) -> None:
    """Sanity check of the generator: the escaping members really are in the zip as named."""
    hostile = next(h for h in H.hostile_zips(tmp_path) if h.name == "zip-escaping-members")
    with zipfile.ZipFile(hostile.paths[0]) as zf:
        names = set(zf.namelist())
    assert {"../escape.txt", "/etc/absolute.txt", "C:/drive.txt"} <= names
    assert not (tmp_path.parent / "escape.txt").exists() and os.path.exists(hostile.paths[0])


def test_deeply_nested_html_chat_page_is_read_in_bounded_time() -> None:
    from evidencekit.chats import telegram_html

    sample = H.fuzz_samples()["telegram_html"]
    at = len(sample) // 2  # inside a message
    data = sample[:at] + b"<div>" * 20_000 + sample[at:]
    with H.bounded(5):
        H.run_parser(telegram_html, H.MemoryTree({"messages.html": data}))
