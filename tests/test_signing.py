"""Tests for evidencekit.signing: interop with the real ssh-keygen and openssl, the keystore, tampering."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from evidencekit import keystore, signing
from evidencekit.errors import BadSignatureError, FormatError, InputError, SigningKeyError
from evidencekit.signing import PublicKey

SEED = bytes(range(32))
DATA = b"tagmanifest-sha256.txt contents\n"
IDENTITY = "officer@unit-7"
FAST = 4  # kdf_rounds for tests that do not measure the KDF

needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def run(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a real tool, never talking to an ssh-agent."""
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    return subprocess.run([str(a) for a in args], input=stdin, capture_output=True, env=env, check=False, timeout=60)


def text(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (proc.stdout + proc.stderr).decode(errors="replace")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ekhome"
    monkeypatch.setenv("EVIDENCEKIT_HOME", str(path))
    return path


@pytest.fixture(scope="module")
def key() -> signing.SigningKey:
    return signing.generate_signing_key_for_tests("test", SEED)


def sshstr(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def armour(blob: bytes) -> str:
    body = base64.b64encode(blob).decode()
    lines = [body[i : i + 70] for i in range(0, len(body), 70)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


def dearmour(sig: str) -> bytes:
    return base64.b64decode("".join(sig.strip().splitlines()[1:-1]))


def sig_blob(key: signing.SigningKey, *, magic: bytes = b"SSHSIG", version: int = 1, key_type: bytes = b"ssh-ed25519",
             hash_alg: bytes = b"sha512", sig: bytes = bytes(64), trailing: bytes = b"") -> bytes:  # fmt: skip
    return (
        magic + struct.pack(">I", version) + sshstr(sshstr(key_type) + sshstr(key.public.raw))
        + sshstr(b"evidencekit") + sshstr(b"") + sshstr(hash_alg)
        + sshstr(sshstr(b"ssh-ed25519") + sshstr(sig)) + trailing
    )  # fmt: skip


# --- interop with ssh-keygen and openssl -------------------------------------------------------


@needs_ssh_keygen
def test_fingerprint_matches_ssh_keygen(home: Path) -> None:
    info = keystore.create_key("alice", passphrase=None)
    pub = info.path.with_name("alice.pub")
    proc = run("ssh-keygen", "-lf", pub)
    assert proc.returncode == 0, text(proc)
    assert proc.stdout.split()[1].decode() == info.fingerprint
    assert PublicKey.from_file(pub) == info.public_key
    assert pub.read_text() == info.public_key.openssh("alice") + "\n"


@needs_ssh_keygen
def test_sign_ssh_is_accepted_by_ssh_keygen(tmp_path: Path, key: signing.SigningKey) -> None:
    (tmp_path / "file").write_bytes(DATA)
    (tmp_path / "file.sig").write_text(key.sign_ssh(DATA), newline="\n")
    (tmp_path / "allowed_signers").write_text(key.public.allowed_signers_line(IDENTITY) + "\n")
    verify = ("ssh-keygen", "-Y", "verify", "-f", tmp_path / "allowed_signers", "-I", IDENTITY,
              "-n", "evidencekit", "-s", tmp_path / "file.sig")  # fmt: skip
    good = run(*verify, stdin=DATA)
    assert good.returncode == 0, text(good)
    assert "Good" in text(good)
    assert run(*verify, stdin=DATA + b"x").returncode != 0


@needs_ssh_keygen
@pytest.mark.parametrize("hash_alg", ["sha512", "sha256"])
def test_ssh_keygen_signature_verifies_and_matches_ours(home: Path, tmp_path: Path, hash_alg: str) -> None:
    info = keystore.create_key("bob", passphrase=None)
    data_file = tmp_path / "file"
    data_file.write_bytes(DATA)
    proc = run("ssh-keygen", "-Y", "sign", "-f", info.path, "-n", "evidencekit", "-O", f"hashalg={hash_alg}", data_file)
    assert proc.returncode == 0, text(proc)
    theirs = (tmp_path / "file.sig").read_bytes()
    assert signing.verify_ssh_signature(DATA, theirs) == info.public_key
    if hash_alg == "sha512":  # Ed25519 is deterministic, so the armoured bytes must match exactly
        ours = keystore.load_signing_key("bob", passphrase=None).sign_ssh(DATA)
        assert ours.encode() == theirs


@needs_ssh_keygen
def test_ssh_keygen_reads_encrypted_key_with_default_rounds(home: Path) -> None:
    info = keystore.create_key("carol", passphrase=b"correct horse")  # default kdf_rounds=64
    assert info.encrypted and keystore.key_is_encrypted(info.path)
    blob = base64.b64decode("".join(info.path.read_text().splitlines()[1:-1]))
    assert blob.startswith(b"openssh-key-v1\x00" + sshstr(b"aes256-ctr") + sshstr(b"bcrypt"))
    rounds = struct.unpack(">I", blob[15 + 14 + 10 + 4 + 4 + 16 : 15 + 14 + 10 + 4 + 4 + 16 + 4])[0]
    assert rounds == 64
    proc = run("ssh-keygen", "-y", "-P", "correct horse", "-f", info.path)
    assert proc.returncode == 0, text(proc)
    assert proc.stdout.decode().split()[:2] == info.public_key.openssh().split()
    assert run("ssh-keygen", "-y", "-P", "wrong", "-f", info.path).returncode != 0
    loaded = keystore.load_signing_key("carol", passphrase=b"correct horse")
    assert loaded.public == info.public_key


@needs_openssl
def test_raw_signature_interop_with_openssl(tmp_path: Path, key: signing.SigningKey) -> None:
    (tmp_path / "data").write_bytes(DATA)
    (tmp_path / "key.pem").write_text(key.public.pem())
    (tmp_path / "sig").write_bytes(key.sign_raw(DATA))
    verify = ("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", tmp_path / "key.pem", "-rawin",
              "-in", tmp_path / "data", "-sigfile", tmp_path / "sig")  # fmt: skip
    proc = run(*verify)
    assert proc.returncode == 0, text(proc)
    assert "Signature Verified Successfully" in text(proc)
    (tmp_path / "data").write_bytes(DATA + b"x")
    assert run(*verify).returncode != 0


@needs_openssl
def test_openssl_raw_signature_verifies(tmp_path: Path, key: signing.SigningKey) -> None:
    pkcs8 = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "priv.pem").write_bytes(pkcs8)
    (tmp_path / "data").write_bytes(DATA)
    proc = run("openssl", "pkeyutl", "-sign", "-inkey", tmp_path / "priv.pem", "-rawin",
               "-in", tmp_path / "data", "-out", tmp_path / "sig")  # fmt: skip
    assert proc.returncode == 0, text(proc)
    signing.verify_raw_signature(DATA, (tmp_path / "sig").read_bytes(), key.public)
    assert PublicKey.from_pem(key.public.pem()) == key.public


# --- signature format and tampering ------------------------------------------------------------


def test_armour_is_like_ssh_keygen(key: signing.SigningKey) -> None:
    sig = key.sign_ssh(DATA)
    assert sig.startswith("-----BEGIN SSH SIGNATURE-----\n") and sig.endswith("\n-----END SSH SIGNATURE-----\n")
    assert "\r" not in sig
    body = sig.splitlines()[1:-1]
    assert all(len(line) == 70 for line in body[:-1]) and 0 < len(body[-1]) <= 70
    assert signing.verify_ssh_signature(DATA, sig.encode()) == key.public


def test_tampered_data_is_rejected(key: signing.SigningKey) -> None:
    with pytest.raises(BadSignatureError):
        signing.verify_ssh_signature(DATA + b" ", key.sign_ssh(DATA))


def test_wrong_namespace_is_rejected(key: signing.SigningKey) -> None:
    sig = key.sign_ssh(DATA, namespace="file")
    assert signing.verify_ssh_signature(DATA, sig, namespace="file") == key.public
    with pytest.raises(BadSignatureError, match="namespace"):
        signing.verify_ssh_signature(DATA, sig)


@pytest.mark.parametrize("offset", [-1, -33, -64, 40, 64])  # inside the signature, and inside the signer's key
def test_flipped_signature_byte_is_rejected(key: signing.SigningKey, offset: int) -> None:
    blob = bytearray(dearmour(key.sign_ssh(DATA)))
    blob[offset] ^= 0x01
    with pytest.raises(BadSignatureError):
        signing.verify_ssh_signature(DATA, armour(bytes(blob)))


def test_hand_built_blob_is_accepted(key: signing.SigningKey) -> None:
    sig = dearmour(key.sign_ssh(DATA))[-64:]
    assert signing.verify_ssh_signature(DATA, armour(sig_blob(key, sig=sig))) == key.public


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not a signature",
        "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n",
        "-----BEGIN SSH SIGNATURE-----\n!!!notbase64!!!\n-----END SSH SIGNATURE-----\n",
        "-----BEGIN PGP SIGNATURE-----\nU1NIU0lH\n-----END PGP SIGNATURE-----\n",
        armour(b"SSHSIG"),
    ],
)
def test_garbage_armour_is_a_format_error(bad: str) -> None:
    with pytest.raises(FormatError):
        signing.verify_ssh_signature(DATA, bad)


@pytest.mark.parametrize(
    "changes",
    [
        {"magic": b"SSHSIH"},
        {"version": 2},
        {"key_type": b"ssh-rsa"},
        {"hash_alg": b"sha1"},
        {"sig": bytes(63)},
        {"trailing": b"\x00"},
    ],
)
def test_malformed_blob_is_a_format_error(key: signing.SigningKey, changes: dict[str, object]) -> None:
    with pytest.raises(FormatError):
        signing.verify_ssh_signature(DATA, armour(sig_blob(key, **changes)))  # type: ignore[arg-type]


def test_truncated_blob_is_a_format_error(key: signing.SigningKey) -> None:
    blob = dearmour(key.sign_ssh(DATA))
    for cut in (12, 30, len(blob) - 1):
        with pytest.raises(FormatError, match="truncated"):
            signing.verify_ssh_signature(DATA, armour(blob[:cut]))


def test_raw_signature_rejects_tampering(key: signing.SigningKey) -> None:
    sig = key.sign_raw(DATA)
    assert len(sig) == 64
    signing.verify_raw_signature(DATA, sig, key.public)
    for bad_data, bad_sig in [(DATA + b"x", sig), (DATA, sig[:-1] + bytes([sig[-1] ^ 1])), (DATA, sig[:32])]:
        with pytest.raises(BadSignatureError):
            signing.verify_raw_signature(bad_data, bad_sig, key.public)


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=2048))
def test_round_trip_any_bytes(key: signing.SigningKey, data: bytes) -> None:
    assert signing.verify_ssh_signature(data, key.sign_ssh(data)) == key.public
    signing.verify_raw_signature(data, key.sign_raw(data), key.public)


@settings(max_examples=50, deadline=None)
@given(data=st.binary(min_size=1, max_size=512), where=st.integers(min_value=0), mask=st.integers(1, 255))
def test_any_flipped_data_byte_is_rejected(key: signing.SigningKey, data: bytes, where: int, mask: int) -> None:
    sig, raw = key.sign_ssh(data), key.sign_raw(data)
    changed = bytearray(data)
    changed[where % len(data)] ^= mask
    with pytest.raises(BadSignatureError):
        signing.verify_ssh_signature(bytes(changed), sig)
    with pytest.raises(BadSignatureError):
        signing.verify_raw_signature(bytes(changed), raw, key.public)


# --- public keys ------------------------------------------------------------------------------


def test_public_key_renderings(key: signing.SigningKey) -> None:
    pub = key.public
    assert pub.openssh() == pub.openssh("").rstrip() and not pub.openssh().endswith(" ")
    assert pub.openssh("me").endswith(" me")
    assert PublicKey.from_openssh(pub.openssh("a comment") + "\n") == pub
    assert pub.pem().startswith("-----BEGIN PUBLIC KEY-----\n")
    assert pub.allowed_signers_line(IDENTITY) == f'{IDENTITY} namespaces="evidencekit" {pub.openssh()}'
    with pytest.raises(InputError):
        pub.allowed_signers_line("two words")


def test_public_key_from_file(tmp_path: Path, key: signing.SigningKey) -> None:
    (tmp_path / "k.pub").write_text(key.public.openssh("x") + "\n")
    (tmp_path / "k.pem").write_text(key.public.pem())
    assert PublicKey.from_file(tmp_path / "k.pub") == PublicKey.from_file(tmp_path / "k.pem") == key.public
    with pytest.raises(InputError):
        PublicKey.from_file(tmp_path / "missing.pub")


def test_non_ed25519_public_keys_are_format_errors(tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    ssh_line = other.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for name, content in [("ec.pub", ssh_line), ("ec.pem", pem), ("junk", b"hello"), ("bin", b"\xff\xfe")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(FormatError):
            PublicKey.from_file(tmp_path / name)
    with pytest.raises(FormatError):
        PublicKey.from_openssh("ssh-ed25519 AAAA!!")


# --- keystore --------------------------------------------------------------------------------


def test_keys_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVIDENCEKIT_HOME", str(tmp_path))
    assert keystore.keys_home() == tmp_path
    monkeypatch.delenv("EVIDENCEKIT_HOME")
    assert keystore.keys_home().name.lower() == "evidencekit"


@posix_only
def test_key_files_and_modes(home: Path) -> None:
    info = keystore.create_key("dave", passphrase=b"pw", kdf_rounds=FAST)
    assert info.path == home / "keys" / "dave"
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "keys").stat().st_mode) == 0o700
    assert info.path.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")


def test_wrong_or_missing_passphrase(home: Path) -> None:
    keystore.create_key("erin", passphrase=b"right", kdf_rounds=FAST)
    with pytest.raises(SigningKeyError, match="wrong passphrase for key 'erin'") as caught:
        keystore.load_signing_key("erin", passphrase=b"wrong")
    assert caught.value.path and caught.value.hint
    with pytest.raises(SigningKeyError):
        keystore.load_signing_key("erin", passphrase=None)
    assert keystore.load_signing_key("erin", passphrase=b"right").name == "erin"


def test_unencrypted_key_ignores_passphrase(home: Path) -> None:
    info = keystore.create_key("frank", passphrase=None)
    assert not info.encrypted and not keystore.key_is_encrypted(info.path)
    assert keystore.load_signing_key("frank", passphrase=b"anything").public == info.public_key


def test_create_refuses_overwrite(home: Path) -> None:
    first = keystore.create_key("grace", passphrase=None)
    before = first.path.read_bytes()
    with pytest.raises(SigningKeyError, match="already exists") as caught:
        keystore.create_key("grace", passphrase=None)
    assert "grace" in str(caught.value) and caught.value.hint
    assert first.path.read_bytes() == before


def test_empty_passphrase_is_refused(home: Path) -> None:
    with pytest.raises(SigningKeyError, match="empty passphrase"):
        keystore.create_key("heidi", passphrase=b"")
    assert keystore.list_keys() == []


@pytest.mark.parametrize(
    "name", ["", ".hidden", "-flag", "a/b", "..", "a b", "x" * 65, "clé", "tab\t", "line\n", "alice.pub"]
)
def test_bad_names_are_rejected(home: Path, name: str) -> None:
    with pytest.raises(InputError) as caught:
        keystore.create_key(name, passphrase=None)
    assert caught.value.hint and "64" in caught.value.hint
    assert not (home / "keys").exists() or not any((home / "keys").iterdir())


@pytest.mark.parametrize("name", ["a", "A.b_c@d-e", "x" * 64, "0key"])
def test_good_names_are_accepted(home: Path, name: str) -> None:
    assert keystore.create_key(name, passphrase=None).name == name


def test_list_and_get_key_info(home: Path) -> None:
    assert keystore.list_keys() == []
    keystore.create_key("zed", passphrase=None)
    keystore.create_key("amy", passphrase=b"pw", kdf_rounds=FAST)
    keys = home / "keys"
    (keys / "notes.txt").write_text("not a key")
    (keys / ".amy.abc.tmp").write_text("leftover")
    (keys / "orphan.pub").write_text("ssh-ed25519 AAAA\n")
    (keys / "binary").write_bytes(b"\xff\x00")
    (keys / "sub").mkdir()
    assert [info.name for info in keystore.list_keys()] == ["amy", "zed"]
    amy = keystore.get_key_info("amy")
    assert amy.to_json() == {
        "name": "amy",
        "fingerprint": amy.public_key.fingerprint,
        "public_key": amy.public_key.openssh("amy"),
        "path": str(keys / "amy"),
        "encrypted": True,
    }
    with pytest.raises(SigningKeyError) as caught:
        keystore.get_key_info("nobody")
    hint = caught.value.hint or ""
    assert "evidencekit keys create --name nobody" in hint and "amy, zed" in hint


def test_export_key(home: Path, tmp_path: Path) -> None:
    info = keystore.create_key("ivan", passphrase=b"pw", kdf_rounds=FAST)
    out = tmp_path / "out"
    paths = keystore.export_key("ivan", out)
    assert paths == [out / "ivan.pub", out / "ivan.pem"]
    assert PublicKey.from_file(paths[0]) == PublicKey.from_file(paths[1]) == info.public_key
    assert paths[0].read_text() == info.public_key.openssh("ivan") + "\n"
    assert "PRIVATE" not in paths[0].read_text() + paths[1].read_text()
    assert keystore.export_key("ivan", out) == paths  # identical files: fine
    paths[1].write_text("something else")
    with pytest.raises(InputError):
        keystore.export_key("ivan", out)
    assert paths[1].read_text() == "something else"


def test_generate_signing_key_for_tests_is_deterministic() -> None:
    a = signing.generate_signing_key_for_tests("a", SEED)
    assert a.public == signing.generate_signing_key_for_tests("b", SEED).public
    assert a.sign_ssh(DATA) == signing.generate_signing_key_for_tests("a", SEED).sign_ssh(DATA)
    assert "private" not in repr(a)
    with pytest.raises(ValueError):
        signing.generate_signing_key_for_tests("a", b"short")
