"""Telegram Desktop exports: result.json (streamed) and messages*.html, checked against facts
read by hand from the files, plus one synthetic export per trap of the format reference §2-§3."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from evidencekit.chats import FolderTree, ParseOptions, _jsonstream, telegram_html, telegram_json
from evidencekit.errors import FormatError

from .chatkit import only_chat, real_export, transcripts

DATA = Path(__file__).parent / "data" / "chats" / "telegram"
LANGCHAIN_JSON = DATA / "langchain" / "telegram_chat_json"
LANGCHAIN_HTML = DATA / "langchain" / "telegram_chat_html"
PLACEHOLDER = "(File not included. Change data exporting settings to download.)"


def write_export(
    folder: Path, messages: list[str], *, top: str = '"name": "Evidence group", "type": "private_supergroup", "id": 42'
) -> Path:
    """A single-chat result.json from raw message texts (raw, so invalid escapes survive)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = ",\n".join(messages)
    (folder / "result.json").write_text(f'{{\n {top},\n "messages": [\n{body}\n ]\n}}\n', encoding="utf-8")
    return folder


def message(number: int, text: str = '"hi"', **fields: Any) -> str:
    """One message object in Telegram's layout; `fields` are raw JSON values."""
    base = {
        "id": str(number),
        "type": '"message"',
        "date": '"2024-07-01T10:00:00"',
        "date_unixtime": '"1719799200"',
        "from": '"Aisyah"',
        "from_id": '"user111"',
    }
    base.update({k: v for k, v in fields.items() if v is not None})
    members = [f'"{k}": {v}' for k, v in base.items() if v != "DROP"] + [f'"text": {text}']
    return "  {" + ", ".join(members) + "}"


# --------------------------------------------------------------------------- real samples


def test_langchain_json_hand_checked() -> None:
    header, messages, end = only_chat(LANGCHAIN_JSON)
    assert (header["title"], header["type"], header["platform_type"], header["id"]) == (
        "Jimmeny",
        "personal",
        "personal_chat",
        "5965280513",
    )
    assert header["time"] == {"basis": "explicit"}
    assert [m["id"] for m in messages] == ["1", "2", "3", "4"]
    assert messages[1]["from"] == {"name": "Batman & Robin", "id": "user6565661032"}
    assert messages[0]["time"] == {"text": "1692821483", "utc": "2023-08-23T20:11:23Z"}
    assert messages[3]["source"] == {"file": "result.json", "index": 3}
    assert end["senders"] == [
        {"name": "Batman & Robin", "id": "user6565661032", "messages": 1},
        {"name": "Jimmeny Marvelton", "id": "user123450513", "messages": 3},
    ]


def test_langchain_html_agrees_with_json_and_shows_the_offset_error() -> None:
    _h, from_json, _e = only_chat(LANGCHAIN_JSON)
    header, from_html, end = only_chat(LANGCHAIN_HTML)
    assert header["parser"]["name"] == "telegram-html"
    assert header["title"] == "Jimmeny Marvelton"
    assert [m["id"] for m in from_html] == [m["id"] for m in from_json]
    assert [m["from"]["name"] for m in from_html] == [m["from"]["name"] for m in from_json]
    assert [m["text"] for m in from_html] == [m["text"] for m in from_json]
    assert from_html[3]["from"]["name"] == "Jimmeny Marvelton"
    # The label says UTC-08:00 (Pacific standard time) in August, when the real offset was -07:00:
    # read as stated it is one hour later than the JSON's unixtime, and the header says why.
    assert from_html[0]["time"] == {"text": "23.08.2023 13:11:23 UTC-08:00", "utc": "2023-08-23T21:11:23Z"}
    assert from_json[0]["time"]["utc"] == "2023-08-23T20:11:23Z"
    assert "standard-time offset" in header["facts"]["time"]
    assert end["messages"] == 4 and from_html[0]["source"] == {"file": "messages.html", "element": "message1"}


def test_html_is_left_to_json_when_both_are_there(tmp_path: Path) -> None:
    shutil.copy(LANGCHAIN_JSON / "result.json", tmp_path)
    shutil.copy(LANGCHAIN_HTML / "messages.html", tmp_path)
    tree = FolderTree(tmp_path)
    assert telegram_html.detect(tree) == []
    header, _messages, end = only_chat(tmp_path)
    assert header["parser"]["name"] == "telegram-json"
    assert "unreferenced" not in end  # messages.html is part of the export's format


def test_chat_miner_full_account_and_single() -> None:
    header, messages, _end = only_chat(DATA / "chat-miner" / "test_batch_export.json")
    assert header["title"] == "Chatname" and "full account" in header["facts"]["export"]
    assert [m["text"] for m in messages] == ["Minimal Message", "Link:https://telegram.org/"]
    assert messages[1]["time"]["utc"] == "2018-12-05T10:49:24Z"
    _header, single, _end = only_chat(DATA / "chat-miner" / "test_single_export.json")
    assert [m["from"]["name"] for m in single] == ["Author 1", "Author 2"]


def test_chat_analytics_sample_mixed_times() -> None:
    header, messages, end = only_chat(
        real_export("telegram/chat-analytics/DM_2A_7M.json"), timezone="Asia/Kuala_Lumpur"
    )
    assert len(messages) == 8 and header["time"] == {"basis": "explicit"}
    assert "3 of 8 messages" in header["facts"]["time"]
    assert messages[0]["type"] == "event" and messages[0]["event"] == "joined_telegram"
    assert messages[0]["time"] == {"text": "2019-07-05T16:55:32", "utc": "2019-07-05T08:55:32Z", "basis": "assumed"}
    assert messages[1]["text"] == "https://google.com 👀"
    assert messages[5]["attachments"] == [{"kind": "photo", "status": "not-included", "reason": PLACEHOLDER}]
    assert messages[7]["event"] == "phone_call" and messages[7]["details"]["duration_seconds"] == "56"
    assert end["attachments"] == {"linked": 0, "missing": 0, "not-included": 2}


# --------------------------------------------------------------------------- synthetic traps


def test_x_escapes_repaired_but_not_after_an_escaped_backslash(tmp_path: Path) -> None:
    folder = write_export(
        tmp_path / "x",
        [message(1, r'"bell \x07 and A=\x41"'), message(2, r'"path C:\\x41 stays"'), message(3, '"clean"')],
    )
    header, messages, _end = only_chat(folder)
    assert header["facts"]["repairs"] == ["json-x-escapes"]
    assert messages[0]["text"] == "bell \x07 and A=A" and messages[0]["repairs"] == ["json-x-escape"]
    assert messages[1]["text"] == "path C:\\x41 stays" and "repairs" not in messages[1]
    assert "repairs" not in messages[2]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64])
def test_repair_at_every_chunk_boundary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    texts = [r'"\x01\\x02\\\x03"', r'"\\\\x04 \x05"', '"ok"']
    folder = write_export(tmp_path / "c", [message(n, t) for n, t in enumerate(texts, 1)])
    expected = [m["text"] for m in only_chat(folder)[1]]
    monkeypatch.setattr(_jsonstream, "CHUNK", chunk)
    assert [m["text"] for m in only_chat(folder)[1]] == expected == ["\x01\\x02\\\x03", "\\\\x04 \x05", "ok"]


def test_entity_lists_prefer_text_entities(tmp_path: Path) -> None:
    entities = '[{"type": "bold", "text": "Look: "}, {"type": "text_link", "text": "here", "href": "https://x.test"}]'
    folder = write_export(
        tmp_path / "e",
        [
            message(1, '["Look: ", {"type": "link", "text": "WRONG"}]', text_entities=entities),
            message(2, '["a", {"type": "bold", "text": "b"}, "c"]'),
        ],
    )
    _header, messages, _end = only_chat(folder)
    assert [m["text"] for m in messages] == ["Look: here", "abc"]


def test_attachments_placeholder_linked_missing_and_thumbnail(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "photo_1@01-07-2024_10-00-00.jpg").write_bytes(b"jpeg")
    (folder / "video_files").mkdir()
    (folder / "video_files" / "clip.mp4_thumb.jpg").write_bytes(b"thumb")
    write_export(
        folder,
        [
            message(1, '""', photo='"photos/photo_1@01-07-2024_10-00-00.jpg"'),
            message(2, '""', photo='"photos/photo_2@01-07-2024_10-00-00.jpg"'),
            message(
                3,
                '""',
                file=json.dumps(PLACEHOLDER),
                file_name='"clip.mp4"',
                media_type='"video_file"',
                thumbnail='"video_files/clip.mp4_thumb.jpg"',
            ),
            message(4, '""', photo='"../outside.jpg"'),
            message(5, '""', photo=json.dumps(PLACEHOLDER), self_destruct_period_seconds="10"),
        ],
    )
    _header, messages, end = only_chat(folder)
    linked = messages[0]["attachments"][0]
    assert (linked["status"], linked["path"], linked["kind"]) == (
        "linked",
        "photos/photo_1@01-07-2024_10-00-00.jpg",
        "photo",
    )
    assert messages[1]["attachments"][0]["status"] == "missing"
    assert messages[2]["attachments"] == [
        {"kind": "video", "name": "clip.mp4", "status": "not-included", "reason": PLACEHOLDER}
    ]
    assert messages[3]["attachments"][0]["status"] == "missing"  # a path leaving the export is never followed
    assert messages[4]["view_once"] is True
    assert end["attachments"] == {"linked": 1, "missing": 2, "not-included": 2}
    assert "unreferenced" not in end  # the thumbnail is the exporter's preview, not an orphan file


def test_full_account_yields_every_chat_with_no_scope(tmp_path: Path) -> None:
    chat = '{{"name": "{}", "type": "{}", "id": {}, "messages": [{}]}}'
    text = (
        '{"about": "export", "personal_information": {"user_id": 7, "first_name": "Aisyah", "phone_number": "+60 12"},'
        ' "chats": {"about": "chats", "list": ['
        + chat.format("Alice", "personal_chat", 1, message(10, '"one"'))
        + ", "
        + chat.format("Old group", "private_group", 2, message(-999999990, '"migrated"'))
        + ']}, "left_chats": {"about": "left", "list": ['
        + chat.format("Left channel", "public_channel", 3, message(5, '"bye"'))
        + "]}}"
    )
    (tmp_path / "result.json").write_text(text, encoding="utf-8")
    chats = transcripts(tmp_path)
    assert [c[0]["title"] for c in chats] == ["Alice", "Old group", "Left channel"]
    assert [c[0]["type"] for c in chats] == ["personal", "group", "channel"]
    assert chats[0][0]["facts"]["account"] == {"name": "Aisyah", "id": "user7", "phone": "+60 12"}
    assert chats[2][0]["facts"]["section"] == "left_chats"
    assert chats[1][1]["id"] == "-999999990"  # merged from a basic group (format reference §2.5)
    assert [c[-1]["messages"] for c in chats] == [1, 1, 1]


def test_old_export_without_unixtime_uses_the_assumed_zone(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "old", [message(1, date_unixtime="DROP", from_id="123456")])
    header, messages, _end = only_chat(folder, timezone="Asia/Kuala_Lumpur")
    assert header["time"] == {"basis": "assumed", "zone": "Asia/Kuala_Lumpur", "zone_from": "option"}
    assert messages[0]["time"] == {"text": "2024-07-01T10:00:00", "utc": "2024-07-01T02:00:00Z"}
    assert messages[0]["from"] == {"name": "Aisyah", "id": "123456"}  # bare number kept as written
    assert "bare numbers" in header["facts"]["from_id"]


def test_truncated_file_keeps_messages_before_the_cut(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "t", [message(n, f'"m{n}"') for n in range(1, 6)])
    data = (folder / "result.json").read_bytes()
    (folder / "result.json").write_bytes(data[: data.index(b'"m4"') + 2])
    _header, messages, end = only_chat(folder)
    assert [m["text"] for m in messages] == ["m1", "m2", "m3"]
    assert end["problems"]["count"] == 1
    problem = end["problems"]["first"][0]
    assert problem["index"] == 3 and "3 messages before it are kept" in problem["message"]


def test_empty_chat_with_a_byte_order_mark_is_detected(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "b", [])
    (folder / "result.json").write_bytes(b"\xef\xbb\xbf" + (folder / "result.json").read_bytes())
    header, messages, end = only_chat(folder)
    assert header["title"] == "Evidence group" and messages == [] and end["messages"] == 0


def test_not_an_object_is_a_format_error(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text('{"messages": [', encoding="utf-8")
    tree = FolderTree(tmp_path)
    assert telegram_json.detect(tree) == []
    (tmp_path / "x.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(FormatError):
        list(telegram_json.parse(FolderTree(tmp_path), "x.json", ParseOptions()))


def test_service_unsupported_and_reactions(tmp_path: Path) -> None:
    service = '  {"id": 2, "type": "service", "date": "2024-07-01T10:00:00", "date_unixtime": "1719799200", "actor": "Mallory", "actor_id": "user222", "action": "invite_members", "members": ["Bob", null], "text": ""}'
    reactions = '[{"type": "emoji", "count": 1, "emoji": "👍", "recent": [{"from": "Bob", "from_id": "user3", "date": "2024-07-01T10:01:00"}]}]'
    folder = write_export(
        tmp_path / "s",
        [message(1, reactions=reactions, forwarded_from="null"), service, '  {"id": 3, "type": "unsupported"}'],
    )
    _header, messages, end = only_chat(folder)
    assert messages[0]["reactions"] == [{"emoji": "👍", "count": 1, "by": "Bob"}]
    assert messages[0]["forwarded_from"] == "(name not in the export)"
    assert messages[1]["from"] == {"name": "Mallory", "id": "user222"}
    assert messages[1]["details"] == {"members": ["Bob", ""]}
    assert messages[2]["type"] == "unparsed" and messages[2]["text"] == '{"id": 3, "type": "unsupported"}'
    assert end["problems"]["count"] == 1


# --------------------------------------------------------------------------- HTML


def html_page(messages: str, title: str = "Evidence group") -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"/><title>Exported Data</title></head><body>'
        '<div class="page_wrap"><div class="page_header"><div class="content"><div class="text bold">\n'
        f'{title}\n</div></div></div><div class="page_body chat_page"><div class="history">{messages}'
        "</div></div></div></body></html>"
    )


def html_message(
    number: int,
    body: str,
    *,
    name: str | None = "Aisyah",
    joined: bool = False,
    time: str = "01.07.2024 10:00:00 UTC+08:00",
) -> str:
    sender = "" if name is None else f'<div class="from_name">\n{name}\n</div>'
    classes = "message default clearfix" + (" joined" if joined else "")
    return (
        f'<div class="{classes}" id="message{number}"><div class="body">'
        f'<div class="pull_right date details" title="{time}">\n10:00\n</div>{sender}{body}</div></div>'
    )


def test_html_pages_joined_separators_and_media(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "p1.jpg").write_bytes(b"jpeg")
    separator = '<div class="message service" id="message-1"><div class="body details">\n1 July 2024\n</div></div>'
    page1 = html_page(
        separator
        + html_message(1, '<div class="text">\nline one<br>line <strong>two</strong>\n   </div>')
        + html_message(2, '<div class="text">\nsame sender\n</div>', name=None, joined=True)
        + '<div class="message service" id="message3"><div class="body details">\nMallory invited Bob\n</div></div>'
    )
    page2 = html_page(
        html_message(
            1001,
            '<div class="reply_to details">In reply to <a href="messages.html#go_to_message2">this message</a></div>'
            '<div class="media_wrap clearfix"><a class="photo_wrap clearfix pull_left" href="photos/p1.jpg">'
            '<img class="photo" src="photos/p1_thumb.jpg"/></a></div>',
            name="Mallory",
        )
        + html_message(
            1002,
            '<div class="media_wrap clearfix"><div class="media clearfix pull_left media_video"><div class="fill pull_left">'
            '</div><div class="body"><div class="title bold">\nVideo file\n</div><div class="description">\n'
            "Not included, change data exporting settings to download.\n</div></div></div></div>",
            name=None,
            joined=True,
            time="01.07.2024 10:00:00",
        )
    )
    (tmp_path / "messages.html").write_text(page1, encoding="utf-8")
    (tmp_path / "messages2.html").write_text(page2, encoding="utf-8")
    (tmp_path / "messages10.html").write_text(
        html_page(html_message(5000, '<div class="text">\nlast\n</div>')), encoding="utf-8"
    )
    header, messages, end = only_chat(tmp_path, timezone="Asia/Kuala_Lumpur")
    assert header["title"] == "Evidence group" and header["facts"]["export"] == "Telegram Desktop, HTML (3 pages)"
    assert [m["id"] for m in messages] == ["1", "2", "3", "1001", "1002", "5000"]  # numeric page order, no separator
    assert messages[0]["text"] == "line one\nline two"
    assert messages[1]["from"] == {"name": "Aisyah"}
    assert messages[2]["type"] == "event" and messages[2]["text"] == "Mallory invited Bob"
    assert messages[3]["reply_to"] == "2" and messages[3]["attachments"][0]["path"] == "photos/p1.jpg"
    assert messages[3]["source"] == {"file": "messages2.html", "element": "message1001"}
    assert messages[4]["from"] == {"name": "Mallory"}  # joined across the media message
    assert messages[4]["attachments"] == [
        {
            "kind": "video",
            "status": "not-included",
            "reason": "Not included, change data exporting settings to download.",
        }
    ]
    assert messages[4]["time"] == {"text": "01.07.2024 10:00:00", "utc": "2024-07-01T02:00:00Z", "basis": "assumed"}
    assert messages[0]["time"]["utc"] == "2024-07-01T02:00:00Z"
    assert end["attachments"] == {"linked": 1, "missing": 0, "not-included": 1}
