"""WhatsApp's localised words: media markers, deleted and edited markers, system-message
phrases and export file names, each tagged with its UI language (ISO 639-1); and the readers
that find them in a message (its media marker, deleted and edited marks, event, the chat title).

Sources (chat-formats reference §1.5–§1.6): English, Indonesian, German, Dutch, Arabic and
Russian forms are seen in real exports; the Malay forms and the Malay and Indonesian group-event
phrases come from WhatsApp's string tables as compiled by public parsers and are not yet
confirmed by a real Malay export. Every comparison is made after the direction marks are
removed (`strip_marks`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from ._model import strip_marks

# Android "with media": `IMG-20220323-WA0002.jpg (file attached)` on the first body line.
ATTACHED = {
    "file attached": "en",
    "file terlampir": "id",
    "fail dilampirkan": "ms",
    "Datei angehängt": "de",
    "bestand bijgevoegd": "nl",
    "الملف مرفق": "ar",
}

# iOS "with media": `<attached: 00000035-PHOTO-2022-03-27-21-41-55.jpg>`.
IOS_ATTACHED = {
    "attached": "en",
    "terlampir": "id",
    "dilampir": "ms",
    "Anhang": "de",
    "bijgevoegd": "nl",
    "المُرفق": "ar",
}

# Android "without media": the whole first body line; the export does not say which kind.
MEDIA_OMITTED = {
    "<Media omitted>": "en",
    "<Media tidak disertakan>": "id",
    "<Media disingkirkan>": "ms",
    "<media dikecualikan>": "ms",
    "<Medien ausgeschlossen>": "de",
    "<Medien weggelassen>": "de",
    "<Media weggelaten>": "nl",
    "<تم استبعاد الوسائط>": "ar",
}

# iOS "without media": the end of the first body line (a document's name may come before it).
OMITTED: dict[str, tuple[str, str]] = {
    "image omitted": ("photo", "en"),
    "video omitted": ("video", "en"),
    "audio omitted": ("audio", "en"),
    "sticker omitted": ("sticker", "en"),
    "GIF omitted": ("gif", "en"),
    "Contact card omitted": ("contact", "en"),
    "document omitted": ("file", "en"),
    "gambar tidak disertakan": ("photo", "id"),
    "video tidak disertakan": ("video", "id"),
    "audio tidak disertakan": ("audio", "id"),
    "stiker tidak disertakan": ("sticker", "id"),
    "GIF tidak disertakan": ("gif", "id"),
    "Kartu kontak tidak disertakan": ("contact", "id"),
    "dokumen tidak disertakan": ("file", "id"),
    "imej tidak dimasukkan": ("photo", "ms"),
    "video tidak dimasukkan": ("video", "ms"),
    "audio tidak dimasukkan": ("audio", "ms"),
    "pelekat tidak disertakan": ("sticker", "ms"),
    "GIF tidak dimasukkan": ("gif", "ms"),
    "Kad kenalan tidak dimasukkan": ("contact", "ms"),
    "dokumen tidak dimasukkan": ("file", "ms"),
    "Bild weggelassen": ("photo", "de"),
    "Video weggelassen": ("video", "de"),
    "Audio weggelassen": ("audio", "de"),
    "Sticker weggelassen": ("sticker", "de"),
    "GIF weggelassen": ("gif", "de"),
    "Kontaktkarte ausgelassen": ("contact", "de"),
    "Dokument weggelassen": ("file", "de"),
    "изображение отсутствует": ("photo", "ru"),
    "видео отсутствует": ("video", "ru"),
    "аудиофайл отсутствует": ("audio", "ru"),
    "стикер не добавлен": ("sticker", "ru"),
    "GIF отсутствует": ("gif", "ru"),
    "Карточка контакта отсутствует": ("contact", "ru"),
    "документ отсутствует": ("file", "ru"),
    "لم يتم إدراج الصورة": ("photo", "ar"),
    "لم يتم إدراج الفيديوهات": ("video", "ar"),
    "لم يتم إدراج المقاطع الصوتية": ("audio", "ar"),
    "تم حذف الملصقات": ("sticker", "ar"),
    "لم يتم إدراج صورة GIF": ("gif", "ar"),
    "لم يتم إدراج بطاقة جهة اتصال": ("contact", "ar"),
    "لم يتم إدراج المستند": ("file", "ar"),
}

# "Deleted for everyone": the whole body, compared without a final full stop.
DELETED = {
    "This message was deleted": "en",
    "You deleted this message": "en",
    "Pesan ini telah dihapus": "id",
    "Pesan ini dihapus": "id",
    "Anda menghapus pesan ini": "id",
    "Mesej ini telah dipadam": "ms",
    "Anda telah memadamkan mesej ini": "ms",
    "Diese Nachricht wurde gelöscht": "de",
    "Du hast diese Nachricht gelöscht": "de",
    "Dit bericht is verwijderd": "nl",
    "U hebt dit bericht verwijderd": "nl",
    "Данное сообщение удалено": "ru",
    "Вы удалили данное сообщение": "ru",
    "تم حذف هذه الرسالة": "ar",
    "لقد حذَفت هذه الرسالة": "ar",
}

# Appended to the final text of an edited message (2023+).
EDITED = {
    "<This message was edited>": "en",
    "<Pesan ini diedit>": "id",
    "<Mesej ini telah disunting>": "ms",
    "<Diese Nachricht wurde bearbeitet>": "de",
}

# System messages, tried in this order (the first match names the event). Events that the
# iOS export writes as if sent by the chat title ("Title: ‎<event>") are found by these too.
EVENTS: list[tuple[str, str, str]] = [
    ("encryption-notice", "en", r"Messages and calls are end-to-end encrypted|.*secured with end-to-end encryption"),
    ("encryption-notice", "ms", r"Mesej dan panggilan disulitkan hujung ke hujung"),
    ("encryption-notice", "id", r"Pesan dan panggilan terenkripsi secara end-to-end"),
    ("encryption-notice", "de", r"Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt"),
    ("encryption-notice", "nl", r"Berichten en oproepen worden end-to-end versleuteld"),
    ("encryption-notice", "ru", r"Сообщения и звонки защищены сквозным шифрованием"),
    ("encryption-notice", "ar", r"الرسائل والمكالمات مشفرة"),
    ("security-code-changed", "en", r"Your security code with .+ changed"),
    ("security-code-changed", "ms", r"Kod keselamatan anda dengan .+ telah berubah"),
    ("security-code-changed", "id", r"Kode keamanan Anda dengan .+ telah berubah"),
    ("security-code-changed", "de", r"Deine Sicherheitsnummer für .+ hat sich geändert"),
    ("security-code-changed", "ru", r"Ваш код безопасности с .+ изменился"),
    ("security-code-changed", "ar", r"تغيّر رمز أمانك"),
    ("disappearing-messages", "en", r".*(?:message timer|disappearing messages)"),
    ("disappearing-messages", "ms", r".*(?:pemasa mesej|mesej sementara|mesej hilang)"),
    ("disappearing-messages", "id", r".*(?:timer pesan|pesan sementara)"),
    ("icon-changed", "en", r".+ (?:changed|deleted) this group's icon"),
    ("icon-changed", "ms", r".+ (?:menukar|memadamkan) ikon kumpulan ini"),
    ("icon-changed", "id", r".+ (?:mengubah|menghapus) ikon grup ini"),
    ("subject-changed", "en", r".+ changed (?:the subject|the group name)"),
    ("subject-changed", "ms", r".+ menukar (?:subjek|nama kumpulan)"),
    ("subject-changed", "id", r".+ mengubah (?:subjek|nama grup)"),
    ("group-created", "en", r'.+ created (?:group "|this group)'),
    ("group-created", "ms", r'.+ mencipta kumpulan (?:"|ini)'),
    ("group-created", "id", r'.+ membuat grup (?:"|ini)'),
    ("admin", "en", r".*(?:now an admin|no longer an admin)"),
    ("admin", "ms", r".*(?:kini pentadbir|bukan lagi pentadbir)"),
    ("admin", "id", r".*(?:sekarang (?:adalah )?admin|bukan admin lagi)"),
    ("removed", "en", r".+ removed .+"),
    ("removed", "ms", r".+ (?:mengeluarkan|membuang) .+"),
    ("removed", "id", r".+ mengeluarkan .+"),
    ("left", "en", r".+ left$"),
    ("left", "ms", r".+ (?:telah )?keluar$"),
    ("left", "id", r".+ keluar$"),
    ("added", "en", r".+ (?:added .+|joined using this group's invite link)|You were added"),
    ("added", "ms", r".+ (?:menambah .+|menyertai menggunakan pautan jemputan kumpulan ini)"),
    ("added", "id", r".+ (?:menambahkan .+|bergabung menggunakan tautan undangan grup ini)"),
]

# Events that may carry a name in the sender slot on Android too ("Pokemon Chat: Messages…").
SLOT_EVENTS = {"encryption-notice", "security-code-changed"}

# Events that only happen in groups.
GROUP_EVENTS = {"group-created", "added", "left", "removed", "subject-changed", "icon-changed", "admin"}

# Export file names that carry the chat's name (without the `.txt`).
TITLE_PATTERNS = [
    re.compile(pattern)
    for pattern in (
        r"WhatsApp Chat with (.+)",
        r"WhatsApp Chat - (.+)",
        r"Chat WhatsApp dengan (.+)",
        r"Sembang WhatsApp dengan (.+)",
        r"WhatsApp-Chat mit (.+)",
        r"WhatsApp Chat mit (.+)",
        r"WhatsApp-chat met (.+)",
        r"Chat de WhatsApp con (.+)",
        r"Conversa do WhatsApp com (.+)",
        r"Discussion WhatsApp avec (.+)",
        r"Чат WhatsApp с (.+)",
    )
]


# Reading a message's words ------------------------------------------------------------------

_ANDROID_FILE = re.compile(r"(?P<name>[^()]+\.\w{1,5}) \((?P<word>[^()]{1,40})\)")
_IOS_FILE = re.compile(r"<(?P<word>[^<>:]{1,30}): (?P<name>[^<>]+)>")
_OMITTED = re.compile("(?:^|[\u200e\u200f])(?P<phrase>" + "|".join(map(re.escape, OMITTED)) + ")$")
_OMITTED_ENDINGS = tuple(OMITTED)
_EVENTS = [(re.compile(pattern), event, lang) for event, lang, pattern in EVENTS]
SLOT_EVENT = re.compile("|".join(f"(?:{pattern})" for event, _, pattern in EVENTS if event in SLOT_EVENTS))
_MEDIA_PREFIX = re.compile(r"(?:\d{8}-)?(PHOTO|VIDEO|AUDIO|STICKER|GIF|IMG|VID|AUD|PTT|STK)-")
_PREFIX_KINDS = {"PHOTO": "photo", "IMG": "photo", "VIDEO": "video", "VID": "video", "AUDIO": "audio", "AUD": "audio"}
_PREFIX_KINDS |= {"PTT": "voice", "STICKER": "sticker", "STK": "sticker", "GIF": "gif"}
_EXT_KINDS = dict.fromkeys(("jpg", "jpeg", "png", "heic", "webp"), "photo") | {"vcf": "contact"}
_EXT_KINDS |= dict.fromkeys(("mp4", "mov", "3gp"), "video") | dict.fromkeys(
    ("opus", "ogg", "m4a", "mp3", "aac"), "audio"
)
_IOS_NUMBERED = re.compile(r"\d{8}-")


class Marker(NamedTuple):
    """A media marker on a message's first body line (reference §1.6)."""

    attached: bool  # the export names a file (linked or missing); else it says it left it out
    kind: str
    words: str  # the export's own words: the attached word, or the omitted placeholder
    name: str | None  # the file named, or the document an omitted placeholder names
    rest: str | None  # what stays as text of the first line; None: the line is only the marker
    language: str | None


def classify_event(text: str) -> tuple[str, str] | None:
    """The event word and language of a system message's text (direction marks removed), if known."""
    for pattern, event, language in _EVENTS:
        if pattern.match(text):
            return event, language
    return None


def find_marker(raw: str, exists: Callable[[str], bool]) -> Marker | None:
    """The media marker of a first body line: Android `<Media omitted>` or `name (file attached)`,
    iOS `<attached: name>` or `‎image omitted` (localised, see the tables above)."""
    first = strip_marks(raw).strip()
    if first in MEDIA_OMITTED:  # Android without media: no name, no kind; a caption may follow
        return Marker(False, "other", first, None, None, MEDIA_OMITTED[first])
    found = _ANDROID_FILE.fullmatch(first) if first.endswith(")") else None
    if found and (found["word"] in ATTACHED or exists(found["name"])):
        return Marker(True, _kind_of(found["name"]), found["word"], found["name"], None, ATTACHED.get(found["word"]))
    found = _IOS_FILE.search(first) if ">" in first else None
    if found and (found["word"] in IOS_ATTACHED or _IOS_NUMBERED.match(found["name"])):
        rest = (first[: found.start()] + first[found.end() :]).strip()
        return Marker(
            True, _kind_of(found["name"]), found["word"], found["name"], rest, IOS_ATTACHED.get(found["word"])
        )
    raw = raw.rstrip()
    found = _OMITTED.search(raw) if raw.endswith(_OMITTED_ENDINGS) else None
    if found is None:
        return None
    kind, language = OMITTED[found["phrase"]]
    rest = strip_marks(raw[: found.start()]).strip()  # `Name.pdf • 2 pages`
    return Marker(False, kind, found["phrase"], rest.split(" • ")[0] or None, rest, language)


def _kind_of(name: str) -> str:
    prefix = _MEDIA_PREFIX.match(name)
    if prefix:
        return _PREFIX_KINDS[prefix[1]]
    return _EXT_KINDS.get(name.rpartition(".")[2].lower(), "file")


def deleted(text: str) -> str | None:
    """The language of a "this message was deleted" text, if it is one."""
    return DELETED.get(strip_marks(text).strip().rstrip("."))


def unedit(lines: list[str]) -> tuple[list[str], bool]:
    """Remove the `<This message was edited>` marker (localised) from the end of a message."""
    last = strip_marks(lines[-1]).rstrip() if lines else ""
    if last.endswith(">"):
        for marker in EDITED:
            if last.endswith(marker):
                return [*lines[:-1], last.removesuffix(marker).rstrip()], True
    return lines, False


def title_from_name(main: str) -> str | None:
    """The chat's name where the export file's name carries it (`WhatsApp Chat with Name.txt`)."""
    stem = main.rpartition("/")[2]
    stem = stem[:-4] if stem.lower().endswith(".txt") else stem
    for pattern in TITLE_PATTERNS:
        if found := pattern.fullmatch(stem):
            return found[1]
    return None
