"""Terminal plumbing for the CLI: key and passphrase resolution, progress, rendering.

Invariant: this module and `cli` are the only ones that know a terminal exists;
passphrases are read from a hidden prompt, a file or the environment, never from argv.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .case import Case
from .errors import SigningKeyError
from .keystore import get_key_info, list_keys, load_signing_key
from .signing import SigningKey

PASSPHRASE_ENV = "EVIDENCEKIT_PASSPHRASE"
KEY_ENV = "EVIDENCEKIT_KEY"
CASE_ENV = "EVIDENCEKIT_CASE"


def find_case(option: str | None) -> Case:
    """The case from `--case`, then `$EVIDENCEKIT_CASE`, then the current folder."""
    return Case.open(option or os.environ.get(CASE_ENV) or os.getcwd())


def find_case_or_package(option: str | None) -> Case | Path:
    """Like `find_case`, but a package (zip, encrypted zip, unpacked bag) is returned as its path."""
    from .verify import is_package

    candidate = Path(option or os.environ.get(CASE_ENV) or os.getcwd())
    return candidate if is_package(candidate) else find_case(str(candidate))


def read_passphrase_file(path: str) -> bytes:
    """The first line of a passphrase file (without its line ending); warns if others may read it."""
    try:
        data = Path(path).read_bytes()
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise SigningKeyError(f"cannot read the passphrase file: {exc.strerror}", path=path) from exc
    if not data.strip():
        raise SigningKeyError(
            "the passphrase file is empty", path=path, hint="write the passphrase on the first line of the file"
        )
    if sys.platform != "win32" and mode & 0o077:
        say(f"warning: {path} can be read by other users of this computer; run: chmod 600 {path}")
    return data.splitlines()[0]


def get_passphrase(passphrase_file: str | None, *, prompt: str, confirm: bool = False) -> bytes:
    """A passphrase from `--passphrase-file`, `$EVIDENCEKIT_PASSPHRASE` or a hidden prompt."""
    if passphrase_file:
        return read_passphrase_file(passphrase_file)
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV].encode()
    if not sys.stdin.isatty():
        raise SigningKeyError(
            "a passphrase is needed and there is no terminal to ask for it",
            hint=f"pass --passphrase-file FILE or set {PASSPHRASE_ENV}",
        )
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True).encode()


def choose_key_name(option: str | None, case: Case | None = None) -> str:
    """`--key`, then `$EVIDENCEKIT_KEY`, then the case examiner's key, then the only key there is."""
    if option or os.environ.get(KEY_ENV):
        return option or os.environ[KEY_ENV]
    keys = list_keys()
    if case is not None:
        try:
            _, manifest = case.read_manifest()
            examiner = manifest["case"]["examiner"]["fingerprint"]
            keys_match = [k.name for k in keys if k.fingerprint == examiner]
            if keys_match:
                return keys_match[0]
        except Exception:  # noqa: BLE001 - an unreadable case is reported by the command itself
            pass
    if len(keys) == 1:
        return keys[0].name
    names = ", ".join(k.name for k in keys) or "none yet"
    raise SigningKeyError(
        f"which key? there is not exactly one key on this computer (keys: {names})",
        hint=f"pass --key NAME or set {KEY_ENV}; create one with `evidencekit keys create --name NAME`",
    )


def identity_needs_passphrase(spec: str) -> bool:
    """Whether an `--identity` value is a passphrase-protected key (an evidencekit key or an OpenSSH file)."""
    from .errors import EvidenceKitError
    from .keystore import key_is_encrypted

    try:
        if spec.startswith("key:"):
            return get_key_info(spec.removeprefix("key:")).encrypted
        return Path(spec).is_file() and key_is_encrypted(spec)
    except EvidenceKitError:
        return False  # not an OpenSSH key (an age identity), or unknown: load_identities says what is wrong


def load_key(option: str | None, passphrase_file: str | None, case: Case | None = None) -> SigningKey:
    """Resolve and unlock the signing key for a command that changes a case."""
    name = choose_key_name(option, case)
    info = get_key_info(name)
    passphrase = None
    if info.encrypted:
        passphrase = get_passphrase(passphrase_file, prompt=f"Passphrase for key '{name}'")
    return load_signing_key(name, passphrase=passphrase)


class Progress:
    """A rich progress bar on stderr, shown only on a terminal and only once work lasts over a second."""

    def __init__(self, label: str):
        self.label = label
        self.total = 0
        self.done = 0
        self.started = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        self.enabled = sys.stderr.isatty()

    def set_total(self, total: int) -> None:
        self.total = total

    def advance(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        if self._bar is None and time.monotonic() - self.started > 1.0:
            self._start()
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self._bar = Bar(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=self.total or None, completed=self.done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Set once a command has written its JSON document, so an error after it adds no second one.
EMITTED = {"json": False}


def emit_json(value: Any) -> None:
    """Write a JSON document to stdout (sorted keys, UTF-8, one document)."""
    click.echo(json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2))
    EMITTED["json"] = True


#: What must not reach a terminal raw: C0 and C1 control characters other than tab and line
#: feed (ESC sequences can rewrite the screen or the window title) and bidi overrides (they
#: can make a file name read as another). Hostile file names and chat texts carry them.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """`text` safe to print: unsafe characters shown as `\\x1b`-style escapes."""
    return _UNSAFE.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text
    )


def echo(message: str = "", *, err: bool = False) -> None:
    """A line for people (stdout, or stderr with `err`), made safe for the terminal."""
    click.echo(clean(message), err=err)


def say(message: str) -> None:
    """A line for people, on stderr."""
    echo(message, err=True)


def human_size(size: int) -> str:
    """`1.2 MB`-style sizes for people (decimal units)."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def short(text: str, width: int = 60) -> str:
    """Shorten long text for a table cell."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


Renderer = Callable[[Any], None]
