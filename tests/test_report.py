"""Reports: the HTML in a real headless browser, the PDF read back, certificates, packages, the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

import evidencekit as ek
from evidencekit.reports._strings import EN, MS, what_checks_prove

from .conftest import NOW

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm") and shutil.which("pdfinfo")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM, reason="chromium is not installed (apt install chromium; .ci/run does)"
)
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed (apt install poppler-utils)")
#: Chromium's own background services (updates, time, accounts): requests the page did not make.
BROWSER_OWN_HOSTS = {
    "clients2.google.com",
    "update.googleapis.com",
    "accounts.google.com",
    "redirector.gvt1.com",
    "safebrowsing.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
}


@pytest.fixture(scope="module")
def demo_case(tmp_path_factory: pytest.TempPathFactory) -> ek.Case:
    folder = tmp_path_factory.mktemp("report") / "demo"
    ek.demo(folder, now=NOW)
    return ek.Case.open(folder / "case")


@pytest.fixture(scope="module")
def reports(demo_case: ek.Case, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    made = {}
    for fmt in ("html", "pdf"):
        for lang in ("en", "ms"):
            made[f"{fmt}-{lang}"] = ek.report(
                demo_case, format=fmt, lang=lang, out=out / f"r-{lang}.{fmt}", now=NOW
            ).path
    made["blurred"] = ek.report(demo_case, images="blurred", out=out / "blurred.html", now=NOW).path
    return made


def _items(case: ek.Case) -> list[dict[str, object]]:
    return ek.list_items(case)


# ---------------------------------------------------------------- HTML


def test_html_has_no_picture_and_every_item_and_hash(demo_case: ek.Case, reports: dict[str, Path]) -> None:
    for key in ("html-en", "html-ms"):
        page = reports[key].read_text(encoding="utf-8")
        assert "<img" not in page.lower() and "data:" not in page
        for item in _items(demo_case):
            assert str(item["id"]) in page and str(item["sha256"]) in page and str(item["md5"]) in page
        assert "Content-Security-Policy" in page and "default-src 'none'" in page
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|file:|ftp:)""", page, re.I)
        assert "<script" not in page.lower() and "<link" not in page.lower()


def test_html_chat_is_a_conversation_with_attachments_as_ids(demo_case: ek.Case, reports: dict[str, Path]) -> None:
    page = reports["html-en"].read_text(encoding="utf-8")
    photo = next(item for item in _items(demo_case) if item["id"] == "E0001")
    assert "Member A" in page and "made-up sample message" in page
    assert "21:01:15 +08:00 (2026-03-14 13:01:15 UTC)" in page or "21:01:15 +08:00" in page
    assert f"item E0001, SHA-256 {photo['sha256']}" in page
    assert "deleted" in page


def test_a_changed_search_index_cannot_put_words_in_a_report_or_a_search(tmp_path: Path) -> None:
    """The search index only chooses messages: their words come from the signed transcripts."""
    import sqlite3

    from evidencekit.chatindex import index_path

    folder = tmp_path / "demo"
    ek.demo(folder, now=NOW)
    case = ek.Case.open(folder / "case")
    ek.reindex(case)
    index = index_path(case)
    index.chmod(0o600)
    with sqlite3.connect(index) as db:
        for row, record in db.execute("SELECT row, record FROM messages").fetchall():
            db.execute("UPDATE messages SET record = ? WHERE row = ?", (record.replace("made-up", "FORGED"), row))
    page = ek.report(case, out=tmp_path / "r.html", now=NOW).path.read_text(encoding="utf-8")
    assert "FORGED" not in page and "made-up sample message" in page
    texts = [m.get("text", "") for m in ek.list_messages(case)]
    assert not any("FORGED" in t for t in texts) and any("made-up sample message" in t for t in texts)
    with sqlite3.connect(index) as db:  # the index points at another line: refused, with the fix named
        db.execute("UPDATE messages SET at = at + 1")
    with pytest.raises(ek.CaseStateError, match="does not match the chat transcripts") as info:
        list(ek.list_messages(case))
    assert info.value.hint and "evidencekit reindex" in info.value.hint
    ek.reindex(case)
    assert [m.get("text", "") for m in ek.list_messages(case)] == texts


def test_malay_report_uses_the_malay_table(reports: dict[str, Path]) -> None:
    page = reports["html-ms"].read_text(encoding="utf-8")
    for key in ("summary", "items", "chats", "custody", "how_to_verify"):
        assert MS[key] in page and EN[key] not in page
    assert 'lang="ms"' in page and what_checks_prove("ms") in page


def test_string_tables_match() -> None:
    assert EN.keys() == MS.keys()
    assert all(value.strip() for value in [*EN.values(), *MS.values()])
    assert what_checks_prove("en").startswith("What these checks prove")
    assert what_checks_prove("ms").startswith("Apa yang dibuktikan")


def test_blurred_pictures_are_hidden_behind_a_click_after_a_warning(reports: dict[str, Path]) -> None:
    page = reports["blurred"].read_text(encoding="utf-8")
    assert page.count("<img") == 2  # the two stored pictures (E0001, E0002)
    assert page.index(EN["content_warning"]) < page.index("<img")
    assert "img-src data:" in page and "<script" not in page.lower()
    for match in re.finditer(r"<img[^>]*>", page):
        before = page[: match.start()]
        assert before.rfind("<details>") > before.rfind("</details>"), "every picture sits in a closed <details>"
    assert "<details open" not in page


@needs_chromium
def test_browser_renders_it_and_nothing_leaves_the_page(reports: dict[str, Path], tmp_path: Path) -> None:
    shot, requested = _browse(reports["html-en"], tmp_path / "en")
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert requested == set(), f"the report made requests: {requested}"
    _, blurred = _browse(reports["blurred"], tmp_path / "blurred")
    assert blurred == set()
    control = tmp_path / "control.html"  # proves the method sees a request when a page makes one
    control.write_text('<img src="http://report-test.invalid/x.png">', encoding="utf-8")
    _, seen = _browse(control, tmp_path / "control")
    assert any("report-test.invalid" in url for url in seen)


def _browse(page: Path, work: Path) -> tuple[Path, set[str]]:
    work.mkdir()
    shot, log = work / "shot.png", work / "net.json"
    assert CHROMIUM
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # even if something tried, it could not get out
            f"--user-data-dir={work / 'profile'}",
            f"--log-net-log={log}",
            "--window-size=1000,1400",
            f"--screenshot={shot}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    urls = set(re.findall(r'"url":"((?:https?|wss?|ftp)://[^"]*)"', log.read_text(encoding="utf-8", errors="replace")))
    return shot, {url for url in urls if url.split("/")[2].split(":")[0] not in BROWSER_OWN_HOSTS}


# ---------------------------------------------------------------- PDF


def _pdftext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@needs_poppler
@pytest.mark.parametrize("lang", ["en", "ms"])
def test_pdf_holds_ids_hashes_custody_and_certificates(
    demo_case: ek.Case, reports: dict[str, Path], lang: str, tmp_path: Path
) -> None:
    path = reports[f"pdf-{lang}"]
    text = _pdftext(path)
    table = MS if lang == "ms" else EN
    for item in _items(demo_case):
        assert str(item["id"]) in text and str(item["sha256"]) in text and str(item["md5"]) in text
    for record in ek.custody_log(demo_case):
        assert record["action"] in text
    assert record["actor"]["fingerprint"] in text
    for key in ("summary", "items", "custody", "officer_summary"):
        assert table[key] in text, key
    assert ("TEMPLATE, NOT LEGAL ADVICE" if lang == "en" else "TEMPLAT, BUKAN NASIHAT UNDANG-UNDANG") in text
    assert "90A" in text and "902(14)" in text and "evidencekit 0" in text
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.check_output(["pdfinfo", str(path)], text=True))[1])  # type: ignore[index]
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "p")], check=True, capture_output=True)
    assert len(list(tmp_path.glob("p-*.png"))) == pages >= 4


@needs_poppler
def test_pdf_prints_malay_chinese_tamil_and_emoji_names(tmp_path: Path, key: ek.SigningKey) -> None:
    case = ek.init_case(tmp_path / "case", title="Kumpulan 中文 தமிழ் 😀", key=key, case_id="EK-UNI", now=NOW)
    (tmp_path / "bukti.txt").write_text("x\n", encoding="utf-8")
    ek.capture(case, [tmp_path / "bukti.txt"], key=key, source="Kumpulan Telegram 中文群 குழு 😀", now=NOW)
    result = ek.report(case, format="pdf", out=tmp_path / "u.pdf", now=NOW)
    text = _pdftext(result.path)
    assert "Kumpulan" in text and "中文" in text
    if not result.warnings:
        assert "[U+" not in text
    else:
        assert all("install" in warning for warning in result.warnings)


@needs_poppler
def test_pdf_is_deterministic(demo_case: ek.Case, tmp_path: Path) -> None:
    first = ek.report(demo_case, format="pdf", out=tmp_path / "a.pdf", now=NOW).path.read_bytes()
    assert ek.report(demo_case, format="pdf", out=tmp_path / "b.pdf", now=NOW).path.read_bytes() == first


# ---------------------------------------------------------------- API, CLI, packages


def test_items_option_selects(demo_case: ek.Case, tmp_path: Path) -> None:
    result = ek.report(demo_case, items=["e0002"], out=tmp_path / "one.html", now=NOW)
    page = result.path.read_text(encoding="utf-8")
    assert result.items == ["E0002"] and result.chats == [] and "E0004" not in page
    with pytest.raises(ek.InputError):
        ek.report(demo_case, items=["E9999"], out=tmp_path / "none.html", now=NOW)
    assert not (tmp_path / "none.html").exists()


def test_bad_choices_and_existing_output(demo_case: ek.Case, tmp_path: Path) -> None:
    for kwargs in ({"format": "docx"}, {"lang": "fr"}, {"images": "some"}, {"format": "pdf", "images": "full"}):
        with pytest.raises(ValueError):
            ek.report(demo_case, out=tmp_path / "x", **kwargs)  # type: ignore[arg-type]
    (tmp_path / "there.html").write_text("keep me", encoding="utf-8")
    with pytest.raises(ek.CaseStateError):
        ek.report(demo_case, out=tmp_path / "there.html")
    assert (tmp_path / "there.html").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["there.html"]


def test_cli_report(demo_case: ek.Case, tmp_path: Path) -> None:
    from .test_cli import run

    done = run("report", "--case", str(demo_case.root), "--lang", "ms", "--out", str(tmp_path / "l.html"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["lang"] == "ms" and (tmp_path / "l.html").is_file()
    usage = run("report", "--case", str(demo_case.root), "--format", "pdf", "--images", "full")
    assert usage.returncode == 2
    again = run("report", "--case", str(demo_case.root), "--out", str(tmp_path / "l.html"))
    assert again.returncode == 3 and "already exists" in again.stderr


def test_packages_carry_the_reports(demo_case: ek.Case, key: ek.SigningKey, tmp_path: Path) -> None:
    zipped = Path(ek.demo(tmp_path / "d", now=NOW)["package"])
    with zipfile.ZipFile(zipped) as archive:
        names = archive.namelist()
        index = json.loads(archive.read("EK-DEMO/data/package.json"))
        listed = archive.read("EK-DEMO/manifest-sha256.txt").decode()
        page = archive.read("EK-DEMO/data/reports/report-ms.html").decode()
    wanted = {f"data/reports/report-{lang}.{fmt}" for lang in ("en", "ms") for fmt in ("html", "pdf")}
    assert {row["path"] for row in index["reports"]} == wanted
    for row in index["reports"]:
        assert f"EK-DEMO/{row['path']}" in names and f"{row['sha256']}  {row['path']}" in listed
    assert "<img" not in page and MS["custody"] in page
    assert ek.verify(zipped).ok


@pytest.mark.parametrize("width", [277, 60, 20])
def test_pdf_wraps_lines_as_fpdf2s_multi_cell_does(width: float) -> None:
    """The report's linear-time word wrap breaks exactly where fpdf2's own `multi_cell` does."""
    from fpdf import FPDF
    from fpdf.enums import MethodReturnValue

    from evidencekit.reports import _fonts, _pdf

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.add_page()
    pdf.add_font("ek", "", _fonts.bundled(_fonts.BASE[0]))
    pdf.set_font("ek", "", 9)
    texts = [
        "Saya mengesahkan bahawa dokumen ini benar " * 12,
        "a" * 400,
        "one\ntwo three\n\nfour",
        "",
        "SHA-256 " + "f2432c87899e83b3ec4a24cde36ca0b8aa64f1ada1b6c9edb774c1b9bbce836f" * 3 + " end",
    ]
    for text in texts:
        ours = _pdf._wrap(text, width - 2 * pdf.c_margin, pdf.get_string_width)
        assert ours == pdf.multi_cell(width, 4, text, dry_run=True, output=MethodReturnValue.LINES)
