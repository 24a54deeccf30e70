"""CLI command `report`: a report for people, HTML or PDF (registered on import)."""

from __future__ import annotations

import click

import evidencekit as api

from . import _cli_support as ui
from ._cli_options import case_identities, case_option, identity_option, json_option, passfile_option
from .cli import cli
from .reports import FORMATS, IMAGES
from .reports._strings import LANGUAGES


@cli.command("report")
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="html",
    show_default=True,
    help="html: everything, one self-contained file; pdf: officer's summary and certificate templates.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Output file (default: <case id>-report-<lang>.<format>).")
@click.option(
    "--lang", type=click.Choice(LANGUAGES), default="en", show_default=True, help="en: English; ms: Bahasa Malaysia."
)
@click.option(
    "--images",
    type=click.Choice(IMAGES),
    default="none",
    show_default=True,
    help="Pictures in the HTML: none, or blurred/full thumbnails hidden until clicked.",
)
@click.option(
    "--items",
    "item_ids",
    multiple=True,
    metavar="ID",
    help="Report only these items (and chats read from them). Repeatable.",
)
@identity_option
@case_option
@passfile_option
@json_option
def report(
    format_: str,
    out: str | None,
    lang: str,
    images: str,
    item_ids: tuple[str, ...],
    identity_specs: tuple[str, ...],
    case_dir: str | None,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Write a report for people to read and print (never shows a picture unless asked).

    Example: evidencekit report --format pdf --lang ms --out laporan.pdf
    """
    if format_ == "pdf" and images != "none":
        raise click.UsageError("the PDF never holds pictures: use --images with --format html")
    case = ui.find_case(case_dir)
    keys = case_identities(case, identity_specs, passphrase_file)
    result = api.report(case, format=format_, out=out, lang=lang, images=images, items=item_ids, identities=keys)
    if as_json:
        return ui.emit_json(result.to_json())
    for warning in result.warnings:
        ui.say(f"warning: {warning}")
    checked = "the case verified" if result.verified else "the case did NOT verify: the report says why"
    ui.say(f"wrote {result.format.upper()} report ({ui.human_size(result.size)}); {checked}")
    ui.echo(str(result.path))
