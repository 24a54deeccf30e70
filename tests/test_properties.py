"""Property and fuzz tests (issue 7): every format evidencekit writes reads back as written; any
single-byte change to a case or a package is detected; each chat parser, fed mutated bytes,
raises nothing but evidencekit's own errors.

Counts are small for CI (~20 s); set EVIDENCEKIT_FUZZ_EXAMPLES (e.g. 5000) for a long run,
which also lets hypothesis pick fresh random inputs instead of the fixed CI sequence.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import string
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import evidencekit as ek
from evidencekit import _canonical
from evidencekit.bag import PayloadFile, open_bag, sanitize_name, write_bag_zip
from evidencekit.chats import Chat, Problems, parsers
from evidencekit.chats.transcript import read_transcript, write_transcript
from evidencekit.custody import check_log, make_record, parse_record
from evidencekit.errors import FAILING_KINDS, EvidenceKitError, FormatError
from evidencekit.manifest import encode_manifest, new_manifest, object_path, parse_manifest

from . import hostile as H

LONG_RUN = "EVIDENCEKIT_FUZZ_EXAMPLES" in os.environ
FUZZ = int(os.environ.get("EVIDENCEKIT_FUZZ_EXAMPLES", "0")) or None
NOW = datetime(2026, 3, 14, 21, 5, 9, tzinfo=timezone(timedelta(hours=8)))
KEY, SECOND, OUTSIDER = H.test_keys()


def examples(ci: int) -> Any:
    """Hypothesis settings: `ci` examples in CI (a fixed sequence), EVIDENCEKIT_FUZZ_EXAMPLES in a long run."""
    return settings(
        max_examples=FUZZ or ci,
        deadline=None,
        derandomize=not LONG_RUN,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )


# ---------------------------------------------------------------- strategies

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
safe_int = st.integers(-_canonical.MAX_SAFE_INT, _canonical.MAX_SAFE_INT)
json_values = st.recursive(
    st.none() | st.booleans() | safe_int | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)


@st.composite
def items(draw: st.DrawFn, number: int) -> dict[str, Any]:
    sha256 = draw(hex64)
    stored = draw(st.booleans())
    item: dict[str, Any] = {
        "id": f"E{number:04d}",
        "sha256": sha256,
        "sha1": draw(st.text("0123456789abcdef", min_size=40, max_size=40)),
        "md5": draw(st.text("0123456789abcdef", min_size=32, max_size=32)),
        "size": draw(st.integers(0, 2**40)),
        "media_type": draw(st.sampled_from(["image/png", "image/jpeg", "text/plain", "application/zip"])),
        "storage": "stored" if stored else "hash-only",
        "sightings": draw(st.lists(st.dictionaries(text, json_values, max_size=3), min_size=1, max_size=3)),
        "analysis": draw(st.dictionaries(text, json_values, max_size=3)),
    }
    if stored:
        item["object"] = object_path(sha256)
    return item


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    header = {name: draw(text) for name in ("id", "uuid", "title", "examiner", "timezone")}
    header |= {
        "created": {"utc": draw(text), "offset": draw(text)},
        "tool": draw(st.dictionaries(text, text, max_size=2)),
    }
    manifest = new_manifest(header, {"utc": draw(text), "offset": draw(text)})
    count = draw(st.integers(0, 4))
    manifest["items"] = [draw(items(n + 1)) for n in range(count)]
    hashes = [item["sha256"] for item in manifest["items"]]
    assume(len(set(hashes)) == len(hashes))
    manifest["revision"] = draw(st.integers(0, 10_000))
    manifest["links"] = draw(st.lists(st.dictionaries(text, json_values, max_size=3), max_size=2))
    manifest["signers"] = draw(st.dictionaries(text, st.dictionaries(text, text, max_size=2), max_size=2))
    return manifest


# ---------------------------------------------------------------- round trips


@examples(200)
@given(json_values)
def test_canonical_json_round_trips(value: Any) -> None:
    data = _canonical.dumps(value)
    assert _canonical.loads(data) == value
    assert _canonical.dumps(_canonical.loads(data)) == data


@examples(200)
@given(json_values, st.integers(1, 3))
def test_canonical_reader_rejects_any_other_spelling(value: Any, indent: int) -> None:
    import json

    spelled = json.dumps(value, indent=indent, ensure_ascii=True).encode()
    if spelled == _canonical.dumps(value):
        assert _canonical.loads(spelled) == value
    else:
        with pytest.raises(FormatError):
            _canonical.loads(spelled)


@examples(100)
@given(manifests())
def test_manifest_round_trips(manifest: dict[str, Any]) -> None:
    data = encode_manifest(manifest)
    assert parse_manifest(data) == manifest
    assert encode_manifest(parse_manifest(data)) == data


@examples(25)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["capture", "note", "verify", "transfer"]),
            st.lists(st.from_regex(r"E\d{4}", fullmatch=True), max_size=3),
            st.none() | text,
            st.dictionaries(text, json_values, max_size=3),
            st.booleans(),
        ),
        max_size=4,
    ),
    st.binary(max_size=64),
)
def test_custody_records_round_trip_and_chain(records: list[Any], manifest: bytes) -> None:
    lines = [
        make_record(key=KEY, seq=1, prev=None, action="init", manifest_bytes=manifest, manifest_revision=0, now=NOW)
    ]
    for n, (action, ids, note, details, second) in enumerate(records, start=2):
        prev = parse_record(lines[-1], lineno=n - 1).link()
        key = SECOND if second else KEY
        lines.append(
            make_record(
                key=key, seq=n, prev=prev, action=action, manifest_bytes=manifest, manifest_revision=n,
                items=ids, note=note, details=details, now=NOW,
            )
        )  # fmt: skip
    parsed, problems = check_log(lines)
    assert not problems
    for record, (action, ids, note, details, _second) in zip(parsed[1:], records, strict=True):
        assert (record.data["action"], record.data["items"], record.data["note"]) == (action, ids, note)
        assert record.data["details"] == details and _canonical.dumps(record.data) == record.line


messages = st.lists(
    st.fixed_dictionaries(
        {"type": st.just("message"), "text": text, "from": st.fixed_dictionaries({"name": text})},
        optional={"time": st.fixed_dictionaries({"text": text, "utc": text}), "extra": json_values},
    ),
    max_size=6,
)


class _Parser:
    NAME = "property-test"
    VERSION = "1"
    PLATFORM = "test"


@examples(100)
@given(messages, st.dictionaries(st.sampled_from(["title", "type", "id"]), text, max_size=3))
def test_transcripts_round_trip(records: list[dict[str, Any]], header: dict[str, Any]) -> None:
    tree = H.MemoryTree({"chat.txt": b"the export"})
    chat = Chat(header=header, messages=iter([dict(m) for m in records]), problems=Problems())
    out = io.BytesIO()
    written = write_transcript(out, _Parser, tree, "chat.txt", chat)  # type: ignore[arg-type]
    assert written.sha256 == hashlib.sha256(out.getvalue()).hexdigest() and written.size == len(out.getvalue())
    out.seek(0)
    back = list(read_transcript(out))
    assert back[0]["source"] == {"file": "chat.txt", "sha256": tree.sha256("chat.txt")}
    assert back[-1]["kind"] == "end" and back[-1]["messages"] == len(records)
    for n, (record, message) in enumerate(zip(back[1:-1], records, strict=True), start=1):
        assert record["n"] == n and record["kind"] == "message"
        assert all(record.get(k) == v for k, v in message.items() if v not in ("", None, False, [], {}))


payload_names = st.text(string.ascii_letters + string.digits + " ._-é", min_size=1, max_size=12).map(sanitize_name)


@examples(15)
@given(st.dictionaries(payload_names, st.binary(max_size=300), min_size=1, max_size=5))
def test_bag_manifests_round_trip(tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes]) -> None:
    files = {f"evidence/{name}": data for name, data in files.items() if name}
    keys = {name.casefold() for name in files}
    assume(files and len(keys) == len(files))
    out = tmp_path_factory.mktemp("bag") / "bag.zip"
    payload = [PayloadFile(path, len(data), lambda d=data: io.BytesIO(d)) for path, data in files.items()]
    write_bag_zip(out, bag_name="EK-PROP", payload=payload, bag_info=[], tag_files={}, signer=KEY, when=NOW)
    with open_bag(out) as reader:
        report = reader.check()
        assert report.ok, report.problems
        for path, data in files.items():
            assert reader.read(f"data/{path}") == data
        listed = reader.read("manifest-sha256.txt")
    assert listed is not None
    rows = [line.split("  ", 1) for line in listed.decode().splitlines()]
    assert [path for _, path in rows] == sorted(path for _, path in rows)
    assert {path: digest for digest, path in rows} == {
        f"data/{path}": hashlib.sha256(data).hexdigest() for path, data in files.items()
    }


# ---------------------------------------------------------------- any single-byte change is detected


@pytest.fixture(scope="module")
def small_case(tmp_path_factory: pytest.TempPathFactory) -> ek.Case:
    root = tmp_path_factory.mktemp("flip")
    case = H.build_case(root / "case", root / "work", NOW)
    H.make_writable(case.root)
    return case


@pytest.fixture(scope="module")
def small_package(small_case: ek.Case, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return H.build_package(small_case, tmp_path_factory.mktemp("pkg") / "EK-TAMPER.zip", NOW)


def _flip_and_verify(root: Path, relpath: str, offset: int, mask: int, target: Path) -> ek.VerificationReport:
    path = root / relpath
    original = path.read_bytes()
    changed = bytearray(original)
    changed[offset % len(original)] ^= mask
    path.write_bytes(bytes(changed))
    try:
        return ek.verify(target, raise_on_failure=False)
    finally:
        path.write_bytes(original)


@examples(60)
@given(data=st.data())
def test_any_single_byte_change_in_a_case_is_detected(small_case: ek.Case, data: st.DataObject) -> None:
    relpath = data.draw(st.sampled_from(H.case_files(small_case.root)), label="file")
    offset = data.draw(st.integers(0, 1 << 20), label="offset")
    mask = data.draw(st.integers(1, 255), label="xor")
    report = _flip_and_verify(small_case.root, relpath, offset, mask, small_case.root)
    assert report.failures, f"{relpath} changed at {offset} ^ {mask:#x} but verify found nothing"
    assert all(problem.kind in FAILING_KINDS for problem in report.failures)


@pytest.fixture(scope="module")
def unpacked_package(small_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evidencekit.bag import unpack_bag

    folder = unpack_bag(small_package, tmp_path_factory.mktemp("unpacked") / "EK-TAMPER")
    H.make_writable(folder)
    return folder


def test_the_untouched_case_and_package_verify(
    small_case: ek.Case, small_package: Path, unpacked_package: Path
) -> None:
    for target in (small_case.root, small_package, unpacked_package):
        report = ek.verify(target, raise_on_failure=False)
        assert report.ok, [(p.kind, p.path, p.message) for p in report.failures]


@examples(60)
@given(data=st.data())
def test_any_single_byte_change_in_an_unpacked_package_is_detected(unpacked_package: Path, data: st.DataObject) -> None:
    relpath = data.draw(st.sampled_from(H.case_files(unpacked_package)), label="file")
    offset = data.draw(st.integers(0, 1 << 20), label="offset")
    mask = data.draw(st.integers(1, 255), label="xor")
    report = _flip_and_verify(unpacked_package, relpath, offset, mask, unpacked_package)
    assert report.failures, f"{relpath} changed at {offset} ^ {mask:#x} but verify found nothing"


@examples(20)
@given(offset=st.integers(0, 1 << 24), mask=st.integers(1, 255))
def test_a_byte_change_in_a_package_zip_is_detected_or_refused(
    small_package: Path, tmp_path_factory: pytest.TempPathFactory, offset: int, mask: int
) -> None:
    """A changed byte of the zip: verify reports a failing problem, or (for damage to the zip's
    own structure) refuses it as a damaged zip with a clear error (exit 3). Never anything else."""
    copy = tmp_path_factory.mktemp("zip") / small_package.name
    shutil.copyfile(small_package, copy)
    report = None
    try:
        report = _flip_and_verify(copy.parent, copy.name, offset, mask, copy)
    except EvidenceKitError as exc:
        assert not isinstance(exc, ek.VerificationError) and exc.exit_code == 3
    if report is not None:
        where = (offset % copy.stat().st_size, mask)
        assert report.failures or _is_zip_metadata(small_package.read_bytes(), where[0]), where


def test_a_damaged_local_header_is_reported_not_raised(small_package: Path, tmp_path: Path) -> None:
    copy = tmp_path / small_package.name
    data = bytearray(small_package.read_bytes())
    data[0] ^= 1  # the first entry's local header signature
    copy.write_bytes(bytes(data))
    try:
        report = ek.verify(copy, raise_on_failure=False)
    except EvidenceKitError:
        return
    assert report.failures


def _is_zip_metadata(data: bytes, offset: int) -> bool:
    """Whether `offset` is in a zip field verify does not read: central-directory times, attributes and
    versions, and local-header fields other than the signature and name (only those are cross-checked).

    These bytes are not evidence and no signature covers them; changing them changes nothing a
    verifier reads (spec package §1 fixes their values, but does not make them signed)."""
    import struct

    start = data.rfind(b"PK\x05\x06")
    (count, cd_size, cd_offset) = struct.unpack("<HII", data[start + 10 : start + 20])
    at = cd_offset
    for _ in range(count):
        names, extra, comment = struct.unpack("<HHH", data[at + 28 : at + 34])
        local = struct.unpack("<I", data[at + 42 : at + 46])[0]
        ignored = [(at + 4, at + 6), (at + 12, at + 16), (at + 36, at + 42)]  # made-by, time/date, attributes
        ignored += [(local + 4, local + 26)]  # version, flags, method, time, date, CRC-32, sizes (reported)
        if any(lo <= offset < hi for lo, hi in ignored):
            return True
        at += 46 + names + extra + comment
    return False


# ---------------------------------------------------------------- fuzzing each chat parser


SAMPLES = H.fuzz_samples()
#: Parsers that the fuzz harness still breaks (evidencekit/chats is being refactored by someone else).
FUZZ_XFAIL: dict[str, str] = {}  # parsers with a known crash on fuzzed input: none at present


def _fuzz_params() -> list[Any]:
    params = []
    for parser in parsers():
        name = parser.__name__.rsplit(".", 1)[-1]
        marks = [pytest.mark.xfail(strict=False, reason=FUZZ_XFAIL[name])] if name in FUZZ_XFAIL else []
        if name not in SAMPLES:
            marks.append(pytest.mark.skip(reason=f"no sample for {name} in tests/data"))
        params.append(pytest.param(parser, id=name, marks=marks))
    return params


@pytest.mark.parametrize("parser", _fuzz_params())
def test_fuzzed_main_files_raise_only_evidencekit_errors(parser: Any) -> None:
    name = parser.__name__.rsplit(".", 1)[-1]
    sample, main = SAMPLES[name], H.MAIN_NAMES[name]
    assert H.run_parser(parser, H.MemoryTree({main: sample})) > 0, "the seed sample itself must parse"

    @examples(40)
    @given(H.fuzz_strategy(sample))
    def run(data: bytes) -> None:
        with contextlib.suppress(EvidenceKitError), H.bounded(10):  # a hang is a failure too
            H.run_parser(parser, H.MemoryTree({main: data}))

    run()
