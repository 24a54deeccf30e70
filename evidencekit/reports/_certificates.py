"""Fill-in certificate templates: Malaysia Evidence Act 1950 s.90A and US FRE 902(14), EN and MS.

Invariants (shared/reference/legal-and-custody.md §4): a template, never a completed
statement: it is marked as a template and not legal advice on every page; the tool fills in
only facts from the signed records (items, hashes, times, tool and version, the check at
report time); everything only a person can state (who they are, their relationship to the
device, that it worked properly, the hash comparison they made) is a blank line. Identity
numbers are never asked for or stored: the signer writes them on paper.
"""

from __future__ import annotations

from typing import Any

from ._data import ReportData, spans

Block = tuple[str, str]
"""(kind, text): `h` heading, `warn` banner, `p` paragraph, `blank` a line to fill in,
`box` a tick-box choice, `schedule` the item list, `sign` the signature lines."""

SCHEDULE_LIMIT = 40  # up to this many items are listed in the certificate itself; more: the item table

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "banner": "TEMPLATE, NOT LEGAL ADVICE. This is a draft made by {tool} from the case records. It is not a certificate until a person who can truthfully make every statement in it completes, checks and signs it. Ask the investigating officer or a lawyer whether a certificate is needed, which form they prefer, and who should sign.",
        "s90a_title": "Certificate under section 90A of the Evidence Act 1950 (Act 56), Malaysia",
        "s90a_refs": "Case {case_id} ({title}). Police report no.: ____________________  Court case no.: ____________________",
        "s90a_1": "1. I, ______________________________ (full name), identity card / passport no. ____________________ (write it here by hand; evidencekit does not store it), of ______________________________ (address or contact), state as follows.",
        "s90a_2": "2. I am responsible for the management of the operation of the computer described below, or for the conduct of the activities for which it was used, because (tick and complete):",
        "s90a_2a": "I am the owner and usual user of the device.",
        "s90a_2b": "Other (explain): ______________________________________________",
        "s90a_3": "3. The computer (device) that produced the documents: make and model ____________________, phone number or other identifier ____________________. Devices named in the pictures' own data (pre-filled, check them): {devices}.",
        "s90a_4": "4. The documents are the {count} item(s) listed in the schedule below, each identified by its SHA-256 value. They were produced by that computer in the course of its ordinary use.",
        "s90a_5": "5. The items were copied byte for byte into evidencekit case {case_id} with {tool}, between {first} and {last}. The SHA-256 value of each item was recorded when it was copied, in a manifest signed by the collector (manifest SHA-256 {manifest}). A check made on {when} found: {check}",
        "s90a_6": "6. Throughout the material period the computer was operating properly or, if not, any respect in which it was not operating properly or was out of operation did not affect the production of the documents or the accuracy of their contents. Comments: ______________________________________________",
        "s90a_7": "7. The matters stated in this certificate are stated to the best of my knowledge and belief (s.90A(3)(a)).",
        "fre_title": "Certification of authenticity of data copied from an electronic device, storage medium or file, Federal Rules of Evidence 902(14) and 902(11), United States",
        "fre_refs": "Case {case_id} ({title}). Court and docket no.: ______________________________",
        "fre_1": "1. I, ______________________________ (full name), am over 18 years of age. I am employed by / my role is ______________________________, and I am qualified to make this certification because ______________________________ (training and experience).",
        "fre_2": "2. I am familiar with identification by hash value. A hash value (here SHA-256) is computed from every byte of a file; two files with the same SHA-256 value are, for all practical purposes, identical.",
        "fre_3": "3. The {count} item(s) in the schedule below are copies of data from ______________________________ (the device, medium or account). They were copied into evidencekit case {case_id} with {tool} between {first} and {last}, and the SHA-256 value of each was recorded at that time in a signed manifest (manifest SHA-256 {manifest}).",
        "fre_4": "4. On ____________________ (date) I compared the SHA-256 value of each copy with the SHA-256 value of the original by ______________________________ (method, for example `evidencekit verify` with the fingerprint given to me in person). They were identical. (evidencekit's own check on {when} found: {check})",
        "fre_5": "5. This certifies only that the copies are identical to the original data. Whether a screenshot fairly and accurately shows what it appears to show is a separate question for a witness (Rule 901(b)(1)). Notice to the adverse party and making the items available for inspection are for the party's attorney.",
        "fre_6": "I declare under penalty of perjury under the laws of the United States of America that the foregoing is true and correct (28 U.S.C. § 1746).",
        "schedule": "Schedule: the items",
        "schedule_long": "The schedule is the item table in the officer's summary ({count} items, each with its SHA-256), which forms part of this certificate. The signed manifest with SHA-256 {manifest} lists the same values.",
        "sign": "Signature: ______________________   Name: ______________________   Date: ____________   Place: ____________",
        "no_devices": "none recorded",
        "check_ok": "every file, signature and custody record checked out",
        "check_failed": "{count} problem(s); see the officer's summary",
    },
    "ms": {
        "banner": "TEMPLAT, BUKAN NASIHAT UNDANG-UNDANG. Ini draf yang dibuat oleh {tool} daripada rekod kes. Ia bukan sijil sehingga seseorang yang boleh membuat setiap pernyataan di dalamnya dengan benar melengkapkan, menyemak dan menandatanganinya. Tanya pegawai penyiasat atau peguam sama ada sijil diperlukan, bentuk mana yang mereka mahu, dan siapa yang patut menandatangani.",
        "s90a_title": "Perakuan di bawah seksyen 90A Akta Keterangan 1950 (Akta 56), Malaysia",
        "s90a_refs": "Kes {case_id} ({title}). No. laporan polis: ____________________  No. kes mahkamah: ____________________",
        "s90a_1": "1. Saya, ______________________________ (nama penuh), no. kad pengenalan / pasport ____________________ (tulis dengan tangan di sini; evidencekit tidak menyimpannya), dari ______________________________ (alamat atau cara dihubungi), menyatakan seperti berikut.",
        "s90a_2": "2. Saya bertanggungjawab bagi pengurusan kendalian komputer yang diterangkan di bawah, atau bagi aktiviti yang baginya komputer itu digunakan, kerana (tanda dan lengkapkan):",
        "s90a_2a": "Saya pemilik dan pengguna biasa peranti itu.",
        "s90a_2b": "Lain-lain (terangkan): ______________________________________________",
        "s90a_3": "3. Komputer (peranti) yang mengeluarkan dokumen itu: buatan dan model ____________________, nombor telefon atau pengenal lain ____________________. Peranti yang dinamakan dalam data gambar itu sendiri (telah diisi, sila semak): {devices}.",
        "s90a_4": "4. Dokumen itu ialah {count} item yang disenaraikan dalam jadual di bawah, setiap satu dikenal pasti dengan nilai SHA-256nya. Ia dikeluarkan oleh komputer itu dalam perjalanan penggunaannya yang biasa.",
        "s90a_5": "5. Item itu disalin bait demi bait ke dalam kes evidencekit {case_id} dengan {tool}, antara {first} dan {last}. Nilai SHA-256 setiap item direkodkan semasa ia disalin, dalam manifest yang ditandatangani oleh pengumpul (SHA-256 manifest {manifest}). Semakan yang dibuat pada {when} mendapati: {check}",
        "s90a_6": "6. Sepanjang tempoh material komputer itu beroperasi dengan betul atau, jika tidak, apa-apa keadaan ia tidak beroperasi dengan betul atau tidak beroperasi tidak menjejaskan pengeluaran dokumen itu atau ketepatan kandungannya. Ulasan: ______________________________________________",
        "s90a_7": "7. Perkara yang dinyatakan dalam perakuan ini dinyatakan setakat yang saya ketahui dan percayai (s.90A(3)(a)).",
        "fre_title": "Perakuan ketulenan data yang disalin daripada peranti elektronik, media storan atau fail, Federal Rules of Evidence 902(14) dan 902(11), Amerika Syarikat (terjemahan untuk difahami; versi bahasa Inggeris yang difailkan)",
        "fre_refs": "Kes {case_id} ({title}). Mahkamah dan no. dokét: ______________________________",
        "fre_1": "1. Saya, ______________________________ (nama penuh), berumur lebih 18 tahun. Saya bekerja dengan / peranan saya ialah ______________________________, dan saya layak membuat perakuan ini kerana ______________________________ (latihan dan pengalaman).",
        "fre_2": "2. Saya biasa dengan pengenalan melalui nilai hash. Nilai hash (di sini SHA-256) dikira daripada setiap bait fail; dua fail dengan nilai SHA-256 yang sama, secara praktikalnya, adalah sama.",
        "fre_3": "3. {count} item dalam jadual di bawah ialah salinan data daripada ______________________________ (peranti, media atau akaun). Ia disalin ke dalam kes evidencekit {case_id} dengan {tool} antara {first} dan {last}, dan nilai SHA-256 setiap satu direkodkan pada masa itu dalam manifest yang ditandatangani (SHA-256 manifest {manifest}).",
        "fre_4": "4. Pada ____________________ (tarikh) saya membandingkan nilai SHA-256 setiap salinan dengan nilai SHA-256 yang asal melalui ______________________________ (kaedah, contohnya `evidencekit verify` dengan cap jari yang diberikan kepada saya secara bersemuka). Nilainya sama. (Semakan evidencekit sendiri pada {when} mendapati: {check})",
        "fre_5": "5. Ini hanya memperakui bahawa salinan itu sama dengan data asal. Sama ada tangkapan skrin menunjukkan dengan adil dan tepat apa yang kelihatan adalah soalan berasingan untuk saksi (Rule 901(b)(1)). Notis kepada pihak lawan dan menyediakan item untuk diperiksa adalah tugas peguam pihak itu.",
        "fre_6": "Saya mengisytiharkan di bawah hukuman sumpah bohong menurut undang-undang Amerika Syarikat bahawa perkara di atas adalah benar dan betul (28 U.S.C. § 1746).",
        "schedule": "Jadual: item-item",
        "schedule_long": "Jadual ini ialah jadual item dalam ringkasan untuk pegawai ({count} item, setiap satu dengan SHA-256nya), yang menjadi sebahagian daripada perakuan ini. Manifest yang ditandatangani dengan SHA-256 {manifest} menyenaraikan nilai yang sama.",
        "sign": "Tandatangan: ______________________   Nama: ______________________   Tarikh: ____________   Tempat: ____________",
        "no_devices": "tiada direkodkan",
        "check_ok": "setiap fail, tandatangan dan rekod jagaan disemak dan betul",
        "check_failed": "{count} masalah; lihat ringkasan untuk pegawai",
    },
}


def _facts(data: ReportData, t: dict[str, str]) -> dict[str, Any]:
    captured, _ = spans(data)
    first, last = (data.when(u) for u in captured) if captured else ("?", "?")
    devices: dict[str, list[str]] = {}
    for item in data.items:
        camera = item["analysis"].get("camera") or {}
        name = " ".join(str(camera[k]) for k in ("make", "model") if camera.get(k))
        if name:
            devices.setdefault(name, []).append(item["id"])
    check = data.check
    return {
        "tool": data.tool,
        "case_id": data.header["id"],
        "title": data.header["title"],
        "count": len(data.items),
        "first": first,
        "last": last,
        "manifest": data.manifest_sha256,
        "when": data.stamp_text(data.generated),
        "check": t["check_ok"] if check.ok else t["check_failed"].format(count=len(check.failures)),
        "devices": "; ".join(f"{name} ({', '.join(ids[:5])})" for name, ids in devices.items()) or t["no_devices"],
    }


def certificate(data: ReportData, lang: str, which: str) -> list[Block]:
    """The blocks of one template: `which` is `s90a` or `fre902_14`."""
    t = _TEXT[lang]
    facts = _facts(data, t)
    fill = {key: value.format(**facts) for key, value in t.items()}
    blocks: list[Block] = [("warn", fill["banner"])]
    if which == "s90a":
        blocks += [("h", fill["s90a_title"]), ("p", fill["s90a_refs"]), ("p", fill["s90a_1"]), ("p", fill["s90a_2"])]
        blocks += [("box", fill["s90a_2a"]), ("box", fill["s90a_2b"])]
        blocks += [("p", fill[f"s90a_{n}"]) for n in range(3, 8)]
    elif which == "fre902_14":
        blocks += [("h", fill["fre_title"]), ("p", fill["fre_refs"])]
        blocks += [("p", fill[f"fre_{n}"]) for n in range(1, 7)]
    else:
        raise ValueError(f"unknown certificate {which!r}")
    blocks.append(("sign", fill["sign"]))
    blocks.append(("h", fill["schedule"]))
    if len(data.items) > SCHEDULE_LIMIT:
        blocks.append(("p", fill["schedule_long"]))
    else:
        blocks.append(("schedule", ""))
    blocks.append(("warn", fill["banner"]))
    return blocks


CERTIFICATES = ("s90a", "fre902_14")
