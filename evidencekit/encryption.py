"""Encrypting evidence to recipients in the age format (age-encryption.org/v1), through pyrage.

Invariants: files are streamed through pyrage's `encrypt_io`/`decrypt_io` in small chunks, so
memory stays flat whatever the file size. Every output goes to a temp file next to `dst`
(`.NAME.XXXX.tmp`), is fsynced and then `os.replace`d, so `dst` is either left as it was or
complete. Decryption never leaves partial plaintext on disk: pyrage writes the chunks that
authenticated before it notices a truncated or altered one (interop notes section 4.3), so the
temp file is deleted on any failure. Private keys exist only in memory: evidencekit keys and
OpenSSH keys are decrypted with cryptography and handed to pyrage as in-memory buffers, never
written to disk. Recipients are X25519 (`age1...`) or ssh-ed25519 only; evidencekit is
Ed25519-only, so ssh-rsa and other key types are refused. Inputs are never modified.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import pyrage  # type: ignore[import-untyped]
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ._fs import fsync_dir, removing_on_error
from .errors import EvidenceKitError, FormatError, InputError, SigningKeyError
from .keystore import load_signing_key
from .signing import PublicKey, SigningKey

AGE_HEADER = b"age-encryption.org/v1\n"
ARMOR_HEADER = b"-----BEGIN AGE ENCRYPTED FILE-----"
KEYSTORE_PREFIX = "key:"
_MAX_KEY_FILE = 64 * 1024
_NO_MATCH = "No matching keys found"  # pyrage's DecryptError text when no identity opens the header
_OPENSSH_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
_RECIPIENT_FORMS = "an age recipient 'age1...', an 'ssh-ed25519 AAAA...' public key line, or a file holding one"
_RECIPIENT_HINT = "give the public key printed by `age-keygen -y KEYFILE` or `evidencekit keys export`, or a .pub file"
_IDENTITY_FORMS = "an age identity file (AGE-SECRET-KEY-1...) or an OpenSSH Ed25519 private key"
_IDENTITY_HINT = "give an age identity file, an OpenSSH ed25519 private key file, or key:NAME for an evidencekit key"
_ED25519_ONLY = "only Ed25519 keys are supported by evidencekit"
_ED25519_HINT = "use an age1... recipient or an Ed25519 key (`evidencekit keys create`, `ssh-keygen -t ed25519`)"
_SSH_KINDS = ("ssh-", "ecdsa-", "sk-")


def is_encrypted(path: Path) -> bool:
    """Whether `path` starts with the age header, binary or ASCII-armoured.

    Leading whitespace is not allowed, as in age and pyrage. Raises `InputError` if the file
    cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(ARMOR_HEADER))
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    return head.startswith(AGE_HEADER) or head == ARMOR_HEADER


def parse_recipient(text: str) -> object:
    """Parse one recipient into a pyrage recipient object.

    Accepts an X25519 recipient `age1...`, an `ssh-ed25519 AAAA... [comment]` line, or the path
    of a file whose one non-comment line is one of those (an OpenSSH `.pub` file, a one-line
    age recipients file). Raises `InputError` for anything else, including other SSH key types.
    """
    return _recipient_from_line(*_resolve_recipient(text))


def recipient_line(text: str) -> str:
    """The checked recipient line that `text` is or names (as `parse_recipient` accepts it)."""
    line, shown, path = _resolve_recipient(text)
    _recipient_from_line(line, shown, path)
    return line


def _resolve_recipient(text: str) -> tuple[str, str, Path | None]:
    """The recipient line of `text` (itself, or the one key line of the file it names), how to
    show it in messages, and the file it came from."""
    if not isinstance(text, str):
        raise TypeError(f"a recipient is a string, not {type(text).__name__}")
    value = text.strip()
    if not value:
        raise InputError(f"empty recipient: expected {_RECIPIENT_FORMS}", hint=_RECIPIENT_HINT)
    if value.startswith(("age1", "AGE-", *_SSH_KINDS)):
        return value, _show(value), None
    path = Path(value)
    if not path.is_file():
        raise InputError(f"recipient {_show(value)} is not {_RECIPIENT_FORMS}", hint=_RECIPIENT_HINT)
    lines = _key_lines(_read_key_text(path, "recipient file"))
    if len(lines) != 1:
        found = "no key line" if not lines else f"{len(lines)} key lines"
        hint = "put one recipient in the file, or pass each recipient separately"
        raise InputError(f"recipient file expected one recipient line, found {found}", path=path, hint=hint)
    return lines[0], f"the recipient in {path}", path


def _recipient_from_line(line: str, shown: str, path: Path | None = None) -> object:
    kind = line.split()[0]
    try:
        if kind.startswith("age1") and kind == line:
            return pyrage.x25519.Recipient.from_str(line)
        if kind == "ssh-ed25519":
            return pyrage.ssh.Recipient.from_str(PublicKey.from_openssh(line).openssh())
    except (pyrage.RecipientError, FormatError) as exc:
        raise InputError(f"{shown} is not a valid recipient: {exc}", path=path, hint=_RECIPIENT_HINT) from None
    if kind.startswith(_SSH_KINDS):
        raise InputError(f"{shown} is an {kind[:40]} key; {_ED25519_ONLY}", path=path, hint=_ED25519_HINT)
    if kind.startswith("AGE-SECRET-KEY-"):
        hint = "pass its public key instead: `age-keygen -y KEYFILE` prints it"
        raise InputError(f"{shown} is an age private key, not a recipient", path=path, hint=hint)
    raise InputError(f"{shown} is not {_RECIPIENT_FORMS}", path=path, hint=_RECIPIENT_HINT)


def _show(value: str) -> str:
    """A recipient as it may appear in a message: private keys are never echoed, long values are cut."""
    if value.upper().startswith("AGE-SECRET-KEY-"):
        return "'AGE-SECRET-KEY-1...'"
    return repr(value if len(value) <= 80 else value[:77] + "...")


def encrypt_file(src: Path, dst: Path, recipients: Sequence[str], *, overwrite: bool = False) -> None:
    """Encrypt `src` to every one of `recipients` (see `parse_recipient`), writing `dst` atomically.

    Streams with constant memory. `src` is only read. Raises `InputError` if there is no
    recipient, a recipient is invalid, `src` cannot be read, `dst` exists (unless `overwrite`)
    or is `src` itself, or `dst` cannot be written; on any failure `dst` is left as it was.
    """
    src, dst = Path(src), Path(dst)
    if isinstance(recipients, str):
        raise TypeError("recipients is a sequence of strings, not one string")
    parsed = [parse_recipient(recipient) for recipient in recipients]
    if not parsed:
        raise InputError("no recipient given: expected at least one", path=dst, hint=_RECIPIENT_HINT)
    _check_output(src, dst, overwrite)
    with _open_input(src) as source, _temp_output(dst, 0o644) as out:
        try:
            pyrage.encrypt_io(source, out, parsed)
        except pyrage.EncryptError as exc:
            raise InputError(f"cannot encrypt: {exc}; nothing was written", path=src) from None


def identity_from_signing_key(key: SigningKey) -> object:
    """An evidencekit `SigningKey` (Ed25519) as a pyrage SSH identity, built in memory only.

    age decrypts files encrypted to the key's `ssh-ed25519` public line with it.
    """
    if not isinstance(getattr(key, "private", None), Ed25519PrivateKey):
        raise TypeError("expected an evidencekit SigningKey holding an Ed25519 private key")
    return _ssh_identity(key.private)


def _ssh_identity(private: Ed25519PrivateKey) -> object:
    # pyrage takes SSH identities only as OpenSSH private key bytes: serialise without
    # encryption, in memory; the bytes are never written anywhere.
    openssh = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return pyrage.ssh.Identity.from_buffer(openssh)


def load_identities(specs: Sequence[str], *, passphrase: bytes | None = None) -> list[object]:
    """Load the private keys named by `specs` as pyrage identities (in memory only).

    Each spec is the path of an age identity file (`AGE-SECRET-KEY-1...` lines, `#` comments
    allowed; every key in it is loaded), the path of an OpenSSH Ed25519 private key (decrypted
    with `passphrase` if it is encrypted), or `key:NAME` for key NAME in the evidencekit
    keystore. Raises `InputError` for unreadable files, unknown formats or no spec at all, and
    `SigningKeyError` for a missing or wrong passphrase or an unknown keystore key.
    """
    if isinstance(specs, str):
        raise TypeError("specs is a sequence of strings, not one string")
    identities: list[object] = []
    for spec in specs:
        identities.extend(_load_identity(spec, passphrase))
    if not identities:
        raise InputError("no key given to decrypt with: expected at least one", hint=_IDENTITY_HINT)
    return identities


def _load_identity(spec: str, passphrase: bytes | None) -> list[object]:
    if spec.startswith(KEYSTORE_PREFIX):
        return [identity_from_signing_key(load_signing_key(spec[len(KEYSTORE_PREFIX) :], passphrase=passphrase))]
    if not spec.strip():
        raise InputError(f"empty key: expected {_IDENTITY_FORMS} or key:NAME", hint=_IDENTITY_HINT)
    path = Path(spec)
    text = _read_key_text(path, "key file")
    if _OPENSSH_BEGIN in text:
        return [_ssh_identity(_load_openssh(text.encode("utf-8"), path, passphrase))]
    lines = _key_lines(text)
    if lines and all(line.startswith("AGE-SECRET-KEY-1") for line in lines):
        return [_age_identity(line, path) for line in lines]
    raise InputError(f"expected {_IDENTITY_FORMS}, found {_describe(lines)}", path=path, hint=_IDENTITY_HINT)


def _age_identity(line: str, path: Path) -> object:
    try:
        return pyrage.x25519.Identity.from_str(line)
    except pyrage.IdentityError as exc:
        raise InputError(f"an AGE-SECRET-KEY-1 line is invalid: {exc}", path=path, hint=_IDENTITY_HINT) from None


def _load_openssh(data: bytes, path: Path, passphrase: bytes | None) -> Ed25519PrivateKey:
    private: object
    try:
        private = serialization.load_ssh_private_key(data, None)
    except TypeError:  # cryptography's way of saying "this key is password-protected"
        private = _decrypt_openssh(data, path, passphrase)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(f"the OpenSSH private key cannot be read: {exc}", path=path, hint=_IDENTITY_HINT) from None
    if not isinstance(private, Ed25519PrivateKey):
        found = type(private).__name__.removeprefix("_").replace("PrivateKey", "")
        raise InputError(f"the OpenSSH private key is a {found} key; {_ED25519_ONLY}", path=path, hint=_ED25519_HINT)
    return private


def _decrypt_openssh(data: bytes, path: Path, passphrase: bytes | None) -> object:
    if not passphrase:
        hint = "give its passphrase (--passphrase-file FILE, $EVIDENCEKIT_PASSPHRASE or at the prompt)"
        raise SigningKeyError("the OpenSSH private key is encrypted and no passphrase was given", path=path, hint=hint)
    try:
        return serialization.load_ssh_private_key(data, passphrase)
    except ValueError:
        hint = "check the passphrase and try again"
        raise SigningKeyError("wrong passphrase for the OpenSSH private key", path=path, hint=hint) from None
    except UnsupportedAlgorithm as exc:
        raise InputError(f"the OpenSSH private key cannot be read: {exc}", path=path) from None


def _describe(lines: list[str]) -> str:
    """Say what a key file holds without echoing anything that may be secret."""
    if not lines:
        return "no key lines (the file is empty or holds only comments)"
    first = lines[0]
    if first.startswith("-----BEGIN "):
        return f"a '{first.strip('-').strip()}' block"
    if first.startswith(("age1", *_SSH_KINDS)):
        return "a public key (give the private key, not the public one)"
    if first.startswith("AGE-PLUGIN-"):
        return "an age plugin identity (plugins are not supported)"
    return "something else (not shown, as it may be secret)"


def decrypt_file(src: Path, dst: Path, identities: Sequence[object], *, overwrite: bool = False) -> None:
    """Decrypt the age file `src` with any of `identities` (see `load_identities`) into `dst`.

    Streams with constant memory into a temp file that becomes `dst` only once every chunk has
    authenticated; on any failure the temp file is deleted and `dst` is left as it was, so no
    partial plaintext is ever on disk. Raises `SigningKeyError` if no identity opens the file,
    `FormatError` if it is not an age file or was truncated or changed, and `InputError` for
    unreadable input, an existing `dst` (unless `overwrite`) or an unwritable `dst`.
    """
    src, dst = Path(src), Path(dst)
    if not identities:
        raise InputError("no key given to decrypt with: expected at least one", path=src, hint=_IDENTITY_HINT)
    _check_output(src, dst, overwrite)
    if not is_encrypted(src):
        hint = "expected a file made by evidencekit, age or rage (it starts with 'age-encryption.org/v1')"
        raise FormatError("not an age-encrypted file; nothing was written", path=src, hint=hint)
    with _open_input(src) as source, _temp_output(dst, 0o600) as out:
        try:
            pyrage.decrypt_io(source, out, list(identities))
        except (pyrage.DecryptError, OSError) as exc:
            raise _decrypt_failure(exc, src) from None


def _decrypt_failure(exc: Exception, src: Path) -> EvidenceKitError:
    """Translate pyrage's errors: `DecryptError` for the header, a bare `OSError` for a bad chunk."""
    detail = str(exc)
    if isinstance(exc, pyrage.DecryptError) and detail == _NO_MATCH:
        hint = (
            "use the private key of one of the recipients the file was encrypted to; "
            "if you are sure it is the right key, the file's header may be damaged"
        )
        return SigningKeyError("none of the given keys can open this file", path=src, hint=hint)
    if (isinstance(exc, OSError) and exc.errno is not None) or detail.startswith("OSError"):
        return InputError(f"input/output error while decrypting: {detail}; nothing was written", path=src)
    if isinstance(exc, OSError):  # pyrage's "decryption error": a payload chunk failed authentication
        detail = "a chunk of the contents did not authenticate"
    return FormatError(
        f"authentication failed ({detail.lower()}): the file was changed or is incomplete; nothing was written",
        path=src,
        hint="get an intact copy of the encrypted file; compare its sha256 with the one recorded when it was made",
    )


def _check_output(src: Path, dst: Path, overwrite: bool) -> None:
    if not os.path.lexists(dst):
        return
    try:
        same = os.path.samefile(src, dst)
    except OSError:
        same = False
    if same:
        raise InputError("the output is the input file itself", path=dst, hint="choose another output path")
    if not overwrite:
        hint = "choose another output path with --out, or move the existing file away first"
        raise InputError("the output file already exists", path=dst, hint=hint)


@contextlib.contextmanager
def _open_input(src: Path) -> Iterator[BinaryIO]:
    try:
        handle = open(src, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=src) from None
    with handle:
        yield handle


@contextlib.contextmanager
def _temp_output(dst: Path, mode: int) -> Iterator[BinaryIO]:
    """Yield a temp file next to `dst`; on success fsync it and rename it to `dst`, else delete it."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    except OSError as exc:
        raise InputError(f"cannot create the output file: {exc.strerror or exc}", path=dst) from None
    try:
        with removing_on_error(Path(name)):
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(name, mode)
            os.replace(name, dst)
    except OSError as exc:
        raise InputError(
            f"cannot write the output file: {exc.strerror or exc}; nothing was written", path=dst
        ) from None
    fsync_dir(dst.parent)


def _key_lines(text: str) -> list[str]:
    """The non-empty, non-comment lines of a key file, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _read_key_text(path: Path, what: str) -> str:
    """Read a small key file as text; `InputError` if unreadable, too large or not text."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_KEY_FILE + 1)
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror or exc}", path=path) from None
    if len(data) > _MAX_KEY_FILE:
        raise InputError(f"the {what} is over {_MAX_KEY_FILE // 1024} KiB: not a key file", path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"the {what} is not UTF-8 text: not a key file", path=path) from None


def lock() -> dict[str, Any]:
    """Drop every cached unlock of a key at once; return what was dropped.

    evidencekit keeps no unlock cache: a key is decrypted in memory for one command and
    forgotten when it ends, so there is never anything to drop and `cached` is always
    `False` (docs/security.md, "Why there is no unlock cache").
    """
    return {
        "cached": False,
        "removed": [],
        "message": "no cached unlock: evidencekit never keeps an unlocked key after a command ends",
    }
