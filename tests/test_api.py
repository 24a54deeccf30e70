"""The public surface: pinned `__all__`, one error tree, every CLI command backed by one API function."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import click

import evidencekit as ek
from evidencekit.cli import cli

PINNED = {
    "lock",
    "DuplicateCluster",
    "HashList",
    "Match",
    "MatchResult",
    "Thresholds",
    "find_duplicates",
    "hash_list",
    "match",
    "ReportResult",
    "report",
    "MessageQuery",
    "list_chats",
    "list_messages",
    "reindex",
    "PackageResult",
    "custody_import_receipt",
    "custody_receive",
    "custody_transfer",
    "decrypt",
    "package",
    "unpack",
    "BadSignatureError",
    "CaptureResult",
    "Case",
    "CaseBusyError",
    "CaseStateError",
    "EvidenceKitError",
    "FormatError",
    "InputError",
    "KeyInfo",
    "Problem",
    "PublicKey",
    "RecoverResult",
    "SigningKey",
    "SigningKeyError",
    "UnsafePathError",
    "VerificationError",
    "VerificationReport",
    "__version__",
    "capture",
    "create_key",
    "custody_log",
    "custody_note",
    "demo",
    "export_key",
    "init_case",
    "is_intact",
    "list_items",
    "list_keys",
    "load_signing_key",
    "parse_trust",
    "recover",
    "show_item",
    "show_key",
    "verify",
}
#: CLI command path -> the public function it wraps (docs/python-api.md pairs them the same way).
COMMANDS = {
    "match": "match",
    "lock": "lock",
    "duplicates": "find_duplicates",
    "hashes": "hash_list",
    "report": "report",
    "chats": "list_chats",
    "messages": "list_messages",
    "reindex": "reindex",
    "custody transfer": "custody_transfer",
    "custody receive": "custody_receive",
    "custody import-receipt": "custody_import_receipt",
    "package": "package",
    "unpack": "unpack",
    "decrypt": "decrypt",
    "keys create": "create_key",
    "keys show": "show_key",
    "keys list": "list_keys",
    "keys export": "export_key",
    "init": "init_case",
    "capture": "capture",
    "verify": "verify",
    "recover": "recover",
    "items": "list_items",
    "show": "show_item",
    "custody log": "custody_log",
    "custody note": "custody_note",
    "demo": "demo",
}


def _command_paths(group: click.Group, prefix: str = "") -> set[str]:
    paths = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths |= _command_paths(command, f"{prefix}{name} ")
        else:
            paths.add(f"{prefix}{name}")
    return paths


def test_all_is_pinned() -> None:
    assert set(ek.__all__) == PINNED


def test_every_command_maps_to_a_public_function() -> None:
    assert _command_paths(cli) == set(COMMANDS)
    for function in COMMANDS.values():
        assert function in ek.__all__ and callable(getattr(ek, function))


def test_every_command_has_help_and_is_documented() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[1] / "docs" / "python-api.md").read_text(encoding="utf-8")
    for path, function in COMMANDS.items():
        command = cli
        for part in path.split():
            command = command.commands[part]  # type: ignore[attr-defined]
        assert command.help, path
        assert f"evidencekit {path}" in docs and function in docs, path


def test_every_exception_subclasses_the_root() -> None:
    for module_info in pkgutil.walk_packages(ek.__path__, "evidencekit."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Exception) and value.__module__.startswith("evidencekit"):
                assert issubclass(value, ek.EvidenceKitError), value


def test_security_parameters_are_keyword_only() -> None:
    for function, names in {
        ek.verify: ["trusted_keys"],
        ek.capture: ["key", "hash_only"],
        ek.init_case: ["key"],
        ek.load_signing_key: ["passphrase"],
        ek.create_key: ["passphrase"],
        ek.recover: ["key"],
    }.items():
        parameters = inspect.signature(function).parameters
        for name in names:
            assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, (function, name)
