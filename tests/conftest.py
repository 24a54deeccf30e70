"""Shared fixtures: a fixed clock, deterministic keys, a key store, cases and sample files."""

from __future__ import annotations

import io
import os
import shutil
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

import evidencekit as ek
from evidencekit.signing import generate_signing_key_for_tests

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REAL_IMAGES = SHARED / "real-images" / "exif-samples" / "jpg"
NOW = datetime(2026, 3, 14, 21, 5, 9, tzinfo=timezone(timedelta(hours=8)))
PASSPHRASE = b"correct horse battery staple"


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs offline: any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def key() -> ek.SigningKey:
    return generate_signing_key_for_tests("aisyah", bytes(range(32)))


@pytest.fixture
def other_key() -> ek.SigningKey:
    return generate_signing_key_for_tests("mallory", bytes(range(1, 33)))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private key store with one encrypted key 'aisyah' (cheap KDF) and the env to use it."""
    home = tmp_path / "home"
    ek.create_key("aisyah", passphrase=PASSPHRASE, home=home, kdf_rounds=4)
    monkeypatch.setenv("EVIDENCEKIT_HOME", str(home))
    monkeypatch.setenv("EVIDENCEKIT_PASSPHRASE", PASSPHRASE.decode())
    for name in ("EVIDENCEKIT_CASE", "EVIDENCEKIT_KEY"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def case(tmp_path: Path, key: ek.SigningKey, now: datetime) -> ek.Case:
    return ek.init_case(
        tmp_path / "case", title="Test case", key=key, case_id="EK-TEST", timezone="Asia/Kuala_Lumpur", now=now
    )


def png_bytes(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A small folder of evidence: two images, a text file, a duplicate in a subfolder."""
    folder = tmp_path / "samples"
    (folder / "sub").mkdir(parents=True)
    (folder / "red.png").write_bytes(png_bytes())
    (folder / "blue.png").write_bytes(png_bytes(colour=(20, 20, 220)))
    (folder / "note.txt").write_text("seen at 9pm\n", encoding="utf-8")
    (folder / "sub" / "red-copy.png").write_bytes(png_bytes())
    return folder


@pytest.fixture
def captured(case: ek.Case, samples: Path, key: ek.SigningKey, now: datetime) -> ek.Case:
    ek.capture(case, [samples], key=key, source="Telegram group V2K", platform="telegram", now=now)
    return case


def real_images_or_skip() -> Path:
    if not REAL_IMAGES.is_dir():
        pytest.skip("../shared/real-images is not present")
    return REAL_IMAGES


def tool_or_skip(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def make_writable_tree(root: Path) -> None:
    """Let a test tamper with read-only stored objects."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
