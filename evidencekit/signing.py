"""Ed25519 signing keys and SSH signatures (SSHSIG); the key store is in `keystore`.

Invariants: there is one algorithm, Ed25519, and every other key type is rejected. SSH
signatures follow OpenSSH's PROTOCOL.sshsig byte for byte, so `ssh-keygen -Y verify` checks
what `sign_ssh` writes and `verify_ssh_signature` checks what `ssh-keygen -Y sign` writes
(LF-only armour, wrapped at 70 columns like ssh-keygen). Raw signatures are PureEdDSA over the
exact bytes (`openssl pkeyutl -rawin`). Private keys never leave the keystore: they are
written once, atomically, as OpenSSH private keys with mode 0600 (bcrypt KDF when a
passphrase is given), are never overwritten, and only public keys are exported. Verifying a
signature says nothing about whether the signer is trusted; that is the caller's decision.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import BadSignatureError, FormatError, InputError

DEFAULT_NAMESPACE = "evidencekit"
KEY_TYPE = b"ssh-ed25519"
SIG_MAGIC = b"SSHSIG"
SIG_VERSION = 1
SIG_LABEL = "SSH SIGNATURE"
PRIVATE_LABEL = "OPENSSH PRIVATE KEY"
PRIVATE_MAGIC = b"openssh-key-v1\x00"
HASH_ALGS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_ED25519_ONLY = "evidencekit uses Ed25519 keys only"


def _sshstr(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _strings(data: bytes, count: int, what: str, *, rest: bool = False) -> list[bytes]:
    """Split `count` SSH strings off `data`; with `rest`, also return what follows, else reject it."""
    out, pos = [], 0
    for _ in range(count):
        if len(data) < pos + 4 or len(data) < pos + 4 + (size := struct.unpack_from(">I", data, pos)[0]):
            raise FormatError(f"{what} is truncated")
        out.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    if not rest and pos != len(data):
        raise FormatError(f"{what} has {len(data) - pos} unexpected trailing bytes")
    return [*out, data[pos:]] if rest else out


def _armour(blob: bytes, label: str) -> str:
    text = base64.b64encode(blob).decode("ascii")
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"


def _dearmour(text: str | bytes, label: str, what: str) -> bytes:
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise FormatError(f"{what} is not ASCII text") from None
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != f"-----BEGIN {label}-----" or lines[-1] != f"-----END {label}-----":
        raise FormatError(f"{what} lacks the '-----BEGIN {label}-----' armour")
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except binascii.Error:
        raise FormatError(f"{what} has invalid base64 inside its armour") from None


def is_canonical_ssh_signature(text: str | bytes) -> bool:
    """Whether an armoured SSHSIG is exactly as `SigningKey.sign_ssh` writes it.

    Verifiers of evidence use this so that no byte of a signature file can change unnoticed
    (base64 and armour parsing alone tolerate spare bits, spaces and other line widths).
    """
    try:
        blob = _dearmour(text, SIG_LABEL, "the signature")
    except FormatError:
        return False
    expected = _armour(blob, SIG_LABEL)
    return (text.encode("ascii", "replace") if isinstance(text, str) else text) == expected.encode("ascii")


def _parse_public_blob(blob: bytes, what: str) -> PublicKey:
    key_type, raw = _strings(blob, 2, what)
    if key_type != KEY_TYPE:
        raise FormatError(f"{what} is a {key_type[:40]!r} key, not ssh-ed25519", hint=_ED25519_ONLY)
    if len(raw) != 32:
        raise FormatError(f"{what} has a {len(raw)}-byte Ed25519 key, expected 32")
    return PublicKey(raw)


def _read_bytes(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", path=Path(path)) from None


def _read_text(path: str | os.PathLike[str], what: str) -> str:
    try:
        return _read_bytes(path, what).decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{what} is not UTF-8 text", path=Path(path)) from None


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key and its OpenSSH, PEM and fingerprint renderings."""

    raw: bytes
    """The 32-byte Ed25519 public key."""

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != 32:
            raise ValueError("an Ed25519 public key is exactly 32 bytes")

    @property
    def ssh_blob(self) -> bytes:
        """The SSH wire encoding: string "ssh-ed25519" || string raw."""
        return _sshstr(KEY_TYPE) + _sshstr(self.raw)

    @property
    def fingerprint(self) -> str:
        """`SHA256:<unpadded base64>`, exactly as `ssh-keygen -lf` prints it."""
        digest = hashlib.sha256(self.ssh_blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def openssh(self, comment: str = "") -> str:
        """The `.pub` line `ssh-ed25519 AAAA... comment` (no newline)."""
        if "\n" in comment or "\r" in comment:
            raise ValueError("a key comment cannot contain a line break")
        line = "ssh-ed25519 " + base64.b64encode(self.ssh_blob).decode("ascii")
        return f"{line} {comment}" if comment else line

    def pem(self) -> str:
        """The SubjectPublicKeyInfo PEM, for `openssl pkeyutl -verify -pubin -rawin`."""
        key = Ed25519PublicKey.from_public_bytes(self.raw)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        return key.public_bytes(serialization.Encoding.PEM, spki).decode("ascii")

    def allowed_signers_line(self, identity: str, namespace: str = DEFAULT_NAMESPACE) -> str:
        """One `allowed_signers` line for `ssh-keygen -Y verify -I identity -n namespace`.

        Raises `InputError` if `identity` is empty or holds whitespace or quotes.
        """
        if not identity or any(ch.isspace() or ch in "\"'" for ch in identity):
            hint = "use one word without spaces or quotes, e.g. name@unit-7"
            raise InputError(f"invalid signer identity {identity!r}", hint=hint)
        _check_namespace(namespace)
        return f'{identity} namespaces="{namespace}" {self.openssh()}'

    @classmethod
    def from_openssh(cls, text: str) -> PublicKey:
        """Parse one OpenSSH `.pub` line; raises `FormatError` if it is not an Ed25519 key."""
        lines = text.strip().splitlines()
        fields = lines[0].split() if len(lines) == 1 else []
        if len(fields) < 2:
            raise FormatError("not an OpenSSH public key line", hint="expected 'ssh-ed25519 AAAA... comment'")
        try:
            blob = base64.b64decode(fields[1], validate=True)
        except binascii.Error:
            raise FormatError("the OpenSSH public key has invalid base64") from None
        key = _parse_public_blob(blob, "the OpenSSH public key")
        if fields[0] != KEY_TYPE.decode():
            raise FormatError(f"the OpenSSH public key line says {fields[0][:40]!r}, not ssh-ed25519")
        return key

    @classmethod
    def from_pem(cls, text: str) -> PublicKey:
        """Parse a SubjectPublicKeyInfo PEM; raises `FormatError` if it is not an Ed25519 key."""
        try:
            key = serialization.load_pem_public_key(text.encode("utf-8"))
        except (ValueError, UnsupportedAlgorithm):
            raise FormatError("not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise FormatError("the PEM public key is not Ed25519", hint=_ED25519_ONLY)
        return cls(key.public_bytes_raw())

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PublicKey:
        """Read an OpenSSH `.pub` line or a PEM public key from `path`.

        Raises `InputError` if the file is unreadable, `FormatError` if it is not an Ed25519 key.
        """
        text = _read_text(path, "public key file")
        try:
            return cls.from_pem(text) if "-----BEGIN PUBLIC KEY-----" in text else cls.from_openssh(text)
        except FormatError as exc:
            raise FormatError(exc.message, hint=exc.hint, path=Path(path)) from None


def _check_namespace(namespace: str) -> bytes:
    if not namespace or any(ch.isspace() or ch == '"' for ch in namespace):
        raise ValueError(f"invalid SSHSIG namespace {namespace!r}")
    return namespace.encode("utf-8")


def _signed_data(namespace: bytes, hash_alg: str, data: bytes) -> bytes:
    # PROTOCOL.sshsig: the signature covers the preamble, namespace, an empty reserved field,
    # the hash algorithm and H(message); ssh-keygen ignores a non-empty reserved field.
    digest = HASH_ALGS[hash_alg](data).digest()
    return SIG_MAGIC + _sshstr(namespace) + _sshstr(b"") + _sshstr(hash_alg.encode()) + _sshstr(digest)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A named Ed25519 private key, loaded from the keystore."""

    name: str
    private: Ed25519PrivateKey = field(repr=False)

    @property
    def public(self) -> PublicKey:
        """The matching public key."""
        return PublicKey(self.private.public_key().public_bytes_raw())

    def sign_ssh(self, data: bytes, *, namespace: str = DEFAULT_NAMESPACE) -> str:
        """Return an armoured SSHSIG over `data` (sha512), as `ssh-keygen -Y sign` writes it."""
        ns = _check_namespace(namespace)
        signature = self.private.sign(_signed_data(ns, "sha512", data))
        blob = b"".join([
            SIG_MAGIC, struct.pack(">I", SIG_VERSION), _sshstr(self.public.ssh_blob), _sshstr(ns),
            _sshstr(b""), _sshstr(b"sha512"), _sshstr(_sshstr(KEY_TYPE) + _sshstr(signature)),
        ])  # fmt: skip
        return _armour(blob, SIG_LABEL)

    def sign_raw(self, data: bytes) -> bytes:
        """Return the 64-byte PureEdDSA signature over `data` (for `openssl pkeyutl -rawin`)."""
        return self.private.sign(data)


def _parse_ssh_signature(signature: str | bytes) -> tuple[PublicKey, bytes, str, bytes]:
    """Return (signer, namespace, hash algorithm, raw signature); PROTOCOL.sshsig section 3."""
    what = "the SSH signature"
    blob = _dearmour(signature, SIG_LABEL, what)
    if blob[:10] != SIG_MAGIC + struct.pack(">I", SIG_VERSION):
        raise FormatError(f"{what} does not start with SSHSIG version 1")
    key_blob, namespace, _reserved, hash_alg, sig_field = _strings(blob[10:], 5, what)
    key_type, raw = _strings(sig_field, 2, f"the signature field of {what}")
    if hash_alg.decode("ascii", "replace") not in HASH_ALGS:
        raise FormatError(f"{what} uses hash algorithm {hash_alg[:40]!r}, expected sha256 or sha512")
    if key_type != KEY_TYPE or len(raw) != 64:
        raise FormatError(f"{what} is not a 64-byte ssh-ed25519 signature", hint=_ED25519_ONLY)
    return _parse_public_blob(key_blob, f"the key in {what}"), namespace, hash_alg.decode("ascii"), raw


def verify_ssh_signature(data: bytes, signature: str | bytes, *, namespace: str = DEFAULT_NAMESPACE) -> PublicKey:
    """Check an armoured SSHSIG over `data` and return the signer's public key.

    Low-level: this says nothing about whether the signer is trusted. Raises `FormatError` if
    the signature is malformed or uses an unsupported algorithm, `BadSignatureError` if the
    namespace differs or the signature does not match `data`.
    """
    signer, found, hash_alg, raw = _parse_ssh_signature(signature)
    expected = _check_namespace(namespace)
    if found != expected:
        shown = found.decode("utf-8", "replace")[:64]
        raise BadSignatureError(f"signature namespace expected {namespace!r}, found {shown!r}")
    _verify(signer, raw, _signed_data(expected, hash_alg, data))
    return signer


def verify_raw_signature(data: bytes, signature: bytes, public_key: PublicKey) -> None:
    """Check a raw 64-byte Ed25519 signature; raises `BadSignatureError` if it does not match."""
    _verify(public_key, signature, data)


def _verify(public_key: PublicKey, signature: bytes, signed: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public_key.raw).verify(signature, signed)
    except InvalidSignature:
        raise BadSignatureError(
            f"signature by {public_key.fingerprint} does not match the data",
            hint="the data or the signature was changed after signing",
        ) from None


def generate_signing_key_for_tests(name: str, seed: bytes) -> SigningKey:
    """Private path for tests: a deterministic key from a 32-byte seed. Never use for evidence."""
    if len(seed) != 32:
        raise ValueError("the seed must be exactly 32 bytes")
    return SigningKey(name, Ed25519PrivateKey.from_private_bytes(seed))
