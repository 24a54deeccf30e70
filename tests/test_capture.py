"""Capture: byte-for-byte copies, hashes, sightings, hash-only, links, odd files, the case lock."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import threading
from pathlib import Path

import pytest

import evidencekit as ek
from evidencekit import _canonical
from evidencekit.case import CUSTODY, MANIFEST

from .conftest import png_bytes


def _items(case: ek.Case) -> list[dict]:
    return case.read_manifest()[1]["items"]


def test_capture_copies_bytes_and_records_hashes(captured: ek.Case, samples: Path) -> None:
    items = _items(captured)
    assert [i["id"] for i in items] == ["E0001", "E0002", "E0003"]
    by_name = {i["sightings"][0]["name"]: i for i in items}
    data = (samples / "note.txt").read_bytes()
    note = by_name["note.txt"]
    assert note["sha256"] == hashlib.sha256(data).hexdigest()
    assert note["sha1"] == hashlib.sha1(data).hexdigest()
    assert note["md5"] == hashlib.md5(data).hexdigest()
    assert note["size"] == len(data) and note["media_type"] == "text/plain"
    stored = captured.root / note["object"]
    assert stored.read_bytes() == data
    assert not os.access(stored, os.W_OK) or os.geteuid() == 0
    assert stat.S_IMODE(stored.stat().st_mode) & 0o222 == 0


def test_sighting_records_who_when_where(captured: ek.Case, samples: Path, key: ek.SigningKey) -> None:
    sighting = _items(captured)[0]["sightings"][0]
    assert sighting["by"] == {"name": "aisyah", "fingerprint": key.public.fingerprint}
    assert sighting["captured"] == {"utc": "2026-03-14T13:05:09.000000Z", "offset": "+08:00"}
    assert sighting["source"] == "Telegram group V2K" and sighting["platform"] == "telegram"
    assert Path(sighting["absolute"]).is_absolute()
    assert {"modified", "accessed"} <= set(sighting["fs"])
    assert sighting["tool"]["name"] == "evidencekit" and sighting["os"]["name"]
    assert "hostname" not in str(sighting).lower()


def test_duplicate_content_becomes_a_sighting_not_a_copy(captured: ek.Case) -> None:
    red = next(i for i in _items(captured) if i["sightings"][0]["name"] == "red.png")
    assert [s["name"] for s in red["sightings"]] == ["red.png", "red-copy.png"]
    objects = list((captured.root / "objects").rglob("*"))
    assert len([o for o in objects if o.is_file()]) == 3


def test_capture_again_adds_sighting_and_custody_record(captured: ek.Case, samples: Path, key: ek.SigningKey) -> None:
    result = ek.capture(captured, [samples / "blue.png"], key=key, note="seen again")
    assert result.items[0]["new"] is False
    records = ek.custody_log(captured)
    assert [r["action"] for r in records] == ["init", "capture", "capture"]
    assert records[-1]["note"] == "seen again" and records[-1]["items"] == [result.items[0]["id"]]
    ek.verify(captured)


def test_images_are_analysed(captured: ek.Case) -> None:
    red = next(i for i in _items(captured) if i["sightings"][0]["name"] == "red.png")
    assert red["media_type"] == "image/png"
    assert red["analysis"]["status"] == "ok"
    assert red["analysis"]["width"] == 64 and len(red["analysis"]["perceptual"]["phash"]) == 16


def test_media_type_comes_from_content_not_name(case: ek.Case, tmp_path: Path, key: ek.SigningKey) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(png_bytes())
    ek.capture(case, [fake], key=key)
    assert _items(case)[0]["media_type"] == "image/png"


def test_hash_only_keeps_no_copy_and_verify_says_so(case: ek.Case, samples: Path, key: ek.SigningKey) -> None:
    ek.capture(case, [samples / "red.png"], key=key, hash_only=True)
    item = _items(case)[0]
    assert item["storage"] == "hash-only" and "object" not in item
    assert not [p for p in (case.root / "objects").rglob("*") if p.is_file()]
    report = ek.verify(case)
    assert [p.kind for p in report.notices if p.kind == "hash-only"] == ["hash-only"]


def test_hash_only_item_is_stored_when_captured_normally_later(
    case: ek.Case, samples: Path, key: ek.SigningKey
) -> None:
    ek.capture(case, [samples / "red.png"], key=key, hash_only=True)
    ek.capture(case, [samples / "red.png"], key=key)
    item = _items(case)[0]
    assert item["storage"] == "stored" and len(item["sightings"]) == 2
    ek.verify(case)


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links and FIFOs need POSIX")
def test_links_recorded_not_followed_and_fifo_skipped(case: ek.Case, tmp_path: Path, key: ek.SigningKey) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("private, outside the folder")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "link-out").symlink_to(outside)
    (folder / "loop").symlink_to(folder)
    os.mkfifo(folder / "pipe")
    result = ek.capture(case, [folder], key=key)
    assert [i["path"] for i in result.items] == [str(folder / "a.txt")]
    assert {Path(link["path"]).name for link in result.links} == {"link-out", "loop"}
    assert [Path(s["path"]).name for s in result.skipped] == ["pipe"]
    manifest = case.read_manifest()[1]
    assert {Path(link["path"]).name: link["inside"] for link in manifest["links"]} == {"link-out": False, "loop": True}
    assert all(i["sha256"] != hashlib.sha256(outside.read_bytes()).hexdigest() for i in manifest["items"])
    ek.verify(case)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_fails_alone(case: ek.Case, tmp_path: Path, key: ek.SigningKey) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("fine")
    secret = folder / "locked.txt"
    secret.write_text("no access")
    secret.chmod(0)
    result = ek.capture(case, [folder], key=key)
    assert [Path(i["path"]).name for i in result.items] == ["ok.txt"]
    assert [Path(f["path"]).name for f in result.failed] == ["locked.txt"]


def test_missing_path_fails_but_rest_goes_in(case: ek.Case, samples: Path, tmp_path: Path, key: ek.SigningKey) -> None:
    result = ek.capture(case, [tmp_path / "nope.png", samples / "red.png"], key=key)
    assert len(result.items) == 1 and "nope.png" in result.failed[0]["path"]
    record = ek.custody_log(case)[-1]
    assert record["details"]["failed"] == result.failed


def test_case_folder_is_never_captured_into_itself(tmp_path: Path, key: ek.SigningKey, now) -> None:
    case = ek.init_case(tmp_path / "work" / "case", title="t", key=key, now=now)
    (tmp_path / "work" / "shot.png").write_bytes(png_bytes())
    result = ek.capture(case, [tmp_path / "work"], key=key)
    assert [Path(i["path"]).name for i in result.items] == ["shot.png"]
    assert "case folder itself" in result.skipped[0]["reason"]


def test_undecodable_image_still_captured_with_failed_analysis(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(png_bytes()[:60])
    result = ek.capture(case, [broken], key=key)
    item = _items(case)[0]
    assert result.items[0]["analysis"] == "failed" and item["analysis"]["reason"]
    assert (case.root / item["object"]).read_bytes() == broken.read_bytes()


def test_large_file_streams_and_copies_exactly(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules["evidencekit._capture_file"], "SMALL_FILE", 1000)
    data = os.urandom(3 * (1 << 20) + 123)
    (tmp_path / "video.mp4").write_bytes(data)
    ek.capture(case, [tmp_path / "video.mp4"], key=key)
    item = _items(case)[0]
    assert item["sha256"] == hashlib.sha256(data).hexdigest() and item["md5"] == hashlib.md5(data).hexdigest()
    assert (case.root / item["object"]).read_bytes() == data


def test_manifest_and_custody_are_canonical(captured: ek.Case) -> None:
    data = (captured.root / MANIFEST).read_bytes()
    assert _canonical.dumps(_canonical.loads(data[:-1])) + b"\n" == data
    for line in (captured.root / CUSTODY).read_bytes().splitlines():
        assert _canonical.dumps(_canonical.loads(line)) == line


def test_capture_waits_for_the_lock_then_fails_clearly(captured: ek.Case, samples: Path, key: ek.SigningKey) -> None:
    with captured.lock():
        errors: list[Exception] = []

        def other() -> None:
            try:
                with captured.lock(wait=0.3):
                    pass
            except ek.CaseBusyError as exc:
                errors.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert errors and "another evidencekit command" in str(errors[0])


def test_init_refuses_non_empty_folder(tmp_path: Path, key: ek.SigningKey) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("x")
    with pytest.raises(ek.CaseStateError):
        ek.init_case(tmp_path / "x", title="t", key=key)


def test_init_header(case: ek.Case, key: ek.SigningKey) -> None:
    header = case.read_manifest()[1]["case"]
    assert header["id"] == "EK-TEST" and header["timezone"] == "Asia/Kuala_Lumpur"
    assert header["examiner"] == {"name": "aisyah", "fingerprint": key.public.fingerprint}
    assert header["created"] == {"utc": "2026-03-14T13:05:09.000000Z", "offset": "+08:00"}
    with pytest.raises(ek.InputError):
        ek.init_case(case.root.parent / "other", title="t", key=key, timezone="Mars/Olympus")


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux /proc")
def test_file_that_fails_to_read_is_reported_and_rest_goes_in(case: ek.Case, samples: Path, key: ek.SigningKey) -> None:
    # /proc/self/mem is a regular file whose first page cannot be read (EIO): a real read error, even as root
    result = ek.capture(case, ["/proc/self/mem", samples / "red.png"], key=key)
    assert [Path(i["path"]).name for i in result.items] == ["red.png"]
    assert result.failed[0]["path"] == "/proc/self/mem" and "cannot read" in result.failed[0]["reason"]
    assert not list((case.root / "tmp").iterdir())
    ek.verify(case)


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux /proc")
def test_a_streamed_file_that_fails_leaves_no_partial_copy(
    case: ek.Case, samples: Path, key: ek.SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules["evidencekit._capture_file"], "SMALL_FILE", -1)  # stream every file
    result = ek.capture(case, ["/proc/self/mem", samples / "red.png"], key=key)
    assert len(result.items) == 1 and len(result.failed) == 1
    assert not list((case.root / "tmp").iterdir())
    ek.capture(case, [samples / "blue.png"], key=key)  # the case is not left "interrupted"
    ek.verify(case)


@pytest.mark.skipif(sys.platform == "win32", reason="uses resource.getrusage")
def test_memory_stays_flat_for_a_big_file(tmp_path: Path) -> None:
    import subprocess

    from .conftest import REPO

    big = tmp_path / "video.mp4"
    with open(big, "wb") as handle:  # sparse: cheap to make, read at memory speed
        handle.truncate(300 << 20)
    script = f"""
import resource, evidencekit as ek
from evidencekit.signing import generate_signing_key_for_tests
key = generate_signing_key_for_tests("m", bytes(32))
case = ek.init_case({str(tmp_path / "case")!r}, title="memory", key=key)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ek.capture(case, [{str(big)!r}], key=key)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    )
    grown_kib = int(out.stdout.strip())
    assert grown_kib < 48 * 1024, f"capturing 300 MiB grew the process by {grown_kib} KiB"
