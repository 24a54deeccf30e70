#!/usr/bin/env python3
"""Make docs/images/report-*.png from the real reports of the demo case (made-up samples).

Runs `evidencekit.demo`, writes the HTML report (English, pictures blurred, so the page shows
the content warning; no picture is opened) and the PDF report (Malay), then renders them:
Chromium's `--headless --screenshot` for the HTML page and `pdftoppm` for the PDF's first
page and first certificate page. Needs `chromium` and `poppler-utils`; Pillow shrinks the PNGs.

    python bench/make_report_images.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"
NOW = datetime(2026, 3, 15, 10, 0, 0, tzinfo=timezone(timedelta(hours=8)))


def shrink(source: Path, target: Path, width: int) -> None:
    """Save `source` at most `width` pixels wide, as a palette PNG (small enough to commit)."""
    with Image.open(source) as image:
        image.thumbnail((width, width * 4))
        image.convert("RGB").quantize(colors=64).save(target, optimize=True)
    print(f"wrote {target.relative_to(REPO)} ({target.stat().st_size // 1000} kB)", file=sys.stderr)


def main() -> None:
    import evidencekit as ek

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium or not shutil.which("pdftoppm"):
        sys.exit("needs chromium and pdftoppm (apt install chromium poppler-utils)")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ek-report-images-") as temp:
        work = Path(temp)
        ek.demo(work / "demo", now=NOW)
        case = work / "demo" / "case"
        html = ek.report(case, out=work / "report.html", images="blurred", now=NOW).path
        pdf = ek.report(case, format="pdf", lang="ms", out=work / "laporan.pdf", now=NOW).path
        shot = work / "html.png"
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]
            + ["--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={work / 'profile'}"]
            + ["--window-size=1000,1500", f"--screenshot={shot}", html.resolve().as_uri()],
            check=True,
            capture_output=True,
        )
        shrink(shot, IMAGES / "report-html.png", 800)
        subprocess.run(["pdftoppm", "-r", "70", "-png", str(pdf), str(work / "page")], check=True)
        pages = sorted(work.glob("page-*.png"))
        shrink(pages[0], IMAGES / "report-pdf.png", 800)
        shrink(pages[-2], IMAGES / "report-pdf-certificate.png", 600)


if __name__ == "__main__":
    main()
