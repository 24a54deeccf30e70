"""A case folder: its layout, opening it, and committing a new signed state.

Invariants: a case changes only under its lock; a commit writes, in this order, the
signers' public keys and `allowed_signers`, then `manifest.json`, then its signatures,
then appends one custody record naming the manifest's SHA-256 (spec: docs/spec/case-layout.md).
A crash between these steps is detected by `verify` and repaired by `recover`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import _time
from ._fs import PRIVATE_DIR, CaseLock, atomic_write
from ._version import __version__
from .custody import CustodyRecord, append_record, make_record, parse_record, read_lines
from .errors import CaseStateError, InputError
from .manifest import Manifest, encode_manifest, new_manifest, parse_manifest
from .signing import SigningKey

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
RAW_SIGNATURE = "manifest.json.ed25519"
CUSTODY = "custody.jsonl"
ALLOWED_SIGNERS = "allowed_signers"
README = "README.txt"
LOCK = ".lock"
KEYS = "keys"
OBJECTS = "objects"
JOURNAL = "journal"
DERIVED = "derived"
INDEX = "index"
TMP = "tmp"
MANIFEST_NAMESPACE = "evidencekit"
TOOL = {"name": "evidencekit", "version": __version__}

_README_TEXT = """\
This folder is an evidencekit case. It holds preserved evidence.

Do not add, change, rename or delete anything in it by hand: every file is recorded
by its hash and any change will show up as tampering when the case is checked.

To check that nothing has changed:   evidencekit verify --case "<this folder>"
The signature of manifest.json can also be checked without evidencekit:
  ssh-keygen -Y verify -f allowed_signers -I <signer name> -n evidencekit \\
      -s manifest.json.sig < manifest.json
"""


def key_file_stem(fingerprint: str) -> str:
    """A file-name-safe form of a key fingerprint (`SHA256_…`, `/` → `_`, `+` → `-`)."""
    return fingerprint.replace(":", "_").replace("/", "_").replace("+", "-")


@dataclass(frozen=True, slots=True)
class Case:
    """A case folder. Open one with `Case.open(path)`; create one with `init_case()`."""

    root: Path

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> Case:
        """Open an existing case; raise `CaseStateError` if `root` is not one."""
        path = Path(root).expanduser().absolute()
        if not (path / MANIFEST).is_file() and not (path / CUSTODY).is_file():
            raise CaseStateError(
                "this folder is not an evidencekit case (no manifest.json)",
                path=path,
                hint="pass --case FOLDER, set EVIDENCEKIT_CASE, or create one with `evidencekit init`",
            )
        return cls(path)

    @classmethod
    def coerce(cls, case: Case | str | os.PathLike[str]) -> Case:
        """Accept a `Case` or a path to one (every public function takes either)."""
        return case if isinstance(case, Case) else cls.open(case)

    def path(self, *parts: str) -> Path:
        """A path inside the case."""
        return self.root.joinpath(*parts)

    def lock(self, *, wait: float = 10.0) -> CaseLock:
        """The case lock, to hold while changing the case."""
        return CaseLock(self.path(LOCK), wait=wait)

    def read_manifest(self) -> tuple[bytes, Manifest]:
        """Read and parse `manifest.json`; raise `InputError` or `FormatError`."""
        path = self.path(MANIFEST)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the manifest: {exc.strerror}", path=path) from exc
        return data, parse_manifest(data, path=str(path))

    def custody_records(self) -> list[CustodyRecord]:
        """Parse every custody record strictly (use `verify()` to check signatures and links)."""
        path = self.path(CUSTODY)
        return [parse_record(line, lineno=n, path=str(path)) for n, line in enumerate(read_lines(path), 1)]

    def last_record(self) -> CustodyRecord | None:
        """The last custody record, parsed, or `None` for an empty log."""
        lines = read_lines(self.path(CUSTODY)) if self.path(CUSTODY).exists() else []
        if not lines:
            return None
        return parse_record(lines[-1], lineno=len(lines), path=str(self.path(CUSTODY)))

    def commit(
        self,
        manifest: Manifest,
        *,
        key: SigningKey,
        action: str,
        items: Sequence[str] = (),
        note: str | None = None,
        details: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> bytes:
        """Sign and write a new manifest state and its custody record; return the record line.

        The caller holds the lock. Spec: docs/spec/case-layout.md §3 (commit order).
        """
        moment = _time.resolve_now(now)
        manifest["revision"] += 1
        manifest["updated"] = _time.stamp(moment)
        manifest["signers"][key.public.fingerprint] = {"name": key.name, "public_key": key.public.openssh(key.name)}
        self._write_keys(manifest["signers"])
        data = encode_manifest(manifest)
        atomic_write(self.path(MANIFEST), data)
        atomic_write(self.path(SIGNATURE), key.sign_ssh(data, namespace=MANIFEST_NAMESPACE).encode("ascii"))
        atomic_write(self.path(RAW_SIGNATURE), key.sign_raw(data))
        return self._append(key, data, manifest["revision"], action, items, note, details, moment)

    def log(
        self,
        *,
        key: SigningKey,
        action: str,
        items: Sequence[str] = (),
        note: str | None = None,
        details: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> bytes:
        """Append a custody record about the current manifest without changing it (notes, checks).

        The manifest keeps its signer; the record is signed by `key`. The caller holds the
        lock and has checked the case is consistent. Spec: docs/spec/custody-log.md §2.
        """
        data, manifest = self.read_manifest()
        return self._append(key, data, manifest["revision"], action, items, note, details, now)

    def _append(
        self,
        key: SigningKey,
        manifest_bytes: bytes,
        revision: int,
        action: str,
        items: Sequence[str],
        note: str | None,
        details: dict[str, Any] | None,
        now: datetime | None,
    ) -> bytes:
        last = self.last_record()
        line = make_record(
            key=key,
            seq=(last.seq + 1) if last else 1,
            prev=last.link() if last else None,
            action=action,
            manifest_bytes=manifest_bytes,
            manifest_revision=revision,
            items=items,
            note=note,
            details=details,
            now=now,
        )
        append_record(self.path(CUSTODY), line)
        return line

    def _write_keys(self, signers: dict[str, dict[str, str]]) -> None:
        self.path(KEYS).mkdir(exist_ok=True)
        for fingerprint, signer in signers.items():
            stem = key_file_stem(fingerprint)
            expected = expected_key_files(signer)
            for suffix, content in expected.items():
                target = self.path(KEYS, stem + suffix)
                if not target.exists() or target.read_bytes() != content:
                    atomic_write(target, content)
        atomic_write(self.path(ALLOWED_SIGNERS), allowed_signers_bytes(signers))


def expected_key_files(signer: dict[str, str]) -> dict[str, bytes]:
    """The public-key files the case keeps for one signer (OpenSSH line and PEM)."""
    from .signing import PublicKey

    public = PublicKey.from_openssh(signer["public_key"])
    return {".pub": (signer["public_key"] + "\n").encode(), ".pem": public.pem().encode()}


def allowed_signers_bytes(signers: dict[str, dict[str, str]]) -> bytes:
    """The `allowed_signers` file for `ssh-keygen -Y verify`, one line per signer."""
    from .signing import PublicKey

    lines = []
    for fingerprint in sorted(signers):
        signer = signers[fingerprint]
        public = PublicKey.from_openssh(signer["public_key"])
        lines.append(public.allowed_signers_line(signer["name"], namespace="evidencekit,evidencekit-custody"))
    return ("\n".join(lines) + "\n").encode()


def default_case_id(now: datetime) -> str:
    """A human-readable case id such as `EK-20261128-7F3A`."""
    return f"EK-{now.strftime('%Y%m%d')}-{secrets.token_hex(2).upper()}"


def init_case(
    root: str | os.PathLike[str],
    *,
    title: str,
    key: SigningKey,
    case_id: str | None = None,
    examiner: str | None = None,
    timezone: str | None = None,
    encrypt: bool = False,
    recipients: Sequence[str] = (),
    now: datetime | None = None,
) -> Case:
    """Create a new case folder with its header, first custody record and signed empty manifest.

    With `encrypt`, every copy and transcript the case stores is encrypted with age to
    `key`'s public key and to each of `recipients` (`age1...`, `ssh-ed25519 ...` or a file
    holding one; spec: docs/spec/case-layout.md §7). `root` must not exist or be an empty
    folder. Raises `CaseStateError` otherwise and `InputError` for an unknown timezone or
    an invalid recipient, or recipients without `encrypt`.
    """
    from ._content import encryption_header
    from ._tz import check_timezone, local_timezone_name

    path = Path(root).expanduser().absolute()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise CaseStateError(
            "the folder for the new case is not empty",
            path=path,
            hint="choose a new folder name; evidencekit never writes into a folder that holds other files",
        )
    if not title.strip():
        raise InputError("the case title is empty", hint="pass --title with a short neutral description")
    if isinstance(recipients, str):
        raise TypeError("recipients is a sequence of strings, not one string")
    if recipients and not encrypt:
        raise InputError("recipients were given but the case is not encrypted", hint="add --encrypt")
    encryption = encryption_header(key, recipients) if encrypt else None
    moment = _time.resolve_now(now)
    zone = check_timezone(timezone) if timezone else local_timezone_name(moment)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)  # only the owner may open the case folder (no-op on Windows)
    for folder in (KEYS, OBJECTS, JOURNAL, TMP):
        (path / folder).mkdir(exist_ok=True)
    atomic_write(path / README, _README_TEXT.encode())
    header = {
        "id": case_id or default_case_id(moment),
        "uuid": str(uuid.uuid4()),
        "title": title.strip(),
        "examiner": {"name": examiner or key.name, "fingerprint": key.public.fingerprint},
        "created": _time.stamp(moment),
        "timezone": zone,
        "tool": dict(TOOL),
    }
    if encryption is not None:
        header["encryption"] = encryption
    case = Case(path)
    with case.lock():
        case.commit(
            new_manifest(header, _time.stamp(moment)),
            key=key,
            action="init",
            now=moment,
            note=f"case opened: {header['title']}",
            details={"case_id": header["id"]},
        )
    return case


def manifest_sha256(data: bytes) -> str:
    """Plain SHA-256 of manifest bytes, as custody records carry it (`sha256sum manifest.json`)."""
    return hashlib.sha256(data).hexdigest()


def leftovers(case: Case) -> list[Path]:
    """Files an interrupted command left: partial copies in tmp/ and atomic-write temp files."""
    from ._fs import is_atomic_leftover

    found = list(case.path(TMP).glob("partial-*")) if case.path(TMP).exists() else []
    for parent in (case.root, case.path(KEYS)):
        if parent.exists():
            found += [p for p in parent.glob(".*") if p.is_file() and is_atomic_leftover(p.name)]
    return sorted(found)


def ensure_consistent(case: Case) -> None:
    """Refuse to change a case whose last commit or capture was interrupted (spec case-layout §5).

    Raises `CaseStateError` with the hint to run `evidencekit recover`.
    """
    from ._journal import pending

    last = case.last_record()
    hint = "run `evidencekit recover`: it finishes the interrupted step and keeps every saved file"
    if pending(case) or leftovers(case):
        raise CaseStateError("an earlier command on this case was interrupted", path=case.root, hint=hint)
    try:
        data = case.path(MANIFEST).read_bytes()
    except OSError as exc:
        raise CaseStateError(f"cannot read the manifest: {exc.strerror}", path=case.path(MANIFEST)) from exc
    if last is None or manifest_sha256(data) != last.data["manifest_sha256"]:
        raise CaseStateError(
            "the manifest is not the one the custody log names: an earlier command was "
            "interrupted, or the case was changed by hand",
            path=case.path(MANIFEST),
            hint=hint,
        )


def custody_note(
    case: Case | str | os.PathLike[str],
    text: str,
    *,
    key: SigningKey,
    items: Sequence[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """Add a signed `note` record to the custody log (the manifest itself does not change)."""
    from ._canonical import loads

    if not text.strip():
        raise InputError("the note is empty", hint="write the note text after `evidencekit custody note`")
    case = Case.coerce(case)
    with case.lock():
        ensure_consistent(case)
        _, manifest = case.read_manifest()
        known = {item["id"] for item in manifest["items"]}
        unknown = [i for i in items if i not in known]
        if unknown:
            raise InputError(
                f"no item with id {', '.join(unknown)} in this case", hint="list ids with `evidencekit items`"
            )
        line = case.log(key=key, action="note", items=items, note=text.strip(), now=now)
    return dict(loads(line))


def custody_log(case: Case | str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every custody record as a dict, in order (parsed strictly; `verify()` checks the signatures)."""
    return [record.data for record in Case.coerce(case).custody_records()]
