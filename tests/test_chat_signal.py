"""Signal chats exported by signal-export: the chat-miner sample (MIT) and synthetic chat folders."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from evidencekit.chats import FileTree, ParseOptions, detect, signal
from evidencekit.chats.transcript import read_transcript, write_transcript

from .chatkit import only_chat

SAMPLE = Path(__file__).parent / "data" / "chats" / "signal" / "chat-miner" / "test_export.txt"
PHOTO = "2024-03-01T21-15-00.250_00_holiday photo.jpg"


def line(date: str, sender: str, body: str, **more: Any) -> str:
    record = {"date": date, "sender": sender, "body": body + "  ", "quote": "", "sticker": "", "reactions": []}
    record |= {"attachments": [], "deleted": False, "call": False, "missed": False}
    return json.dumps(record | more, ensure_ascii=False)


def signal_chat(root: Path, *, markdown: str = "", lines: list[str] | None = None) -> Path:
    chat = root / "Aina"
    (chat / "media").mkdir(parents=True)
    (chat / "media" / PHOTO).write_bytes(b"holiday jpeg")
    (chat / "media" / "unused.png").write_bytes(b"png")
    (chat / "chat.md").write_text(markdown, encoding="utf-8")
    (chat / "index.html").write_text("<html></html>", encoding="utf-8")
    if lines is not None:
        (chat / "data.json").write_text("".join(item + "\n" for item in lines), encoding="utf-8")
    return root


def read_as_signal(path: Path, timezone: str) -> list[dict[str, Any]]:
    """The transcript the Signal parser writes for a lone file (whatever auto-detection picks)."""
    tree = FileTree(path)
    (main,) = signal.detect(tree)
    (chat,) = signal.parse(tree, main, ParseOptions(timezone=timezone, timezone_from="option"))
    buffer = io.BytesIO()
    write_transcript(buffer, signal, tree, main, chat)
    return list(read_transcript(io.BytesIO(buffer.getvalue())))


def test_chat_miner_markdown_sample_read_in_the_given_zone() -> None:
    # A ".txt" in this older style also has WhatsApp's header form, and WhatsApp is detected
    # first (format reference §0.1), so the Signal parser is called directly here.
    assert [found.parser.NAME for found in detect(FileTree(SAMPLE))] in (["signal-export"], ["whatsapp-txt"])
    header, *messages, end = read_as_signal(SAMPLE, "Asia/Kuala_Lumpur")
    assert header["platform"] == "signal"
    assert header["time"] == {"basis": "assumed", "zone": "Asia/Kuala_Lumpur", "zone_from": "option"}
    assert [(m["from"]["name"], m["text"]) for m in messages] == [
        ("Jane Doe", "Hello John!"),
        ("John Doe", "Hello\nJane!"),
    ]
    assert messages[0]["time"] == {"text": "2019-12-24, 12:23", "utc": "2019-12-24T04:23:00Z"}
    assert messages[1]["time"]["utc"] == "2020-01-17T13:49:00Z"
    assert [m["source"] for m in messages] == [
        {"file": "test_export.txt", "line": 1},
        {"file": "test_export.txt", "line": 2},
    ]
    assert end["problems"]["count"] == 0


def test_data_json_lines_with_media_quotes_reactions_and_deletions(tmp_path: Path) -> None:
    media = {"name": "holiday photo.jpg", "path": "media/" + PHOTO.replace(" ", "%20")}
    lines = [
        line("2024-03-01T21:15:00.250000", "Aina", "look", attachments=[media], reactions=[["Me", "\U0001f62e"]]),
        line("2024-03-01T21:16:00", "Me", "yes", quote="\n\n> look\n\n"),
        line("2024-03-01T21:17:00", "Aina", "(This message was deleted)", deleted=True),
        line("2024-03-01T21:18:00", "Aina", "", attachments=[{"name": "gone.mp4", "path": "media/gone.mp4"}]),
        "{this line was damaged",
        line("2024-03-01T21:19:00", "Me", "", sticker="\U0001f44d"),
    ]
    signal_chat(tmp_path, markdown="[2024-03-01 21:15:00] Aina: look  \n", lines=lines)
    header, messages, end = only_chat(tmp_path, timezone="Asia/Kuala_Lumpur")
    assert header["source"]["file"] == "Aina/data.json" and header["title"] == "Aina"
    assert header["facts"]["me"] == '"Me" is the account that made the export'
    assert len(messages) == 6
    assert messages[0]["time"] == {"text": "2024-03-01T21:15:00.250000", "utc": "2024-03-01T13:15:00.250Z"}
    assert messages[0]["text"] == "look"
    assert messages[0]["attachments"] == [
        {
            "kind": "photo",
            "name": "holiday photo.jpg",
            "status": "linked",
            "path": f"Aina/media/{PHOTO}",
            "sha256": hashlib.sha256(b"holiday jpeg").hexdigest(),
        }
    ]
    assert messages[0]["reactions"] == [{"emoji": "\U0001f62e", "by": "Me"}]
    assert (messages[1]["from"], messages[1]["text"]) == ({"name": "Me"}, "> look\n\nyes")
    assert messages[2]["deleted"] is True
    assert messages[3]["attachments"] == [{"kind": "video", "name": "gone.mp4", "status": "missing"}]
    assert (messages[4]["type"], messages[4]["text"]) == ("unparsed", "{this line was damaged")
    assert messages[5]["attachments"][0]["kind"] == "sticker"
    assert [m["source"]["line"] for m in messages] == [1, 2, 3, 4, 5, 6]
    assert end["problems"]["first"] == [
        {"file": "Aina/data.json", "line": 5, "message": "the line is not a JSON object"}
    ]
    assert [item["path"] for item in end["unreferenced"]] == ["Aina/media/unused.png"]  # chat.md, index.html are format


def test_markdown_only_chat_with_links_reactions_and_quote(tmp_path: Path) -> None:
    markdown = (
        "[2024-03-01 21:15:00] Aina: look  \n(- Me: \U0001f62e -)"
        f"![holiday photo.jpg](./media/{PHOTO.replace(' ', '%20')})  \n\n"
        "[2024-03-01 21:16:00] Me: \n\n> look\n\nyes  \n\n"
    )
    signal_chat(tmp_path, markdown=markdown)
    header, messages, _ = only_chat(tmp_path)
    assert header["source"]["file"] == "Aina/chat.md"
    assert messages[0]["text"] == "look"
    assert messages[0]["reactions"] == [{"emoji": "\U0001f62e", "by": "Me"}]
    assert messages[0]["attachments"][0]["path"] == f"Aina/media/{PHOTO}"
    assert (messages[1]["text"], messages[1]["source"]["line"]) == ("> look\n\nyes", 4)
    assert messages[1]["time"] == {"text": "2024-03-01 21:16:00", "utc": "2024-03-01T21:16:00Z"}


def test_wall_clock_time_in_a_daylight_saving_gap_is_noted(tmp_path: Path) -> None:
    signal_chat(tmp_path, lines=[line("2024-03-31T02:30:00", "Aina", "at night")])
    _, messages, end = only_chat(tmp_path, timezone="Europe/Berlin")
    assert messages[0]["time"]["utc"] == "2024-03-31T01:30:00Z"
    assert "does not exist in Europe/Berlin" in messages[0]["problems"][0]
    assert end["problems"]["count"] == 1
