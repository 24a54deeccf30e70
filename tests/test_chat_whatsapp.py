"""WhatsApp "Export chat" parser: real samples (MIT ones copied under tests/data, GPL/AGPL ones
read from ../shared) and synthetic files for each trap of the format reference §1.

Expected values are read by hand from the sample files, not from the parser's output.
"""

from __future__ import annotations

import time
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evidencekit.chats import FolderTree, ParseOptions, ZipTree, open_tree, whatsapp
from evidencekit.errors import InputError

from .chatkit import only_chat, real_export, transcripts
from .conftest import REPO

DATA = REPO / "tests" / "data" / "chats" / "whatsapp"

Records = list[dict[str, Any]]


def write(folder: Path, name: str, text: str, *, newline: str = "\n", bom: bool = False) -> Path:
    path = folder / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.replace("\n", newline).encode())
    return path


def by_line(messages: Records) -> dict[int, dict[str, Any]]:
    return {m["source"]["line"]: m for m in messages}


def utc(message: dict[str, Any]) -> str:
    return str(message["time"]["utc"])


def order(header: dict[str, Any]) -> tuple[str, str]:
    return header["time"]["date_order"]["value"], header["time"]["date_order"]["from"]


# Real samples: MIT, copied -------------------------------------------------------------------


def test_android_day_first_two_digit_year() -> None:
    header, messages, end = only_chat(DATA / "chat-miner" / "test_ddmmyy_24hrs.txt")
    assert (header["platform"], header["parser"]["name"], header["facts"]["os"]) == (
        "whatsapp",
        "whatsapp-txt",
        "android",
    )
    assert order(header) == ("dmy", "file") and "20/01/19" in header["time"]["date_order"]["reason"]
    assert header["time"]["basis"] == "assumed" and header["type"] == "group"
    assert len(messages) == end["messages"] == 9
    lines = by_line(messages)
    assert utc(lines[2]) == "2019-01-20T11:23:00Z" and lines[2]["text"] == "."
    assert lines[3]["text"] == "Lorem ipsum dolor sit amet,\nconsectetur adipiscing elit. Duis libero."
    assert lines[5]["from"]["name"] == "John-John Doe" and lines[5]["text"] == "Lorem ipsum : dolor sit amet."
    assert (lines[6]["type"], lines[6]["event"]) == ("event", "group-created") and "from" not in lines[6]
    assert (lines[7]["event"], lines[7]["text"]) == ("added", "You were added")
    assert lines[9]["from"]["name"] == "\U0001f913"
    assert lines[1]["source"] == {"file": "test_ddmmyy_24hrs.txt", "line": 1}


def test_android_spanish_style_12_hour() -> None:
    header, messages, _ = only_chat(DATA / "chat-miner" / "test_mmddyyyy_12hrs.txt")
    assert order(header) == ("mdy", "file")
    lines = by_line(messages)
    assert utc(lines[3]) == "2019-01-30T20:49:00Z"  # 08:49 p. m.
    assert utc(lines[6]) == "2020-06-20T00:08:00Z"  # 00:08 a. m.
    assert utc(lines[9]) == "2021-12-20T12:10:00Z"  # 12:10 p. m.
    assert lines[3]["time"]["text"] == "01/30/2019, 08:49 p. m."


def test_android_year_first_and_bracketed_without_seconds() -> None:
    header, messages, _ = only_chat(DATA / "chat-miner" / "test_yyyymmdd_24hrs.txt")
    assert order(header) == ("ymd", "file") and utc(messages[-1]) == "2021-12-30T22:01:00Z"
    header, messages, _ = only_chat(DATA / "chat-miner" / "test_[mmddyy]_24hrs.txt")
    assert order(header) == ("mdy", "file") and header["facts"]["os"] == "ios"
    assert [utc(m) for m in messages][:2] == ["2019-01-01T11:25:00Z", "2019-01-20T11:23:00Z"]


def test_ios_dotted_with_lookalike_and_foreign_lines() -> None:
    header, messages, end = only_chat(DATA / "chatistics" / "_chat.txt")
    assert order(header) == ("dmy", "file") and header["facts"]["header_variant"] == "[d.m.yy, H:MM:SS]"
    assert len(messages) == 21
    lines = by_line(messages)
    assert (lines[3]["type"], lines[3]["event"], lines[3]["text"]) == ("event", "other", "This is an info entry")
    assert lines[4]["from"]["name"] == "John Doe"  # the line starts with U+200E
    assert "[1.2.2019, 00:00:00] John Doe: this line is not a message on its own" in lines[18]["text"]
    assert lines[21]["text"].endswith("2/11/19, 14:48 Alice Placeholder: this is a message from another chat!")
    assert [p["line"] for p in end["problems"]["first"]] == [19, 22]
    assert utc(lines[23]) == "2019-04-19T16:18:33Z"


def test_ambiguous_file_asks_for_the_date_order() -> None:
    with pytest.raises(InputError) as caught:
        only_chat(DATA / "chatistics" / "_chat 3.txt")
    assert "_chat 3.txt" in str(caught.value) and "--date-order dmy|mdy|ymd" in str(caught.value)


def test_sender_names_with_colons_and_blank_lines() -> None:
    header, messages, _ = only_chat(DATA / "chatistics" / "_chat 3.txt", date_order="mdy")
    assert order(header) == ("mdy", "option")
    lines = by_line(messages)
    assert lines[1]["event"] == "encryption-notice"
    assert lines[4]["from"]["name"] == "Even longer username with emoticons! \U0001f648 \U0001f648"
    assert (lines[5]["from"]["name"], lines[5]["text"]) == ("The final test", "Does it work with colons?: Hallelujah!")
    assert utc(lines[8]) == "2019-10-11T14:25:00Z"
    assert lines[10]["text"] == "\n" * 5 + "\U0001f44d" * 6 + "!"  # empty first line, four blank lines
    assert lines[16]["text"].endswith("\n2/11/19: Arrival\n12/12/19: Departure")


def test_en_dash_separator_and_lowercase_pm() -> None:
    header, messages, _ = only_chat(DATA / "chatistics" / "_chat 4.txt")
    assert header["facts"]["header_variant"] == "m/d/yy, H:MM:SS AM/PM \u2013"
    assert [utc(m) for m in messages] == ["2019-09-17T08:30:52Z", "2019-09-17T16:30:10Z", "2019-09-18T16:50:32Z"]


def test_ios_us_with_title_in_sender_slot() -> None:
    header, messages, end = only_chat(
        DATA / "langchain" / "chat_loaders" / "whatsapp_chat.txt", timezone="America/Sao_Paulo"
    )
    assert (header["title"], header["type"], header["facts"]["language"]) == ("Dr. Feather", "personal", "en")
    assert messages[0]["event"] == "encryption-notice" and "from" not in messages[0]
    assert utc(messages[-1]) == "2023-08-16T00:25:16Z"  # 9:25:16 PM at UTC-03:00
    omitted = [m["attachments"][0] for m in messages if "attachments" in m]
    assert omitted == [{"kind": "photo", "status": "not-included", "reason": "image omitted"}] * 3
    assert end["attachments"] == {"linked": 0, "missing": 0, "not-included": 3}
    assert {s["name"] for s in end["senders"]} == {"Dr. Feather", "Jungle Jane"}


def test_mixed_variants_keep_foreign_lines_whole() -> None:
    header, messages, end = only_chat(DATA / "langchain" / "examples" / "whatsapp_chat.txt")
    assert [m["type"] for m in messages[:2]] == ["unparsed", "unparsed"]
    assert messages[0]["text"] == "[05.05.23, 15:48:11] James: Hi here"
    lines = by_line(messages)
    assert lines[3]["text"].startswith("Bye!\n1/23/23, 3:22_AM - User 1:")
    assert utc(lines[7]) == "2022-07-19T23:32:00Z" and lines[7]["time"]["text"] == "7/19/22, 11:32\u202fPM"
    assert lines[9]["attachments"] == [{"kind": "other", "status": "not-included", "reason": "<Media omitted>"}]
    assert lines[10]["deleted"] is True and utc(lines[10]) == "2023-06-29T00:16:00Z"
    assert end["problems"]["count"] == 5  # two unparsed lines, three lookalike lines


# Real samples: GPL/AGPL, read in place --------------------------------------------------------


def test_android_with_media_markers() -> None:
    header, messages, end = only_chat(
        real_export("whatsapp/whats_json/android/WhatsApp Chat with Dmitry S EN+Media Android.txt")
    )
    assert header["title"] == "Dmitry S EN+Media Android" and order(header) == ("dmy", "file")
    assert len(messages) == 60
    lines = by_line(messages)
    assert lines[9]["attachments"] == [{"kind": "voice", "name": "PTT-20220323-WA0000.opus", "status": "missing"}]
    assert (lines[12]["text"], lines[12]["attachments"][0]["kind"]) == ("\u0422\u0438\u0442\u043b", "photo")
    assert lines[4]["text"] == "Caption" and lines[4]["attachments"][0]["reason"] == "<Media omitted>"
    assert [n for n, m in lines.items() if m.get("view_once")] == [24, 62]
    assert sorted(n for n, m in lines.items() if m.get("deleted"))[:3] == [21, 34, 37]
    assert end["attachments"] == {"linked": 0, "missing": 11, "not-included": 18}
    assert (
        lines[46]["text"]
        == "Pimlico Gardens\nLondon, United Kingdom\nhttps://foursquare.com/v/4e89af95e5fa82ad4c0aa03b"
    )


def test_android_group_events_with_date_order_option() -> None:
    path = real_export("whatsapp/whats_json/android/WhatsApp Chat with Group Chat XXX Android.txt")
    with pytest.raises(InputError):
        only_chat(path)
    header, messages, _ = only_chat(path, date_order="dmy")
    assert (header["type"], order(header)) == ("group", ("dmy", "option"))
    events = [m["event"] for m in messages if m["type"] == "event"]
    assert events[:3] == ["encryption-notice", "group-created", "added"]
    assert {"admin", "subject-changed", "disappearing-messages", "removed"} <= set(events)
    assert utc(messages[0]) == "2023-01-11T16:13:00Z"


def test_ios_with_media_names_links_present_files(tmp_path: Path) -> None:
    source = real_export("whatsapp/whats_json/ios/WhatsApp Chat - Elon Musk (EN+Media).txt")
    _, messages, end = only_chat(source)
    assert end["attachments"] == {"linked": 0, "missing": 13, "not-included": 1}
    assert messages[12]["text"] == "Resume-Dmitry-Starkov.pdf \u2022 2 pages"
    (tmp_path / "_chat.txt").write_bytes(source.read_bytes())
    (tmp_path / "00000035-PHOTO-2022-03-27-21-41-55.jpg").write_bytes(b"photo bytes")
    _, messages, end = only_chat(tmp_path)
    assert messages[2]["attachments"][0]["status"] == "linked"
    assert messages[2]["attachments"][0]["path"] == "00000035-PHOTO-2022-03-27-21-41-55.jpg"
    assert end["attachments"]["linked"] == 1 and "unreferenced" not in end


@pytest.mark.parametrize(
    ("relpath", "language", "first_utc", "photo"),
    [
        ("whats_json/ios/WhatsApp Chat - Elon Musk (German).txt", "de", "2022-03-18T14:56:00Z", "Bild weggelassen"),
        ("whats_json/ios/iOS Indonesian.txt", "id", "2022-03-18T14:56:01Z", "gambar tidak disertakan"),
        (
            "whats_json/ios/WhatsApp Chat - Elon Musk (Arabic).txt",
            "ar",
            "2022-03-18T14:56:01Z",
            "\u0644\u0645 \u064a\u062a\u0645 \u0625\u062f\u0631\u0627\u062c \u0627\u0644\u0635\u0648\u0631\u0629",
        ),
        ("whats_json/calendars/Buddhist iOS.txt", "en", "2022-03-18T14:56:01Z", "image omitted"),
    ],
)
def test_ios_languages_and_calendars(relpath: str, language: str, first_utc: str, photo: str) -> None:
    header, messages, end = only_chat(real_export(f"whatsapp/{relpath}"))
    assert header["facts"]["language"] == language and header["type"] == "personal"
    assert utc(messages[0]) == first_utc and messages[0]["event"] == "encryption-notice"
    assert messages[2]["attachments"] == [{"kind": "photo", "status": "not-included", "reason": photo}]
    assert messages[20]["deleted"] is True and messages[20]["from"]["name"] == "Elon Musk"
    assert messages[23]["event"] == "security-code-changed"
    assert utc(messages[24]) == "2023-01-07T23:32:30Z"
    assert end["problems"]["count"] == 0


def test_dutch_android_without_comma() -> None:
    header, messages, end = only_chat(real_export("whatsapp/whats_json/languages/deutch_android_media.txt"))
    assert (header["facts"]["language"], header["facts"]["header_variant"]) == ("nl", "d-m-yyyy H:MM -")
    lines = by_line(messages)
    assert lines[7]["attachments"] == [{"kind": "voice", "name": "PTT-20220323-WA0000.opus", "status": "missing"}]
    assert lines[15]["deleted"] is True and lines[40]["view_once"] is True
    assert utc(lines[50]) == "2023-01-07T23:32:00Z" and len(messages) == 41


def test_ios_zip_russian() -> None:
    with ZipTree(real_export("whatsapp/whats_json/ios/WhatsApp Chat - Elon Musk (RU).zip")) as tree:
        assert whatsapp.detect(tree) == ["_chat.txt"]
        header, messages, end = only_chat(tree)
    assert (header["title"], header["facts"]["language"], header["source"]["file"]) == ("Elon Musk", "ru", "_chat.txt")
    assert len(messages) == 25 and end["attachments"]["not-included"] == 14
    assert messages[14]["deleted"] is True and messages[1]["from"]["name"] == "Dmitry Starkov"


def test_pokemon_title_from_the_encryption_notice() -> None:
    header, messages, end = only_chat(real_export("whatsapp/whatstk/pokemon.txt"))
    assert (header["title"], header["type"]) == ("Pokemon Chat", "group")
    assert [m["event"] for m in messages[:2]] == ["encryption-notice", "encryption-notice"]
    assert len(messages) == 20 and messages[-1]["text"] == "Wo-bbu-ffet"
    assert {"Pokemon Chat"} & {s["name"] for s in end["senders"]} == set()


def test_one_day_group_needs_the_date_order() -> None:
    path = real_export("whatsapp/chat-analytics/4A_11M.txt")
    with pytest.raises(InputError):
        only_chat(path)
    header, messages, end = only_chat(path, date_order="mdy")
    assert header["type"] == "group" and utc(messages[1]) == "2020-12-09T23:16:00Z"
    assert [m.get("event") for m in messages[:3]] == ["encryption-notice", "group-created", "added"]
    assert len(end["senders"]) == 5


# Synthetic files: one per trap -----------------------------------------------------------------


MALAY = """\
12/03/2024, 9:00 PG - Mesej dan panggilan disulitkan hujung ke hujung. Tiada sesiapa di luar sembang ini boleh membacanya.
12/03/2024, 9:01 PG - Ali mencipta kumpulan "Kelas 5A"
12/03/2024, 9:02 PG - Ali menambah anda
12/03/2024, 9:15 PTG - Aisyah: <Media disingkirkan>
gambar semalam
12/03/2024, 9:16 PTG - Aisyah: IMG-20240312-WA0001.jpg (fail dilampirkan)
13/03/2024, 12:05 PG - Ali: Mesej ini telah dipadam
13/03/2024, 12:30 PTG - +60 12-345 6789: siapa hantar?
"""


def test_malay_android_12_hour(tmp_path: Path) -> None:
    write(tmp_path, "Sembang WhatsApp dengan Kelas 5A.txt", MALAY)
    header, messages, end = only_chat(tmp_path, timezone="Asia/Kuala_Lumpur")
    assert (header["title"], header["type"], header["facts"]["language"]) == ("Kelas 5A", "group", "ms")
    assert header["time"] == {
        "basis": "assumed",
        "zone": "Asia/Kuala_Lumpur",
        "zone_from": "option",
        "date_order": header["time"]["date_order"],
    }
    assert [m.get("event") for m in messages[:3]] == ["encryption-notice", "group-created", "added"]
    assert utc(messages[3]) == "2024-03-12T13:15:00Z"  # 9:15 PTG at UTC+08:00
    assert messages[3]["attachments"][0]["reason"] == "<Media disingkirkan>" and messages[3]["text"] == "gambar semalam"
    assert messages[4]["attachments"] == [{"kind": "photo", "name": "IMG-20240312-WA0001.jpg", "status": "missing"}]
    assert messages[5]["deleted"] is True and utc(messages[5]) == "2024-03-12T16:05:00Z"  # 12:05 PG
    assert utc(messages[6]) == "2024-03-13T04:30:00Z"  # 12:30 PTG
    assert messages[6]["from"] == {"name": "+60 12-345 6789", "phone": "+60123456789"}
    assert end["attachments"] == {"linked": 0, "missing": 1, "not-included": 1}


INDONESIAN = """\
26/11/20 23.10 - Pesan dan panggilan terenkripsi secara end-to-end. Tidak seorang pun di luar chat ini dapat membacanya.
26/11/20 23.11 - Budi membuat grup "Arisan"
26/11/20 23.12 - Budi: <Media tidak disertakan>
27/11/20 08.00 - Sari: Pesan ini telah dihapus
27/11/20 08.01 - Sari: besok jam 5 <Pesan ini diedit>
27/11/20 08.02 - Budi keluar
"""


def test_indonesian_android_dotted_time(tmp_path: Path) -> None:
    header, messages, _ = only_chat(write(tmp_path, "chat.txt", INDONESIAN), timezone="Asia/Jakarta")
    assert header["facts"] == {"os": "android", "language": "id", "header_variant": "d/m/yy H.MM -"}
    assert order(header) == ("dmy", "file") and header["type"] == "group"
    assert utc(messages[0]) == "2020-11-26T16:10:00Z"
    assert messages[2]["attachments"][0] == {
        "kind": "other",
        "status": "not-included",
        "reason": "<Media tidak disertakan>",
    }
    assert messages[3]["deleted"] is True
    assert (messages[4]["text"], messages[4]["edited"]) == ("besok jam 5", True)
    assert [messages[1]["event"], messages[5]["event"]] == ["group-created", "left"]


def test_crlf_and_byte_order_mark(tmp_path: Path) -> None:
    text = "[1/2/23, 10:00:00] Ana: one\n[1/2/23, 10:00:05] Ben: two\nlines\n[1/13/23, 9:00:00] Ana: three\n"
    header, messages, _ = only_chat(write(tmp_path, "_chat.txt", text, newline="\r\n", bom=True))
    assert header["facts"]["repairs"] == ["byte-order-mark"]
    assert [m["text"] for m in messages] == ["one", "two\nlines", "three"]
    assert order(header) == ("mdy", "file") and utc(messages[2]) == "2023-01-13T09:00:00Z"


AMBIGUOUS = "01/02/23, 10:00 - Ana: hi\n01/02/23, 10:05 - Ben: hello\n03/04/23, 11:00 - Ana: later\n"


def test_ambiguous_dates_raise_and_option_decides(tmp_path: Path) -> None:
    path = write(tmp_path, "WhatsApp Chat with Ben.txt", AMBIGUOUS)
    with pytest.raises(InputError) as caught:
        only_chat(path)
    assert "WhatsApp Chat with Ben.txt" in str(caught.value) and "--date-order" in str(caught.value)
    header, messages, end = only_chat(path, date_order="mdy")
    assert header["time"]["date_order"] == {"value": "mdy", "from": "option", "reason": "given with --date-order"}
    assert utc(messages[2]) == "2023-03-04T11:00:00Z" and end["problems"]["count"] == 0
    assert (header["title"], header["type"]) == ("Ben", "personal")


def test_backward_jumps_decide_when_every_value_is_small(tmp_path: Path) -> None:
    # read day-first, the dates run 1 Feb, 2 Feb, 3 Feb, 1 Mar; month-first they jump about
    text = "01/02/23, 10:00 - A: a\n02/02/23, 10:00 - B: b\n03/02/23, 10:00 - A: c\n01/03/23, 10:00 - B: d\n"
    header, messages, _ = only_chat(write(tmp_path, "c.txt", text))
    assert order(header) == ("dmy", "file") and "go back 0 times" in header["time"]["date_order"]["reason"]
    assert utc(messages[3]) == "2023-03-01T10:00:00Z"


def test_date_order_option_that_contradicts_the_file(tmp_path: Path) -> None:
    text = "25/12/2023, 10:00 - Ana: merry\n26/12/2023, 09:00 - Ben: thanks\n"
    header, messages, end = only_chat(write(tmp_path, "c.txt", text), date_order="mdy")
    assert order(header) == ("mdy", "option") and "2 dates" in header["time"]["date_order"]["reason"]
    assert messages[0]["time"] == {"text": "25/12/2023, 10:00"}
    assert "not a date" in messages[0]["problems"][0] and end["problems"]["count"] == 2


def test_daylight_saving_gap(tmp_path: Path) -> None:
    text = "31/03/2024, 01:59 - Ana: before\n31/03/2024, 02:30 - Ana: in the gap\n31/03/2024, 03:01 - Ana: after\n"
    _, messages, end = only_chat(write(tmp_path, "c.txt", text), timezone="Europe/Berlin")
    assert [utc(m) for m in messages] == ["2024-03-31T00:59:00Z", "2024-03-31T01:30:00Z", "2024-03-31T01:01:00Z"]
    assert "does not exist in Europe/Berlin" in messages[1]["problems"][0]
    assert end["problems"]["first"][0]["line"] == 2


def test_media_linked_missing_omitted_and_nfd_names(tmp_path: Path) -> None:
    chat = tmp_path / "export"
    chat.mkdir()
    text = (
        "23/03/2022, 13:32 - Elon: IMG-20220323-WA0002.jpg (file attached)\ncaption here\n"
        "23/03/2022, 13:33 - Elon: VID-20220323-WA0003.mp4 (file attached)\n"
        "23/03/2022, 13:34 - Elon: <Media omitted>\n"
        "23/03/2022, 13:35 - Elon: Caf\u00e9 menu.pdf (file attached)\n"
    )
    write(chat, "WhatsApp Chat with Elon.txt", text)
    (chat / "IMG-20220323-WA0002.jpg").write_bytes(b"jpeg")
    (chat / unicodedata.normalize("NFD", "Caf\u00e9 menu.pdf")).write_bytes(b"pdf")
    (chat / "unrelated.png").write_bytes(b"png")
    header, messages, end = only_chat(tmp_path)
    assert header["source"]["file"] == "export/WhatsApp Chat with Elon.txt"
    photo = messages[0]["attachments"][0]
    assert (photo["status"], photo["path"], photo["kind"], messages[0]["text"]) == (
        "linked",
        "export/IMG-20220323-WA0002.jpg",
        "photo",
        "caption here",
    )
    assert messages[1]["attachments"][0]["status"] == "missing"
    assert messages[2]["attachments"][0]["status"] == "not-included"
    pdf = messages[3]["attachments"][0]
    assert (pdf["status"], pdf["match"], pdf["kind"]) == ("linked", "nfc", "file")
    assert [u["path"] for u in end["unreferenced"]] == ["export/unrelated.png"]


def test_ios_zip_with_media(tmp_path: Path) -> None:
    path = tmp_path / "WhatsApp Chat - Ana.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "_chat.txt",
            "[3/27/22, 21:41:35] Ana: Hello\r\n\u200e[3/27/22, 21:41:55] Ana: \u200e<attached: 00000035-PHOTO-2022-03-27-21-41-55.jpg>\r\n"
            "\u200e[3/27/22, 21:50:09] Ana: Plan.pdf \u200edocument omitted\r\n",
        )
        archive.writestr("00000035-PHOTO-2022-03-27-21-41-55.jpg", b"jpeg")
    header, messages, end = only_chat(open_tree(path))
    assert messages[1]["attachments"][0]["status"] == "linked" and "text" not in messages[1]
    assert messages[2]["attachments"] == [
        {"kind": "file", "name": "Plan.pdf", "status": "not-included", "reason": "document omitted"}
    ]
    assert end["attachments"] == {"linked": 1, "missing": 0, "not-included": 1}


def test_ten_thousand_line_message_and_lookalike_body(tmp_path: Path) -> None:
    body = "\n".join(f"row {n}" for n in range(10_000))
    text = f"01/02/2023, 10:00 - Ana: {body}\n[01/02/2023, 10:01:00] Ben: quoted\n13/02/2023, 10:02 - Ben: next\n"
    _, messages, end = only_chat(write(tmp_path, "long.txt", text))
    assert len(messages) == 2 and messages[0]["text"].count("\n") == 10_000
    assert messages[0]["text"].endswith("row 9999\n[01/02/2023, 10:01:00] Ben: quoted")
    assert messages[1]["source"]["line"] == 10_002
    assert end["problems"]["first"][0]["line"] == 10_001


def test_line_before_the_first_header_is_kept_unparsed(tmp_path: Path) -> None:
    text = "Chat history with Ana\n\n01/02/2023, 10:00 - Ana: hi\n13/02/2023, 10:00 - Ana: there\n"
    _, messages, end = only_chat(write(tmp_path, "c.txt", text))
    assert messages[0] == {
        "kind": "message",
        "n": 1,
        "type": "unparsed",
        "text": "Chat history with Ana",
        "source": {"file": "c.txt", "line": 1},
        "problems": [messages[0]["problems"][0]],
    }
    assert "expected a message header (d/m/yyyy, H:MM -)" in messages[0]["problems"][0]
    assert end["problems"]["first"][0] == {"file": "c.txt", "line": 1, "message": messages[0]["problems"][0]}


def test_ios_system_lines_with_the_group_title(tmp_path: Path) -> None:
    text = (
        "[1/2/23, 10:00:00] Family: \u200eMessages and calls are end-to-end encrypted.\n"
        "[1/2/23, 10:00:01] Family: \u200eAna added Ben\n"
        "[1/2/23, 10:00:02] ~\u202fMei: hello \u2068@Ana\u2069\n"
        "[1/13/23, 10:00:03] \u202a+60 12-345 6789\u202c: ok\n"
    )
    header, messages, end = only_chat(write(tmp_path, "_chat.txt", text))
    assert (header["title"], header["type"], header["facts"]["os"]) == ("Family", "group", "ios")
    assert [m.get("event") for m in messages[:2]] == ["encryption-notice", "added"]
    assert messages[2]["from"] == {"name": "Mei"} and messages[2]["text"] == "hello @Ana"
    assert messages[3]["from"] == {"name": "+60 12-345 6789", "phone": "+60123456789"}
    assert [s["name"] for s in end["senders"]] == ["+60 12-345 6789", "Mei"]


@pytest.mark.parametrize(
    ("line1", "line2", "expected"),
    [
        (
            "[\u0661\u0668/\u0663/\u0662\u0660\u0662\u0662\u060c \u0661\u0664:\u0665\u0666:\u0660\u0661] A: x",
            "[\u0662\u0660/\u0663/\u0662\u0660\u0662\u0662\u060c 10:00:00] A: y",
            "2022-03-18T14:56:01Z",
        ),
        ("[3/18/R4, 14:56:01] A: x", "[3/19/R4, 10:00:00] A: y", "2022-03-18T14:56:01Z"),
        ("[12.3.2022 klo 14.08.18] A: x", "[13.3.2022 klo 10.00.00] A: y", "2022-03-12T14:08:18Z"),
        ("18/03/2022, 12:05\u00a0a.\u00a0m. - A: x", "19/03/2022, 1:00 p. m. - A: y", "2022-03-18T00:05:00Z"),
        ("2022/3/18 \u4e0b\u53482:56 - A: x", "2022/3/19 \u4e0a\u53489:00 - A: y", "2022-03-18T14:56:00Z"),
    ],
)
def test_digits_calendars_and_day_periods(tmp_path: Path, line1: str, line2: str, expected: str) -> None:
    _, messages, _ = only_chat(write(tmp_path, "c.txt", f"{line1}\n{line2}\n"))
    assert utc(messages[0]) == expected and len(messages) == 2


def test_detect_by_content_not_name(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "shopping list\n10/02/2023 milk\n")
    write(tmp_path, "anything.TXT", AMBIGUOUS)
    write(tmp_path, "log.md", AMBIGUOUS)
    assert whatsapp.detect(FolderTree(tmp_path)) == ["anything.TXT"]


def test_same_bytes_same_transcript(tmp_path: Path) -> None:
    path = write(tmp_path, "c.txt", MALAY)
    assert transcripts(path, timezone="Asia/Kuala_Lumpur") == transcripts(path, timezone="Asia/Kuala_Lumpur")


def test_forty_thousand_messages_parse_quickly(tmp_path: Path) -> None:
    names = ("Aisyah", "Budi", "+60 12-345 6789", "~ Chen")
    rows = [
        f"{1 + n // 2000:02d}/01/2023, {n // 60 % 24:02d}:{n % 60:02d} - {names[n % 4]}: message {n}"
        for n in range(40_000)
    ]
    path = write(tmp_path, "big.txt", "\n".join(rows) + "\n")
    tree = open_tree(path)
    started = time.process_time()
    chat = next(whatsapp.parse(tree, "big.txt", ParseOptions(timezone="Asia/Kuala_Lumpur")))
    count = sum(1 for _ in chat.messages)
    assert count == 40_000 and time.process_time() - started < 5  # about 0.6 s measured; generous for slow CI
