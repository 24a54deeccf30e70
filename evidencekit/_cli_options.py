"""Options and helpers shared by the CLI's command modules (`cli`, `_cli_handover`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from . import _cli_support as ui

_STATE = {"debug": False, "json": False}

case_option = click.option(
    "--case", "case_dir", metavar="DIR", help="The case folder (default: $EVIDENCEKIT_CASE, then the current folder)."
)
key_option = click.option(
    "--key",
    "key_name",
    metavar="NAME",
    help="Signing key to use (default: $EVIDENCEKIT_KEY, the case examiner's key, or the only key).",
)
passfile_option = click.option(
    "--passphrase-file",
    metavar="FILE",
    help="Read the key passphrase from the first line of FILE (else $EVIDENCEKIT_PASSPHRASE, else a hidden prompt).",
)


identity_option = click.option(
    "--identity",
    "identity_specs",
    multiple=True,
    metavar="KEYFILE|key:NAME",
    help="Key to open an encrypted package or case: an age identity file, an OpenSSH ed25519 key, or key:NAME. "
    "Repeatable.",
)


def identities(specs: tuple[str, ...], passphrase_file: str | None) -> list[object]:
    from .encryption import load_identities

    if not specs:
        return []
    needs = any(ui.identity_needs_passphrase(spec) for spec in specs)
    passphrase = ui.get_passphrase(passphrase_file, prompt="Passphrase for the identity key") if needs else None
    return load_identities(list(specs), passphrase=passphrase)


def case_identities(
    case: Any, specs: tuple[str, ...], passphrase_file: str | None, key: Any = None, *, owner: bool = True
) -> list[object]:
    """Keys to read an encrypted case's content, asking for a passphrase at most once.

    `--identity` values, else the signing key this command already unlocked, else (with
    `owner`) the case owner's key from the key store. A plain case needs none. Raises
    `SigningKeyError` (exit 3) naming what is needed when the case is encrypted and no key
    can be found.
    """
    from ._content import need_key
    from .encryption import identity_from_signing_key
    from .keystore import list_keys
    from .manifest import is_encrypted

    if key is not None and specs and all(spec == f"key:{key.name}" for spec in specs):
        return [identity_from_signing_key(key)]  # the key already unlocked: no second prompt
    if specs:
        return identities(specs, passphrase_file)
    _, manifest = case.read_manifest()
    if not is_encrypted(manifest):
        return []
    if key is not None:
        return [identity_from_signing_key(key)]
    fingerprint = manifest["case"]["examiner"]["fingerprint"]
    names = [info.name for info in list_keys() if info.fingerprint == fingerprint] if owner else []
    if not names:
        raise need_key(str(case.root))
    return [identity_from_signing_key(ui.load_key(names[0], passphrase_file))]


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--json` (machine-readable output on stdout) to a command."""

    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        _STATE["json"] = _STATE["json"] or value
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        callback=remember,
        expose_value=True,
        help="Write machine-readable JSON to stdout.",
    )(func)


trust_option = click.option(
    "--trust",
    multiple=True,
    metavar="FINGERPRINT|KEYFILE",
    help="A signer you trust: SHA256:… fingerprint or a .pub/.pem file. Repeatable.",
)
