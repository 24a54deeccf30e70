"""How the CLI shows results to people: plain text renderings of library results.

Invariant: renderers print metadata only, never picture content; JSON goes through
`_cli_support.emit_json` unchanged.
"""

from __future__ import annotations

from typing import Any

from . import _cli_support as ui
from ._time import local_text
from .imaging import PDQ_AVAILABLE


def key(info: dict[str, Any], as_json: bool, created: bool = False) -> None:
    if as_json:
        return ui.emit_json(info)
    if created:
        ui.say(f"created key '{info['name']}' in {info['path']}")
        if info["encrypted"]:
            ui.say("keep the passphrase safe: it cannot be recovered if forgotten")
        ui.say(
            "write the fingerprint below on paper: whoever checks your evidence compares it with the one in the case"
        )
    ui.echo(f"name:        {info['name']}\nfingerprint: {info['fingerprint']}\npublic key:  {info['public_key']}")


def capture_result(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return ui.emit_json(data)
    for row in data["items"]:
        state = "new" if row["new"] else "seen"
        extra = "" if row["analysis"] in ("ok", "not-applicable") else f"  (analysis {row['analysis']})"
        ui.echo(f"{row['id']}\t{state}\t{row['storage']}\t{ui.short(row['path'])}{extra}")
    for row in data["links"]:
        ui.say(f"link recorded, not followed: {row['path']} -> {row['target']}")
    for row in data["skipped"]:
        ui.say(f"skipped: {row['path']}: {row['reason']}")
    for row in data["chats"]:
        state = "read" if row["new"] else "already read"
        found = f"{row['messages']} message(s)" + (f", {row['problems']} problem(s) noted" if row["problems"] else "")
        ui.say(f"{row['id']}\tchat {state}: {row['platform']} {row.get('title', '(no title)')!r}: {found}")
        for problem in row["problem_list"][:5]:
            where = next((f"{k} {problem[k]}" for k in ("line", "index", "element") if k in problem), "")
            ui.say(f"   problem: {problem['file']}{', ' + where if where else ''}: {problem['message']}")
        if row["problems"] > 5:
            ui.say(f"   … every problem is listed at the end of transcript {row['id']} (`evidencekit chats --json`)")
    for row in data["unread"]:
        ui.say(f"chat captured but NOT read: {row['path']}: {row['reason']}")
    for row in data["failed"]:
        ui.say(f"NOT captured: {row['path']}: {row['reason']}")
    if not PDQ_AVAILABLE and any(r["analysis"] == "ok" for r in data["items"]):
        ui.say("note: PDQ hashes were not computed (install evidencekit[pdq]); pHash and dHash were")
    new = sum(1 for r in data["items"] if r["new"])
    ui.say(f"saved {len(data['items'])} file(s): {new} new, {len(data['items']) - new} already in the case")


def report(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        return ui.emit_json(data)
    ui.echo(
        f"case {data['case_id'] or '(manifest unreadable)'}: {data['items']} item(s), {data['stored']} stored, "
        f"{data['hash_only']} hash-only, {data['custody_records']} custody record(s)"
    )
    pinned = any(p["kind"] == "untrusted-signer" for p in data["problems"]) or any(
        s["trusted"] for s in data["signers"]
    )
    for signer in data["signers"]:
        trust = (
            "trusted"
            if signer["trusted"]
            else "NOT trusted"
            if pinned
            else "good signature; to be sure it is theirs, compare this fingerprint with the one on paper or pass --trust"
        )
        ui.echo(f"signer {signer['name']}: {signer['fingerprint']} ({trust})")
    for problem in data["problems"]:
        ui.echo(problem_line(problem))
    for kind in ("hash-only", "not-included"):
        notes = [n for n in data["notices"] if n["kind"] == kind]
        if notes:
            ids = ", ".join(n.get("item", "?") for n in notes[:8]) + (" …" if len(notes) > 8 else "")
            ui.echo(f"note: {len(notes)} item(s) {kind}: {ids} ({notes[0]['message']})")
    ui.echo(
        "OK: every file, signature and custody record checks out"
        if data["ok"]
        else f"FAIL: {len(data['problems'])} problem(s)"
    )


def problem_line(problem: dict[str, str]) -> str:
    where = " ".join(problem[k] for k in ("item", "path") if k in problem)
    message = problem["message"]
    if "path" in problem and message.startswith(problem["path"]):
        message = message[len(problem["path"]) :].lstrip(": ")
    line = f"{problem['kind'].upper()}: {where + ': ' if where else ''}{message}"
    if "expected" in problem:
        line += f"\n    expected {problem['expected']}\n    found    {problem.get('found', '(nothing)')}"
    return line


def describe_item(item: dict[str, Any]) -> str:
    lines = [
        f"{item['id']}  {item['media_type']}  {ui.human_size(item['size'])} ({item['size']} bytes)",
        f"sha256 {item['sha256']}",
        f"sha1   {item['sha1']}",
        f"md5    {item['md5']}",
        f"storage: {item['storage']}" + (f" ({item['object']})" if item.get("object") else ""),
    ]
    analysis = item["analysis"]
    if analysis.get("status") == "failed":
        lines.append(f"analysis failed: {analysis.get('reason')}")
    elif analysis.get("status") == "ok":
        camera = " ".join(v for k, v in analysis.get("camera", {}).items() if k in ("make", "model"))
        lines.append(
            f"image {analysis['width']}x{analysis['height']} {analysis['format']}{'  camera: ' + camera if camera else ''}"
        )
        if analysis.get("gps") and "latitude" in analysis["gps"]:
            lines.append(f"GPS {analysis['gps']['latitude']}, {analysis['gps'].get('longitude', '?')}")
        shot = analysis.get("screenshot", {})
        lines.append(
            f"screenshot: {'likely' if shot.get('likely') else 'not likely'} ({'; '.join(shot.get('reasons', []))})"
        )
    for number, seen in enumerate(item["sightings"], 1):
        extra = ", ".join(f"{k}: {seen[k]}" for k in ("source", "url", "platform", "note") if k in seen)
        lines.append(
            f"seen {number}: {seen['path']} at {local_text(seen['captured'])} by {seen['by']['name']}"
            + (f" ({extra})" if extra else "")
        )
    return "\n".join(lines)


def report_or_fail(report_: Any, as_json: bool) -> None:
    """Render a verification report; raise `VerificationError` (exit 1) when it failed."""
    from .errors import VerificationError

    report(report_.to_json(), as_json)
    if not report_.ok:
        raise VerificationError(f"verification failed: {len(report_.failures)} problem(s)", report_.failures, report_)
