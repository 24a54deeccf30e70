"""Secrets hygiene (issue 7): passphrases never on the command line or in output, private keys
never in a case or package, key and case files the owner's alone, keys never overwritten."""

from __future__ import annotations

import os
import stat
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import click
import pytest

import evidencekit as ek
from evidencekit.cli import cli

from .conftest import PASSPHRASE
from .test_cli import run

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


def _options(command: click.Command) -> list[click.Parameter]:
    found = list(command.params)
    for sub in getattr(command, "commands", {}).values():
        found += _options(sub)
    return found


def test_no_option_takes_a_passphrase_itself() -> None:
    """A passphrase on the command line would show in the process list: only files, prompts, env."""
    names = {opt for param in _options(cli) for opt in getattr(param, "opts", [])}
    assert "--passphrase-file" in names
    assert not [n for n in names if "passphrase" in n and n not in ("--passphrase-file", "--no-passphrase")]
    flag = next(p for p in _options(cli) if "--no-passphrase" in getattr(p, "opts", []))
    assert getattr(flag, "is_flag", False)  # a yes/no switch, never a value


@posix_only
def test_key_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ek.create_key("aisyah", passphrase=PASSPHRASE, home=home, kdf_rounds=4)
    private = next(p for p in home.rglob("aisyah*") if not p.name.endswith(".pub"))
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    before = private.read_bytes()
    with pytest.raises(ek.SigningKeyError, match="already exists"):
        ek.create_key("aisyah", passphrase=b"another passphrase", home=home, kdf_rounds=4)
    assert private.read_bytes() == before


@posix_only
def test_case_files_are_the_owners_alone(case: ek.Case, samples: Path, key: ek.SigningKey, now: datetime) -> None:
    ek.capture(case, [samples], key=key, now=now)
    assert stat.S_IMODE(case.root.stat().st_mode) == 0o700
    for path in case.root.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_private_keys_never_enter_a_case_or_package(
    case: ek.Case, samples: Path, key: ek.SigningKey, now: datetime, tmp_path: Path
) -> None:
    ek.capture(case, [samples], key=key, now=now)
    out = ek.package(case, key=key, out=tmp_path / "p.zip", now=now).path
    secret = bytes(range(32))  # the `key` fixture's private seed (tests/conftest.py)
    blobs = [p.read_bytes() for p in case.root.rglob("*") if p.is_file()]
    with zipfile.ZipFile(out) as zf:
        blobs += [zf.read(name) for name in zf.namelist()]
    for blob in blobs:
        assert b"PRIVATE KEY" not in blob
        assert secret not in blob


def test_a_wrong_passphrase_is_never_echoed(home: Path, tmp_path: Path) -> None:
    wrong = "not-the-right-one-4711"
    secret_file = tmp_path / "pass.txt"
    secret_file.write_text(wrong + "\n")
    secret_file.chmod(0o600)
    env = {"EVIDENCEKIT_PASSPHRASE": ""}
    for extra in ([], ["--debug"]):
        result = run(
            *extra,
            "init",
            str(tmp_path / f"c{len(extra)}"),
            "--title",
            "t",
            "--passphrase-file",
            str(secret_file),
            env=env,
        )
        assert result.returncode == 3, result.stderr
        assert wrong not in result.stderr + result.stdout
        assert PASSPHRASE.decode() not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


@posix_only
def test_a_passphrase_file_others_can_read_is_warned_about(home: Path, tmp_path: Path) -> None:
    secret_file = tmp_path / "pass.txt"
    secret_file.write_text(PASSPHRASE.decode() + "\n")
    os.chmod(secret_file, 0o644)
    result = run("init", str(tmp_path / "c"), "--title", "t", "--passphrase-file", str(secret_file))
    assert result.returncode == 0, result.stderr
    assert "can be read by other users" in result.stderr and "chmod 600" in result.stderr
    assert PASSPHRASE.decode() not in result.stderr + result.stdout
