"""The `evidencekit` command line: one thin command per public library function.

Invariants: commands convert arguments, call the library, render the result; errors are
mapped to exit codes only in `main()` (0 ok, 1 verification failed, 2 usage, 3 cannot
run, 4 internal error, 130 interrupted); data goes to stdout, people's messages to stderr.
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path

import click

import evidencekit as api

from . import _cli_render as render
from . import _cli_support as ui
from ._cli_options import (
    _STATE,
    case_identities,
    case_option,
    identities,
    identity_option,
    json_option,
    key_option,
    passfile_option,
    trust_option,
)
from ._time import local_text
from ._version import __version__
from .errors import EvidenceKitError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidencekit")
@click.option("--debug", is_flag=True, help="Show a traceback for internal errors.")
def cli(debug: bool) -> None:
    """Preserve screenshots, photos and chat exports as signed, verifiable evidence. Offline.

    \b
    Start here:   evidencekit demo
    Exit codes:   0 ok, 1 verification failed, 2 usage error,
                  3 cannot run (bad input, key or passphrase), 4 internal error,
                  130 stopped by Ctrl-C
    """
    _STATE["debug"] = debug


# ---------------------------------------------------------------- keys
@cli.group()
def keys() -> None:
    """Create and show personal signing keys (Ed25519)."""


@keys.command("create")
@click.option("--name", required=True, help="A short name for the key's owner, e.g. aisyah or volunteer-lee.")
@click.option("--no-passphrase", is_flag=True, help="Store the key unencrypted (not recommended).")
@passfile_option
@json_option
def keys_create(name: str, no_passphrase: bool, passphrase_file: str | None, as_json: bool) -> None:
    """Create a signing key protected by a passphrase.

    Example: evidencekit keys create --name aisyah
    """
    passphrase = None if no_passphrase else ui.get_passphrase(passphrase_file, prompt="New passphrase", confirm=True)
    if no_passphrase:
        ui.say("warning: this key is stored WITHOUT a passphrase; anyone with this computer can sign as you")
    info = api.create_key(name, passphrase=passphrase)
    render.key(info.to_json(), as_json, created=True)


@keys.command("show")
@click.argument("name", required=False)
@json_option
def keys_show(name: str | None, as_json: bool) -> None:
    """Show a key's fingerprint and public key (default: the only key, or $EVIDENCEKIT_KEY).

    Example: evidencekit keys show aisyah
    """
    render.key(api.show_key(ui.choose_key_name(name)).to_json(), as_json)


@keys.command("list")
@json_option
def keys_list(as_json: bool) -> None:
    """List the signing keys on this computer."""
    infos = [info.to_json() for info in api.list_keys()]
    if as_json:
        return ui.emit_json(infos)
    for info in infos:
        ui.echo(f"{info['name']}\t{info['fingerprint']}\t{'passphrase' if info['encrypted'] else 'NO passphrase'}")
    if not infos:
        ui.say("no keys yet: create one with `evidencekit keys create --name NAME`")


@keys.command("export")
@click.argument("name", required=False)
@click.option(
    "--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False), help="Folder to write into."
)
@json_option
def keys_export(name: str | None, out_dir: str, as_json: bool) -> None:
    """Write the public key as NAME.pub (OpenSSH) and NAME.pem (for openssl).

    Example: evidencekit keys export aisyah --out usb-stick/
    """
    paths = [str(p) for p in api.export_key(ui.choose_key_name(name), Path(out_dir))]
    ui.emit_json(paths) if as_json else ui.echo("\n".join(paths))


# ---------------------------------------------------------------- case
@cli.command("init")
@click.argument("directory", required=False, default=".")
@click.option("--title", required=True, help="A short neutral description, e.g. 'Telegram group sharing, 2026'.")
@click.option("--case-id", help="Your own case reference (default: EK-<date>-<random>).")
@click.option("--examiner", help="The examiner's name as it should appear (default: the key name).")
@click.option(
    "--timezone", help="Timezone for times without one, e.g. Asia/Kuala_Lumpur or +08:00 (default: this computer's)."
)
@click.option("--encrypt", is_flag=True, help="Store every copy and transcript encrypted (age) to your key.")
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    metavar="PUBKEY",
    help="With --encrypt: another public key that can open the copies (age1..., ssh-ed25519 ... or a .pub file).",
)
@key_option
@passfile_option
@json_option
def init(
    directory: str,
    title: str,
    case_id: str | None,
    examiner: str | None,
    timezone: str | None,
    encrypt: bool,
    recipients: tuple[str, ...],
    key_name: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Create a new case folder.

    Example: evidencekit init my-case --title "Telegram group, March 2026" --encrypt
    """
    key = ui.load_key(key_name, passphrase_file)
    case = api.init_case(
        directory,
        title=title,
        key=key,
        case_id=case_id,
        examiner=examiner,
        timezone=timezone,
        encrypt=encrypt,
        recipients=recipients,
    )
    _, manifest = case.read_manifest()
    if as_json:
        return ui.emit_json({"case": str(case.root), **manifest["case"]})
    ui.say(f"created case {manifest['case']['id']} in {case.root}")
    ui.echo(str(case.root))


@cli.command("capture")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--source", help="Where it came from, e.g. 'Telegram group V2K'.")
@click.option("--url", help="A link to where it was seen.")
@click.option("--platform", help="telegram, whatsapp, instagram, messenger, discord, signal, …")
@click.option("--note", help="A note kept with this capture.")
@click.option(
    "--hash-only",
    is_flag=True,
    help="Keep only hashes and metadata, no copy: only when police or a lawyer tell you to.",
)
@click.option(
    "--timezone",
    metavar="ZONE",
    help="Zone of chat times that carry none (WhatsApp, Signal), e.g. Asia/Kuala_Lumpur (default: the case's).",
)
@click.option(
    "--date-order",
    type=click.Choice(["dmy", "mdy", "ymd"]),
    help="Day/month order of a WhatsApp export whose dates do not tell (31/12 vs 12/31).",
)
@case_option
@key_option
@passfile_option
@json_option
def capture(
    paths: tuple[str, ...],
    source: str | None,
    url: str | None,
    platform: str | None,
    note: str | None,
    hash_only: bool,
    timezone: str | None,
    date_order: str | None,
    case_dir: str | None,
    key_name: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Preserve files and folders in the case, byte for byte.

    Chat exports (Telegram, WhatsApp, Instagram, Messenger, Discord, Signal) given as a
    folder, zip or file are recognised and also read into transcripts.

    Example: evidencekit capture ~/Pictures/screenshots --source "Telegram group V2K" --platform telegram
    """
    case = ui.find_case(case_dir)
    key = ui.load_key(key_name, passphrase_file, case)
    with ui.Progress("capturing") as bar:
        result = api.capture(
            case,
            list(paths),
            key=key,
            source=source,
            url=url,
            platform=platform,
            note=note,
            hash_only=hash_only,
            timezone=timezone,
            date_order=date_order,
            progress=bar.advance,
            on_total=bar.set_total,
        )
    render.capture_result(result.to_json(), as_json)
    if result.failed:
        raise EvidenceKitError(
            f"{len(result.failed)} path(s) could not be captured (everything else was saved)",
            hint="the 'failed' list says which and why; fix that (access, free disk space), then capture them again",
        )
    if result.unread:
        raise EvidenceKitError(
            f"{len(result.unread)} chat export(s) were captured but could not be read into transcripts",
            hint="the 'unread' list says why; capture them again with the option it names (nothing is lost)",
        )


@cli.command("verify")
@click.argument("case_arg", metavar="[CASE]", required=False)
@trust_option
@click.option("--record", is_flag=True, help="If all is well, add a signed 'verify' record to the custody log.")
@identity_option
@case_option
@key_option
@passfile_option
@json_option
def verify(
    case_arg: str | None,
    trust: tuple[str, ...],
    record: bool,
    identity_specs: tuple[str, ...],
    case_dir: str | None,
    key_name: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Check that nothing in a case or a package changed; list every problem.

    Example: evidencekit verify my-case --trust SHA256:0bXEiCsw… --record
    Example: evidencekit verify EK-2026-0001.zip.age --identity key:insp-tan
    """
    target = ui.find_case_or_package(case_arg or case_dir)
    key = ui.load_key(key_name, passphrase_file, target) if record and isinstance(target, api.Case) else None
    if record and key is None:
        raise click.UsageError("--record works on a case folder, not on a package")
    with ui.Progress("verifying") as bar:
        report = api.verify(
            target,
            trusted_keys=api.parse_trust(trust),
            progress=bar.advance,
            on_total=bar.set_total,
            raise_on_failure=False,
            record_key=key,
            identities=identities(identity_specs, passphrase_file),
        )
    render.report_or_fail(report, as_json)


@cli.command("recover")
@identity_option
@case_option
@key_option
@passfile_option
@json_option
def recover(
    identity_specs: tuple[str, ...],
    case_dir: str | None,
    key_name: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Finish an interrupted capture so the case verifies again (keeps every saved file).

    Example: evidencekit recover --case my-case
    """
    case = ui.find_case(case_dir)
    key = ui.load_key(key_name, passphrase_file, case)
    keys = case_identities(case, identity_specs, passphrase_file, key)
    result = api.recover(case, key=key, identities=keys).to_json()
    if as_json:
        return ui.emit_json(result)
    if not result["resigned"]:
        return ui.say("nothing to recover: the case was not interrupted")
    ui.say(
        f"recovered: {len(result['adopted'])} file(s) adopted, {result['partials_removed']} unfinished "
        f"copy(ies) removed; custody record {result['custody_seq']} says so"
    )
    for orphan in result["orphans"]:
        ui.say(f"left in place, damaged: {orphan}")
    for locked in result["locked"]:
        ui.say(f"left in place, encrypted and no given key opens it (run recover with --identity): {locked}")


@cli.command("items")
@case_option
@json_option
def items(case_dir: str | None, as_json: bool) -> None:
    """List the items in the case (metadata only, never pictures)."""
    rows = api.list_items(ui.find_case(case_dir))
    if as_json:
        return ui.emit_json(rows)
    for row in rows:
        flag = " screenshot" if row["screenshot"] else ""
        ui.echo(
            f"{row['id']}\t{row['media_type']}\t{ui.human_size(row['size'])}\t{row['storage']}{flag}\t{row['name']}"
        )
    if not rows:
        ui.say("no items yet: add some with `evidencekit capture PATH`")


@cli.command("show")
@click.argument("item_id")
@case_option
@json_option
def show(item_id: str, case_dir: str | None, as_json: bool) -> None:
    """Show everything recorded about one item (never the picture itself).

    Example: evidencekit show E0001
    """
    item = api.show_item(ui.find_case(case_dir), item_id)
    if as_json:
        return ui.emit_json(item)
    ui.echo(render.describe_item(item))


# ---------------------------------------------------------------- custody
@cli.group()
def custody() -> None:
    """Read or add to the chain-of-custody log."""


@custody.command("log")
@case_option
@json_option
def custody_log(case_dir: str | None, as_json: bool) -> None:
    """Show every custody record, oldest first."""
    records = api.custody_log(ui.find_case(case_dir))
    if as_json:
        return ui.emit_json(records)
    for rec in records:
        items_ = f" items {','.join(rec['items'][:6])}{'…' if len(rec['items']) > 6 else ''}" if rec["items"] else ""
        ui.echo(
            f"{rec['seq']:>4}  {local_text(rec['time'])}  {rec['action']:<8} by {rec['actor']['name']} "
            f"({rec['actor']['fingerprint']}){items_}"
            + (f"\n      to: {rec['details'].get('to')}" if rec["action"] == "transfer" else "")
            + (f"\n      note: {rec['note']}" if rec["note"] else "")
        )


@custody.command("note")
@click.argument("text")
@click.option("--item", "item_ids", multiple=True, metavar="ID", help="Item(s) the note is about. Repeatable.")
@case_option
@key_option
@passfile_option
@json_option
def custody_note(
    text: str,
    item_ids: tuple[str, ...],
    case_dir: str | None,
    key_name: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Add a signed note to the custody log.

    Example: evidencekit custody note "Showed E0003 to Insp. Tan at IPD Brickfields" --item E0003
    """
    case = ui.find_case(case_dir)
    record = api.custody_note(case, text, key=ui.load_key(key_name, passphrase_file, case), items=item_ids)
    ui.emit_json(record) if as_json else ui.say(f"custody record {record['seq']} added")


@cli.command("lock")
@json_option
def lock(as_json: bool) -> None:
    """Forget any unlocked key at once (evidencekit keeps none: each command asks for the passphrase).

    Example: evidencekit lock
    """
    result = api.lock()
    ui.emit_json(result) if as_json else ui.say(result["message"])


# ---------------------------------------------------------------- demo
@cli.command("demo")
@click.argument("directory", required=False)
@json_option
def demo(directory: str | None, as_json: bool) -> None:
    """Run the whole job on made-up sample pictures: key, case, capture, verify, package.

    Uses its own key (no passphrase) and folder, never your real keys.
    Example: evidencekit demo /tmp/ek-demo
    """
    target = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="evidencekit-demo-"))
    summary = api.demo(target, log=None if as_json else ui.say)
    if as_json:
        return ui.emit_json(summary)
    ui.echo(summary["case"])


# ---------------------------------------------------------------- main
def _print_error(exc: EvidenceKitError) -> None:
    ui.echo(f"error: {exc}", err=True)
    if exc.hint:
        ui.echo(f"hint: {exc.hint}", err=True)
    if _STATE["json"] and not ui.EMITTED["json"]:
        ui.emit_json(
            {
                "ok": False,
                "error": {"message": str(exc), "hint": exc.hint, "path": exc.path, "exit_code": exc.exit_code},
            }
        )


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented code (the only place that maps errors to codes)."""
    code = _run(argv)
    sys.stdout.flush()
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="evidencekit", standalone_mode=False)
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        exc.show()
        return 2
    except click.ClickException as exc:
        exc.show()
        return 3
    except (click.Abort, KeyboardInterrupt):
        ui.echo(
            "\nstopped. Anything already saved is kept; run `evidencekit recover` if a capture was cut short.", err=True
        )
        return 130
    except EvidenceKitError as exc:
        _print_error(exc)
        return exc.exit_code
    except Exception:  # noqa: BLE001 - the one place a bug becomes exit 4
        if _STATE["debug"]:
            traceback.print_exc()
        else:
            ui.echo(
                f"internal error (a bug in evidencekit): {sys.exc_info()[1]!r}\n"
                "please report it; run again with --debug to see the details",
                err=True,
            )
        return 4


__all__ = ["cli", "main"]


from . import _cli_chats, _cli_handover, _cli_match, _cli_report  # noqa: E402,F401 - register the chat, package, handover, report and match commands
