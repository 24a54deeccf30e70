"""Package a case for handover: a signed BagIt 1.0 zip that stock tools can check.

Invariants: packaging only reads the case (it adds no custody record, so the same case
packaged twice with the same time gives identical bytes; `custody transfer` records the
handover); a case that does not verify is never packaged; the package index
`data/package.json` maps every item to its payload file, and the signed tag manifest
covers every byte (spec: docs/spec/package.md).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import _canonical, _time
from . import case as layout
from ._content import open_content
from ._verify_text import verify_text
from ._version import __version__
from .bag import LateFile, PayloadFile, sanitize_name, write_bag_zip
from .case import Case, ensure_consistent
from .digest import file_sha256
from .errors import InputError, VerificationError
from .manifest import Manifest, is_encrypted
from .signing import SigningKey

if TYPE_CHECKING:
    from .verify import VerificationReport

FORMAT = "evidencekit/package/1"
INDEX = "package.json"
CASE_DIR = "case"
EVIDENCE_DIR = "evidence"


@dataclass(frozen=True)
class PackageResult:
    """What `package()` wrote."""

    path: Path
    size: int
    bag_name: str
    items: list[str]
    content: bool
    encrypted_to: list[str]

    @cached_property
    def sha256(self) -> str:
        """The package file's SHA-256, read back from `path` on first access.

        `package()` does not hash its own output while writing it: on small machines that
        would cost as much CPU as the SHA-256 of every payload byte (docs/performance.md).
        """
        return file_sha256(self.path)

    def read_sha256(self, progress: Callable[[int], None] | None = None) -> str:
        """`sha256`, calling `progress(n)` for each chunk while the file is read back (once)."""
        if "sha256" not in self.__dict__:  # where cached_property keeps the value
            self.__dict__["sha256"] = file_sha256(self.path, progress=progress)
        return self.sha256

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "size": self.size,
            "bag_name": self.bag_name,
            "items": self.items,
            "content": self.content,
            "encrypted_to": self.encrypted_to,
        }


def _case_files(case: Case) -> list[str]:
    """The case's signed record files, by case-relative name (no stored objects)."""
    names = [layout.MANIFEST, layout.SIGNATURE, layout.RAW_SIGNATURE, layout.CUSTODY, layout.ALLOWED_SIGNERS]
    names += sorted(f"{layout.KEYS}/{p.name}" for p in case.path(layout.KEYS).iterdir() if p.is_file())
    return names


def _bytes_file(path: str, data: bytes) -> PayloadFile:
    return PayloadFile(path=path, size=len(data), open=lambda: io.BytesIO(data))


def _object_file(case: Case, item: dict[str, Any], payload_path: str, identities: Sequence[object]) -> PayloadFile:
    def opener() -> IO[bytes]:  # plaintext, decrypted in a stream for an encrypted case (spec §3)
        return open_content(case.root, item, identities)

    return PayloadFile(path=payload_path, size=item["size"], open=opener, sha256=item["sha256"])


def evidence_path(item: dict[str, Any]) -> str:
    """The payload path (under data/) of an item: id plus its sanitised first name."""
    return f"{EVIDENCE_DIR}/{sanitize_name(item['id'] + '_' + item['sightings'][0]['name'])}"


def _select(manifest: Manifest, wanted: Sequence[str]) -> list[dict[str, Any]]:
    if not wanted:
        return list(manifest["items"])
    by_id = {item["id"]: item for item in manifest["items"]}
    ids = [w.strip().upper() for w in wanted]
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise InputError(f"no item {', '.join(unknown)} in this case", hint="list the ids with `evidencekit items`")
    return [by_id[i] for i in dict.fromkeys(ids)]


def _index(
    manifest: Manifest,
    manifest_bytes: bytes,
    chosen: list[dict[str, Any]],
    content: bool,
    key: SigningKey,
    moment: datetime,
) -> dict[str, Any]:
    rows = []
    for item in manifest["items"]:
        included = content and item["storage"] == "stored" and item in chosen
        rows.append(
            {
                "id": item["id"],
                "sha256": item["sha256"],
                "size": item["size"],
                "path": f"data/{evidence_path(item)}" if included else None,
                "reason": None if included else _why_not(item, content, chosen),
            }
        )
    return {
        "format": FORMAT,
        "case_id": manifest["case"]["id"],
        "case_uuid": manifest["case"]["uuid"],
        "created": _time.stamp(moment),
        "content": content,
        "items": rows,
        "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "packager": {"name": key.name, "fingerprint": key.public.fingerprint, "public_key": key.public.openssh()},
    }


def _why_not(item: dict[str, Any], content: bool, chosen: list[dict[str, Any]]) -> str:
    if item["storage"] == "hash-only":
        return "hash-only: no copy was kept at capture"
    if not content:
        return "packaged without content (--no-content)"
    return "not selected for this package (--items)"


def _payload(case: Case, manifest: Manifest, index: dict[str, Any], identities: Sequence[object]) -> list[PayloadFile]:
    """The case's record files, its transcripts and the included evidence (the index and reports come apart)."""
    files = [_bytes_file(f"{CASE_DIR}/{name}", case.path(name).read_bytes()) for name in _case_files(case)]
    derived = manifest.get("derived", [])
    files.extend(_object_file(case, entry, f"{CASE_DIR}/{entry['object']}", identities) for entry in derived)
    by_id = {item["id"]: item for item in manifest["items"]}
    files.extend(
        _object_file(case, by_id[row["id"]], row["path"].removeprefix("data/"), identities)
        for row in index["items"]
        if row["path"]
    )
    return files


#: The reports a package carries (spec §3), in the order the index lists them.
REPORTS = (("html", "en"), ("html", "ms"), ("pdf", "en"), ("pdf", "ms"))


def _report_path(format_: str, lang: str) -> str:
    return f"reports/report-{lang}.{format_}"


def _render_reports(
    case: Case,
    chosen: list[dict[str, Any]],
    moment: datetime,
    identities: Sequence[object],
    checked: VerificationReport,
) -> dict[str, bytes]:
    """The HTML and PDF reports, English and Malay, by payload path (under data/).

    Made without pictures, in memory (a report may quote chat messages: it never goes to a
    temporary file); they show `checked`, the verification packaging has just made (every
    packed byte is then hashed while written), and do not verify the case again.
    """
    from .reports import render_to
    from .reports._data import gather

    data = gather(
        case,
        items=[item["id"] for item in chosen],
        now=moment,
        hash_objects=False,
        identities=identities,
        checked=checked,
    )
    made = {}
    for format_, lang in REPORTS:
        buffer = io.BytesIO()
        render_to(buffer, data, format=format_, lang=lang, images="none", now=moment)
        made[_report_path(format_, lang)] = buffer.getvalue()
    return made


def _late_files(index: dict[str, Any], reports: Future[dict[str, bytes]] | None) -> list[LateFile]:
    """The index and the reports, as files the bag writer waits for: the reports render while the evidence is zipped.

    They sort after every evidence file (`package.json`, `reports/…`), so the rendering
    overlaps the hashing of the evidence; the index lists the reports' hashes, so it waits
    for them too.
    """

    @cache
    def index_bytes() -> bytes:
        if reports is None:
            return _canonical.dumps(index) + b"\n"
        made = reports.result()
        rows = [
            {
                "path": f"data/{_report_path(format_, lang)}",
                "sha256": hashlib.sha256(made[_report_path(format_, lang)]).hexdigest(),
                "format": format_,
                "lang": lang,
            }
            for format_, lang in REPORTS
        ]
        return _canonical.dumps({**index, "reports": rows}) + b"\n"

    files = [LateFile(INDEX, index_bytes)]
    if reports is not None:
        files += [_late_report(reports, _report_path(format_, lang)) for format_, lang in REPORTS]
    return files


def _late_report(reports: Future[dict[str, bytes]], path: str) -> LateFile:
    return LateFile(path, lambda: reports.result()[path])


def _tag_files(bag: str, manifest: Manifest, key: SigningKey) -> dict[str, bytes]:
    text = verify_text(
        bag=bag,
        case_id=manifest["case"]["id"],
        packager=key.name,
        principal=key.name,
        fingerprint=key.public.fingerprint,
    )
    line = key.public.allowed_signers_line(key.name, namespace="evidencekit")
    return {
        "VERIFY.txt": text,
        "allowed_signers": (line + "\n").encode(),
        "packager.pub": (key.public.openssh(key.name) + "\n").encode(),
        "packager.pem": key.public.pem().encode(),
    }


def _bag_info(manifest: Manifest, key: SigningKey, organization: str | None) -> list[tuple[str, str]]:
    header = manifest["case"]
    return [
        ("Source-Organization", organization or "not stated"),
        ("Contact-Name", key.name),
        ("External-Identifier", header["id"]),
        ("External-Description", header["title"]),
        ("Bag-Software-Agent", f"evidencekit {__version__}"),
    ]


def package(
    case: Case | str | os.PathLike[str],
    *,
    key: SigningKey,
    out: str | os.PathLike[str] | None = None,
    items: Sequence[str] = (),
    content: bool = True,
    encrypt_to: Sequence[str] = (),
    organization: str | None = None,
    reports: bool = True,
    identities: Sequence[object] = (),
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> PackageResult:
    """Write the case (or some items) as a signed BagIt zip, optionally encrypted with age.

    With `reports` (the default) the HTML and PDF reports, English and Malay, go in too.
    Verifies the case first and raises `VerificationError` if it does not check out.
    The default output is `<case id>.zip` (`.zip.age` when encrypted) in the current folder.
    A case encrypted at rest is packaged as plaintext (spec package §3): its copies are
    decrypted in a stream with `identities`, by default `key` itself (the owner's key opens
    them); `SigningKeyError` if none of them can.
    """
    from .verify import verify

    case = Case.coerce(case)
    moment = _time.resolve_now(now)
    with case.lock():
        ensure_consistent(case)
    try:  # every byte packed is hashed while it is written and checked against the manifest
        checked = verify(case, hash_objects=False)
    except VerificationError as exc:
        raise VerificationError(
            f"the case does not verify ({len(exc.problems)} problem(s)), so it was not packaged",
            exc.problems,
            exc.report,
        ) from exc
    manifest_bytes, manifest = case.read_manifest()
    bag = sanitize_name(manifest["case"]["id"]).replace(" ", "_")
    target = Path(out) if out else Path(f"{bag}.zip{'.age' if encrypt_to else ''}")
    chosen = _select(manifest, items)
    index = _index(manifest, manifest_bytes, chosen, content, key, moment)
    identities = _package_identities(manifest, key, identities)
    zip_path = target if not encrypt_to else target.with_name(f".{target.name}.zip.tmp")
    with ThreadPoolExecutor(1, thread_name_prefix="evidencekit-reports") as background:
        rendering = background.submit(_render_reports, case, chosen, moment, identities, checked) if reports else None
        written = write_bag_zip(
            zip_path,
            bag_name=bag,
            payload=[*_payload(case, manifest, index, identities), *_late_files(index, rendering)],
            bag_info=_bag_info(manifest, key, organization),
            tag_files=_tag_files(bag, manifest, key),
            signer=key,
            when=moment,
            progress=progress,
        )
    if encrypt_to:
        written = _encrypt(zip_path, target, list(encrypt_to))
    ids = [row["id"] for row in index["items"] if row["path"]]
    return PackageResult(target, written.size, bag, ids, content, list(encrypt_to))


def _package_identities(manifest: Manifest, key: SigningKey, identities: Sequence[object]) -> Sequence[object]:
    if identities or not is_encrypted(manifest):
        return identities
    from .encryption import identity_from_signing_key

    return [identity_from_signing_key(key)]


def _encrypt(zip_path: Path, target: Path, recipients: list[str]) -> Any:
    from .bag import BagWritten
    from .encryption import encrypt_file

    try:
        encrypt_file(zip_path, target, recipients)
    finally:
        zip_path.unlink(missing_ok=True)
    return BagWritten(path=target, size=target.stat().st_size, payload_oxum="")


def unpack(
    package_file: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    trusted_keys: Iterable[str] = (),
    identities: Sequence[object] = (),
    raise_on_failure: bool = True,
) -> tuple[Path, Any]:
    """Extract a package safely (no path escapes) into `dest`, then verify what was extracted.

    Returns the bag folder and the `VerificationReport`; raises `VerificationError` when
    the extracted package does not check out (the files stay, for inspection), unless
    `raise_on_failure` is false.
    """
    from .bag import unpack_bag
    from .verify import verify

    source = Path(package_file)
    target = Path(dest)
    if source.is_file() and _is_encrypted(source):
        plain = target.with_name(f".{target.name}.zip.tmp")
        decrypt(source, identities=identities, out=plain)
        try:
            folder = unpack_bag(plain, target)
        finally:
            plain.unlink(missing_ok=True)
    else:
        folder = unpack_bag(source, target)
    return folder, verify(folder, trusted_keys=trusted_keys, raise_on_failure=raise_on_failure)


def _is_encrypted(path: Path) -> bool:
    from .encryption import is_encrypted

    return is_encrypted(path)


def decrypt(
    encrypted: str | os.PathLike[str], *, identities: Sequence[object], out: str | os.PathLike[str] | None = None
) -> Path:
    """Decrypt an age-encrypted package; the output appears only once it is fully authenticated."""
    from .encryption import decrypt_file

    source = Path(encrypted)
    target = (
        Path(out)
        if out
        else source.with_name(
            source.name.removesuffix(".age") if source.name.endswith(".age") else source.name + ".decrypted"
        )
    )
    decrypt_file(source, target, identities)
    return target
