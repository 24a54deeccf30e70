"""The HTML report: one self-contained file, written as it is made.

Invariants: nothing outside the file is ever referenced (a `default-src 'none'` Content
Security Policy, inline CSS only, no script, no link, no font or map tile; URLs from the
case are shown as text, never as links); with `images="none"` there is no `<img>` and no
`data:` URI at all; with `blurred` or `full` every picture sits closed inside `<details>`,
after a content warning, so it shows only after a click; chat messages are streamed from
the index one at a time, never held in memory together.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from html import escape
from typing import Any, TextIO

from .._cli_support import human_size
from ._data import ReportData, id_ranges, is_screenshot, spans, type_counts
from ._strings import strings, what_checks_prove

THUMBNAIL = 320  # long side in pixels: enough to recognise, small enough to keep the file light
BLUR_RADIUS = 18  # on a 320-pixel thumbnail: shapes and colours remain, nothing can be made out

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1b1b1b;margin:0 auto;max-width:60rem;padding:1rem 1.5rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.3rem;border-bottom:2px solid #335;margin-top:2rem}h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
.lead{color:#444}.warn{border:2px solid #a60;background:#fff6e8;padding:.6rem .9rem;border-radius:6px}
.ok{color:#064;font-weight:bold}.fail{color:#a00;font-weight:bold}
table{border-collapse:collapse;width:100%;margin:.3rem 0}th,td{border:1px solid #ccd;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#eef0f6;font-weight:600}table.kv th{width:14rem}
code,.hash{font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.85em;word-break:break-all}
.item{border:1px solid #ccd;border-radius:6px;padding:.1rem .8rem .6rem;margin:.8rem 0;break-inside:avoid}
details{margin:.4rem 0}summary{cursor:pointer;color:#335;font-weight:600}img{display:block;margin:.5rem 0;max-width:100%}
.chat{border-left:4px solid #99a;padding-left:.8rem}.day{font-weight:700;margin:1rem 0 .2rem;color:#335}
.msg{margin:.15rem 0 .45rem}.who{font-weight:700}.t{color:#555;font-size:.85em}.text{white-space:pre-wrap;margin:.1rem 0 0 1rem}
.event{color:#666;font-style:italic}.flag{font-size:.8em;color:#a00;margin-left:.4rem}.att{margin:.1rem 0 0 1rem;font-size:.9em}
nav ol{columns:2}
@media print{body{max-width:none;font-size:10.5pt;padding:0}nav,details{display:none}h2{break-after:avoid}
tr,.msg,.item{break-inside:avoid}a{color:inherit;text-decoration:none}@page{margin:15mm}}
"""


def csp(images: str) -> str:
    """The page's Content Security Policy: nothing may load, except `data:` pictures when asked for."""
    return "default-src 'none'; style-src 'unsafe-inline'" + ("; img-src data:" if images != "none" else "")


def write_html(out: TextIO, data: ReportData, *, lang: str, images: str) -> None:
    """Write the whole report to `out` as it is made (sections in a fixed order)."""
    s = strings(lang)
    for chunk in _document(data, s, lang, images):
        out.write(chunk)


def _document(data: ReportData, s: dict[str, str], lang: str, images: str) -> Iterator[str]:
    title = f"{s['title']}: {data.header['id']}"
    yield (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp(images)}">\n'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{escape(title)}</title>\n'
        f"<style>{CSS}</style></head><body>\n"
    )
    yield f"<h1>{escape(s['title'])}</h1>\n"
    yield f"<p class=lead>{escape(s['subtitle'].format(case_id=data.header['id'], title=data.header['title']))}</p>\n"
    when = data.stamp_text(data.generated)
    yield f"<p class=lead>{escape(s['generated'].format(when=when, tool=data.tool))}<br>{escape(s['not_legal_advice'])}</p>\n"
    yield _nav(s)
    yield from _summary(data, s)
    yield from _items(data, s, images)
    yield from _chats(data, s)
    yield from _custody(data, s)
    yield _how_to_verify(data, s, lang)
    yield "</body></html>\n"


def _nav(s: dict[str, str]) -> str:
    links = "".join(f'<li><a href="#{key}">{escape(s[key])}</a></li>' for key in _SECTIONS)
    return f"<nav><b>{escape(s['contents'])}</b><ol>{links}</ol></nav>\n"


_SECTIONS = ("summary", "items", "chats", "custody", "how_to_verify")


def _kv(rows: list[tuple[str, str]], *, raw: bool = False) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v if raw else escape(v)}</td></tr>" for k, v in rows)
    return f"<table class=kv>{body}</table>\n"


def _summary(data: ReportData, s: dict[str, str]) -> Iterator[str]:
    yield f'<h2 id="summary">{escape(s["summary"])}</h2>\n'
    header = data.header
    examiner = f"{header['examiner']['name']} ({header['examiner']['fingerprint']})"
    captured, shown = spans(data)
    rows = [
        (s["case_id"], escape(header["id"])),
        (s["case_title"], escape(header["title"])),
        (s["examiner"], escape(examiner)),
        (s["created"], escape(data.stamp_text(header["created"]))),
        (s["timezone"], escape(header["timezone"])),
        (s["manifest"], _hash_html(s["manifest_value"].format(revision=data.revision, sha256=data.manifest_sha256))),
        (
            s["signers"],
            "<br>".join(f"{escape(x['name'])}: <code>{escape(x['fingerprint'])}</code>" for x in data.signers),
        ),
        (s["counts"], "<br>".join(escape(line) for line in count_lines(data, s))),
        (s["span_captured"], escape(_span(data, s, captured))),
        (s["span_content"], escape(_span(data, s, shown))),
    ]
    yield _kv(rows, raw=True)
    yield f"<p>{escape(s['signers_note'])}</p>\n"
    yield f"<h3>{escape(s['verification'])}</h3>\n"
    ok, lines = check_lines(data, s)
    yield f'<p class="{"ok" if ok else "fail"}">{escape(lines[0])}</p>\n'
    if lines[1:]:
        yield "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines[1:]) + "</ul>\n"


def _hash_html(text: str) -> str:
    return f"<span class=hash>{escape(text)}</span>"


def _span(data: ReportData, s: dict[str, str], span: tuple[str, str] | None) -> str:
    if span is None:
        return s["none"]
    return s["span_value"].format(first=data.when(span[0]), last=data.when(span[1]))


def count_lines(data: ReportData, s: dict[str, str]) -> list[str]:
    """The summary's counts in plain words (shared with the PDF)."""
    lines = [s["count_items"].format(count=len(data.items), total=data.total_items)]
    lines += [f"  {count} {s[key]}" for key, count in type_counts(data.items)]
    messages = sum(chat["messages"] for chat in data.chats)
    lines.append(s["count_chats"].format(count=len(data.chats), messages=messages))
    return lines


def check_lines(data: ReportData, s: dict[str, str]) -> tuple[bool, list[str]]:
    """(passed, [headline, problem lines…, notices…]) for the verification at report time."""
    check = data.check
    if check.ok:
        key = "verify_ok_package" if data.checked_while_packaging else "verify_ok"
        lines = [s[key].format(items=check.items, records=check.custody_records)]
    else:
        lines = [s["verify_failed"].format(count=len(check.failures))]
        lines += [f"{p.kind}: {p.path or ''} {p.message}".strip() for p in check.failures[:200]]
    notices = [f"{p.kind}: {p.path or ''} {p.message}".strip() for p in check.notices if p.kind != "untrusted-signer"]
    if notices:
        lines += [s["verify_notices"], *notices[:50]]
    return check.ok, lines


def item_rows(data: ReportData, s: dict[str, str], item: dict[str, Any]) -> list[tuple[str, str]]:
    """An item's facts as (label, text) rows, in the report's language (shared with the PDF)."""
    first = item["sightings"][0]
    names = list(dict.fromkeys(sighting["name"] for sighting in item["sightings"]))
    rows = [
        (s["name"], names[0]),
        (s["other_names"], ", ".join(names[1:])),
        (s["media_type"], item["media_type"]),
        (s["size"], f"{human_size(item['size'])} ({s['bytes'].format(size=item['size'])})"),
        ("SHA-256", item["sha256"]),
        ("MD5", item["md5"]),
        (s["storage"], s[f"storage_{item['storage']}"]),
        (s["captured"], s["captured_value"].format(when=data.stamp_text(first["captured"]), who=first["by"]["name"])),
        (s["sightings"], str(len(item["sightings"]))),
    ]
    for key in ("source", "url", "platform", "note"):
        values = list(dict.fromkeys(str(x[key]) for x in item["sightings"] if x.get(key)))
        rows.append((s[key], "; ".join(values)))
    analysis = item["analysis"]
    camera = " ".join(str(v) for k, v in (analysis.get("camera") or {}).items() if k in ("make", "model") and v)
    original = analysis.get("datetime_original") or {}
    gps = analysis.get("gps") or {}
    rows += [
        (s["device"], camera),
        (s["original_time"], f"{original.get('text', '')} {original.get('offset') or ''}".strip()),
        (s["gps"], s["gps_value"].format(lat=gps["latitude"], lon=gps["longitude"]) if gps.get("latitude") else ""),
    ]
    if analysis.get("screenshot") is not None:
        rows.append((s["screenshot"], s["screenshot_likely" if is_screenshot(item) else "screenshot_unlikely"]))
    return [(label, value) for label, value in rows if value]


def _items(data: ReportData, s: dict[str, str], images: str) -> Iterator[str]:
    yield f'<h2 id="items">{escape(s["items"])}</h2>\n<p>{escape(s["items_intro"])}</p>\n'
    if images == "none":
        yield f"<p>{escape(s['no_pictures'])}</p>\n"
    else:
        yield f"<p class=warn><b>{escape(s['content_warning'])}.</b> {escape(s['content_warning_text'])}</p>\n"
    for item in data.items:
        name = item["sightings"][0]["name"]
        yield f'<section class=item id="{escape(item["id"])}"><h3>{escape(item["id"])}: {escape(name)}</h3>\n'
        rows = [(k, _hash_html(v) if k in ("SHA-256", "MD5") else escape(v)) for k, v in item_rows(data, s, item)]
        yield _kv(rows, raw=True)
        if images != "none" and item["storage"] == "stored" and item["media_type"].startswith("image/"):
            yield _picture(data, s, item, images)
        yield "</section>\n"


def _picture(data: ReportData, s: dict[str, str], item: dict[str, Any], images: str) -> str:
    label = s["show_picture"].format(kind=s[f"kind_{images}"], id=item["id"])
    try:
        uri = thumbnail_uri(data, item, blurred=images == "blurred")
    except Exception as exc:  # noqa: BLE001 - any decoding failure is reported in the page, never fatal
        return f"<p>{escape(s['picture_failed'].format(why=exc))}</p>\n"
    return f'<details><summary>{escape(label)}</summary><img alt="{escape(item["id"])}" src="{uri}"></details>\n'


def thumbnail_uri(data: ReportData, item: dict[str, Any], *, blurred: bool) -> str:
    """A JPEG thumbnail of a stored picture as a `data:` URI, made from the stored copy (never the original)."""
    from PIL import ImageFilter

    from .._content import content_source
    from ..imaging import hashing_pixels

    source = content_source(data.case.root, item, data.identities)  # an encrypted copy: decrypted in memory only
    pixels = hashing_pixels(source, media_type=item["media_type"], target=THUMBNAIL)
    pixels.thumbnail((THUMBNAIL, THUMBNAIL))
    if blurred:
        pixels = pixels.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    out = io.BytesIO()
    pixels.save(out, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _chats(data: ReportData, s: dict[str, str]) -> Iterator[str]:
    yield f'<h2 id="chats">{escape(s["chats"])}</h2>\n'
    if not data.chats:
        yield f"<p>{escape(s['no_chats'])}</p>\n"
        return
    yield f"<p>{escape(s['chats_intro'].format(zone=data.header['timezone']))}</p>\n"
    for chat in data.chats:
        yield f'<h3 id="{escape(chat["id"])}">{escape(s["chat"])} {escape(chat_title(s, chat))}</h3>\n'
        yield "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in chat_facts(data, s, chat)) + "</ul>\n"
        yield "<div class=chat>\n"
        day = ""
        for message in data.messages(chat["id"]):
            local, utc = data.local(message.get("time", {}).get("utc"))
            if local[:10] != day:
                day = local[:10]
                yield f"<div class=day>{escape(day or s['no_time'])}</div>\n"
            yield _message(s, message, local, utc)
        yield "</div>\n"


def chat_title(s: dict[str, str], chat: dict[str, Any]) -> str:
    """`T0001: Demo group (whatsapp), 5 message(s)`."""
    return s["chat_value"].format(
        id=chat["id"], title=chat["title"] or "", platform=chat["platform"], messages=chat["messages"]
    )


def chat_facts(data: ReportData, s: dict[str, str], chat: dict[str, Any]) -> list[str]:
    """A chat's span, senders, attachments, problems and sources in plain words (shared with the PDF)."""
    end = chat.get("end", {})
    first, last = (data.when(chat[k]) or s["unknown"] for k in ("first", "last"))
    files = end.get("attachments", {})
    parser = f"{chat['parser']['name']} {chat['parser']['version']}"
    return [
        s["chat_span"].format(first=first, last=last),
        s["chat_senders"].format(count=len(end.get("senders", []))),
        s["chat_attachments"].format(
            linked=files.get("linked", 0), missing=files.get("missing", 0), not_included=files.get("not-included", 0)
        ),
        s["chat_problems"].format(count=chat["problems"]),
        s["chat_read_from"].format(items=id_ranges(chat["sources"]), parser=parser, sha256=chat["sha256"]),
    ]


def _message(s: dict[str, str], message: dict[str, Any], local: str, utc: str) -> str:
    kind = message.get("type")
    when = f"<span class=t>{escape(local[11:] or s['no_time'])} ({escape(utc[11:])})</span>" if local else ""
    flags = [s[word] for word in ("edited", "deleted", "view_once") if message.get(word)]
    if message.get("forwarded_from"):
        flags.append(s["forwarded"].format(who=message["forwarded_from"]))
    if message.get("reply_to"):
        flags.append(s["reply_to"].format(id=message["reply_to"]))
    flag_html = "".join(f"<span class=flag>{escape(f)}</span>" for f in flags)
    text = escape(message.get("text", ""))
    if kind != "message":
        label = s["event"] if kind == "event" else s["unparsed"]
        return f"<div class='msg event'>{when} {escape(label)} {text}</div>\n"
    who = escape(message.get("from", {}).get("name", ""))
    files = "".join(f"<div class=att>📎 {escape(attachment_text(s, a))}</div>" for a in message.get("attachments", ()))
    return f"<div class=msg><span class=who>{who}</span> {when}{flag_html}<div class=text>{text}</div>{files}</div>\n"


def attachment_text(s: dict[str, str], attachment: dict[str, Any]) -> str:
    """An attachment as its item id and SHA-256 (never the picture), or its status."""
    kind = attachment.get("kind", "file")
    if attachment.get("status") == "linked":
        return s["attachment_linked"].format(kind=kind, item=attachment.get("item", "?"), sha256=attachment["sha256"])
    return s["attachment_other"].format(kind=kind, status=attachment.get("reason") or attachment.get("status"))


def custody_cells(data: ReportData, s: dict[str, str], record: dict[str, Any]) -> list[str]:
    """One custody record as table cells (shared with the PDF)."""
    details = [record["note"] or ""]
    if record["action"] == "transfer":
        details.append(s["to"].format(to=record["details"].get("to", "")))
    details.append(s["manifest_rev"].format(revision=record["manifest_revision"]))
    return [
        str(record["seq"]),
        data.stamp_text(record["time"]),
        record["action"],
        f"{record['actor']['name']} ({record['actor']['fingerprint']})",
        id_ranges(record["items"]),
        "\n".join(d for d in details if d),
    ]


CUSTODY_HEADINGS = ("seq", "time", "action", "actor", "items_col", "details")


def _custody(data: ReportData, s: dict[str, str]) -> Iterator[str]:
    yield f'<h2 id="custody">{escape(s["custody"])}</h2>\n<p>{escape(s["custody_intro"])}</p>\n<table><tr>'
    yield "".join(f"<th>{escape(s[key])}</th>" for key in CUSTODY_HEADINGS) + "</tr>\n"
    for record in data.custody:
        cells = [escape(cell).replace("\n", "<br>") for cell in custody_cells(data, s, record)]
        yield "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>\n"
    yield "</table>\n"


def verify_steps(data: ReportData, s: dict[str, str], lang: str) -> list[str]:
    """The how-to-check steps, then what the checks prove (shared with the PDF)."""
    examiner = data.header["examiner"]
    return [
        s["how_1"].format(fingerprint=examiner["fingerprint"]),
        s["how_2"].format(name=examiner["name"]),
        s["how_3"],
        s["how_4"],
        s["how_compare"],
        what_checks_prove(lang),
    ]


def _how_to_verify(data: ReportData, s: dict[str, str], lang: str) -> str:
    steps = verify_steps(data, s, lang)
    items = "".join(f"<li>{escape(step)}</li>" for step in steps[:4])
    return (
        f'<h2 id="how_to_verify">{escape(s["how_to_verify"])}</h2>\n<p>{escape(s["how_intro"])}</p>\n'
        f"<ol>{items}</ol>\n<p>{escape(steps[4])}</p>\n<p>{escape(steps[5])}</p>\n"
    )
