"""Reports for people: a self-contained HTML report and a printable PDF, in English or Malay.

`report()` reads the signed case once (`_data.gather`), then one renderer writes the file:
`_html` streams a self-contained page (every section, every chat message); `_pdf` writes an
officer's summary and the certificate templates. Invariants: a report only reads the case
and adds no custody record; no picture appears unless `images` asks for it, and then only
behind a click after a content warning; the output appears atomically (temporary file in
the same folder, fsync, rename), so a failed report leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .._fs import PRIVATE_FILE, fsync_dir
from .._time import resolve_now
from ..case import Case
from ._data import ReportData, gather
from ._strings import LANGUAGES

FORMATS = ("html", "pdf")
IMAGES = ("none", "blurred", "full")


@dataclass(frozen=True)
class ReportResult:
    """What `report()` wrote."""

    path: Path
    format: str
    lang: str
    images: str
    size: int
    items: list[str]
    chats: list[str]
    verified: bool
    warnings: list[str] = field(default_factory=list)
    """Plain-language notes, e.g. characters the PDF could not print with this computer's fonts."""

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return {
            "path": str(self.path),
            "format": self.format,
            "lang": self.lang,
            "images": self.images,
            "size": self.size,
            "items": self.items,
            "chats": self.chats,
            "verified": self.verified,
            "warnings": self.warnings,
        }


def report(
    case: Case | str | os.PathLike[str],
    *,
    format: str = "html",
    out: str | os.PathLike[str] | None = None,
    lang: str = "en",
    images: str = "none",
    items: Sequence[str] = (),
    identities: Sequence[object] = (),
    now: datetime | None = None,
) -> ReportResult:
    """Write a report of the case for people to read: `html` (everything, self-contained) or `pdf`.

    The case is verified first and the result is stated in the report, pass or fail (a report
    of a damaged case is still useful, and says so). `images` is `none` (default: no picture
    at all), `blurred` or `full` (HTML only: thumbnails hidden until clicked, after a content
    warning). `items` limits the report to those ids (and the chats read from them). The
    default output is `<case id>-report-<lang>.<format>` in the current folder.
    Raises `ValueError` for an unknown format, language or image choice, `InputError` for an
    unknown item id, and `CaseStateError` if `out` exists. An encrypted case's chats,
    pictures and plaintext check need `identities` (`SigningKeyError` without them).
    """
    _check_choices(format, lang, images)
    case = Case.coerce(case)
    moment = resolve_now(now)
    data = gather(case, items=items, now=moment, identities=identities)
    target = Path(out) if out else Path(f"{data.header['id']}-report-{lang}.{format}")
    warnings = render(target, data, format=format, lang=lang, images=images, now=moment)
    return ReportResult(
        path=target,
        format=format,
        lang=lang,
        images=images,
        size=target.stat().st_size,
        items=[item["id"] for item in data.items],
        chats=[chat["id"] for chat in data.chats],
        verified=data.check.ok,
        warnings=warnings,
    )


def _check_choices(format: str, lang: str, images: str) -> None:
    for name, value, allowed in (("format", format, FORMATS), ("lang", lang, LANGUAGES), ("images", images, IMAGES)):
        if value not in allowed:
            raise ValueError(f"unknown report {name} {value!r}: use one of {', '.join(allowed)}")
    if format == "pdf" and images != "none":
        raise ValueError("the PDF never holds pictures: use --images with --format html")


def render(target: Path, data: ReportData, *, format: str, lang: str, images: str, now: datetime) -> list[str]:
    """Write one report of already gathered `data` atomically to `target`; return its warnings.

    Low-level: most callers want `report()`; `package()` uses this to add reports to a package.
    Raises `CaseStateError` if `target` exists.
    """
    from ..errors import CaseStateError

    if target.exists():
        raise CaseStateError("the report file already exists", path=target, hint="choose another --out, or remove it")
    with _atomic(target) as handle:
        return render_to(handle, data, format=format, lang=lang, images=images, now=now)


def render_to(out: IO[bytes], data: ReportData, *, format: str, lang: str, images: str, now: datetime) -> list[str]:
    """Write one report of already gathered `data` to the binary stream `out`; return its warnings.

    Low-level: `package()` renders into memory with it, so no report (which may quote chat
    messages) is ever left in a temporary file, whatever happens to the process.
    """
    if format == "html":
        from ._html import write_html

        text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
        write_html(text, data, lang=lang, images=images)
        text.flush()
        text.detach()  # leave `out` open for the caller
        return []
    from ._pdf import write_pdf

    return write_pdf(out, data, lang=lang, now=now)


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside `target`, fsynced and renamed onto it only if the block succeeds."""
    folder = target.parent if str(target.parent) else Path(".")
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.name}.", suffix=".tmp", delete=False)  # noqa: SIM115
    try:
        with handle:
            yield handle
        with open(handle.name, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(handle.name, PRIVATE_FILE)
        os.replace(handle.name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise
    fsync_dir(folder)


__all__ = ["ReportResult", "report"]
