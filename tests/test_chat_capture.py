"""Chat exports inside a case: captured byte for byte, read into signed transcripts, verified,
searched, recovered after a crash, and reported plainly when they cannot be read."""

from __future__ import annotations

import importlib
import json
import os
import stat
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import evidencekit as ek
from evidencekit import chatindex
from evidencekit.chats.transcript import read_transcript
from evidencekit.manifest import derived_path

from .chatkit import real_export
from .conftest import png_bytes
from .test_cli import run

PHOTO = png_bytes((40, 30), (10, 200, 10))


def telegram_export(folder: Path) -> Path:
    """A small Telegram Desktop single-chat export with one photo and one left-out video."""
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "photo_1@23-08-2023_13-11-23.jpg").write_bytes(PHOTO)
    messages = [
        {"id": 1, "type": "message", "date": "2023-08-23T21:00:00", "date_unixtime": "1692795600",
         "from": "Lina", "from_id": "user111", "text": "hello group", "text_entities": [{"type": "plain", "text": "hello group"}]},
        {"id": 2, "type": "message", "date": "2023-08-23T21:05:00", "date_unixtime": "1692795900",
         "from": "Badrul", "from_id": "user222", "photo": "photos/photo_1@23-08-2023_13-11-23.jpg",
         "width": 40, "height": 30, "text": "look at this", "text_entities": [{"type": "plain", "text": "look at this"}]},
        {"id": 3, "type": "message", "date": "2023-08-24T09:30:00", "date_unixtime": "1692840600",
         "from": "Badrul", "from_id": "user222", "file": "(File not included. Change data exporting settings to download.)",
         "media_type": "video_file", "mime_type": "video/mp4", "text": "", "text_entities": []},
    ]  # fmt: skip
    export = {"name": "Kelab Rahsia", "type": "private_supergroup", "id": 4242, "messages": messages}
    (folder / "result.json").write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def whatsapp_zip(path: Path, *, ambiguous: bool = False) -> Path:
    """An iOS-style 'Export chat' zip: _chat.txt and a photo at the root."""
    day = "03/04/23" if ambiguous else "23/08/23"
    lines = [
        f"[{day}, 21:00:00] Lina: hi all",
        f"[{day}, 21:01:10] Badrul: \u200e<attached: 00000002-PHOTO-2023-08-23-21-01-10.jpg>",
        f"[{day}, 21:02:00] Badrul: don't share this",
    ]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("_chat.txt", "\r\n".join(lines) + "\r\n")
        zf.writestr("00000002-PHOTO-2023-08-23-21-01-10.jpg", PHOTO)
    return path


def transcript_records(case: ek.Case, chat_id: str) -> list[dict[str, Any]]:
    _, manifest = case.read_manifest()
    entry = next(d for d in manifest["derived"] if d["id"] == chat_id)
    with open(case.root / entry["object"], "rb") as stream:
        return list(read_transcript(stream))


def item_by_sha(case: ek.Case) -> dict[str, dict[str, Any]]:
    return {item["sha256"]: item for item in case.read_manifest()[1]["items"]}


def test_telegram_folder_becomes_items_and_a_signed_transcript(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    export = telegram_export(tmp_path / "ChatExport_2023-08-24")
    result = ek.capture(case, [export], key=key, now=now)
    assert not result.failed and not result.unread
    assert len(result.items) == 2 and len(result.chats) == 1
    chat = result.chats[0]
    assert (chat["id"], chat["platform"], chat["title"], chat["messages"]) == ("T0001", "telegram", "Kelab Rahsia", 3)

    _, manifest = case.read_manifest()
    entry = manifest["derived"][0]
    assert entry["object"] == derived_path(entry["sha256"])
    assert entry["sources"] == sorted(item["id"] for item in manifest["items"])  # result.json and the photo
    assert entry["options"] == {"timezone": "Asia/Kuala_Lumpur", "timezone_from": "case"}
    assert stat.S_IMODE(os.stat(case.root / entry["object"]).st_mode) & 0o222 == 0  # read-only

    header, *messages, end = transcript_records(case, "T0001")
    assert header["source"]["file"] == "result.json"
    assert [m["time"]["utc"] for m in messages] == [
        "2023-08-23T13:00:00Z",
        "2023-08-23T13:05:00Z",
        "2023-08-24T01:30:00Z",
    ]
    photo = messages[1]["attachments"][0]
    assert photo["status"] == "linked" and item_by_sha(case)[photo["sha256"]]["media_type"] == "image/png"
    assert messages[2]["attachments"][0]["status"] == "not-included"
    assert end["attachments"] == {"linked": 1, "missing": 0, "not-included": 1}

    report = ek.verify(case)
    assert report.ok, report.problems
    assert report.transcripts == 1


def test_capturing_the_same_export_again_gives_the_same_transcript(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    export = telegram_export(tmp_path / "export")
    first = ek.capture(case, [export], key=key, now=now).chats[0]
    again = ek.capture(case, [export], key=key, now=now).chats[0]
    assert again["id"] == first["id"] and again["sha256"] == first["sha256"] and not again["new"]
    assert len(case.read_manifest()[1]["derived"]) == 1


def test_whatsapp_zip_keeps_the_zip_and_captures_each_member(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    archive = whatsapp_zip(tmp_path / "WhatsApp Chat - Kelab.zip")
    result = ek.capture(case, [archive], key=key, now=now, timezone="Asia/Kuala_Lumpur")
    assert not result.failed and not result.unread, (result.failed, result.unread)
    _, manifest = case.read_manifest()
    kinds = sorted(item["media_type"] for item in manifest["items"])
    assert kinds == ["application/zip", "image/png", "text/plain"]
    members = [s["member"]["path"] for item in manifest["items"] for s in item["sightings"] if "member" in s]
    assert sorted(members) == ["00000002-PHOTO-2023-08-23-21-01-10.jpg", "_chat.txt"]
    assert len(manifest["derived"][0]["sources"]) == 3  # the zip, the chat text and the photo

    _, *messages, _ = transcript_records(case, "T0001")
    assert [m["from"]["name"] for m in messages] == ["Lina", "Badrul", "Badrul"]
    assert messages[0]["time"]["utc"] == "2023-08-23T13:00:00Z"
    assert messages[1]["attachments"][0]["status"] == "linked"
    assert ek.verify(case).ok


def test_a_single_chat_file_brings_the_files_it_names(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    export = telegram_export(tmp_path / "export")
    (export / "unrelated.txt").write_text("not part of the chat")
    result = ek.capture(case, [export / "result.json"], key=key, now=now)
    names = sorted(item["sightings"][0]["name"] for item in case.read_manifest()[1]["items"])
    assert names == ["photo_1@23-08-2023_13-11-23.jpg", "result.json"]
    assert result.chats[0]["messages"] == 3
    assert ek.verify(case).ok


def test_undecidable_whatsapp_dates_are_captured_but_not_guessed(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    archive = whatsapp_zip(tmp_path / "chat.zip", ambiguous=True)
    result = ek.capture(case, [archive], key=key, now=now)
    assert not result.chats and len(result.unread) == 1
    assert "--date-order" in result.unread[0]["reason"]
    assert len(case.read_manifest()[1]["items"]) == 3  # every file is still evidence
    result = ek.capture(case, [archive], key=key, now=now, date_order="dmy")
    assert result.chats and not result.unread
    _, *messages, _ = transcript_records(case, result.chats[0]["id"])
    assert messages[0]["time"]["utc"] == "2023-04-03T13:00:00Z"  # 3 April 2023, 21:00 in Kuala Lumpur


def test_a_changed_transcript_fails_verification(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    ek.capture(case, [telegram_export(tmp_path / "export")], key=key, now=now)
    path = case.root / case.read_manifest()[1]["derived"][0]["object"]
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes().replace(b"hello group", b"hello there"))
    report = ek.verify(case, raise_on_failure=False)
    assert [(p.kind, p.item) for p in report.failures] == [("altered", "T0001")]


def test_an_extra_file_in_derived_is_unexpected_and_the_index_is_ignored(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    ek.capture(case, [telegram_export(tmp_path / "export")], key=key, now=now)
    list(chatindex.list_messages(case))  # builds index/chats.sqlite
    assert chatindex.index_path(case).is_file()
    assert ek.verify(case).ok
    (case.root / "derived" / "extra.jsonl").write_text("{}\n")
    assert [p.kind for p in ek.verify(case, raise_on_failure=False).failures] == ["unexpected"]


def test_search_filters(case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime) -> None:
    ek.capture(case, [telegram_export(tmp_path / "tg")], key=key, now=now)
    ek.capture(case, [whatsapp_zip(tmp_path / "wa.zip")], key=key, now=now)
    assert [c["platform"] for c in chatindex.list_chats(case)] == ["telegram", "whatsapp"]

    def texts(**query: Any) -> list[str]:
        return [m.get("text", "") for m in chatindex.list_messages(case, chatindex.MessageQuery(**query))]

    assert texts(chat="T0001") == ["hello group", "look at this", ""]
    assert texts(sender="badrul") == ["", "don't share this", "look at this", ""]  # by time, across both chats
    assert texts(contains="SHARE this") == ["don't share this"]
    assert texts(since="2023-08-24") == [""]  # midnight in the case's zone (Kuala Lumpur)
    assert texts(until="2023-08-23 21:01") == ["hello group", "hi all", ""]  # the whole minute 21:01
    photos = list(chatindex.list_messages(case, chatindex.MessageQuery(with_attachments=True)))
    linked = [a for m in photos for a in m["attachments"] if a["status"] == "linked"]
    assert len(linked) == 2 and all(a["item"].startswith("E") for a in linked)
    with pytest.raises(ek.InputError):
        texts(since="not a date at all")


def test_recover_keeps_a_transcript_written_before_a_crash(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture_module = importlib.import_module("evidencekit.capture")  # the package exports a function of that name

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(capture_module, "_commit_capture", crash)
    with pytest.raises(KeyboardInterrupt):
        ek.capture(case, [telegram_export(tmp_path / "export")], key=key, now=now)
    monkeypatch.undo()
    assert not ek.is_intact(case)
    result = ek.recover(case, key=key, now=now)
    assert result.transcripts == ["T0001"]
    assert ek.verify(case).ok and len(chatindex.list_chats(case)) == 1


def test_command_line_chats_messages_and_exit_code_for_unread(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "c"
    assert run("init", str(folder), "--title", "chats", "--timezone", "Asia/Kuala_Lumpur").returncode == 0
    ambiguous = run("capture", "--case", str(folder), str(whatsapp_zip(tmp_path / "a.zip", ambiguous=True)))
    assert ambiguous.returncode == 3, ambiguous.stderr
    assert "--date-order" in ambiguous.stderr and "Traceback" not in ambiguous.stderr
    done = run("capture", "--case", str(folder), str(tmp_path / "a.zip"), "--date-order", "dmy", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["chats"][0]["messages"] == 3

    listed = run("chats", "--case", str(folder), "--json")
    assert [c["title"] for c in json.loads(listed.stdout)] == [None]
    lines = run("messages", "--case", str(folder), "--sender", "Badrul", "--json").stdout.splitlines()
    assert [json.loads(line)["chat"] for line in lines] == ["T0001", "T0001"]
    plain = run("messages", "--case", str(folder), "--with-attachments")
    assert plain.returncode == 0 and "E0003" in plain.stdout or "E0002" in plain.stdout
    rebuilt = run("reindex", "--case", str(folder), "--json")
    assert rebuilt.returncode == 0 and json.loads(rebuilt.stdout)["index"].endswith("chats.sqlite")


def test_every_real_export_sample_is_captured_and_read(case: ek.Case, key: ek.SigningKey, now: datetime) -> None:
    """The whole ../shared/real-exports tree in one capture: every file becomes an item, every
    export a verified transcript, and the three WhatsApp files whose dates cannot tell the
    day from the month are kept but not read until the order is given."""
    root = real_export(".")
    result = ek.capture(case, [root], key=key, now=now)
    undecided = sorted(Path(row["path"].split(": ", 1)[1]).name for row in result.unread)
    assert undecided == ["4A_11M.txt", "WhatsApp Chat with Group Chat XXX Android.txt", "_chat 3.txt"]
    assert all("--date-order" in row["reason"] for row in result.unread)
    assert not result.failed
    files = [p for p in root.rglob("*") if p.is_file()]
    _, manifest = case.read_manifest()
    sighted = {s["absolute"] for item in manifest["items"] for s in item["sightings"] if "member" not in s}
    assert sighted == {str(p.absolute()) for p in files}
    platforms = {chat["platform"] for chat in result.chats}
    # the one Signal sample is a lone .txt in the "[yyyy-mm-dd, HH:MM] Name: text" form, which a
    # WhatsApp export can also have: read as WhatsApp (signal-export folders: test_chat_signal.py)
    assert platforms == {"whatsapp", "telegram", "instagram", "messenger", "discord"}
    items = {item["sha256"] for item in manifest["items"]}
    for chat in result.chats:
        records = transcript_records(case, chat["id"])
        linked = [a for m in records[1:-1] for a in m.get("attachments", ()) if a["status"] == "linked"]
        assert all(a["sha256"] in items for a in linked)
        assert records[-1]["messages"] == chat["messages"] == len(records) - 2
    assert ek.verify(case).ok

    for row, order in zip(
        sorted(result.unread, key=lambda r: Path(r["path"]).name), ("mdy", "mdy", "mdy"), strict=True
    ):
        again = ek.capture(case, [root / row["path"].split(": ", 1)[1]], key=key, now=now, date_order=order)
        assert again.chats and not again.unread


def test_hostile_zip_members_are_refused_and_the_rest_goes_in(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    archive = whatsapp_zip(tmp_path / "chat.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("../escape.txt", "outside")
        zf.writestr("/etc/absolute.txt", "absolute")
        zf.writestr("C:/drive.txt", "drive")
        bomb = zipfile.ZipInfo("bomb.bin")
        zf.writestr(bomb, b"\0" * (8 << 20), compress_type=zipfile.ZIP_DEFLATED)
    result = ek.capture(case, [archive], key=key, now=now)
    refused = sorted(row["path"].split(": ", 1)[1] for row in result.skipped)
    assert refused == ["../escape.txt", "/etc/absolute.txt", "C:/drive.txt", "bomb.bin"]
    assert result.chats and not result.failed
    names = {
        s["member"]["path"] for item in case.read_manifest()[1]["items"] for s in item["sightings"] if "member" in s
    }
    assert names == {"_chat.txt", "00000002-PHOTO-2023-08-23-21-01-10.jpg"}
    assert not (tmp_path / "escape.txt").exists() and not (case.root.parent / "escape.txt").exists()
    assert ek.verify(case).ok


def test_a_truncated_export_is_kept_and_read_as_far_as_it_goes(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    export = telegram_export(tmp_path / "export")
    data = (export / "result.json").read_bytes()
    (export / "result.json").write_bytes(data[: data.index(b'"id": 3')])  # cut inside the third message
    result = ek.capture(case, [export], key=key, now=now)
    chat = result.chats[0]
    assert chat["messages"] == 2 and chat["problems"] >= 1
    assert chat["problem_list"][0]["file"] == "result.json"
    listed = chatindex.list_chats(case)[0]
    assert listed["problem_list"] == chat["problem_list"]
    assert ek.verify(case).ok


def test_json_that_is_not_a_chat_is_an_ordinary_item(
    case: ek.Case, tmp_path: Path, key: ek.SigningKey, now: datetime
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "settings.json").write_text('{"messages": "none here", "volume": 3}')
    (tmp_path / "in" / "notes.txt").write_text("12/03/2026 met at the station\n")
    result = ek.capture(case, [tmp_path / "in"], key=key, now=now)
    assert len(result.items) == 2 and not result.chats and not result.unread
