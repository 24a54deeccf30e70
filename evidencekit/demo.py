"""The end-to-end demonstration: made-up sample pictures, a demo key, a case, capture, verify, package.

Invariant: the demo touches nothing outside the folder it is given: its key lives in that
folder (never in the user's key store) and its pictures are drawn here, abstract shapes only.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from .capture import capture
from .case import init_case
from .errors import CaseStateError
from .imaging import PDQ_AVAILABLE
from .keystore import create_key, load_signing_key
from .package import package
from .verify import verify

Log = Callable[[str], None]


def _screenshot() -> bytes:
    """A phone-sized PNG that looks like a chat screen: coloured bubbles, no real content."""
    image = Image.new("RGB", (1170, 2532), (236, 229, 221))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1170, 220), fill=(7, 94, 84))
    draw.text((60, 120), "Demo group (made-up sample)", fill=(255, 255, 255))
    for row in range(9):
        left = row % 2 == 0
        x0, x1 = (40, 760) if left else (410, 1130)
        y0 = 300 + row * 240
        draw.rounded_rectangle((x0, y0, x1, y0 + 180), radius=30, fill=(255, 255, 255) if left else (220, 248, 198))
        draw.text((x0 + 40, y0 + 40), f"sample message {row + 1}", fill=(40, 40, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _photo() -> bytes:
    """A small JPEG with camera EXIF (make, model, time, GPS near Kuala Lumpur), abstract gradient."""
    image = Image.new("RGB", (1600, 1200))
    image.putdata([(x % 256, (y // 5) % 256, 128) for y in range(1200) for x in range(1600)])
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "DemoCam", "Model 1", "evidencekit demo"
    exif[0x0112] = 1
    exif.get_ifd(0x8769).update({0x9003: "2026:03:14 21:05:09", 0x9011: "+08:00"})
    exif.get_ifd(0x8825).update({1: "N", 2: (3.0, 8.0, 51.6), 3: "E", 4: (101.0, 41.0, 12.84)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


_DEMO_CHAT = [
    "[14/03/2026, 20:58:01] Demo group: \u200eMessages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them.",
    "[14/03/2026, 21:01:15] Member A: made-up sample message",
    "[14/03/2026, 21:04:40] Member B: \u200e<attached: 00000003-PHOTO-2026-03-14-21-04-40.jpg>",
    "[14/03/2026, 21:05:02] Member B: another made-up line,",
    "spanning two lines",
    "[14/03/2026, 21:06:30] Member A: \u200eThis message was deleted.",
]


def _chat_zip(photo: bytes) -> bytes:
    """A made-up WhatsApp (iPhone) 'Export chat' zip: `_chat.txt` and one attached picture."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in (
            ("_chat.txt", ("\r\n".join(_DEMO_CHAT) + "\r\n").encode("utf-8")),
            ("00000003-PHOTO-2026-03-14-21-04-40.jpg", photo),
        ):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 3, 14, 21, 10, 0)), data)
    return out.getvalue()


def write_samples(folder: Path) -> Path:
    """Write the made-up sample files into `folder/samples` and return that folder."""
    samples = folder / "samples"
    (samples / "forwarded").mkdir(parents=True, exist_ok=True)
    screenshot = _screenshot()
    (samples / "Screenshot_20260314-210509.png").write_bytes(screenshot)
    (samples / "forwarded" / "copy-of-screenshot.png").write_bytes(screenshot)
    photo = _photo()
    (samples / "IMG_20260314_210509.jpg").write_bytes(photo)
    (samples / "WhatsApp Chat - Demo group.zip").write_bytes(_chat_zip(photo))
    (samples / "notes.txt").write_text("Seen in the demo group at 9pm. Made-up sample text.\n", encoding="utf-8")
    return samples


def demo(folder: str | Path, *, log: Log | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Run the whole job in `folder`: demo key, case, capture of made-up samples, verify, package.

    Returns a summary (paths, case id, items, verification). Raises `CaseStateError` if
    `folder` already holds other files.
    """
    folder = Path(folder).absolute()
    if folder.exists() and any(folder.iterdir()):
        raise CaseStateError("the demo folder is not empty", path=folder, hint="give a new or empty folder")
    say = log or (lambda _message: None)
    home = folder / "demo-keys"
    create_key("demo-examiner", passphrase=None, home=home, kdf_rounds=16)
    key = load_signing_key("demo-examiner", passphrase=None, home=home)
    say(f"1. made a demo signing key (no passphrase), fingerprint {key.public.fingerprint}")
    samples = write_samples(folder)
    say(f"2. drew made-up sample pictures in {samples}")
    case = init_case(
        folder / "case",
        title="Demo case (made-up samples)",
        key=key,
        case_id="EK-DEMO",
        timezone="Asia/Kuala_Lumpur",
        now=now,
    )
    say(f"3. created case EK-DEMO in {case.root}")
    result = capture(case, [samples], key=key, source="evidencekit demo", platform="demo", now=now)
    new = sum(1 for item in result.items if item["new"])
    say(
        f"4. captured {len(result.items)} files: {new} new items, {len(result.items) - new} duplicate(s) recorded as sightings"
    )
    for chat in result.chats:
        say(
            f"   read the {chat['platform']} chat export into transcript {chat['id']}: {chat['messages']} messages "
            "(times read in the case's zone, Asia/Kuala_Lumpur); list them with `evidencekit messages`"
        )
    if not PDQ_AVAILABLE:
        say(
            "   note: PDQ perceptual hashes are not installed (pip install 'evidencekit[pdq]'); pHash and dHash were made"
        )
    report = verify(case)
    say(f"5. verified: {report.items} items, {report.custody_records} custody records, all intact")
    say(
        f"   check the signature yourself: cd {case.root} && ssh-keygen -Y verify -f allowed_signers "
        "-I demo-examiner -n evidencekit -s manifest.json.sig < manifest.json"
    )
    packaged = package(case, key=key, out=folder / "EK-DEMO.zip", now=now)
    checked = verify(packaged.path)
    say(f"6. packaged it for handover as {packaged.path} and checked the package: {checked.items} items intact")
    return {
        "case": str(case.root),
        "package": str(packaged.path),
        "case_id": "EK-DEMO",
        "samples": str(samples),
        "key_home": str(home),
        "fingerprint": key.public.fingerprint,
        "items": result.items,
        "chats": result.chats,
        "verified": report.ok,
    }
