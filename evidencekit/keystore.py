"""The local key store: one OpenSSH private key file per person, never overwritten.

Invariants: keys live under `keys_home()/keys/` as `<name>` (OpenSSH private key, mode
0600, bcrypt KDF when a passphrase is given) and `<name>.pub`; a key is written once,
atomically, and never replaced; only public keys are ever exported.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ._fs import atomic_write, removing_on_error
from .errors import FormatError, InputError, SigningKeyError
from .signing import (
    _ED25519_ONLY,
    PRIVATE_LABEL,
    PRIVATE_MAGIC,
    PublicKey,
    SigningKey,
    _dearmour,
    _parse_public_blob,
    _read_bytes,
    _read_text,
    _strings,
)

_NAME_RE = re.compile(r"[A-Za-z0-9_@][A-Za-z0-9._@-]{0,63}")
_NAME_HINT = "use 1-64 characters from A-Z a-z 0-9 . _ @ -, not starting with '.' or '-' and not ending in '.pub'"


def keys_home() -> Path:
    """The evidencekit home: `$EVIDENCEKIT_HOME` if set, else the per-user app folder."""
    env = os.environ.get("EVIDENCEKIT_HOME")
    return Path(env).expanduser() if env else Path(click.get_app_dir("evidencekit"))


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What the keystore knows about one key, without its passphrase."""

    name: str
    fingerprint: str
    public_key: PublicKey
    path: Path
    encrypted: bool

    def to_json(self) -> dict[str, str | bool]:
        """Return the key description as a JSON-ready dict."""
        return {
            "name": self.name,
            "fingerprint": self.fingerprint,
            "public_key": self.public_key.openssh(self.name),
            "path": str(self.path),
            "encrypted": self.encrypted,
        }


def _keys_dir(home: Path | None) -> Path:
    return Path(home if home is not None else keys_home()) / "keys"


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name.endswith(".pub"):
        raise InputError(f"invalid key name {name!r}", hint=_NAME_HINT)


def _read_private_header(path: Path) -> tuple[bool, PublicKey]:
    """Return (encrypted, public key) from an OpenSSH private key's cleartext header (PROTOCOL.key)."""
    what = "the OpenSSH private key"
    try:
        blob = _dearmour(_read_text(path, "key file"), PRIVATE_LABEL, what)
        if not blob.startswith(PRIVATE_MAGIC):
            raise FormatError(f"{what} lacks the openssh-key-v1 magic")
        _cipher, kdf, _kdf_options, rest = _strings(blob[len(PRIVATE_MAGIC) :], 3, what, rest=True)
        if rest[:4] != struct.pack(">I", 1):
            raise FormatError(f"{what} must hold exactly one key")
        return kdf != b"none", _parse_public_blob(_strings(rest[4:], 1, what, rest=True)[0], what)
    except FormatError as exc:
        raise FormatError(exc.message, hint=exc.hint, path=path) from None


def key_is_encrypted(path: str | os.PathLike[str]) -> bool:
    """Whether an OpenSSH private key file needs a passphrase (reads only its header)."""
    return _read_private_header(Path(path))[0]


def _key_info(path: Path) -> KeyInfo:
    encrypted, public = _read_private_header(path)
    return KeyInfo(path.name, public.fingerprint, public, path, encrypted)


def create_key(name: str, *, passphrase: bytes | None, home: Path | None = None, kdf_rounds: int = 64) -> KeyInfo:
    """Generate a new Ed25519 key in the keystore and return its description.

    `passphrase=None` stores it unencrypted. Raises `InputError` for a bad name and
    `SigningKeyError` for an empty passphrase or if a key of that name exists.
    """
    _check_name(name)
    if passphrase is not None and not passphrase:
        raise SigningKeyError("empty passphrase", hint="give a passphrase, or ask for an unencrypted key on purpose")
    path, pub_path = _keys_dir(home) / name, _keys_dir(home) / f"{name}.pub"
    for existing in (p for p in (path, pub_path) if os.path.lexists(p)):
        hint = "choose another name; keys are never overwritten"
        raise SigningKeyError(f"key file {existing} already exists", path=existing, hint=hint)
    key = SigningKey(name, Ed25519PrivateKey.generate())
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, _private_bytes(key, passphrase, kdf_rounds), mode=0o600)
        with removing_on_error(path):
            atomic_write(pub_path, (key.public.openssh(name) + "\n").encode("ascii"), mode=0o644)
    except OSError as exc:
        raise SigningKeyError(f"cannot write the key: {exc.strerror or exc}", path=path.parent) from None
    return _key_info(path)


def _private_bytes(key: SigningKey, passphrase: bytes | None, kdf_rounds: int) -> bytes:
    if passphrase is None:
        encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    else:
        builder = serialization.PrivateFormat.OpenSSH.encryption_builder()
        encryption = builder.kdf_rounds(kdf_rounds).build(passphrase)  # bcrypt_pbkdf, interop.md section 8
    openssh = serialization.PrivateFormat.OpenSSH
    return key.private.private_bytes(serialization.Encoding.PEM, openssh, encryption)


def list_keys(home: Path | None = None) -> list[KeyInfo]:
    """Every key in the keystore, sorted by name; files that are not keys are ignored."""
    folder = _keys_dir(home)
    if not folder.is_dir():
        return []
    infos = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if _NAME_RE.fullmatch(path.name) and not path.name.endswith(".pub") and path.is_file():
            try:
                infos.append(_key_info(path))
            except FormatError:
                continue
    return infos


def get_key_info(name: str, home: Path | None = None) -> KeyInfo:
    """Describe key `name`; raises `SigningKeyError` if there is none."""
    _check_name(name)
    path = _keys_dir(home) / name
    if not path.is_file():
        names = ", ".join(info.name for info in list_keys(home)) or "none yet"
        hint = f"create one with `evidencekit keys create --name {name}` (existing keys: {names})"
        raise SigningKeyError(f"no signing key named {name!r}", path=path, hint=hint)
    return _key_info(path)


def load_signing_key(name: str, *, passphrase: bytes | None, home: Path | None = None) -> SigningKey:
    """Load key `name`, decrypting it with `passphrase` (ignored if the key is unencrypted).

    Raises `SigningKeyError` if the key is absent or the passphrase is missing or wrong.
    """
    info = get_key_info(name, home)
    if info.encrypted and not passphrase:
        message = f"key {name!r} is encrypted and no passphrase was given"
        raise SigningKeyError(
            message,
            path=info.path,
            hint="give it with --passphrase-file FILE, $EVIDENCEKIT_PASSPHRASE, or at the prompt",
        )
    private = _decrypt(info, passphrase if info.encrypted else None)
    if not isinstance(private, Ed25519PrivateKey):
        raise FormatError("the private key is not an Ed25519 key", path=info.path, hint=_ED25519_ONLY)
    return SigningKey(name, private)


def _decrypt(info: KeyInfo, passphrase: bytes | None) -> object:
    try:
        return serialization.load_ssh_private_key(_read_bytes(info.path, "key file"), passphrase)
    except UnsupportedAlgorithm as exc:
        raise FormatError(f"the OpenSSH private key is not supported: {exc}", path=info.path) from None
    except (ValueError, TypeError):
        if passphrase is None:
            raise FormatError("the OpenSSH private key is corrupt", path=info.path) from None
        hint = (
            "check the passphrase and try again; a forgotten passphrase cannot be recovered: make a new key "
            "with `evidencekit keys create` and pass --key NEWNAME (cases signed before stay valid)"
        )
        raise SigningKeyError(f"wrong passphrase for key {info.name!r}", path=info.path, hint=hint) from None


def export_key(name: str, out_dir: Path, *, home: Path | None = None) -> list[Path]:
    """Write `<name>.pub` (OpenSSH) and `<name>.pem` (SPKI) of key `name` into `out_dir`.

    Only public keys are exported. Raises `InputError` if a differing file is in the way.
    """
    public = get_key_info(name, home).public_key
    outputs = {
        Path(out_dir) / f"{name}.pub": (public.openssh(name) + "\n").encode("ascii"),
        Path(out_dir) / f"{name}.pem": public.pem().encode("ascii"),
    }
    for path, content in outputs.items():
        if os.path.lexists(path) and _read_bytes(path, "existing file") != content:
            hint = "choose another folder or move that file away"
            raise InputError("a different file is already there", path=path, hint=hint)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for path, content in outputs.items():
        if not path.exists():
            atomic_write(path, content, mode=0o644)
    return list(outputs)
