"""The PDF report: an officer's summary to print, then the certificate templates.

What it holds, and why (docs/reports.md): the case header, signer fingerprints, the check at
report time, the item table with full SHA-256 and MD5, and the custody log, all in full;
each chat as its counts and time span only (a 50,000-message chat would be thousands of
pages: the HTML report and the signed transcripts hold every message, and the PDF says so);
then the s.90A and FRE 902(14) templates. No picture is ever put in the PDF.

Invariants: fonts are embedded (bundled Noto Sans and Noto Sans Tamil, plus system fonts
only for characters that need them, see `_fonts`); the same data and `now` give the same
bytes (fixed creation date and producer, content-derived file id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from typing import IO, Any, cast

from fpdf import FPDF
from fpdf.enums import MethodReturnValue

from . import _fonts
from ._certificates import CERTIFICATES, certificate
from ._data import ReportData
from ._html import (
    CUSTODY_HEADINGS,
    chat_facts,
    chat_title,
    check_lines,
    count_lines,
    custody_cells,
    item_rows,
    verify_steps,
)
from ._strings import strings

LINE = 3.7  # mm per table line at 7.5 pt
ITEM_WIDTHS = (20, 68, 100, 45, 44)  # landscape A4: 277 mm between the margins
CUSTODY_WIDTHS = (10, 50, 17, 75, 40, 85)


class _Document(FPDF):
    """FPDF with the report's footer: case id, page number, and the template mark where it applies."""

    footer_text = ""
    template_mark = ""
    fallback_names: tuple[str, ...] = ()
    _fallback_on = False

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("ek", "", 7)
        mark = f"   {self.template_mark}" if self.template_mark else ""
        text = f"{self.footer_text}   {self.page_no()}{mark}"
        self.fallback_for(text)
        self.cell(0, 4, text, align="C")

    def fallback_active(self) -> bool:
        """Whether the last text needed a fallback font."""
        return self._fallback_on

    def fallback_for(self, text: str) -> None:
        """Let fpdf2 look for fallback fonts only in a text the base font cannot print.

        fpdf2 checks every character of every text against every fallback font once any is
        set, which made each PDF half as slow again; most texts need none.
        """
        wanted = bool(self.fallback_names) and not (text.isascii() or _base_coverage().issuperset(map(ord, text)))
        if wanted != self._fallback_on:
            self.set_fallback_fonts(self.fallback_names if wanted else [], exact_match=False)
            self._fallback_on = wanted


def write_pdf(out: IO[bytes], data: ReportData, *, lang: str, now: datetime) -> list[str]:
    """Write the PDF to `out`; return warnings (characters no font on this computer could print)."""
    s = strings(lang)
    item_texts = [item_rows(data, s, item) for item in data.items]
    custody = [custody_cells(data, s, record) for record in data.custody]
    plan = _fonts.plan(_chars(data, s, item_texts, custody))
    pdf = _setup(data, s, plan, now)
    writer = _Writer(pdf, plan.missing)
    writer.summary(data, s, lang, plan)
    writer.items(data, s, item_texts)
    writer.chats(data, s)
    writer.custody(s, custody)
    for which in CERTIFICATES:
        writer.certificate(data, lang, which, s)
    out.write(pdf.output())
    return [s["missing_glyphs"].format(scripts="; ".join(plan.advice()))] if plan.missing else []


def _chars(data: ReportData, s: dict[str, str], items: list[Any], custody: list[list[str]]) -> set[str]:
    texts: list[str] = [*s.values(), data.header["title"], *(x["name"] for x in data.signers)]
    texts += [v for rows in items for _, v in rows] + [cell for row in custody for cell in row]
    texts += [str(chat["title"] or "") for chat in data.chats]
    return set("".join(texts))


def _setup(data: ReportData, s: dict[str, str], plan: _fonts.FontPlan, now: datetime) -> _Document:
    pdf = _Document(orientation="L", unit="mm", format="A4")
    pdf.set_creation_date(now)
    pdf.set_producer(data.tool)
    pdf.set_creator(data.tool)
    pdf.set_title(f"{s['title']}: {data.header['id']}")
    pdf.set_lang("ms" if s is strings("ms") else "en")
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_font("ek", "", _fonts.bundled(_fonts.BASE[0]))
    pdf.add_font("ek", "B", _fonts.bundled(_fonts.BASE[1]))
    pdf.add_font("ektamil", "", _fonts.bundled(_fonts.TAMIL[0]))
    pdf.add_font("ektamil", "B", _fonts.bundled(_fonts.TAMIL[1]))
    names = ["ektamil"]
    for number, (path, index) in enumerate(plan.fallbacks):
        pdf.add_font(f"ekfallback{number}", "", path, collection_font_number=index)
        names.append(f"ekfallback{number}")
    pdf.fallback_names = tuple(names)
    pdf.footer_text = f"{data.header['id']} · {s['officer_summary']} · {s['page'].format(page='')}".strip()
    return pdf


class _Writer:
    """Draws the sections; every text goes through `_text` (missing glyphs, shaping)."""

    def __init__(self, pdf: _Document, missing: set[str]):
        self.pdf = pdf
        self.missing = missing
        self.shaping = _can_shape()

    # ---------------------------------------------------------------- primitives
    def _text(self, text: str) -> str:
        text = _fonts.printable(text, self.missing)
        self.pdf.fallback_for(text)
        wanted = self.shaping and _fonts.needs_shaping(text)
        if wanted != (self.pdf.text_shaping is not None):
            self.pdf.set_text_shaping(wanted)
        return text

    def para(self, text: str, size: float = 9, style: str = "", height: float = 4.6) -> None:
        """A paragraph across the page, wrapped at spaces, onto new pages as needed."""
        pdf = self.pdf
        pdf.set_font("ek", style, size)
        for line in self._lines(self._text(text), pdf.epw):
            if pdf.get_y() + height > pdf.page_break_trigger:
                pdf.add_page()
            top = pdf.get_y()
            self._line(pdf.l_margin, top, pdf.epw, line, height)
            pdf.set_y(top + height)

    def _lines(self, text: str, width: float) -> list[str]:
        """`text` (already through `_text`) broken into the lines a `width` mm box holds."""
        pdf = self.pdf
        if not self._plain():
            found = pdf.multi_cell(width, LINE, text, dry_run=True, output=MethodReturnValue.LINES)
            return cast(list[str], found) or [""]
        return _wrap(text, width - 2 * pdf.c_margin, self.width)

    def heading(self, text: str, size: float = 13) -> None:
        self.pdf.ln(2)
        self.para(text, size, "B", height=size * 0.5)
        self.pdf.ln(1)

    def _plain(self) -> bool:
        """Whether the last text went through `_text` needing no fallback font and no shaping."""
        return not self.pdf.fallback_active() and self.pdf.text_shaping is None

    def width(self, text: str) -> float:
        """The width of `text` (after `_text`) in mm in the current font, as `get_string_width` gives it.

        A plain text is summed straight from the font's widths, skipping fpdf2's per-call
        fragment and graphics-state work; the report measures every table cell.
        """
        pdf, font = self.pdf, self.pdf.current_font
        if font is None or not self._plain():
            return pdf.get_string_width(text)
        return font.get_text_width(text, pdf.font_size_pt, None)[1] / pdf.k

    def fit(self, text: str, width: float) -> str:
        """`text` cut with `…` to fit `width` mm in the current font."""
        text = self._text(text)
        if self.width(text) <= width - 1.5:
            return text
        while text and self.width(text + "…") > width - 1.5:
            text = text[: max(0, len(text) - max(1, len(text) // 8))]
        return text + "…"

    def row(self, widths: Iterable[float], cells: list[list[tuple[str, str]]], border: bool = True) -> None:
        """One table row: each cell a list of (font, text) lines, drawn without wrapping."""
        pdf = self.pdf
        height = max(len(lines) for lines in cells) * LINE + 0.8
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
        x, y = pdf.l_margin, pdf.get_y()
        for width, lines in zip(widths, cells, strict=True):
            for number, (font, text) in enumerate(lines):
                family, style, size = font.split(":")
                pdf.set_font(family, style, float(size))
                self._line(x, y + 0.4 + number * LINE, width, self.fit(text, width))
            if border:
                pdf.rect(x, y, width, height)
            x += width
        pdf.set_xy(pdf.l_margin, y + height)

    def _line(self, x: float, top: float, width: float, text: str, height: float = LINE) -> None:
        """One line of text in a box `height` high at (x, top), as `cell` would place it.

        A text that needs neither a fallback font nor shaping goes through fpdf2's plain
        `text`, which is several times faster than `cell`: the item table of a big case has
        thousands of them.
        """
        pdf = self.pdf
        if not self._plain():
            pdf.set_xy(x, top)
            pdf.cell(width, height, text)
        else:
            pdf.text(x + pdf.c_margin, top + 0.5 * height + 0.3 * pdf.font_size, text)

    def wrapped_row(self, widths: tuple[float, ...], texts: list[str], style: str = "") -> None:
        """A table row whose cells wrap onto as many lines as they need."""
        self.pdf.set_font("ek", style, 7.5)
        cells = []
        for width, text in zip(widths, texts, strict=True):
            lines: list[str] = []
            for part in text.split("\n"):
                lines += self._lines(self._text(part), width - 1)
            cells.append([(f"ek:{style}:7.5", line) for line in lines or [""]])
        self.row(widths, cells)

    # ---------------------------------------------------------------- sections
    def summary(self, data: ReportData, s: dict[str, str], lang: str, plan: _fonts.FontPlan) -> None:
        pdf = self.pdf
        pdf.add_page()
        self.para(f"{s['officer_summary']}: {s['title']}", 16, "B", 8)
        self.para(s["subtitle"].format(case_id=data.header["id"], title=data.header["title"]), 11, "B", 6)
        self.para(s["generated"].format(when=data.stamp_text(data.generated), tool=data.tool), 8.5)
        self.para(s["not_legal_advice"], 8.5)
        if plan.missing:
            self.para(s["missing_glyphs"].format(scripts="; ".join(plan.advice())), 8.5, "B")
        self.heading(s["summary"])
        header = data.header
        pairs = [
            (s["case_id"], header["id"]),
            (s["case_title"], header["title"]),
            (s["examiner"], f"{header['examiner']['name']} ({header['examiner']['fingerprint']})"),
            (s["created"], data.stamp_text(header["created"])),
            (s["timezone"], header["timezone"]),
            (s["manifest"], s["manifest_value"].format(revision=data.revision, sha256=data.manifest_sha256)),
            (s["signers"], "\n".join(f"{x['name']}: {x['fingerprint']}" for x in data.signers)),
            (s["counts"], "\n".join(count_lines(data, s))),
        ]
        for label, value in pairs:
            self.wrapped_row((70, 207), [label, value])
        self.para(s["signers_note"], 8)
        ok, lines = check_lines(data, s)
        self.heading(s["verification"], 11)
        self.para(lines[0], 9.5, "B")
        for line in lines[1:]:
            self.para(line, 8)

    def items(self, data: ReportData, s: dict[str, str], texts: list[list[tuple[str, str]]]) -> None:
        self.pdf.add_page()
        self.heading(s["items"])
        self.para(s["items_intro"], 8.5)
        head = [s["id"], s["name_type_size"], s["hashes"], s["when_who"], s["source_device"]]
        self.row(ITEM_WIDTHS, [[("ek:B:7.5", h)] for h in head])
        for item, rows in zip(data.items, texts, strict=True):
            if self.pdf.get_y() + 2 * LINE + 0.8 > self.pdf.page_break_trigger:
                self.pdf.add_page()
                self.row(ITEM_WIDTHS, [[("ek:B:7.5", h)] for h in head])
            self.row(ITEM_WIDTHS, _item_cells(data, s, item, dict(rows)))

    def chats(self, data: ReportData, s: dict[str, str]) -> None:
        self.heading(s["chats"])
        if not data.chats:
            self.para(s["no_chats"])
            return
        self.para(s["chat_pdf_note"], 8.5, "B")
        for chat in data.chats:
            self.para(f"{s['chat']} {chat_title(s, chat)}", 9.5, "B")
            for line in chat_facts(data, s, chat):
                self.para(f"  {line}", 8)

    def custody(self, s: dict[str, str], rows: list[list[str]]) -> None:
        self.pdf.add_page()
        self.heading(s["custody"])
        self.para(s["custody_intro"], 8.5)
        self.wrapped_row(CUSTODY_WIDTHS, [s[key] for key in CUSTODY_HEADINGS], "B")
        for cells in rows:
            self.wrapped_row(CUSTODY_WIDTHS, cells)

    def certificate(self, data: ReportData, lang: str, which: str, s: dict[str, str]) -> None:
        pdf = self.pdf
        if which == "s90a":
            self.pdf.add_page()
            self.heading(s["how_to_verify"])
            for step in verify_steps(data, s, lang):
                self.para(step, 8.5)
            self.heading(s["certificates"])
            self.para(s["certificates_intro"], 9)
        pdf.template_mark = s["certificates"].upper()
        pdf.add_page(orientation="P")
        for kind, text in certificate(data, lang, which):
            if kind == "warn":
                self.para(text, 8.5, "B")
                pdf.ln(2)
            elif kind == "h":
                self.para(text, 12, "B", 6)
                pdf.ln(1)
            elif kind == "box":
                self.para(f"    [   ]  {text}", 9.5, height=6)
            elif kind == "sign":
                pdf.ln(6)
                self.para(text, 9.5, height=6)
                pdf.ln(4)
            elif kind == "schedule":
                for item in data.items:
                    self._schedule_line(item)
                pdf.ln(3)
            else:
                self.para(text, 9.5, height=5.2)
                pdf.ln(1.2)

    def _schedule_line(self, item: dict[str, Any]) -> None:
        self.row(
            (16, 100, 74),
            [[("ek::7.5", item["id"])], [("Courier::7", item["sha256"])], [("ek::7.5", item["sightings"][0]["name"])]],
        )


def _item_cells(
    data: ReportData, s: dict[str, str], item: dict[str, Any], facts: dict[str, str]
) -> list[list[tuple[str, str]]]:
    regular, mono = "ek::7.5", "Courier::7"
    shot = s["screenshot"] if facts.get(s["screenshot"]) == s["screenshot_likely"] else ""
    first = item["sightings"][0]
    source = " · ".join(facts[k] for k in (s["source"], s["platform"]) if facts.get(k))
    device = " · ".join(facts[k] for k in (s["device"], s["original_time"], s["gps"]) if facts.get(k))
    return [
        [(regular, item["id"]), (regular, shot)],
        [(regular, facts[s["name"]]), (regular, f"{item['media_type']} · {facts[s['size']]}")],
        [(mono, item["sha256"]), (mono, item["md5"])],
        [(regular, data.local(first["captured"]["utc"])[0]), (regular, first["by"]["name"])],
        [(regular, source or facts.get(s["url"], "")), (regular, device)],
    ]


def _wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy word wrap: `text` in lines at most `width` wide, broken at spaces (inside a word
    only when it alone is wider), as fpdf2's `multi_cell` does, but measuring each word once:
    fpdf2 re-measures the whole line for every character added, which made long paragraphs
    the slowest part of a PDF."""
    space = measure(" ")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words: list[str] = []
        used = 0.0
        for word in paragraph.split(" "):
            size = measure(word)
            if words and used + space + size > width:
                lines.append(" ".join(words))
                words, used = [], 0.0
            while size > width and len(word) > 1:
                cut = _longest_fit(word, width, measure)
                lines.append(word[:cut])
                word = word[cut:]
                size = measure(word)
            used = used + space + size if words else size
            words.append(word)
        lines.append(" ".join(words))
    return lines


def _longest_fit(word: str, width: float, measure: Callable[[str], float]) -> int:
    """The length of the longest start of `word` (at least one character) that fits `width`."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(word[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


@cache
def _base_coverage() -> frozenset[int]:
    return _fonts.coverage(_fonts.bundled(_fonts.BASE[0]))


def _can_shape() -> bool:
    """Whether uharfbuzz (fpdf2's optional shaping engine) is installed: without it Tamil prints unshaped."""
    import importlib.util

    return importlib.util.find_spec("uharfbuzz") is not None
