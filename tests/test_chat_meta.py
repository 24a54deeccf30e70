"""Instagram and Messenger "Download your information" exports: facts checked by hand in the files."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from .chatkit import only_chat, real_export, transcripts

DATA = Path(__file__).parent / "data" / "chats"
MSGVAULT = DATA / "messenger" / "msgvault"
INBOX = "your_activity_across_facebook/messages/inbox"


def texts(messages: list[dict[str, Any]]) -> list[str | None]:
    return [message.get("text") for message in messages]


def write_thread(root: Path, folder: str, parts: dict[str, Any], *, bom: bool = False) -> Path:
    """A synthetic thread: `parts` maps file names (message_1.json…) to their JSON objects."""
    thread = root / folder
    thread.mkdir(parents=True, exist_ok=True)
    for name, body in parts.items():
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        (thread / name).write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return root


def generic(sender: str, ms: int, content: str, **more: Any) -> dict[str, Any]:
    return {"sender_name": sender, "timestamp_ms": ms, "content": content, "type": "Generic", **more}


def test_messenger_thread_oldest_first_with_mojibake_repaired() -> None:
    header, messages, end = only_chat(MSGVAULT / "json_simple")
    assert header["platform"] == "messenger"
    assert header["facts"]["platform_from"] == "the folder your_activity_across_facebook"
    assert (header["title"], header["type"], header["id"]) == ("Alice Example", "personal", "inbox/alice_ABC123")
    assert header["participants"] == [{"name": "Test User"}, {"name": "Alice Example"}]
    assert header["time"] == {"basis": "explicit"}
    assert texts(messages) == ["Hello", "café time?", "See you soon"]
    assert [m["n"] for m in messages] == [1, 2, 3]
    assert [m["source"]["index"] for m in messages] == [2, 1, 0]  # the file is newest first
    assert [m["time"]["utc"] for m in messages] == [
        "2020-09-13T12:26:40Z",
        "2020-09-13T12:27:40Z",
        "2020-09-13T12:28:40Z",
    ]
    assert messages[1]["from"] == {"name": "Alice Example"}
    assert messages[1]["repairs"] == ["mojibake"] and "repairs" not in messages[0]
    assert messages[1]["reactions"] == [{"emoji": "❤", "by": "Test User"}, {"emoji": "👍", "by": "Alice Example"}]
    assert end["messages"] == 3 and end["problems"]["count"] == 0


def test_messenger_calls_shares_stickers_and_missing_media() -> None:
    _, messages, end = only_chat(MSGVAULT / "json_nontext")
    assert [(m["type"], m.get("event")) for m in messages] == [
        ("event", "Unsubscribe"),
        ("message", None),
        ("event", "Call"),
        ("event", "Call"),
        ("message", None),
        ("message", None),
    ]
    assert messages[0]["text"] == "Sam left the chat"
    assert messages[1]["text"] == "Example share text\nhttps://example.com/article"
    assert messages[4]["attachments"] == [{"kind": "photo", "name": "missing.jpg", "status": "missing"}]
    assert messages[5]["attachments"] == [{"kind": "sticker", "name": "1.png", "status": "missing"}]
    assert end["attachments"] == {"linked": 0, "missing": 2, "not-included": 0}


def test_uri_with_another_top_folder_is_found_by_suffix(tmp_path: Path) -> None:
    shutil.copytree(MSGVAULT / "json_with_media_alt", tmp_path, dirs_exist_ok=True)
    _, messages, _ = only_chat(tmp_path)
    assert messages[0]["attachments"] == [{"kind": "photo", "name": "tiny.png", "status": "missing"}]
    photo = tmp_path / "your_facebook_activity/messages/inbox/carol_ALT456/photos/tiny.png"
    photo.parent.mkdir()
    photo.write_bytes(b"\x89PNG tiny")
    header, messages, end = only_chat(tmp_path)
    assert messages[0]["attachments"] == [
        {
            "kind": "photo",
            "name": "tiny.png",
            "status": "linked",
            "path": "your_facebook_activity/messages/inbox/carol_ALT456/photos/tiny.png",
            "sha256": hashlib.sha256(b"\x89PNG tiny").hexdigest(),
            "match": "suffix",
        }
    ]
    assert header["facts"]["platform_from"] == "the folder your_facebook_activity"
    assert "unreferenced" not in end


def test_thread_copied_elsewhere_is_found_by_its_thread_relative_part(tmp_path: Path) -> None:
    thread = {"participants": [{"name": "A"}, {"name": "B"}], "messages": [generic("A", 1_600_000_000_000, "pic")]}
    thread["messages"][0]["photos"] = [{"uri": "messages/inbox/bob_1/photos/p.jpg", "creation_timestamp": 1}]
    write_thread(tmp_path, "copy/bob_1", {"message_1.json": thread})
    (tmp_path / "copy/bob_1/photos").mkdir()
    (tmp_path / "copy/bob_1/photos/p.jpg").write_bytes(b"jpeg")
    (tmp_path / "copy/bob_1/photos/other.jpg").write_bytes(b"other")
    _, messages, end = only_chat(tmp_path)
    attachment = messages[0]["attachments"][0]
    assert (attachment["status"], attachment["path"], attachment["match"]) == (
        "linked",
        "copy/bob_1/photos/p.jpg",
        "suffix",
    )
    assert [item["path"] for item in end["unreferenced"]] == ["copy/bob_1/photos/other.jpg"]


def test_secure_storage_export_with_unsent_message() -> None:
    header, messages, _ = only_chat(MSGVAULT / "e2ee_simple")
    assert header["platform"] == "messenger"
    assert header["facts"]["export"] == "Messenger secure storage (end-to-end encrypted) JSON"
    assert header["title"] == "Alice Example" and header["type"] == "personal"
    assert texts(messages) == ["Hello", "café time?", "See you soon", "oops"]
    assert [m["source"]["index"] for m in messages] == [0, 1, 2, 3]  # this file is oldest first
    assert messages[3]["deleted"] is True and "deleted" not in messages[2]
    assert messages[3]["time"]["utc"] == "2020-09-13T12:29:40Z"
    assert messages[1]["reactions"] == [{"emoji": "❤", "by": "Test User"}]


def test_secure_storage_media_is_relative_to_its_file(tmp_path: Path) -> None:
    message = {"senderName": "Alice", "text": "", "timestamp": 1_700_000_000_000, "isUnsent": False}
    message["media"] = [{"uri": "./media/clip.mp4"}, {"uri": "./media/gone.jpg"}]
    write_thread(
        tmp_path, ".", {"Alice_1.json": {"participants": ["Me", "Alice"], "threadName": "Alice", "messages": [message]}}
    )
    (tmp_path / "media").mkdir()
    (tmp_path / "media/clip.mp4").write_bytes(b"mp4")
    _, messages, _ = only_chat(tmp_path)
    clip, gone = messages[0]["attachments"]
    assert (clip["kind"], clip["status"], clip["path"]) == ("video", "linked", "media/clip.mp4") and "match" not in clip
    assert (gone["kind"], gone["status"]) == ("photo", "missing")


def test_html_export_is_detected_and_asks_for_json() -> None:
    header, messages, end = only_chat(MSGVAULT / "html_simple")
    assert messages == []
    assert header["source"]["file"] == f"{INBOX}/alice_ABC123/message_1.html"
    assert header["title"] == "Alice Example" and header["platform"] == "messenger"
    assert header["time"]["basis"] == "assumed"
    assert end["problems"]["count"] == 1
    assert "Format: JSON" in end["problems"]["first"][0]["message"]


def test_instagram_testlog_repairs_names_before_use() -> None:
    header, messages, end = only_chat(DATA / "instagram/chat-miner/testlog.json")
    assert header["platform"] == "instagram"
    assert header["facts"]["platform_from"] == "the group invite link is an ig.me (Instagram) link"
    assert header["facts"]["repairs"] == ["mojibake"]
    assert header["participants"][1] == {"name": "J❤️hn Doe"}
    assert (header["title"], header["type"]) == ("Test Log", "group")
    assert len(messages) == 13
    assert messages[0]["text"] == "Testing normal message."  # the last entry of the file comes first
    assert messages[2]["from"] == {"name": "J❤️hn Doe"}
    assert messages[3]["from"] == {"name": "❤️"} and messages[3]["text"] == "Testing username only emoji: ❤️"
    assert messages[4]["reactions"] == [{"emoji": "❤️", "by": "J❤️hn Doe"}, {"emoji": "💖", "by": "Jane Doe"}]
    assert messages[7]["text"].endswith("https://www.instagram.com/p/CmUv48DLvxd/?feed_type=reshare_chaining")
    assert messages[12]["time"]["utc"] == "2022-02-28T05:25:43.621Z"
    assert end["attachments"] == {"linked": 0, "missing": 3, "not-included": 0}
    assert {s["name"]: s["messages"] for s in end["senders"]}["John Doe"] == 7


def test_minimal_export_says_the_platform_was_assumed() -> None:
    header, messages, _ = only_chat(DATA / "instagram/chat-miner/test_export.json")
    assert header["platform"] == "messenger"  # nothing in the file says Instagram: the documented default
    assert header["facts"]["platform_from"].startswith("assumed")
    assert [(m["from"]["name"], m["time"]["utc"]) for m in messages] == [
        ("Jane Doe", "2019-12-24T11:23:00Z"),
        ("John Doe", "2020-01-17T20:49:00Z"),
    ]


def test_chat_analytics_messenger_with_bom() -> None:
    header, messages, end = only_chat(real_export("messenger/chat-analytics/2A_7M.json"))
    assert header["title"] == "Alice" and len(messages) == 7
    assert messages[0]["attachments"] == [{"kind": "photo", "name": "123123123123123.jpg", "status": "missing"}]
    assert (messages[6]["from"]["name"], messages[6]["text"]) == ("Alice", "Hello")
    assert messages[6]["time"]["utc"] == "2014-11-05T00:35:32.056Z"
    assert end["attachments"]["missing"] == 4


def test_parts_merge_into_one_chat_in_time_order(tmp_path: Path) -> None:
    folder = "your_instagram_activity/messages/inbox/sam_123"
    newer = {
        "participants": [{"name": "Sam"}, {"name": "Me"}],
        "title": "Sam",
        "messages": [generic("Sam", 3000, "three"), generic("Me", 2000, "two")],
    }
    older = {
        "participants": [{"name": "Sam"}, {"name": "Me"}],
        "title": "Sam",
        "messages": [generic("Sam", 1000, "one"), generic("Me", 500, "zero")],
    }
    write_thread(tmp_path, folder, {"message_1.json": newer, "message_2.json": older})
    header, messages, end = only_chat(tmp_path)
    assert header["platform"] == "instagram" and header["source"]["file"] == f"{folder}/message_1.json"
    assert header["facts"]["parts"] == 2
    assert texts(messages) == ["zero", "one", "two", "three"]
    assert [m["source"] for m in messages] == [
        {"file": f"{folder}/message_2.json", "index": 1},
        {"file": f"{folder}/message_2.json", "index": 0},
        {"file": f"{folder}/message_1.json", "index": 1},
        {"file": f"{folder}/message_1.json", "index": 0},
    ]
    assert "unreferenced" not in end  # both parts are the format's own files


def test_mojibake_guard_keeps_real_unicode_and_non_utf8(tmp_path: Path) -> None:
    thread = {
        "participants": [{"name": "Zo\u00c3\u00ab"}, {"name": "Ana"}],
        "messages": [
            generic("Ana", 3000, "\u201cquoted\u201d caf\u00e9"),  # already real Unicode: above U+00FF
            generic("Ana", 2000, "\u00c3x"),  # Latin-1 only but not UTF-8 bytes: kept
            generic("Zo\u00c3\u00ab", 1000, "\u00e2\u0080\u009cquoted\u00e2\u0080\u009d"),
        ],
    }
    write_thread(tmp_path, "messages/inbox/zoe_1", {"message_1.json": thread})
    header, messages, _ = only_chat(tmp_path)
    assert header["participants"][0] == {"name": "Zoë"}
    assert messages[0]["from"] == {"name": "Zoë"} and messages[0]["text"] == "\u201cquoted\u201d"
    assert messages[0]["repairs"] == ["mojibake"]
    assert messages[1]["text"] == "\u00c3x" and "repairs" not in messages[1]
    assert messages[2]["text"] == "\u201cquoted\u201d caf\u00e9" and "repairs" not in messages[2]


def test_bom_unsent_and_web_only_media(tmp_path: Path) -> None:
    unsent = generic("Ana", 2000, "", is_unsent=True)
    linked = generic("Ana", 1000, "look", photos=[{"uri": "https://scontent.example/p.jpg"}])
    write_thread(tmp_path, "messages/inbox/ana_1", {"message_1.json": {"messages": [unsent, linked]}}, bom=True)
    _, messages, end = only_chat(tmp_path)
    assert messages[1]["deleted"] is True
    assert messages[0]["attachments"][0]["status"] == "not-included"
    assert end["problems"]["count"] == 0


def test_truncated_part_keeps_the_messages_before_the_cut(tmp_path: Path) -> None:
    body = json.dumps(
        {"participants": [{"name": "Ana"}], "messages": [generic("Ana", 3000, "c"), generic("Ana", 2000, "b")]}
    )
    cut = body[: body.index('"b"') - 5].encode()
    write_thread(tmp_path, "messages/inbox/ana_1", {"message_1.json": cut})
    _, messages, end = only_chat(tmp_path)
    assert texts(messages) == ["c"]
    assert end["problems"]["count"] == 1
    assert "truncated" in end["problems"]["first"][0]["message"]


def test_every_sample_folder_gives_one_chat_per_thread() -> None:
    chats = transcripts(MSGVAULT)
    assert len(chats) == 5
    assert {chat[0]["parser"]["name"] for chat in chats} == {"meta-json"}
