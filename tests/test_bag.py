"""Tests for evidencekit.bag: stock tools accept our bags, check() names every problem, hostile zips are refused."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import shutil
import struct
import subprocess
import sys
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidencekit import bag
from evidencekit._fs import safe_relpath
from evidencekit.bag import (
    BAG_NAMESPACE,
    BagWritten,
    LateFile,
    PayloadFile,
    open_bag,
    sanitize_name,
    unpack_bag,
    write_bag_zip,
)
from evidencekit.errors import EvidenceKitError, FormatError, InputError, UnsafePathError
from evidencekit.signing import generate_signing_key_for_tests

from .conftest import tool_or_skip

KEY = generate_signing_key_for_tests("packager", bytes(range(32)))
OTHER_KEY = generate_signing_key_for_tests("mallory", bytes(range(1, 33)))
WHEN = datetime(2026, 3, 14, 21, 5, 9, tzinfo=timezone(timedelta(hours=8)))
BAG = "CASE-2026-0001"
#: Original file names as they arrive from phones and chat exports (all legal on Linux).
ORIGINAL_NAMES = [
    "IMG 1234.jpg",
    "re\u0301sume\u0301 final.pdf",  # NFD
    "café menu.txt",  # NFC
    "party 🎉👨\u200d👩\u200d👧.png",
    "100% proof.txt",
    'what<>:"|?*.txt',
    ".hidden-note",
    "trailing dot.",
    "back\\slash.txt",
    "line\nbreak\u2028here.txt",
    "CON.txt",
]
TOP_FILES = {
    "bagit.txt",
    "bag-info.txt",
    "manifest-sha256.txt",
    "manifest-sha512.txt",
    "tagmanifest-sha256.txt",
    "tagmanifest-sha256.txt.sig",
    "tagmanifest-sha256.txt.ed25519",
    "allowed_signers",
    "packager.pem",
    "packager.pub",
    "VERIFY.txt",
}
IMG = "data/evidence/IMG 1234.jpg"


# -- helpers -------------------------------------------------------------------------------------------


def run(*args: str | Path, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a real tool (never through an ssh-agent)."""
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    return subprocess.run(
        [str(a) for a in args], input=stdin, cwd=cwd, capture_output=True, env=env, check=False, timeout=120
    )


def output(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (proc.stdout + proc.stderr).decode(errors="replace")


def tag_files() -> dict[str, bytes]:
    return {
        "allowed_signers": (KEY.public.allowed_signers_line("packager") + "\n").encode(),
        "packager.pem": KEY.public.pem().encode(),
        "packager.pub": (KEY.public.openssh("packager") + "\n").encode(),
        "VERIFY.txt": b"Check with ssh-keygen -Y verify; see bag-info.txt.\n",
    }


def file_payload(folder: Path) -> list[PayloadFile]:
    """Payload from real files, named by `sanitize_name`, opened lazily (streamed)."""
    return [
        PayloadFile(f"evidence/{sanitize_name(path.name)}", path.stat().st_size, lambda p=path: p.open("rb"))
        for path in sorted(folder.iterdir())
    ]


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    for index, name in enumerate(ORIGINAL_NAMES):
        (folder / name).write_bytes(f"{index}: {name}\n".encode() * (index * 300 + 1))
    return folder


def write(out: Path, payload: list[PayloadFile], **kwargs: Any) -> BagWritten:
    arguments: dict[str, Any] = {
        "bag_name": BAG,
        "payload": payload,
        "bag_info": [("Source-Organization", "Unit 7"), ("External-Identifier", "EK-1")],
        "tag_files": tag_files(),
        "signer": KEY,
        "when": WHEN,
    }
    arguments.update(kwargs)
    return write_bag_zip(out, **arguments)


@pytest.fixture
def bag_zip(tmp_path: Path, evidence: Path) -> Path:
    return write(tmp_path / "bag.zip", file_payload(evidence)).path


def bytes_payload(files: dict[str, bytes]) -> list[PayloadFile]:
    return [PayloadFile(path, len(data), lambda d=data: io.BytesIO(d)) for path, data in files.items()]


def extract(zip_path: Path, dest: Path) -> Path:
    """Extract with Python's zipfile (an independent extractor), return the bag folder."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(dest)
    return dest / BAG


def rewrite(
    src: Path,
    dst: Path,
    *,
    drop: Collection[str] = (),
    change: dict[str, Callable[[bytes], bytes]] | None = None,
    rename: dict[str, str] | None = None,
    add: dict[str, bytes] | None = None,
    add_info: list[tuple[zipfile.ZipInfo, bytes]] | None = None,
) -> Path:
    """Copy a bag zip entry by entry (names relative to the bag top), with one or more tamperings."""
    change, rename = change or {}, rename or {}
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are part of some tests
        for info in old.infolist():
            rel = info.filename.removeprefix(f"{BAG}/")
            if rel in drop:
                continue
            data = change.get(rel, lambda d: d)(old.read(info))
            copy = zipfile.ZipInfo(f"{BAG}/{rename.get(rel, rel)}", info.date_time)
            copy.compress_type, copy.external_attr, copy.create_system = info.compress_type, info.external_attr, 3
            new.writestr(copy, data)
        for rel, data in (add or {}).items():
            new.writestr(f"{BAG}/{rel}", data)
        for info, data in add_info or []:
            new.writestr(info, data)
    return dst


def flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x01]) + data[1:]


def kinds(report: bag.BagReport) -> set[tuple[str, str | None]]:
    return {(problem.kind, problem.path) for problem in report.problems}


def check(path: Path) -> bag.BagReport:
    with open_bag(path) as reader:
        return reader.check()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- sanitize_name ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG 1234.jpg", "IMG 1234.jpg"),
        ("  spaced  out .jpg  ", "spaced  out .jpg"),
        ("100%.png", "100_.png"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("a\\b/c", "a_b_c"),
        ("line\nbreak\r\u2028x\u2029\x85\x0b\x0c\x1c\x1d\x1e.txt", "line_break_x_.txt"),
        ("cafe\u0301.txt", "café.txt"),
        ("café.txt", "café.txt"),
        ("😀 party 🎉.jpg", "😀 party 🎉.jpg"),
        ("Привет мир.txt", "Привет мир.txt"),
        (".hidden", ".hidden"),
        ("name...", "name"),
        ("trailing. . .", "trailing"),
        ("...", "file"),
        ("", "file"),
        ("   ", "file"),
        ("___a___b", "_a_b"),
        ("\x00\x1f\x7f", "_"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("com1.tar.gz", "_com1.tar.gz"),
        ("console.txt", "console.txt"),
        ("\udcff.jpg", "_.jpg"),
    ],
)
def test_sanitize_name(name: str, expected: str) -> None:
    assert sanitize_name(name) == expected


def test_sanitize_truncates_by_utf8_bytes_and_keeps_the_extension() -> None:
    name = "é" * 100 + ".jpeg"
    result = sanitize_name(name)
    assert len(result.encode()) <= 120 and result.endswith(".jpeg")
    assert result == "é" * 57 + ".jpeg"  # 114 + 5 bytes; a 58th é would need 121
    family = "👨\u200d👩\u200d👧"
    result = sanitize_name(family * 20 + ".png", max_length=64)
    stem = result.removesuffix(".png")
    assert result.endswith(".png") and len(result.encode()) <= 64
    assert stem and stem == family * (len(stem) // len(family))  # whole emoji sequences only
    flags = "🇲🇾🇫🇷🇩🇪" * 10
    cut = sanitize_name(flags, max_length=30)
    assert len(cut.encode()) <= 30 and len(cut) % 2 == 0 and flags.startswith(cut)
    assert sanitize_name("e\u0301" * 40, max_length=16) == "é" * 8


def test_sanitize_rejects_a_tiny_max_length() -> None:
    with pytest.raises(ValueError, match="max_length"):
        sanitize_name("x", max_length=8)


SPECIALS = list('%\\/<>:"|?*. \t\r\n\x00\x85\u2028\u2029\x0b\x0c\x1c\x1d\x1e_\u200d\u0301\ufe0f🇲🇾é')


@settings(max_examples=400, deadline=None)
@given(
    name=st.text(st.one_of(st.characters(exclude_categories=()), st.sampled_from(SPECIALS)), max_size=200),
    max_length=st.integers(16, 255),
)
def test_sanitize_properties(name: str, max_length: int) -> None:
    result = sanitize_name(name, max_length=max_length)
    assert unicodedata.is_normalized("NFC", result)
    assert 0 < len(result.encode("utf-8")) <= max_length
    assert sanitize_name(result, max_length=max_length) == result == sanitize_name(result, max_length=255)
    safe_relpath(result)
    assert not any(ch in '%\\/<>:"|?*' or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in result)
    assert result == result.strip() and not result.endswith(".") and "__" not in result
    assert result.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}


# -- writing: layout and determinism ------------------------------------------------------------------------


def test_layout_bytes_and_zip_metadata(bag_zip: Path) -> None:
    with zipfile.ZipFile(bag_zip) as archive:
        infos = archive.infolist()
        names = [info.filename.removeprefix(f"{BAG}/") for info in infos]
        assert all(info.filename.startswith(f"{BAG}/") for info in infos)
        payload = [n for n in names if n.startswith("data/")]
        assert payload == sorted(payload) and len(payload) == len(ORIGINAL_NAMES)
        assert names[len(payload) :] == [
            "bagit.txt",
            "bag-info.txt",
            "manifest-sha256.txt",
            "manifest-sha512.txt",
            "VERIFY.txt",
            "allowed_signers",
            "packager.pem",
            "packager.pub",
            "tagmanifest-sha256.txt",
            "tagmanifest-sha256.txt.sig",
            "tagmanifest-sha256.txt.ed25519",
        ]
        for info in infos:
            assert info.date_time == (2026, 3, 14, 21, 5, 8)  # WHEN's wall clock, 2-second resolution
            assert info.create_system == 3 and info.external_attr == 0o100644 << 16
            assert info.extra == b""
            stored = info.filename.startswith(f"{BAG}/data/")
            assert info.compress_type == (zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
            assert bool(info.flag_bits & 0x800) == (not info.filename.isascii())  # UTF-8 name flag
        read = {name: archive.read(f"{BAG}/{name}") for name in names}
    assert read["bagit.txt"] == b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    assert read["bag-info.txt"].decode() == (
        "Source-Organization: Unit 7\nExternal-Identifier: EK-1\nPayload-Oxum: "
        f"{sum(len(read[p]) for p in payload)}.{len(payload)}\nBagging-Date: 2026-03-14\n"
        f"Bag-Software-Agent: evidencekit {bag.__version__}\n"
    )
    for algorithm, width in (("sha256", 64), ("sha512", 128)):
        lines = read[f"manifest-{algorithm}.txt"].decode().splitlines()
        assert [line[width + 2 :] for line in lines] == payload
        assert all(line[width : width + 2] == "  " and line[width + 2] != " " for line in lines)
    listed = [line[66:] for line in read["tagmanifest-sha256.txt"].decode().splitlines()]
    assert listed == sorted(
        TOP_FILES - {"tagmanifest-sha256.txt", "tagmanifest-sha256.txt.sig", "tagmanifest-sha256.txt.ed25519"}
    )
    assert all(b"\r" not in data and not data.startswith(b"\xef\xbb\xbf") for data in read.values())
    assert "data/evidence/résumé final.pdf" in payload  # NFD input, NFC in the bag


def test_writing_is_deterministic(tmp_path: Path, evidence: Path) -> None:
    first = write(tmp_path / "one.zip", file_payload(evidence))
    second = write(tmp_path / "two.zip", list(reversed(file_payload(evidence))))
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256 and first.size == second.size == first.path.stat().st_size
    assert first.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert first.payload_oxum == f"{sum(p.stat().st_size for p in evidence.iterdir())}.{len(ORIGINAL_NAMES)}"
    assert first.path.stat().st_mode & 0o777 == 0o644
    assert leftovers(tmp_path) == []


def test_dates_before_1980_are_clamped_in_the_zip_only(tmp_path: Path) -> None:
    old = datetime(1975, 6, 1, 12, 0, tzinfo=UTC)
    written = write(tmp_path / "old.zip", bytes_payload({"a.txt": b"a"}), when=old)
    with zipfile.ZipFile(written.path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"Bagging-Date: 1975-06-01\n" in archive.read(f"{BAG}/bag-info.txt")


def test_given_software_agent_is_kept_and_progress_counts_payload(tmp_path: Path) -> None:
    seen: list[int] = []
    files = {"big.bin": os.urandom(3 * (1 << 20) + 5), "small.txt": b"x"}
    written = write(
        tmp_path / "b.zip",
        bytes_payload(files),
        bag_info=[("Bag-Software-Agent", "case-tool 9")],
        progress=seen.append,
    )
    assert sum(seen) == sum(map(len, files.values())) and max(seen) == 1 << 20
    with open_bag(written.path) as reader:
        info = reader.read("bag-info.txt")
        checked: list[int] = []
        report = reader.check(progress=checked.append)
    assert info is not None and info.count(b"Bag-Software-Agent") == 1 and b"case-tool 9" in info
    assert report.ok and sum(checked) == report.payload_bytes == sum(seen)
    assert report.info["Bag-Software-Agent"] == "case-tool 9"


_JAVA_STREAM_READER = """
import java.io.*;
import java.util.zip.*;
public class StreamRead {
    public static void main(String[] args) throws Exception {
        try (ZipInputStream in = new ZipInputStream(new FileInputStream(args[0]))) {
            byte[] buffer = new byte[1 << 16];
            for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
                long size = 0;
                for (int n; (n = in.read(buffer)) > 0; ) size += n;
                System.out.println(entry.getName() + " " + size);
            }
        }
    }
}
"""


def local_header(raw: IO[bytes], info: zipfile.ZipInfo) -> tuple[int, int, int, int, bytes]:
    """Flags, CRC-32, compressed and uncompressed size and extra field of an entry's local header."""
    raw.seek(info.header_offset)
    fields = struct.unpack("<4s5H3L2H", raw.read(30))
    raw.seek(fields[-2], os.SEEK_CUR)
    return fields[2], fields[6], fields[7], fields[8], raw.read(fields[-1])


def test_local_headers_hold_crc_and_sizes_with_zip64_above_the_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No data descriptors: streaming readers (Java's ZipInputStream) refuse them on stored entries."""
    monkeypatch.setattr(bag, "ZIP64_THRESHOLD", 1000)
    written = write(tmp_path / "z.zip", bytes_payload({"big.bin": b"b" * 5000, "small.txt": b"s" * 999}))
    with zipfile.ZipFile(written.path) as archive, written.path.open("rb") as raw:
        assert archive.testzip() is None
        for info in archive.infolist():
            flags, crc, compressed, size, extra = local_header(raw, info)
            assert not flags & 0x08 and not info.flag_bits & 0x08, f"{info.filename} has a data descriptor"
            assert crc == info.CRC
            zip64 = info.filename.endswith("big.bin")
            assert (extra[:2] == b"\x01\x00") == zip64, info.filename
            sizes = struct.unpack("<QQ", extra[4:20])[::-1] if zip64 else (compressed, size)
            assert sizes == (info.compress_size, info.file_size), info.filename
    assert check(written.path).ok
    if shutil.which("unzip"):
        proc = run("unzip", "-t", written.path)
        assert proc.returncode == 0, output(proc)
    if shutil.which("java"):
        (tmp_path / "StreamRead.java").write_text(_JAVA_STREAM_READER)
        proc = run("java", tmp_path / "StreamRead.java", written.path)
        assert proc.returncode == 0, output(proc)
        assert f"{BAG}/data/big.bin 5000" in proc.stdout.decode()


# -- stock tools --------------------------------------------------------------------------------------------


def test_stock_tools_accept_the_bag(tmp_path: Path, bag_zip: Path) -> None:
    folder = extract(bag_zip, tmp_path / "x")
    if shutil.which("unzip"):
        proc = run("unzip", "-t", bag_zip)
        assert proc.returncode == 0, output(proc)
    if importlib.util.find_spec("bagit"):
        proc = run(sys.executable, "-m", "bagit", "--validate", folder)
        assert proc.returncode == 0 and "is valid" in output(proc), output(proc)
    if shutil.which("sha256sum"):
        for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
            proc = run("sha256sum", "-c", "--strict", manifest, cwd=folder)
            assert proc.returncode == 0, output(proc)
        assert output(run("sha256sum", "-c", "manifest-sha256.txt", cwd=folder)).count(": OK") == len(ORIGINAL_NAMES)


def test_ssh_keygen_verifies_the_tag_manifest_signature(tmp_path: Path, bag_zip: Path) -> None:
    tool_or_skip("ssh-keygen")
    folder = extract(bag_zip, tmp_path / "x")
    args = ["ssh-keygen", "-Y", "verify", "-f", "allowed_signers", "-I", "packager", "-n", BAG_NAMESPACE]
    proc = run(
        *args, "-s", "tagmanifest-sha256.txt.sig", stdin=(folder / "tagmanifest-sha256.txt").read_bytes(), cwd=folder
    )
    assert proc.returncode == 0 and "Good" in output(proc), output(proc)
    proc = run(*args, "-s", "tagmanifest-sha256.txt.sig", stdin=b"something else\n", cwd=folder)
    assert proc.returncode != 0


def test_openssl_verifies_the_raw_signature(tmp_path: Path, bag_zip: Path) -> None:
    tool_or_skip("openssl")
    folder = extract(bag_zip, tmp_path / "x")
    proc = run(
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "packager.pem", "-rawin",
        "-in", "tagmanifest-sha256.txt", "-sigfile", "tagmanifest-sha256.txt.ed25519", cwd=folder,
    )  # fmt: skip
    assert proc.returncode == 0 and "Verified Successfully" in output(proc), output(proc)


# -- reading -------------------------------------------------------------------------------------------


def test_reader_on_zip_and_folder(tmp_path: Path, bag_zip: Path) -> None:
    folder = extract(bag_zip, tmp_path / "x")
    for path in (bag_zip, folder, tmp_path / "x"):  # tmp_path/x holds only the bag folder
        with open_bag(path) as reader:
            assert reader.bag_name == BAG
            names = reader.names()
            assert IMG in names and set(names) >= TOP_FILES and names == sorted(names)
            assert reader.read(IMG) == (folder / IMG).read_bytes()
            with reader.open(IMG) as stream:
                assert stream.read(5) == b"0: IM"
            assert reader.read("data/nope") is None
            with pytest.raises(InputError):
                reader.open("data/nope")
            report = reader.check()
        assert report.problems == [] and report.ok
        assert report.signer == KEY.public
        assert report.payload_files == len(ORIGINAL_NAMES)
        assert report.payload_bytes == sum(p.stat().st_size for p in (folder / "data/evidence").iterdir())
        assert report.info["External-Identifier"] == "EK-1"


def test_open_bag_refuses_what_is_not_a_bag(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(FormatError):
        open_bag(tmp_path / "notes.txt")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.txt").write_text("a")
    with pytest.raises(FormatError):
        open_bag(tmp_path / "folder")
    with pytest.raises(InputError):
        open_bag(tmp_path / "absent.zip")
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as archive:
        archive.writestr("one/a.txt", "a")
        archive.writestr("two/b.txt", "b")
    with pytest.raises(FormatError, match="2 top folders"):
        open_bag(tmp_path / "two.zip")


def test_a_bag_rezipped_beside_macosx_metadata_still_opens(tmp_path: Path, bag_zip: Path) -> None:
    entry = zipfile.ZipInfo(f"__MACOSX/{BAG}/._bagit.txt")
    odd = rewrite(bag_zip, tmp_path / "odd.zip", add_info=[(entry, b"\x00\x05\x16\x07")])
    report = check(odd)
    assert report.bag_name == BAG
    assert kinds(report) == {("malformed", f"__MACOSX/{BAG}/._bagit.txt")}


# -- tampering with the zip -----------------------------------------------------------------------------


def test_flipped_payload_byte_is_altered(tmp_path: Path, bag_zip: Path) -> None:
    report = check(rewrite(bag_zip, tmp_path / "t.zip", change={IMG: flip}))
    assert kinds(report) == {("altered", IMG)}
    problem = report.problems[0]
    assert problem.expected and problem.expected.startswith("sha256:") and problem.found != problem.expected
    assert IMG in problem.message and "sha512" in problem.message  # both manifests disagree
    assert report.signer == KEY.public  # the tag files are intact


def test_removed_added_and_renamed_payload(tmp_path: Path, bag_zip: Path) -> None:
    removed = check(rewrite(bag_zip, tmp_path / "r.zip", drop={IMG}))
    assert kinds(removed) == {("missing", IMG), ("altered", "bag-info.txt")}
    added = check(rewrite(bag_zip, tmp_path / "a.zip", add={"data/evidence/planted.jpg": b"fake"}))
    assert kinds(added) == {("unexpected", "data/evidence/planted.jpg"), ("altered", "bag-info.txt")}
    renamed = check(rewrite(bag_zip, tmp_path / "n.zip", rename={IMG: "data/evidence/IMG 9999.jpg"}))
    assert kinds(renamed) == {("missing", IMG), ("unexpected", "data/evidence/IMG 9999.jpg")}


def test_tag_file_tampering(tmp_path: Path, bag_zip: Path) -> None:
    info = check(rewrite(bag_zip, tmp_path / "i.zip", change={"bag-info.txt": lambda d: d + b"Note: added\n"}))
    assert kinds(info) == {("altered", "bag-info.txt")}
    extra = check(rewrite(bag_zip, tmp_path / "e.zip", add={"notes.txt": b"hi", "sub/x.txt": b"x"}))
    assert kinds(extra) == {("unexpected", "notes.txt"), ("unexpected", "sub/x.txt")}
    no_bagit = check(rewrite(bag_zip, tmp_path / "b.zip", drop={"bagit.txt"}))
    assert kinds(no_bagit) == {("malformed", "bagit.txt"), ("missing", "bagit.txt")}
    bad_bagit = check(rewrite(bag_zip, tmp_path / "v.zip", change={"bagit.txt": lambda d: d.replace(b"1.0", b"0.97")}))
    assert kinds(bad_bagit) == {("malformed", "bagit.txt"), ("altered", "bagit.txt")}
    no_manifests = check(rewrite(bag_zip, tmp_path / "m.zip", drop={"manifest-sha256.txt", "manifest-sha512.txt"}))
    payload = {name for name in zipfile.ZipFile(bag_zip).namelist() if "/data/" in name}
    assert kinds(no_manifests) == {("missing", "manifest-sha256.txt"), ("missing", "manifest-sha512.txt")} | {
        ("unexpected", name.removeprefix(f"{BAG}/")) for name in payload
    }
    md5 = check(rewrite(bag_zip, tmp_path / "5.zip", add={"manifest-md5.txt": b"0" * 32 + b"  " + IMG.encode()}))
    assert kinds(md5) == {("malformed", "manifest-md5.txt"), ("missing", "manifest-md5.txt")}
    no_tagmanifest = check(rewrite(bag_zip, tmp_path / "t.zip", drop={"tagmanifest-sha256.txt"}))
    assert kinds(no_tagmanifest) == {("missing", "tagmanifest-sha256.txt")}
    assert no_tagmanifest.signer is None


def test_signature_tampering(tmp_path: Path, bag_zip: Path) -> None:
    sig, raw = "tagmanifest-sha256.txt.sig", "tagmanifest-sha256.txt.ed25519"
    cases: dict[str, dict[str, Any]] = {
        "no-sig": {"drop": {sig}},
        "garbage-sig": {"change": {sig: lambda d: d.replace(b"-----END", b"AAAA\n-----END")}},
        "other-signer": {"change": {sig: lambda d: OTHER_KEY.sign_ssh(b"x").encode()}},
        "rewrapped-sig": {"change": {sig: lambda d: d.replace(b"\n", b"\r\n")}},
        "no-raw": {"drop": {raw}},
        "bad-raw": {"change": {raw: flip}},
        "tagmanifest-edited": {
            "change": {"tagmanifest-sha256.txt": lambda d: d.replace(b"  VERIFY.txt", b"  VERIFY.txt ")}
        },
    }
    expected = {
        "no-sig": {("missing", sig)},
        "garbage-sig": {("bad-signature", sig)},
        "other-signer": {("bad-signature", sig)},
        "rewrapped-sig": {("bad-signature", sig)},
        "no-raw": {("missing", raw)},
        "bad-raw": {("bad-signature", raw)},
        # the edited line names "VERIFY.txt " (absent), so the real VERIFY.txt is now unlisted
        "tagmanifest-edited": {("bad-signature", sig), ("missing", "VERIFY.txt "), ("unexpected", "VERIFY.txt")},
    }
    unsigned = {"no-sig", "garbage-sig", "other-signer", "rewrapped-sig", "tagmanifest-edited"}
    for name, how in cases.items():
        report = check(rewrite(bag_zip, tmp_path / f"{name}.zip", **how))
        assert kinds(report) == expected[name], (name, report.problems)
        assert (report.signer is None) == (name in unsigned), name


def test_a_resigned_tag_manifest_must_still_cover_the_payload_manifest(tmp_path: Path, bag_zip: Path) -> None:
    def drop_line(data: bytes) -> bytes:
        return b"".join(
            line for line in data.splitlines(keepends=True) if not line.endswith(b"  manifest-sha256.txt\n")
        )

    with zipfile.ZipFile(bag_zip) as archive:
        tag_manifest = drop_line(archive.read(f"{BAG}/tagmanifest-sha256.txt"))
    forged = rewrite(
        bag_zip,
        tmp_path / "f.zip",
        change={
            IMG: flip,
            "manifest-sha256.txt": lambda d: d,
            "tagmanifest-sha256.txt": lambda d: tag_manifest,
            "tagmanifest-sha256.txt.sig": lambda d: OTHER_KEY.sign_ssh(tag_manifest, namespace=BAG_NAMESPACE).encode(),
            "tagmanifest-sha256.txt.ed25519": lambda d: OTHER_KEY.sign_raw(tag_manifest),
        },
    )
    report = check(forged)
    assert ("missing", "manifest-sha256.txt") in kinds(report)
    assert report.signer == OTHER_KEY.public  # valid, but the caller decides about trust


def test_damaged_zip_bytes_are_altered_and_never_unpacked(tmp_path: Path, bag_zip: Path) -> None:
    damaged = tmp_path / "damaged.zip"
    shutil.copy(bag_zip, damaged)
    with zipfile.ZipFile(damaged) as archive:
        info = archive.getinfo(f"{BAG}/{IMG}")
    data = bytearray(damaged.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 3] ^= 0xFF  # bit rot inside the stored payload; the zip's CRC no longer matches
    damaged.write_bytes(bytes(data))
    report = check(damaged)
    assert kinds(report) == {("altered", IMG)}
    with open_bag(damaged) as reader, pytest.raises(FormatError, match="damaged"):
        reader.read(IMG)
    with pytest.raises(FormatError):
        unpack_bag(damaged, tmp_path / "out")
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_every_problem_is_reported_at_once(tmp_path: Path, bag_zip: Path) -> None:
    report = check(
        rewrite(
            bag_zip,
            tmp_path / "all.zip",
            change={IMG: flip, "tagmanifest-sha256.txt.ed25519": flip},
            drop={"data/evidence/_CON.txt"},
            add={"data/new.txt": b"n", "extra.txt": b"e"},
        )
    )
    assert {
        ("altered", IMG),
        ("missing", "data/evidence/_CON.txt"),
        ("unexpected", "data/new.txt"),
        ("unexpected", "extra.txt"),
        ("bad-signature", "tagmanifest-sha256.txt.ed25519"),
    } <= kinds(report)
    assert not report.ok and len(report.failures) == len(report.problems)


# -- tampering with an unpacked folder ------------------------------------------------------------------------


def test_folder_tampering(tmp_path: Path, bag_zip: Path) -> None:
    folder = unpack_bag(bag_zip, tmp_path / "bag")
    (folder / IMG).write_bytes(b"changed")
    (folder / "data/evidence/_CON.txt").unlink()
    (folder / "data/evidence/planted.txt").write_bytes(b"x")
    (folder / "data/evidence/.hidden-note").rename(folder / "data/evidence/.moved")
    (folder / ".DS_Store").write_bytes(b"\0")
    outside = tmp_path / "secret.txt"
    outside.write_text("do not read")
    (folder / "data/evidence/link.txt").symlink_to(outside)
    report = check(folder)
    assert kinds(report) == {
        ("altered", IMG),
        ("missing", "data/evidence/_CON.txt"),
        ("unexpected", "data/evidence/planted.txt"),
        ("missing", "data/evidence/.hidden-note"),
        ("unexpected", "data/evidence/.moved"),
        ("unexpected", ".DS_Store"),
        ("malformed", "data/evidence/link.txt"),
        ("altered", "bag-info.txt"),
    }


def test_folder_with_nfd_names_still_checks(tmp_path: Path, bag_zip: Path) -> None:
    folder = unpack_bag(bag_zip, tmp_path / "bag")
    nfc = folder / "data/evidence/résumé final.pdf"
    nfc.rename(folder / unicodedata.normalize("NFD", "data/evidence/résumé final.pdf"))  # as HFS+ stores it
    assert check(folder).problems == []


# -- hostile zips -----------------------------------------------------------------------------------------


def symlink_entry() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(f"{BAG}/data/evidence/link")
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    return info


HOSTILE: dict[str, tuple[list[tuple[zipfile.ZipInfo, bytes]], str]] = {
    "parent": ([(zipfile.ZipInfo("../evil"), b"x")], "../evil"),
    "absolute": ([(zipfile.ZipInfo("/abs"), b"x")], "/abs"),
    "drive": ([(zipfile.ZipInfo("C:/x"), b"x")], "C:/x"),
    "escape": ([(zipfile.ZipInfo(f"{BAG}/../../x"), b"x")], f"{BAG}/../../x"),
    "backslash": ([(zipfile.ZipInfo(f"{BAG}\\x"), b"x")], f"{BAG}\\x"),
    "duplicate": ([(zipfile.ZipInfo(f"{BAG}/bagit.txt"), b"BagIt-Version: 1.0\n")], f"{BAG}/bagit.txt"),
    "symlink": ([(symlink_entry(), b"../../../etc/passwd")], f"{BAG}/data/evidence/link"),
    "case": ([(zipfile.ZipInfo(f"{BAG}/data/evidence/img 1234.JPG"), b"x")], f"{BAG}/data/evidence/img 1234.JPG"),
    "nfd": ([(zipfile.ZipInfo(f"{BAG}/data/cafe\u0301.txt"), b"x")], f"{BAG}/data/cafe\u0301.txt"),
    "outside": ([(zipfile.ZipInfo("x.txt"), b"x")], "x.txt"),
    "file-and-folder": ([(zipfile.ZipInfo(f"{BAG}/data/evidence"), b"x")], f"{BAG}/data/evidence"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_zips_are_refused(tmp_path: Path, bag_zip: Path, case: str) -> None:
    entries, name = HOSTILE[case]
    hostile = rewrite(bag_zip, tmp_path / "hostile.zip", add_info=entries)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(UnsafePathError, match="refusing to unpack"):
        unpack_bag(hostile, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing left behind
    report = check(hostile)
    assert ("malformed", name) in kinds(report), report.problems
    assert not report.ok


def test_malformed_entries_are_never_read(tmp_path: Path, bag_zip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hostile = rewrite(bag_zip, tmp_path / "hostile.zip", add_info=[(symlink_entry(), b"target")])
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> IO[bytes]:
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    check(hostile)
    assert opened and f"{BAG}/data/evidence/link" not in opened


# -- unpacking -----------------------------------------------------------------------------------------------


def test_unpack_bag(tmp_path: Path, bag_zip: Path) -> None:
    folder = unpack_bag(bag_zip, tmp_path / "out")
    assert folder == tmp_path / "out" and (folder / "bagit.txt").is_file()
    assert (folder / IMG).read_bytes() == zipfile.ZipFile(bag_zip).read(f"{BAG}/{IMG}")
    assert check(folder).problems == []
    with pytest.raises(InputError, match="already exists"):
        unpack_bag(bag_zip, folder)
    assert leftovers(tmp_path) == []


# -- refusals and atomicity -------------------------------------------------------------------------------


class Failing(io.RawIOBase):
    """A stream that yields one chunk, then fails (a disk error, or Ctrl-C)."""

    def __init__(self, error: BaseException):
        self.error, self.calls = error, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.calls += 1
        if self.calls > 1:
            raise self.error
        buffer[: 1 << 20] = b"x" * (1 << 20)
        return 1 << 20


@pytest.mark.parametrize("error", [OSError(5, "Input/output error"), KeyboardInterrupt()])
def test_a_failing_payload_leaves_no_output(tmp_path: Path, error: BaseException) -> None:
    out = tmp_path / "out" / "bag.zip"
    out.parent.mkdir()
    payload = [
        *bytes_payload({"a.txt": b"a"}),
        PayloadFile("b.bin", 3 << 20, lambda: io.BufferedReader(Failing(error))),
    ]
    with pytest.raises(InputError if isinstance(error, OSError) else KeyboardInterrupt) as caught:
        write(out, payload)
    if isinstance(caught.value, InputError):
        assert "b.bin" in str(caught.value)
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("declared", [5, 20])
def test_a_file_that_changes_size_is_refused(tmp_path: Path, declared: int) -> None:
    payload = [PayloadFile("grew.txt", declared, lambda: io.BytesIO(b"0123456789"))]
    with pytest.raises(InputError, match="grew.txt.*changed while packaging"):
        write(tmp_path / "bag.zip", payload)
    assert list(tmp_path.iterdir()) == []


def test_late_files_are_asked_for_when_the_writer_reaches_them(tmp_path: Path) -> None:
    """A late file's bytes (a package's reports) may be made while the files before it are written."""
    asked: list[str] = []

    def opener(name: str, data: bytes) -> Any:
        def open_() -> io.BytesIO:
            asked.append(name)
            return io.BytesIO(data)

        return open_

    early = [PayloadFile(name, 1000, opener(name, b"e" * 1000)) for name in ("a.bin", "b.bin")]

    def late_bytes() -> bytes:
        assert asked == ["a.bin", "b.bin"]  # only once every earlier file is written
        return b"made later\n"

    out = write(tmp_path / "bag.zip", [*early, LateFile("z.txt", late_bytes)])
    assert out.payload_oxum == f"{2000 + len(b'made later') + 1}.3"
    assert check(out.path).ok
    with zipfile.ZipFile(out.path) as archive:
        assert archive.read(f"{BAG}/data/z.txt") == b"made later\n"


def test_a_late_file_that_fails_leaves_no_zip(tmp_path: Path) -> None:
    def broken() -> bytes:
        raise RuntimeError("the report could not be made")

    with pytest.raises(RuntimeError, match="could not be made"):
        write(tmp_path / "bag.zip", [*bytes_payload({"a.txt": b"a"}), LateFile("z.txt", broken)])
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "bag.zip"
    out.write_bytes(b"precious")
    with pytest.raises(InputError, match="already exists") as caught:
        write(out, bytes_payload({"a.txt": b"a"}))
    assert caught.value.hint and "--out" in caught.value.hint
    assert out.read_bytes() == b"precious" and leftovers(tmp_path) == []
    write(out, bytes_payload({"a.txt": b"a"}), overwrite=True)
    assert check(out).ok


@pytest.mark.parametrize(
    ("payload", "tags", "error"),
    [
        (["café.txt", "cafe\u0301.txt"], {}, UnsafePathError),  # NFD path: not NFC
        (["Café.txt", "café.txt"], {}, UnsafePathError),  # equal after case folding
        (["a.txt", "a.txt"], {}, UnsafePathError),
        (["a", "a/b.txt"], {}, UnsafePathError),  # a file where a folder must go
        (["../x.txt"], {}, UnsafePathError),
        (["/x.txt"], {}, UnsafePathError),
        (["a:b.txt"], {}, UnsafePathError),  # not sanitize_name-clean
        (["100%.txt"], {}, UnsafePathError),
        (["trailing. "], {}, UnsafePathError),
        (["a.txt"], {"data/x.txt": b""}, UnsafePathError),
        (["a.txt"], {"Data": b""}, UnsafePathError),
        (["a.txt"], {"../x": b""}, UnsafePathError),
        (["a.txt"], {"VERIFY.txt": b"", "verify.TXT": b""}, UnsafePathError),
        (["a.txt"], {"bagit.txt": b""}, ValueError),
        (["a.txt"], {"manifest-md5.txt": b""}, ValueError),
        (["a.txt"], {"tagmanifest-sha256.txt.sig": b""}, ValueError),
    ],
)
def test_unsafe_or_colliding_paths_are_refused(
    tmp_path: Path, payload: list[str], tags: dict[str, bytes], error: type[Exception]
) -> None:
    with pytest.raises(error):
        write(
            tmp_path / "bag.zip", [PayloadFile(path, 1, lambda: io.BytesIO(b"x")) for path in payload], tag_files=tags
        )
    assert list(tmp_path.iterdir()) == []


def test_both_forms_of_e_acute_sanitize_to_one_name_and_collide(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "café.txt").write_bytes(b"nfc")
    (folder / "cafe\u0301.txt").write_bytes(b"nfd")
    assert len(list(folder.iterdir())) == 2  # two different files on Linux
    with pytest.raises(UnsafePathError, match="café.txt"):
        write(tmp_path / "bag.zip", file_payload(folder))
    assert not (tmp_path / "bag.zip").exists()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"bag_name": "a/b"}, InputError),
        ({"bag_name": "bad:name"}, InputError),
        ({"bag_info": [("Note", "two\nlines")]}, InputError),
        ({"bag_info": [("Payload-Oxum", "1.1")]}, ValueError),
        ({"bag_info": [("Bad: label", "x")]}, ValueError),
        ({"when": datetime(2026, 1, 1)}, ValueError),
    ],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        write(tmp_path / "bag.zip", bytes_payload({"a.txt": b"a"}), **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_is_an_evidencekit_error(tmp_path: Path) -> None:
    with pytest.raises(EvidenceKitError):
        write(tmp_path / "missing" / "bag.zip", bytes_payload({"a.txt": b"a"}))


def test_payload_streams_are_closed(tmp_path: Path) -> None:
    streams: list[io.BytesIO] = []

    def opener() -> io.BytesIO:
        streams.append(io.BytesIO(b"abc"))
        return streams[-1]

    write(tmp_path / "bag.zip", [PayloadFile("a.txt", 3, opener)])
    assert len(streams) == 1 and streams[0].closed
