"""Checking a BagIt 1.0 bag: every problem found, as `Problem` records, never only the first.

Invariants: nothing in the bag is trusted before it is checked. Entries the source set aside
as hostile are reported `malformed` and never read. Payload files are hashed by streaming
from the source (never extracted) and tag files are read with a size cap. The signature
covers the bag only through `tagmanifest-sha256.txt`, so every reserved tag file
(bagit.txt, bag-info.txt, manifest-*.txt) must be listed there and anything else at the
top that is not listed is unexpected. Unknown manifest algorithms are errors, not warnings.
Whether the signer is trusted is the caller's decision.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ._bagsource import DAMAGED, Source
from ._fs import safe_relpath
from .digest import stream_hashes
from .errors import FAILING_KINDS, BadSignatureError, EvidenceKitError, FormatError, Problem
from .signing import PublicKey, is_canonical_ssh_signature, verify_raw_signature, verify_ssh_signature

HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
BAGIT_FIELDS = [("bagit-version", "1.0"), ("tag-file-character-encoding", "utf-8")]
BAG_INFO = "bag-info.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
SSH_SIGNATURE = f"{TAG_MANIFEST}.sig"
RAW_SIGNATURE = f"{TAG_MANIFEST}.ed25519"
#: Tag files larger than this are not read into memory (reported `malformed`).
MAX_TAG_FILE = 256 << 20
MANIFEST_NAME = re.compile(r"(tag)?manifest-([^/]+)\.txt")
SIGNATURE_NAME = re.compile(r"tagmanifest-[^/]+\.txt\.(sig|ed25519)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_MANIFEST_LINE = re.compile(r"([0-9A-Fa-f]+)[ \t]+(.+)")
_OXUM = re.compile(r"([0-9]+)\.([0-9]+)")
# RFC 8493 §2.1.3: in manifests only "%", CR and LF are percent-encoded
_PERCENT = re.compile(r"%(25|0[AaDd])")

Progress = Callable[[int], None]


@dataclass
class BagReport:
    """What `BagReader.check()` found: the bag's size, the valid signer (not trusted: that is the caller's call), problems."""

    bag_name: str
    payload_files: int
    payload_bytes: int
    signer: PublicKey | None
    problems: list[Problem]
    info: dict[str, str]
    """The bag-info.txt fields (the first value of a repeated label)."""
    digests: dict[str, dict[str, str | int]] = field(default_factory=dict)
    """Every payload file hashed, by bag path: `sha256`, `sha512`, `sha1`, `md5` and `size`, so that a
    caller checking the same bytes against other records (a case manifest) need not read them again."""

    @property
    def failures(self) -> list[Problem]:
        """The problems that make the bag fail."""
        return [problem for problem in self.problems if problem.kind in FAILING_KINDS]

    @property
    def ok(self) -> bool:
        """True when no problem of a failing kind was found."""
        return not self.failures


def parse_fields(data: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """Parse `Label: value` lines (RFC 8493 §2.2.2, continuation lines folded); return fields and errors."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], ["it is not UTF-8 text"]
    fields: list[tuple[str, str]] = []
    errors = ["it starts with a byte-order mark"] if text.startswith("\ufeff") else []
    for number, line in enumerate(_LINE_BREAK.split(text), 1):
        if not line.strip():
            continue
        label, colon, value = line.partition(":")
        if line[0] in " \t" and fields:
            fields[-1] = (fields[-1][0], f"{fields[-1][1]} {line.strip()}")
        elif not colon or not label.strip() or label != label.strip():
            errors.append(f"line {number} is not 'Label: value'")
        else:
            fields.append((label, value.strip()))
    return fields, errors


def format_digest(algorithm: str, hexdigest: str) -> str:
    """`sha256:<hex>` notation for expected/found values."""
    return f"{algorithm}:{hexdigest.lower()}"


class _Check:
    def __init__(self, source: Source, namespace: str, progress: Progress | None):
        self.source = source
        self.namespace = namespace
        self.progress = progress
        self.files = set(source.names())
        self.problems: list[Problem] = []
        self.tag_manifest: bytes | None = None
        self.digests: dict[str, dict[str, str | int]] = {}

    def add(self, kind: str, message: str, path: str, expected: str | None = None, found: str | None = None) -> None:
        self.problems.append(Problem(kind, message, path=path, expected=expected, found=found))

    def run(self) -> BagReport:
        for entry in self.source.bad:
            self.add("malformed", f"{entry.name!r} {entry.why}; it was not read", entry.name)
        self._check_bagit_txt()
        info = self._read_info()
        payload = sorted(name for name in self.files if name.startswith("data/"))
        payload_bytes = sum(self.source.size(name) for name in payload)
        self._check_payload(payload, self._payload_manifests())
        self._check_oxum(info, f"{payload_bytes}.{len(payload)}")
        self._check_coverage(self._check_tag_manifests())
        signer = self._check_signatures()
        first = dict(reversed(info))  # the first value of a repeated label wins
        return BagReport(self.source.bag_name, len(payload), payload_bytes, signer, self.problems, first, self.digests)

    # -- reading ---------------------------------------------------------------------------------

    def _unreadable(self, name: str, exc: BaseException) -> None:
        if isinstance(exc, DAMAGED):
            self.add("altered", f"{name}: its stored bytes are damaged ({exc})", name)
        else:
            self.add("malformed", f"{name}: cannot be read ({exc})", name)

    def _read_tag(self, name: str) -> bytes | None:
        """The tag file's bytes; `None` when absent, or unreadable (then reported here)."""
        if name not in self.files:
            return None
        if self.source.size(name) > MAX_TAG_FILE:
            self.add("malformed", f"{name}: larger than {MAX_TAG_FILE >> 20} MiB; not read", name)
            return None
        try:
            with self.source.open(name) as stream:
                data = stream.read(MAX_TAG_FILE + 1)
        except (OSError, EvidenceKitError, NotImplementedError, RuntimeError, *DAMAGED) as exc:
            self._unreadable(name, exc)
            return None
        if len(data) > MAX_TAG_FILE:
            self.add("malformed", f"{name}: larger than {MAX_TAG_FILE >> 20} MiB; not read", name)
            return None
        return data

    def _hash(self, name: str, algorithms: list[str]) -> dict[str, str] | None:
        """Hash a file once; payload files also get SHA-1 and MD5, kept in `self.digests` for reuse."""
        payload = name.startswith("data/")
        wanted = set(algorithms) | ({"sha256", "sha1", "md5"} if payload else set())
        # two threads of about equal work (MD5 + SHA-1, SHA-512 + SHA-256): on two cores, three
        # hash threads made one of them wait for a core (docs/performance.md "Packaging")
        pairs = (("md5", "sha1"), ("sha512", "sha256"))
        groups = tuple(g for g in (tuple(a for a in pair if a in wanted) for pair in pairs) if g)
        # payload digests are compared with the manifests, which supersedes the zip's CRC-32
        opener = self.source.open_to_hash if payload else self.source.open
        try:
            with opener(name) as stream:
                digests, size = stream_hashes(stream, groups=groups, progress=self.progress if payload else None)
        except (OSError, EvidenceKitError, NotImplementedError, RuntimeError, *DAMAGED) as exc:
            self._unreadable(name, exc)
            return None
        if payload:
            self.digests[name] = {**digests, "size": size}
        return {algorithm: digests[algorithm] for algorithm in algorithms}

    # -- bagit.txt, bag-info.txt ---------------------------------------------------------------------

    def _check_bagit_txt(self) -> None:
        data = self._read_tag("bagit.txt")
        if data is None:
            if "bagit.txt" not in self.files:
                self.add("malformed", "bagit.txt is missing: this is not a BagIt bag", "bagit.txt")
            return
        fields, errors = parse_fields(data)
        if errors or [(label.lower(), value.lower()) for label, value in fields] != BAGIT_FIELDS:
            found = data[:200].decode("utf-8", "replace")
            expected = BAGIT_TXT.decode()
            message = "bagit.txt does not declare BagIt-Version 1.0 with UTF-8 tag files"
            self.add("malformed", message, "bagit.txt", expected=expected, found=found)

    def _read_info(self) -> list[tuple[str, str]]:
        data = self._read_tag(BAG_INFO)
        if data is None:
            return []
        fields, errors = parse_fields(data)
        for error in errors:
            self.add("malformed", f"{BAG_INFO}: {error}", BAG_INFO)
        return fields

    def _check_oxum(self, info: list[tuple[str, str]], found: str) -> None:
        declared = sorted({value for label, value in info if label.lower() == "payload-oxum"})
        if not declared:
            return
        match = _OXUM.fullmatch(declared[0])
        if len(declared) > 1 or not match:
            self.add(
                "malformed",
                f"{BAG_INFO}: Payload-Oxum must be one '<octets>.<files>'",
                BAG_INFO,
                found=", ".join(declared),
            )
        elif f"{int(match[1])}.{int(match[2])}" != found:
            message = f"{BAG_INFO}: Payload-Oxum expected {declared[0]}, found {found} (bytes.files)"
            self.add("altered", message, BAG_INFO, expected=declared[0], found=found)

    # -- manifests ---------------------------------------------------------------------------------

    def _parse_manifest(self, name: str, data: bytes, algorithm: str, *, tag: bool) -> dict[str, str]:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self.add("malformed", f"{name}: not UTF-8 text", name)
            return {}
        entries: dict[str, str] = {}
        width = HASHES[algorithm]().digest_size * 2
        for number, line in enumerate(_LINE_BREAK.split(text.removesuffix("\n")), 1):
            match = _MANIFEST_LINE.fullmatch(line)
            path = _PERCENT.sub(lambda m: chr(int(m[1], 16)), match[2]) if match else ""
            why = self._manifest_line_problem(match, path, width, tag=tag, seen=entries)
            if why:
                self.add("malformed", f"{name} line {number}: {why}", name)
            elif match:
                entries[path] = match[1].lower()
        return entries

    @staticmethod
    def _manifest_line_problem(
        match: re.Match[str] | None, path: str, width: int, *, tag: bool, seen: dict[str, str]
    ) -> str | None:
        if not match:
            return "not '<checksum>  <path>'"
        if len(match[1]) != width:
            return f"the checksum has {len(match[1])} hex digits, expected {width}"
        try:
            safe_relpath(path)
        except EvidenceKitError as exc:
            return exc.message
        if path.startswith("data/") == tag:
            return f"{path!r} is a payload file" if tag else f"{path!r} is not under data/"
        if tag and (MANIFEST_NAME.fullmatch(path) or SIGNATURE_NAME.fullmatch(path)) and path.startswith("tag"):
            return f"a tag manifest cannot list {path!r}"
        return f"{path!r} is listed twice" if path in seen else None

    def _manifests(self, *, tag: bool) -> dict[str, tuple[str, dict[str, str]]]:
        """{algorithm: (file name, {path: hex})} for the (tag) manifests at the bag top."""
        out: dict[str, tuple[str, dict[str, str]]] = {}
        for name in sorted(self.files):
            match = MANIFEST_NAME.fullmatch(name)
            if not match or bool(match[1]) != tag:
                continue
            if match[2] not in HASHES:
                self.add("malformed", f"{name}: unsupported algorithm {match[2]!r} (sha256 and sha512 are)", name)
                continue
            data = self._read_tag(name)
            if data is not None:
                out[match[2]] = (name, self._parse_manifest(name, data, match[2], tag=tag))
                if name == TAG_MANIFEST:
                    self.tag_manifest = data
        return out

    def _payload_manifests(self) -> dict[str, tuple[str, dict[str, str]]]:
        manifests = self._manifests(tag=False)
        if "manifest-sha256.txt" not in self.files:
            self.add("missing", "manifest-sha256.txt is missing", "manifest-sha256.txt")
        return manifests

    def _check_payload(self, payload: list[str], manifests: dict[str, tuple[str, dict[str, str]]]) -> None:
        present = set(payload)
        listed = sorted({path for _, entries in manifests.values() for path in entries})
        for path in listed:
            if path not in present:
                names = ", ".join(name for name, entries in manifests.values() if path in entries)
                self.add("missing", f"{path}: listed in {names} but absent from the bag", path)
        for path in payload:
            algorithms = [algorithm for algorithm, (_, entries) in manifests.items() if path in entries]
            unlisted = [name for name, entries in manifests.values() if path not in entries]
            if unlisted or not manifests:
                where = ", ".join(unlisted) or "any payload manifest"
                self.add("unexpected", f"{path}: in the bag but not listed in {where}", path)
            if not algorithms:
                if self.progress:
                    self.progress(self.source.size(path))
                continue
            digests = self._hash(path, algorithms)
            if digests is not None:
                self._compare(path, {a: manifests[a][1][path] for a in algorithms}, digests)

    def _compare(self, path: str, expected: dict[str, str], found: dict[str, str]) -> None:
        differ = [algorithm for algorithm in expected if expected[algorithm] != found[algorithm]]
        if differ:
            algorithm = differ[0]
            want, got = format_digest(algorithm, expected[algorithm]), format_digest(algorithm, found[algorithm])
            also = f" ({' and '.join(differ)} differ)" if len(differ) > 1 else ""
            message = f"{path}: {algorithm} expected {expected[algorithm]}, found {found[algorithm]}{also}"
            self.add("altered", message, path, want, got)

    # -- tag manifests and signatures ----------------------------------------------------------------

    def _check_tag_manifests(self) -> set[str] | None:
        """Check every tag manifest; return the files tagmanifest-sha256.txt covers (`None` if unread)."""
        covered = None
        for algorithm, (name, entries) in self._manifests(tag=True).items():
            for path, hexdigest in sorted(entries.items()):
                if path not in self.files:
                    self.add("missing", f"{path}: listed in {name} but absent from the bag", path)
                elif (digests := self._hash(path, [algorithm])) is not None:
                    self._compare(path, {algorithm: hexdigest}, digests)
            if name == TAG_MANIFEST:
                covered = set(entries)
        if TAG_MANIFEST not in self.files:
            message = f"{TAG_MANIFEST} is missing: nothing ties the tag files to the signature"
            self.add("missing", message, TAG_MANIFEST)
        return covered

    def _check_coverage(self, covered: set[str] | None) -> None:
        if covered is None:
            return
        for name in sorted(self.files - covered):
            match = MANIFEST_NAME.fullmatch(name)
            if name.startswith("data/") or (match and match[1]) or SIGNATURE_NAME.fullmatch(name):
                continue
            if name in ("bagit.txt", BAG_INFO) or match:
                message = f"{name} is not listed in {TAG_MANIFEST}, so the signature does not cover it"
                self.add("missing", message, name)
            else:
                self.add("unexpected", f"{name}: in the bag but not listed in {TAG_MANIFEST}", name)

    def _check_signatures(self) -> PublicKey | None:
        if self.tag_manifest is None:
            return None
        key = signer = None
        signature = self._read_tag(SSH_SIGNATURE)
        if signature is None:
            if SSH_SIGNATURE not in self.files:
                self.add("missing", f"{SSH_SIGNATURE} is missing: the bag is not signed", SSH_SIGNATURE)
        else:
            try:
                key = verify_ssh_signature(self.tag_manifest, signature, namespace=self.namespace)
            except (FormatError, BadSignatureError) as exc:
                self.add("bad-signature", f"{SSH_SIGNATURE}: {exc.message}", SSH_SIGNATURE)
            else:
                if is_canonical_ssh_signature(signature):
                    signer = key
                else:
                    message = f"{SSH_SIGNATURE}: the signature verifies but its bytes were changed (not canonical)"
                    self.add("bad-signature", message, SSH_SIGNATURE)
        raw = self._read_tag(RAW_SIGNATURE)
        if raw is None:
            if RAW_SIGNATURE not in self.files:
                self.add("missing", f"{RAW_SIGNATURE} is missing", RAW_SIGNATURE)
        elif key is not None:
            try:
                verify_raw_signature(self.tag_manifest, raw, key)
            except BadSignatureError as exc:
                self.add("bad-signature", f"{RAW_SIGNATURE}: {exc.message}", RAW_SIGNATURE)
        return signer


def check_bag(source: Source, *, namespace: str, progress: Progress | None = None) -> BagReport:
    """Check the bag in `source` and report every problem (low-level; use `BagReader.check()`)."""
    return _Check(source, namespace, progress).run()
