"""The command line, run as a user runs it: a real process, exit codes, stdout/stderr, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import evidencekit as ek

from .conftest import PASSPHRASE, REPO


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, input_: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "evidencekit", *args],
        cwd=cwd,
        env=full_env,
        text=True,
        capture_output=True,
        input=input_,
        timeout=120,
    )


@pytest.fixture
def cli_case(home: Path, tmp_path: Path, samples: Path) -> Path:
    result = run("init", str(tmp_path / "c"), "--title", "CLI case", "--case-id", "EK-CLI")
    assert result.returncode == 0, result.stderr
    result = run(
        "capture", "--case", str(tmp_path / "c"), str(samples), "--source", "group X", "--platform", "telegram"
    )
    assert result.returncode == 0, result.stderr
    return tmp_path / "c"


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"evidencekit, version {ek.__version__}"
    helped = run("--help")
    assert helped.returncode == 0 and "capture" in helped.stdout and "Exit codes" in helped.stdout


def test_full_flow_and_json(cli_case: Path) -> None:
    items = json.loads(run("items", "--case", str(cli_case), "--json").stdout)
    assert [i["id"] for i in items] == ["E0001", "E0002", "E0003"]
    shown = json.loads(run("show", "E0001", "--case", str(cli_case), "--json").stdout)
    assert shown["sightings"][0]["source"] == "group X"
    verified = run("verify", str(cli_case), "--json")
    assert verified.returncode == 0
    report = json.loads(verified.stdout)
    assert report["ok"] is True and report["items"] == 3 and report["signers"][0]["trusted"] is False
    log = json.loads(run("custody", "log", "--case", str(cli_case), "--json").stdout)
    assert [r["action"] for r in log] == ["init", "capture"]


def test_case_found_from_env_and_current_folder(cli_case: Path) -> None:
    assert run("items", env={"EVIDENCEKIT_CASE": str(cli_case)}).returncode == 0
    assert run("items", cwd=cli_case).returncode == 0
    result = run("items", cwd=cli_case.parent)
    assert result.returncode == 3 and "not an evidencekit case" in result.stderr and "hint:" in result.stderr


def test_verify_failure_exits_1_and_names_the_file(cli_case: Path) -> None:
    item = json.loads(run("show", "E0002", "--case", str(cli_case), "--json").stdout)
    stored = cli_case / item["object"]
    os.chmod(stored, 0o644)
    stored.write_bytes(b"changed")
    result = run("verify", str(cli_case))
    assert result.returncode == 1
    assert "ALTERED: E0002" in result.stdout and item["sha256"] in result.stdout
    assert "Traceback" not in result.stderr
    report = json.loads(run("verify", str(cli_case), "--json").stdout)
    assert report["ok"] is False and report["problems"][0]["kind"] == "altered"


def test_trust_option(cli_case: Path, home: Path) -> None:
    fingerprint = ek.show_key("aisyah", home=home).fingerprint
    good = json.loads(run("verify", str(cli_case), "--trust", fingerprint, "--json").stdout)
    assert good["signers"][0]["trusted"] is True
    bad = run("verify", str(cli_case), "--trust", "SHA256:somebodyelse")
    assert bad.returncode == 1 and "UNTRUSTED-SIGNER" in bad.stdout


def test_wrong_passphrase_exits_3_without_traceback(cli_case: Path, samples: Path) -> None:
    result = run("custody", "note", "hello", "--case", str(cli_case), env={"EVIDENCEKIT_PASSPHRASE": "wrong"})
    assert result.returncode == 3
    assert "wrong passphrase" in result.stderr and "Traceback" not in result.stderr


def test_passphrase_file(cli_case: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_bytes(PASSPHRASE + b"\n")
    result = run(
        "custody",
        "note",
        "checked by volunteer",
        "--case",
        str(cli_case),
        "--passphrase-file",
        str(secret),
        env={"EVIDENCEKIT_PASSPHRASE": ""},
    )
    assert result.returncode == 0, result.stderr


def test_no_passphrase_and_no_terminal_is_a_clear_error(cli_case: Path) -> None:
    result = run("custody", "note", "x", "--case", str(cli_case), env={"EVIDENCEKIT_PASSPHRASE": ""})
    assert result.returncode == 3 and "--passphrase-file" in result.stderr


def test_capture_with_a_missing_path_saves_the_rest_and_exits_3(cli_case: Path, samples: Path, tmp_path: Path) -> None:
    extra = tmp_path / "new.txt"
    extra.write_text("new evidence")
    result = run("capture", "--case", str(cli_case), str(tmp_path / "missing.png"), str(extra), "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["failed"][0]["path"].endswith("missing.png")  # one JSON document
    assert "could not be captured" in result.stderr
    ids = [i["id"] for i in json.loads(run("items", "--case", str(cli_case), "--json").stdout)]
    assert ids == ["E0001", "E0002", "E0003", "E0004"]


def test_usage_errors_exit_2(cli_case: Path) -> None:
    assert run("capture", "--case", str(cli_case)).returncode == 2
    assert run("no-such-command").returncode == 2


def test_unknown_item_is_a_clear_error(cli_case: Path) -> None:
    result = run("show", "E9999", "--case", str(cli_case))
    assert result.returncode == 3 and "E0001" in result.stderr


def test_keys_commands(tmp_path: Path) -> None:
    env = {"EVIDENCEKIT_HOME": str(tmp_path / "h"), "EVIDENCEKIT_PASSPHRASE": "pw for officer"}
    created = run("keys", "create", "--name", "officer", "--json", env=env)
    assert created.returncode == 0, created.stderr
    info = json.loads(created.stdout)
    assert info["encrypted"] is True and info["fingerprint"].startswith("SHA256:")
    again = run("keys", "create", "--name", "officer", env=env)
    assert again.returncode == 3 and "already exists" in again.stderr
    shown = run("keys", "show", env=env)
    assert info["fingerprint"] in shown.stdout and "ssh-ed25519 " in shown.stdout
    exported = run("keys", "export", "--out", str(tmp_path / "out"), env=env)
    assert exported.returncode == 0
    assert (tmp_path / "out" / "officer.pub").read_text().startswith("ssh-ed25519 ")
    assert "BEGIN PUBLIC KEY" in (tmp_path / "out" / "officer.pem").read_text()
    plain = run("keys", "create", "--name", "demo", "--no-passphrase", env=env)
    assert plain.returncode == 0 and "WITHOUT a passphrase" in plain.stderr


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = run("demo", str(tmp_path / "demo"), env={"EVIDENCEKIT_HOME": str(tmp_path / "unused")})
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stderr and result.stdout.strip() == str(tmp_path / "demo" / "case")
    assert not (tmp_path / "unused").exists()
    ek.verify(tmp_path / "demo" / "case")


def test_json_error_object_for_scripts(tmp_path: Path) -> None:
    result = run("items", "--case", str(tmp_path), "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["error"]["exit_code"] == 3


def test_python_dash_m_and_console_script_agree() -> None:
    assert run("--version").returncode == 0


def test_package_verify_unpack_and_handover_from_the_command_line(cli_case: Path, tmp_path: Path, home: Path) -> None:
    zip_path = tmp_path / "pkg.zip"
    made = run("package", "--case", str(cli_case), "--out", str(zip_path), "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["items"] == ["E0001", "E0002", "E0003"]
    checked = run("verify", str(zip_path), "--json")
    assert checked.returncode == 0 and json.loads(checked.stdout)["ok"] is True
    unpacked = run("unpack", str(zip_path), str(tmp_path / "received"))
    assert unpacked.returncode == 0 and (tmp_path / "received" / "bagit.txt").is_file()
    moved = run("custody", "transfer", "--case", str(cli_case), "--package", str(zip_path), "--to", "Insp. Tan")
    assert moved.returncode == 0, moved.stderr
    received = run("custody", "receive", str(zip_path))
    assert received.returncode == 0, received.stderr
    imported = run("custody", "import-receipt", str(zip_path) + ".receipt.json", "--case", str(cli_case))
    assert imported.returncode == 0 and "receipt from aisyah" in imported.stderr
    assert run("verify", str(cli_case)).returncode == 0


def test_a_changed_package_fails_with_exit_1(cli_case: Path, tmp_path: Path) -> None:
    import zipfile

    zip_path = tmp_path / "pkg.zip"
    assert run("package", "--case", str(cli_case), "--out", str(zip_path)).returncode == 0
    with zipfile.ZipFile(zip_path) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(zip_path, "w") as archive:
        for info, data in entries:
            archive.writestr(info, data + b"x" if "/data/evidence/" in info.filename else data)
    result = run("verify", str(zip_path))
    assert result.returncode == 1 and "ALTERED" in result.stdout and "Traceback" not in result.stderr


def test_encrypted_package_needs_an_identity(cli_case: Path, tmp_path: Path, home: Path) -> None:
    exported = run("keys", "export", "aisyah", "--out", str(tmp_path / "pub"))
    assert exported.returncode == 0
    target = tmp_path / "pkg.zip.age"
    made = run(
        "package", "--case", str(cli_case), "--out", str(target), "--encrypt-to", str(tmp_path / "pub" / "aisyah.pub")
    )
    assert made.returncode == 0, made.stderr
    missing = run("verify", str(target))
    assert missing.returncode == 3 and "--identity" in missing.stderr
    opened = run("verify", str(target), "--identity", "key:aisyah")
    assert opened.returncode == 0, opened.stderr
    plain = run("decrypt", str(target), "--identity", "key:aisyah", "--out", str(tmp_path / "plain.zip"))
    assert plain.returncode == 0 and (tmp_path / "plain.zip").read_bytes().startswith(b"PK")


def test_unpack_refuses_a_hostile_zip(tmp_path: Path) -> None:
    import zipfile

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("bag/bagit.txt", "BagIt-Version: 1.0\n")
        archive.writestr("bag/../../escaped.txt", "gotcha")
    result = run("unpack", str(evil), str(tmp_path / "out"))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "escaped.txt").exists()
