"""DiscordChatExporter JSON: the AGPL samples (read from ../shared only) and synthetic exports."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .chatkit import only_chat, real_export

DCE = "discord/chat-analytics"
WEB_ONLY = "only a web link was exported; the file was not downloaded"
KL = timezone(timedelta(hours=8))
START = datetime(2024, 3, 1, 21, 15, 0, 250000, tzinfo=KL)


def snowflake(moment: datetime) -> str:
    """A Discord id whose embedded creation time is `moment`."""
    return str((round(moment.timestamp() * 1000) - 1_420_070_400_000) << 22)


def author(user_id: str, name: str, nickname: str | None = None) -> dict[str, Any]:
    return {"id": user_id, "name": name, "discriminator": "0000", "nickname": nickname or name, "isBot": False}


def message(seconds: int, content: str, who: dict[str, Any], **more: Any) -> dict[str, Any]:
    moment = START + timedelta(seconds=seconds)
    record = {"id": snowflake(moment), "type": "Default", "timestamp": moment.isoformat(timespec="milliseconds")}
    record |= {"timestampEdited": None, "content": content, "author": who, "attachments": [], "reactions": []}
    return record | more


def export(guild: dict[str, str], channel: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    body = {"guild": guild, "channel": channel, "dateRange": {"after": None, "before": None}}
    body |= {"exportedAt": "2024-03-02T09:00:00.000+08:00", "messages": messages, "messageCount": len(messages)}
    return json.dumps(body, indent=2)


AINA = author("900000000000000001", "aina.k", "Aina")
BOT = author("900000000000000002", "uploader")
GUILD = {"id": "1100000000000000000", "name": "Kampus Chat", "iconUrl": "https://cdn.discordapp.com/icons/1.png"}
CHANNEL = {
    "id": "1100000000000000001",
    "type": "GuildTextChat",
    "categoryId": "5",
    "category": "General",
    "name": "gossip",
    "topic": None,
}


def test_guild_channel_with_downloaded_media(tmp_path: Path) -> None:
    out = "Kampus Chat - General - gossip [1100000000000000001].json"
    files = tmp_path / f"{out}_Files"
    files.mkdir()
    (files / "IMG_0001-6F1D2A3B4C5D6E7F.jpg").write_bytes(b"jpeg bytes")
    (files / "never-named-0000000000000000.png").write_bytes(b"png")
    first = message(0, "hello", AINA)
    upload = message(
        30, "see this", BOT, type="Reply", reference={"messageId": first["id"], "channelId": CHANNEL["id"]}
    )
    upload["attachments"] = [
        {
            "id": "1",
            "url": f"{out}_Files/IMG_0001-6F1D2A3B4C5D6E7F.jpg",
            "fileName": "IMG_0001.jpg",
            "fileSizeBytes": 10,
        },
        {"id": "2", "url": f"{out}_Files/clip-AAAAAAAAAAAAAAAA.mp4", "fileName": "clip.mp4", "fileSizeBytes": 99},
        {"id": "3", "url": "https://cdn.discordapp.com/attachments/1/2/doc.pdf?ex=1&is=2&hm=3", "fileName": "doc.pdf"},
    ]
    upload["reactions"] = [
        {"emoji": {"id": None, "name": "\U0001f62e", "code": "open_mouth"}, "count": 1, "users": [AINA]},
        {"emoji": {"id": "77", "name": "kekw", "code": "kekw"}, "count": 4},
    ]
    edited = message(60, "fixed typo", AINA, timestampEdited=(START + timedelta(minutes=5)).isoformat())
    joined = message(90, "Joined the server.", author("900000000000000003", "newbie"), type="GuildMemberJoin")
    (tmp_path / out).write_text(export(GUILD, CHANNEL, [first, upload, edited, joined]), encoding="utf-8")

    header, messages, end = only_chat(tmp_path)
    assert (header["platform"], header["title"], header["type"]) == ("discord", "gossip", "group")
    assert (header["id"], header["platform_type"]) == ("1100000000000000001", "GuildTextChat")
    assert header["facts"]["guild"] == {"id": "1100000000000000000", "name": "Kampus Chat"}
    assert messages[0]["time"] == {"text": "2024-03-01T21:15:00.250+08:00", "utc": "2024-03-01T13:15:00.250Z"}
    assert messages[0]["from"] == {"name": "Aina", "id": "900000000000000001"}
    assert messages[1]["reply_to"] == first["id"] and messages[1]["type"] == "message"
    linked, missing, web = messages[1]["attachments"]
    assert linked == {
        "kind": "photo",
        "name": "IMG_0001.jpg",
        "status": "linked",
        "path": f"{out}_Files/IMG_0001-6F1D2A3B4C5D6E7F.jpg",
        "sha256": hashlib.sha256(b"jpeg bytes").hexdigest(),
    }
    assert missing == {"kind": "video", "name": "clip.mp4", "status": "missing"}
    assert web == {"kind": "file", "name": "doc.pdf", "status": "not-included", "reason": WEB_ONLY}
    assert messages[1]["reactions"] == [{"emoji": "\U0001f62e", "by": "Aina"}, {"emoji": ":kekw:", "count": 4}]
    assert messages[2]["edited"]["utc"] == "2024-03-01T13:20:00.250Z"
    assert (messages[3]["type"], messages[3]["event"]) == ("event", "GuildMemberJoin")
    assert end["attachments"] == {"linked": 1, "missing": 1, "not-included": 1}
    assert [item["path"] for item in end["unreferenced"]] == [f"{out}_Files/never-named-0000000000000000.png"]
    assert end["problems"]["count"] == 0


def test_direct_messages_with_windows_paths_and_a_lone_surrogate(tmp_path: Path) -> None:
    dm = {"id": "0", "name": "Direct Messages"}
    channel = {"id": "1200000000000000000", "type": "DirectTextChat", "name": "Aina"}
    photo = message(0, "pic", AINA)
    photo["attachments"] = [{"id": "1", "url": "dm.json_Files\\photo-1234567890ABCDEF.png", "fileName": "photo.png"}]
    text = export(dm, channel, [photo, message(5, "broken emoji \\ud83d!", AINA)])
    (tmp_path / "dm.json").write_text(text.replace("\\\\ud83d", "\\ud83d"), encoding="utf-8")
    (tmp_path / "dm.json_Files").mkdir()
    (tmp_path / "dm.json_Files/photo-1234567890ABCDEF.png").write_bytes(b"png")
    header, messages, end = only_chat(tmp_path)
    assert header["type"] == "personal" and header["facts"]["guild"]["name"] == "Direct Messages"
    assert messages[0]["attachments"][0]["status"] == "linked"
    assert messages[1]["text"] == "broken emoji \ufffd!"
    assert end["problems"]["count"] == 1 and "surrogate" in end["problems"]["first"][0]["message"]


def test_snowflake_time_disagreeing_with_timestamp_is_a_problem(tmp_path: Path) -> None:
    fine = message(0, "ok", AINA)
    fine["id"] = snowflake(START + timedelta(seconds=3))  # within a few seconds: not reported
    moved = message(10, "moved", AINA)
    moved["timestamp"] = (START + timedelta(hours=2)).isoformat(timespec="milliseconds")
    (tmp_path / "c.json").write_text(export(GUILD, CHANNEL, [fine, moved]), encoding="utf-8")
    _, messages, end = only_chat(tmp_path)
    assert "problems" not in messages[0]
    assert "encodes the time 2024-03-01T13:15:10.250Z" in messages[1]["problems"][0]
    assert end["problems"]["first"][0]["index"] == 1


def test_truncated_export_keeps_what_came_before(tmp_path: Path) -> None:
    text = export(GUILD, CHANNEL, [message(0, "one", AINA), message(1, "two", AINA), message(2, "three", AINA)])
    (tmp_path / "cut.json").write_text(text[: text.index('"three"')], encoding="utf-8")
    header, messages, end = only_chat(tmp_path)
    assert header["title"] == "gossip"
    assert [m["text"] for m in messages] == ["one", "two"]
    assert end["problems"]["count"] == 1
    assert "truncated" in end["problems"]["first"][0]["message"]


def test_guild_sample_edited_deleted_user_stickers_and_reactions() -> None:
    header, messages, end = only_chat(real_export(f"{DCE}/SV_5A_5M.json"))
    assert (header["title"], header["type"], header["facts"]["category"]) == ("general-chiptune", "group", "Chat")
    assert len(messages) == 5
    assert messages[0]["from"] == {"name": "Deleted User", "id": "555555555555555555"}
    assert messages[0]["edited"]["utc"] == "2018-05-20T16:09:56.439Z"
    assert messages[2]["from"] == {"name": "mlomb", "id": "111111111111111111"}  # no nickname: the name
    assert messages[3]["attachments"] == [
        {"kind": "photo", "name": "unknown.png", "status": "not-included", "reason": WEB_ONLY},
        {"kind": "sticker", "name": "Laugh", "status": "not-included", "reason": WEB_ONLY},
    ]
    assert messages[4]["reactions"] == [{"emoji": ":paul:", "count": 3}, {"emoji": "❤", "count": 2}]
    # the first message appears twice, and its id encodes 2018-06-20, a month after its timestamp
    assert end["problems"]["count"] == 3
    assert "appears more than once" in messages[1]["problems"][-1]


def test_group_dm_sample_system_messages_reply_and_count() -> None:
    header, messages, end = only_chat(real_export(f"{DCE}/GC_3A_5M.json"))
    assert (header["type"], header["id"]) == ("group", "1064990764406419508")
    assert [m.get("event") for m in messages] == ["ChannelNameChange", None, "ChannelIconChange", None, None, "Call"]
    assert messages[1]["from"] == {"name": "theplant", "id": "333333333333333333"}
    assert messages[4]["reply_to"] == "1064990824305274930"
    assert messages[3]["time"]["utc"] == "2023-01-17T19:34:17.742Z"
    problems = [p["message"] for p in end["problems"]["first"]]
    assert problems[0] == "the file says messageCount 5 but holds 6 messages"
    assert [p.get("index") for p in end["problems"]["first"]] == [None, 4, 5]  # ids 530805779645595660 and 100


def test_dm_sample_surrogate_pair_reaction_and_call() -> None:
    header, messages, end = only_chat(real_export(f"{DCE}/DM_2A_2M.json"))
    assert header["type"] == "personal" and header["title"] == "Someones name"
    assert messages[0]["reactions"] == [{"emoji": "\U0001f446", "count": 42}]
    assert messages[1]["from"] == {"name": "Someones nickname", "id": "444444444444444444"}
    assert (messages[2]["event"], messages[2]["text"]) == ("Call", "Started a call that lasted 251 minutes.")
    assert end["problems"]["count"] == 1  # the call's id "100" is no real snowflake
