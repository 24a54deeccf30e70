"""CLI commands for packages and custody handover (registered on the `cli` group on import)."""

from __future__ import annotations

import click

import evidencekit as api

from . import _cli_render as render
from . import _cli_support as ui
from ._cli_options import (
    case_identities,
    case_option,
    identities,
    identity_option,
    json_option,
    key_option,
    passfile_option,
    trust_option,
)
from .cli import cli, custody
from .errors import VerificationError


@custody.command("transfer")
@click.option("--to", "to", required=True, help="Who receives it, e.g. 'Insp. Tan, IPD Brickfields'.")
@click.option("--to-key", metavar="PUBKEY", help="The receiver's public key (.pub file or ssh-ed25519 line), if known.")
@click.option(
    "--package",
    "package_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The package handed over.",
)
@click.option("--note", help="How it was handed over, e.g. 'on USB stick, in person'.")
@case_option
@key_option
@passfile_option
@json_option
def custody_transfer(
    to: str,
    to_key: str | None,
    package_file: str,
    note: str | None,
    case_dir: str | None,
    key_name: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Record that you handed a package to someone.

    Example: evidencekit custody transfer --package EK-2026-0001.zip --to "Insp. Tan" --note "USB stick"
    """
    case = ui.find_case(case_dir)
    record = api.custody_transfer(
        case, key=ui.load_key(key_name, passphrase_file, case), to=to, package=package_file, to_key=to_key, note=note
    )
    ui.emit_json(record) if as_json else ui.say(f"custody record {record['seq']}: handed to {to}")


@custody.command("receive")
@click.argument("package_file", type=click.Path(exists=True))
@trust_option
@click.option("--out", type=click.Path(dir_okay=False), help="Receipt file (default: PACKAGE.receipt.json).")
@click.option("--note", help="A note for the receipt.")
@identity_option
@key_option
@passfile_option
@json_option
def custody_receive(
    package_file: str,
    trust: tuple[str, ...],
    out: str | None,
    note: str | None,
    identity_specs: tuple[str, ...],
    key_name: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Verify a package you received and write a signed receipt for the sender.

    Example: evidencekit custody receive EK-2026-0001.zip --key insp-tan --trust SHA256:…
    """
    key = ui.load_key(key_name, passphrase_file)
    receipt = api.custody_receive(
        package_file,
        key=key,
        trusted_keys=api.parse_trust(trust),
        out=out,
        note=note,
        identities=identities(identity_specs, passphrase_file),
    )
    if as_json:
        ui.emit_json(receipt)
    ok = receipt["verification"]["ok"]
    for signer in receipt["verification"]["signers"]:
        trusted = "trusted" if signer["trusted"] else "compare this fingerprint with the one you were given"
        ui.say(f"signed by {signer['name']}: {signer['fingerprint']} ({trusted})")
    for problem in receipt["verification"]["problems"]:
        ui.say(render.problem_line(problem))
    ui.say(f"receipt written to {receipt['receipt_file']}: send it back to the sender")
    ui.say(f"the package {'checks out' if ok else 'did NOT check out'}")
    if not ok:
        problems = [api.Problem(**p) for p in receipt["verification"]["problems"]]
        raise VerificationError(f"verification failed: {len(problems)} problem(s)", problems)


@custody.command("import-receipt")
@click.argument("receipt_file", type=click.Path(exists=True, dir_okay=False))
@case_option
@key_option
@passfile_option
@json_option
def custody_import_receipt(
    receipt_file: str, case_dir: str | None, key_name: str | None, passphrase_file: str | None, as_json: bool
) -> None:
    """Keep the receiver's signed receipt in the custody log.

    Example: evidencekit custody import-receipt EK-2026-0001.zip.receipt.json
    """
    case = ui.find_case(case_dir)
    record = api.custody_import_receipt(case, receipt_file, key=ui.load_key(key_name, passphrase_file, case))
    ui.emit_json(record) if as_json else ui.say(f"custody record {record['seq']}: {record['note']}")


# ---------------------------------------------------------------- packages
@cli.command("package")
@click.option("--out", type=click.Path(dir_okay=False), help="Output file (default: <case id>.zip, or .zip.age).")
@click.option("--items", "item_ids", multiple=True, metavar="ID", help="Package only these items. Repeatable.")
@click.option("--no-content", is_flag=True, help="Leave out the evidence files themselves (hashes and records only).")
@click.option(
    "--encrypt-to",
    multiple=True,
    metavar="RECIPIENT",
    help="Encrypt for this person: an age1… key, an ssh-ed25519 line, or a .pub file. Repeatable.",
)
@click.option("--organization", help="Your organisation, for bag-info.txt (Source-Organization).")
@click.option("--no-reports", is_flag=True, help="Leave out the HTML and PDF reports (they are in by default).")
@identity_option
@case_option
@key_option
@passfile_option
@json_option
def package(
    out: str | None,
    item_ids: tuple[str, ...],
    no_content: bool,
    encrypt_to: tuple[str, ...],
    organization: str | None,
    no_reports: bool,
    identity_specs: tuple[str, ...],
    case_dir: str | None,
    key_name: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Write the case as a signed BagIt zip that stock tools can check.

    Example: evidencekit package --out EK-2026-0001.zip --encrypt-to officer.pub
    """
    case = ui.find_case(case_dir)
    key = ui.load_key(key_name, passphrase_file, case)
    with ui.Progress("packaging") as bar:
        result = api.package(
            case,
            key=key,
            out=out,
            items=item_ids,
            content=not no_content,
            encrypt_to=encrypt_to,
            organization=organization,
            reports=not no_reports,
            identities=case_identities(case, identity_specs, passphrase_file, key),
            progress=bar.advance,
        )
    with ui.Progress("reading the package back for its SHA-256") as bar:
        bar.set_total(result.size)
        result.read_sha256(progress=bar.advance)
    if as_json:
        return ui.emit_json(result.to_json())
    ui.say(f"packaged {len(result.items)} evidence file(s) as {result.path} ({ui.human_size(result.size)})")
    ui.say(
        f"package sha256: {result.sha256}  (record the handover: evidencekit custody transfer --package "
        f"{result.path} --to NAME)"
    )
    ui.echo(str(result.path))


@cli.command("unpack")
@click.argument("package_file", type=click.Path(exists=True, dir_okay=False))
@click.argument("directory", type=click.Path(exists=False))
@trust_option
@identity_option
@passfile_option
@json_option
def unpack(
    package_file: str,
    directory: str,
    trust: tuple[str, ...],
    identity_specs: tuple[str, ...],
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Extract a package safely into a new folder, then verify it.

    Example: evidencekit unpack EK-2026-0001.zip received/
    """
    folder, report = api.unpack(
        package_file,
        directory,
        trusted_keys=api.parse_trust(trust),
        identities=identities(identity_specs, passphrase_file),
        raise_on_failure=False,
    )
    ui.say(f"unpacked into {folder}")
    render.report_or_fail(report, as_json)


@cli.command("decrypt")
@click.argument("encrypted", type=click.Path(exists=True, dir_okay=False))
@identity_option
@click.option("--out", type=click.Path(dir_okay=False), help="Output file (default: the name without .age).")
@passfile_option
def decrypt(encrypted: str, identity_specs: tuple[str, ...], out: str | None, passphrase_file: str | None) -> None:
    """Decrypt an encrypted package (written only once it is fully authenticated).

    Example: evidencekit decrypt EK-2026-0001.zip.age --identity key:insp-tan
    """
    if not identity_specs:
        raise click.UsageError("pass --identity with a key that can open the file")
    target = api.decrypt(encrypted, identities=identities(identity_specs, passphrase_file), out=out)
    ui.echo(str(target))
