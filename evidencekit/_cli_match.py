"""CLI commands to find pictures: `match`, `duplicates`, `hashes` (registered on the `cli` group on import)."""

from __future__ import annotations

from typing import Any

import click

import evidencekit as api

from . import _cli_support as ui
from ._cli_options import case_identities, case_option, identity_option, json_option, key_option, passfile_option
from .cli import cli
from .errors import InputError
from .imaging import PDQ_AVAILABLE

threshold_option = click.option(
    "--threshold",
    "threshold_specs",
    multiple=True,
    metavar="HASH=N",
    help="Largest distance that still counts as the same picture, e.g. pdq=60 "
    "(defaults: pdq=70, phash=10, dhash=12; see docs/matching.md). Repeatable.",
)


def thresholds(specs: tuple[str, ...]) -> api.Thresholds:
    """`pdq=60 phash=8` → `Thresholds`, the other values left at their defaults."""
    values = api.Thresholds().to_json()
    for spec in specs:
        name, _, number = spec.partition("=")
        if name.strip().lower() not in values or not number.strip().isdigit():
            raise click.BadParameter(f"expected pdq=N, phash=N or dhash=N, got {spec!r}", param_hint="--threshold")
        values[name.strip().lower()] = int(number)
    return api.Thresholds(**values)


@cli.command("match")
@click.argument("references", nargs=-1, required=True, type=click.Path())
@threshold_option
@click.option("--no-regions", is_flag=True, help="Do not look for the photo inside screenshots (faster).")
@click.option(
    "--capture", "keep", is_flag=True, help="Also keep the reference photos in the case (signed; needs your key)."
)
@identity_option
@case_option
@key_option
@passfile_option
@json_option
def match(
    references: tuple[str, ...],
    threshold_specs: tuple[str, ...],
    no_regions: bool,
    keep: bool,
    identity_specs: tuple[str, ...],
    case_dir: str | None,
    key_name: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Find where your photos appear in the case: which items, chats, senders and times.

    Give photo files or folders (every picture below a folder is used). The photos you give
    are compared in memory and not kept, unless you add --capture.

    Example: evidencekit match my-photos/ --case my-case
    """
    case = ui.find_case(case_dir)
    key = ui.load_key(key_name, passphrase_file, case) if keep else None
    found = thresholds(threshold_specs)
    keys = case_identities(case, identity_specs, passphrase_file, key)
    result = api.match(
        case, list(references), thresholds=found, regions=not no_regions, capture=keep, key=key, identities=keys
    )
    _render_matches(result.to_json(), as_json)
    if result.failed:
        raise InputError(
            f"{len(result.failed)} reference photo(s) could not be used (the others were compared)",
            hint="the 'failed' list says which and why",
        )


def _render_matches(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return ui.emit_json(data)
    for row in data["matches"]:
        distances = "  ".join(f"{k} {v}" for k, v in row["distances"].items() if v is not None)
        same = "; identical bytes" if row["identical"] else ""
        ui.echo(f"{row['reference']}\t{row['item']}\t{distances}\t({row['reference_form']}; {row['found_in']}{same})")
        for seen in row["appearances"]:
            message = f"message {seen['n']}" + (f" (id {seen['id']})" if seen["id"] else "")
            ui.echo(f"\tin {seen['chat']} {seen['title'] or ''!r}, {message}, from {seen['sender']}, at {seen['time']}")
    for row in data["failed"]:
        ui.say(f"NOT compared: {row['reference']}: {row['reason']}")
    for reference, item in data["captured"].items():
        ui.say(f"kept {reference} in the case as {item}")
    if not PDQ_AVAILABLE:
        ui.say("note: PDQ is not installed (evidencekit[pdq]); only pHash and dHash were compared")
    compared = data["compared"]
    ui.say(
        f"{len(data['matches'])} match(es) for {compared['references']} reference photo(s) among "
        f"{compared['items']} picture(s) and {compared['regions']} photo-like region(s) of screenshots"
    )


@cli.command("duplicates")
@threshold_option
@identity_option
@case_option
@passfile_option
@json_option
def duplicates(
    threshold_specs: tuple[str, ...],
    identity_specs: tuple[str, ...],
    case_dir: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """List groups of near-identical pictures in the case, most often seen first.

    Example: evidencekit duplicates --case my-case
    """
    case = ui.find_case(case_dir)
    keys = case_identities(case, identity_specs, passphrase_file)
    clusters = [c.to_json() for c in api.find_duplicates(case, thresholds=thresholds(threshold_specs), identities=keys)]
    if as_json:
        return ui.emit_json(clusters)
    for number, cluster in enumerate(clusters, 1):
        ui.echo(
            f"group {number}\t{len(cluster['items'])} item(s)\t{cluster['sightings']} sighting(s)\t"
            f"{cluster['postings']} chat posting(s)\t{', '.join(cluster['items'])}"
        )
    if not clusters:
        ui.say("no near-identical pictures found")


@cli.command("hashes")
@click.option("--format", "format_", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--items", "item_ids", multiple=True, metavar="ID", help="Only these items. Repeatable.")
@click.option("--with-names", is_flag=True, help="Add the file names (left out by default: names can identify people).")
@case_option
def hashes(format_: str, item_ids: tuple[str, ...], with_names: bool, case_dir: str | None) -> None:
    """Write a hash-only list (SHA-256, MD5, PDQ, pHash) for takedown requests: no pictures.

    Example: evidencekit hashes --items E0003 --items E0007 > takedown.csv
    """
    result = api.hash_list(ui.find_case(case_dir), items=item_ids, names=with_names)
    if format_ == "json":
        return ui.emit_json(result.to_json())
    click.echo(result.to_csv(), nl=False)
