"""Encryption to age recipients: interop with the real `age` CLI, and no plaintext left behind on failure."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pyrage  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import evidencekit as ek
from evidencekit.encryption import (
    AGE_HEADER,
    decrypt_file,
    encrypt_file,
    identity_from_signing_key,
    is_encrypted,
    load_identities,
    parse_recipient,
)
from evidencekit.errors import FormatError, InputError, SigningKeyError
from evidencekit.keystore import get_key_info

from .conftest import PASSPHRASE, REPO, tool_or_skip

MIB = 1024 * 1024


def run(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(arg) for arg in args], check=True, capture_output=True, timeout=120)


def write_random(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def write_openssh_private(path: Path, key: ek.SigningKey, passphrase: bytes | None = None) -> Path:
    """The key as an OpenSSH private key file (mode 0600), as a user of `ssh-keygen` would have it."""
    if passphrase is None:
        encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    else:
        encryption = serialization.PrivateFormat.OpenSSH.encryption_builder().kdf_rounds(4).build(passphrase)
    data = key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def rsa_public_line() -> str:
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.fixture
def age_key(tmp_path: Path) -> tuple[Path, str]:
    """An identity file made by `age-keygen`, and its age1 recipient."""
    tool_or_skip("age-keygen")
    path = tmp_path / "age.key"
    run("age-keygen", "-o", path)
    return path, run("age-keygen", "-y", path).stdout.decode().strip()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder for outputs, so a test can assert that nothing (not even a temp file) is left."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


# --- interop with the age CLI ----------------------------------------------------------------


def test_encrypt_to_age_recipient_and_decrypt_with_age_cli(tmp_path: Path, age_key: tuple[Path, str]) -> None:
    tool_or_skip("age")
    data = write_random(tmp_path / "photo.jpg", 300_000)
    encrypt_file(tmp_path / "photo.jpg", tmp_path / "photo.jpg.age", [age_key[1]])
    assert (tmp_path / "photo.jpg.age").read_bytes().startswith(AGE_HEADER)
    run("age", "-d", "-i", age_key[0], "-o", tmp_path / "cli.out", tmp_path / "photo.jpg.age")
    assert (tmp_path / "cli.out").read_bytes() == data
    decrypt_file(tmp_path / "photo.jpg.age", tmp_path / "ours.out", load_identities([str(age_key[0])]))
    assert (tmp_path / "ours.out").read_bytes() == data


def test_age_cli_encrypts_and_we_decrypt(tmp_path: Path, age_key: tuple[Path, str]) -> None:
    tool_or_skip("age")
    data = write_random(tmp_path / "chat.txt", 100_000)
    run("age", "-r", age_key[1], "-o", tmp_path / "chat.age", tmp_path / "chat.txt")
    decrypt_file(tmp_path / "chat.age", tmp_path / "chat.out", load_identities([str(age_key[0])]))
    assert (tmp_path / "chat.out").read_bytes() == data


def test_armored_input_from_age_cli_decrypts(tmp_path: Path, age_key: tuple[Path, str]) -> None:
    tool_or_skip("age")
    data = write_random(tmp_path / "a.bin", 50_000)
    run("age", "-a", "-r", age_key[1], "-o", tmp_path / "a.asc", tmp_path / "a.bin")
    assert is_encrypted(tmp_path / "a.asc")
    decrypt_file(tmp_path / "a.asc", tmp_path / "a.out", load_identities([str(age_key[0])]))
    assert (tmp_path / "a.out").read_bytes() == data


def test_ssh_ed25519_recipient_from_an_evidencekit_key(tmp_path: Path, key: ek.SigningKey) -> None:
    tool_or_skip("age")
    data = write_random(tmp_path / "e.bin", 70_000)
    encrypt_file(tmp_path / "e.bin", tmp_path / "e.age", [key.public.openssh("aisyah@unit-7")])
    private_file = write_openssh_private(tmp_path / "id_ed25519", key)
    run("age", "-d", "-i", private_file, "-o", tmp_path / "cli.out", tmp_path / "e.age")
    assert (tmp_path / "cli.out").read_bytes() == data
    decrypt_file(tmp_path / "e.age", tmp_path / "ours.out", [identity_from_signing_key(key)])
    assert (tmp_path / "ours.out").read_bytes() == data
    decrypt_file(tmp_path / "e.age", tmp_path / "file.out", load_identities([str(private_file)]))
    assert (tmp_path / "file.out").read_bytes() == data


def test_unencrypted_keystore_key_works_with_age_cli(tmp_path: Path) -> None:
    tool_or_skip("age")
    home = tmp_path / "home"
    info = ek.create_key("field", passphrase=None, home=home, kdf_rounds=4)
    data = write_random(tmp_path / "f.bin", 10_000)
    encrypt_file(tmp_path / "f.bin", tmp_path / "f.age", [info.public_key.openssh("field")])
    run("age", "-d", "-i", info.path, "-o", tmp_path / "cli.out", tmp_path / "f.age")
    assert (tmp_path / "cli.out").read_bytes() == data
    signing_key = ek.load_signing_key("field", passphrase=None, home=home)
    decrypt_file(tmp_path / "f.age", tmp_path / "ours.out", [identity_from_signing_key(signing_key)])
    assert (tmp_path / "ours.out").read_bytes() == data


def test_several_recipients_can_each_decrypt(
    tmp_path: Path, age_key: tuple[Path, str], key: ek.SigningKey, other_key: ek.SigningKey
) -> None:
    tool_or_skip("age")
    data = write_random(tmp_path / "s.bin", 40_000)
    recipients = [age_key[1], key.public.openssh(), other_key.public.openssh("mallory")]
    encrypt_file(tmp_path / "s.bin", tmp_path / "s.age", recipients)
    for index, identity in enumerate([*load_identities([str(age_key[0])]), identity_from_signing_key(key)]):
        decrypt_file(tmp_path / "s.age", tmp_path / f"{index}.out", [identity])
        assert (tmp_path / f"{index}.out").read_bytes() == data
    decrypt_file(tmp_path / "s.age", tmp_path / "m.out", [identity_from_signing_key(other_key)])
    assert (tmp_path / "m.out").read_bytes() == data
    private_file = write_openssh_private(tmp_path / "id_other", other_key)
    for identity_file in (age_key[0], private_file):
        assert run("age", "-d", "-i", identity_file, tmp_path / "s.age").stdout == data


# --- keys --------------------------------------------------------------------------------------


def test_passphrase_protected_keystore_key(tmp_path: Path, home: Path, out: Path) -> None:
    data = write_random(tmp_path / "k.bin", 20_000)
    recipient = get_key_info("aisyah").public_key.openssh("aisyah")
    encrypt_file(tmp_path / "k.bin", tmp_path / "k.age", [recipient])
    decrypt_file(tmp_path / "k.age", out / "k.out", load_identities(["key:aisyah"], passphrase=PASSPHRASE))
    assert (out / "k.out").read_bytes() == data
    with pytest.raises(SigningKeyError, match="wrong passphrase"):
        load_identities(["key:aisyah"], passphrase=b"not it")
    with pytest.raises(SigningKeyError, match="no passphrase"):
        load_identities(["key:aisyah"])
    with pytest.raises(SigningKeyError, match="no signing key named 'nobody'"):
        load_identities(["key:nobody"], passphrase=PASSPHRASE)


def test_passphrase_protected_openssh_key_file(tmp_path: Path, key: ek.SigningKey) -> None:
    path = write_openssh_private(tmp_path / "id_ed25519", key, passphrase=b"pw")
    data = write_random(tmp_path / "p.bin", 5_000)
    encrypt_file(tmp_path / "p.bin", tmp_path / "p.age", [key.public.openssh()])
    decrypt_file(tmp_path / "p.age", tmp_path / "p.out", load_identities([str(path)], passphrase=b"pw"))
    assert (tmp_path / "p.out").read_bytes() == data
    with pytest.raises(SigningKeyError, match="wrong passphrase"):
        load_identities([str(path)], passphrase=b"nope")
    with pytest.raises(SigningKeyError, match="no passphrase"):
        load_identities([str(path)])


def test_load_identities_rejects_what_is_not_a_private_key(tmp_path: Path, key: ek.SigningKey) -> None:
    (tmp_path / "id.pub").write_text(key.public.openssh("x") + "\n")
    (tmp_path / "junk.txt").write_text("correct horse battery staple\n")
    (tmp_path / "empty").write_text("# nothing here\n")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "id_rsa").write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    cases = {"id.pub": "public key", "junk.txt": "not shown", "empty": "no key lines", "id_rsa": "Ed25519"}
    for name, expected in cases.items():
        with pytest.raises(InputError, match=expected) as caught:
            load_identities([str(tmp_path / name)])
        assert "correct horse" not in str(caught.value)
    with pytest.raises(InputError, match="cannot read"):
        load_identities([str(tmp_path / "missing.key")])
    with pytest.raises(InputError, match="no key given"):
        load_identities([])
    with pytest.raises(InputError, match="invalid key name"):
        load_identities(["key:"])


def test_load_identities_reads_every_key_of_an_age_identity_file(tmp_path: Path, age_key: tuple[Path, str]) -> None:
    tool_or_skip("age-keygen")
    second = tmp_path / "second.key"
    run("age-keygen", "-o", second)
    combined = tmp_path / "combined.key"
    combined.write_text(age_key[0].read_text() + "\n" + second.read_text())
    assert len(load_identities([str(combined)])) == 2


# --- failures leave nothing behind ---------------------------------------------------------------


def test_wrong_identity_is_a_key_error_and_writes_nothing(
    tmp_path: Path, out: Path, key: ek.SigningKey, other_key: ek.SigningKey
) -> None:
    write_random(tmp_path / "w.bin", 10_000)
    encrypt_file(tmp_path / "w.bin", tmp_path / "w.age", [key.public.openssh()])
    with pytest.raises(SigningKeyError, match="none of the given keys can open this file") as caught:
        decrypt_file(tmp_path / "w.age", out / "w.out", [identity_from_signing_key(other_key)])
    assert caught.value.hint
    assert os.listdir(out) == []


@pytest.fixture
def big_ciphertext(tmp_path: Path, key: ek.SigningKey) -> bytes:
    """A 3 MiB file encrypted to `key`: large enough that pyrage writes chunks before it fails."""
    write_random(tmp_path / "big.bin", 3 * MIB)
    encrypt_file(tmp_path / "big.bin", tmp_path / "big.age", [key.public.openssh()])
    return (tmp_path / "big.age").read_bytes()


@pytest.mark.parametrize("keep", [30, 400, 2 * MIB, -1])
def test_truncated_ciphertext_is_a_format_error_and_writes_nothing(
    tmp_path: Path, out: Path, key: ek.SigningKey, big_ciphertext: bytes, keep: int
) -> None:
    damaged = tmp_path / "truncated.age"
    damaged.write_bytes(big_ciphertext[:keep])
    with pytest.raises(FormatError) as caught:
        decrypt_file(damaged, out / "big.out", [identity_from_signing_key(key)])
    assert str(damaged) in str(caught.value)
    assert os.listdir(out) == []


def test_flipped_byte_in_the_middle_is_a_format_error_and_writes_nothing(
    tmp_path: Path, out: Path, key: ek.SigningKey, big_ciphertext: bytes
) -> None:
    damaged = bytearray(big_ciphertext)
    damaged[len(damaged) // 2] ^= 0x01
    (tmp_path / "flipped.age").write_bytes(damaged)
    sink = io.BytesIO()
    with pytest.raises(OSError):
        pyrage.decrypt_io(io.BytesIO(damaged), sink, [identity_from_signing_key(key)])
    assert sink.tell() > MIB  # the trap: pyrage writes the chunks that authenticated before it fails
    with pytest.raises(FormatError, match="authentication failed.*nothing was written") as caught:
        decrypt_file(tmp_path / "flipped.age", out / "big.out", [identity_from_signing_key(key)])
    assert str(tmp_path / "flipped.age") in str(caught.value)
    assert os.listdir(out) == []


def test_failed_decryption_keeps_the_old_output_when_overwriting(
    tmp_path: Path, out: Path, key: ek.SigningKey, big_ciphertext: bytes
) -> None:
    (out / "big.out").write_bytes(b"previous")
    damaged = bytearray(big_ciphertext)
    damaged[-100] ^= 0x80
    (tmp_path / "flipped.age").write_bytes(damaged)
    with pytest.raises(FormatError):
        decrypt_file(tmp_path / "flipped.age", out / "big.out", [identity_from_signing_key(key)], overwrite=True)
    assert os.listdir(out) == ["big.out"]
    assert (out / "big.out").read_bytes() == b"previous"


def test_not_an_age_file_is_a_format_error(tmp_path: Path, out: Path, key: ek.SigningKey) -> None:
    (tmp_path / "plain.txt").write_text("hello\n")
    with pytest.raises(FormatError, match="not an age-encrypted file"):
        decrypt_file(tmp_path / "plain.txt", out / "x", [identity_from_signing_key(key)])
    with pytest.raises(InputError, match="cannot read"):
        decrypt_file(tmp_path / "missing.age", out / "x", [identity_from_signing_key(key)])
    with pytest.raises(InputError, match="no key given"):
        decrypt_file(tmp_path / "plain.txt", out / "x", [])
    assert os.listdir(out) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_decrypted_plaintext_is_private_to_the_owner(tmp_path: Path, key: ek.SigningKey) -> None:
    write_random(tmp_path / "m.bin", 1000)
    encrypt_file(tmp_path / "m.bin", tmp_path / "m.age", [key.public.openssh()])
    decrypt_file(tmp_path / "m.age", tmp_path / "m.out", [identity_from_signing_key(key)])
    assert (tmp_path / "m.out").stat().st_mode & 0o777 == 0o600


# --- encrypt_file's own checks ---------------------------------------------------------------------


def test_encrypt_refuses_to_overwrite_unless_asked(tmp_path: Path, key: ek.SigningKey) -> None:
    write_random(tmp_path / "o.bin", 1000)
    (tmp_path / "o.age").write_bytes(b"already here")
    with pytest.raises(InputError, match="already exists"):
        encrypt_file(tmp_path / "o.bin", tmp_path / "o.age", [key.public.openssh()])
    assert (tmp_path / "o.age").read_bytes() == b"already here"
    encrypt_file(tmp_path / "o.bin", tmp_path / "o.age", [key.public.openssh()], overwrite=True)
    assert is_encrypted(tmp_path / "o.age")
    with pytest.raises(InputError, match="already exists"):
        decrypt_file(tmp_path / "o.age", tmp_path / "o.bin", [identity_from_signing_key(key)])


def test_encrypt_never_replaces_its_input(tmp_path: Path, key: ek.SigningKey) -> None:
    data = write_random(tmp_path / "i.bin", 1000)
    with pytest.raises(InputError, match="input file itself"):
        encrypt_file(tmp_path / "i.bin", tmp_path / "i.bin", [key.public.openssh()], overwrite=True)
    assert (tmp_path / "i.bin").read_bytes() == data


def test_encrypt_needs_a_recipient_and_a_readable_input(tmp_path: Path, out: Path, key: ek.SigningKey) -> None:
    write_random(tmp_path / "r.bin", 100)
    with pytest.raises(InputError, match="no recipient"):
        encrypt_file(tmp_path / "r.bin", out / "r.age", [])
    with pytest.raises(InputError, match="cannot read"):
        encrypt_file(tmp_path / "missing.bin", out / "r.age", [key.public.openssh()])
    with pytest.raises(InputError, match="only Ed25519"):
        encrypt_file(tmp_path / "r.bin", out / "r.age", [key.public.openssh(), rsa_public_line()])
    with pytest.raises(TypeError):
        encrypt_file(tmp_path / "r.bin", out / "r.age", key.public.openssh())
    assert os.listdir(out) == []


# --- recognising files and recipients ------------------------------------------------------------------


def test_is_encrypted(tmp_path: Path, key: ek.SigningKey) -> None:
    (tmp_path / "plain").write_bytes(b"age-encryption.org/v2\nnot really")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "armored").write_bytes(b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n")
    encrypt_file(tmp_path / "plain", tmp_path / "binary", [key.public.openssh()])
    assert is_encrypted(tmp_path / "binary")
    assert is_encrypted(tmp_path / "armored")
    assert not is_encrypted(tmp_path / "plain")
    assert not is_encrypted(tmp_path / "empty")
    with pytest.raises(InputError, match="cannot read"):
        is_encrypted(tmp_path / "missing")


def test_parse_recipient_accepts_age_and_ssh_ed25519(tmp_path: Path, key: ek.SigningKey) -> None:
    age_public = str(pyrage.x25519.Identity.generate().to_public())
    assert isinstance(parse_recipient(f"  {age_public}\n"), pyrage.x25519.Recipient)
    assert isinstance(parse_recipient(key.public.openssh("aisyah@unit 7")), pyrage.ssh.Recipient)
    (tmp_path / "id.pub").write_text(key.public.openssh("aisyah") + "\n")
    (tmp_path / "recipients.txt").write_text(f"# the case officer\n\n{age_public}\n")
    assert isinstance(parse_recipient(str(tmp_path / "id.pub")), pyrage.ssh.Recipient)
    assert isinstance(parse_recipient(str(tmp_path / "recipients.txt")), pyrage.x25519.Recipient)


def test_parse_recipient_rejects_other_keys_and_garbage(tmp_path: Path) -> None:
    rsa_line = rsa_public_line()
    (tmp_path / "id_rsa.pub").write_text(rsa_line + "\n")
    (tmp_path / "two.txt").write_text("age1aaa\nage1bbb\n")
    cases = {
        rsa_line: "only Ed25519 keys are supported by evidencekit",
        str(tmp_path / "id_rsa.pub"): "only Ed25519 keys are supported by evidencekit",
        "ecdsa-sha2-nistp256 AAAAE2VjZHNh": "only Ed25519",
        "garbage": "'garbage' is not an age recipient",
        "": "empty recipient",
        "   \n": "empty recipient",
        "age1notbech32": "not a valid recipient",
        "ssh-ed25519 !!!": "not a valid recipient",
        str(tmp_path / "two.txt"): "found 2 key lines",
        str(tmp_path / "missing.pub"): "is not an age recipient",
    }
    for value, expected in cases.items():
        with pytest.raises(InputError, match=expected) as caught:
            parse_recipient(value)
        assert caught.value.hint, value


def test_parse_recipient_never_echoes_a_private_key() -> None:
    secret = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
    with pytest.raises(InputError, match="age private key, not a recipient") as caught:
        parse_recipient(secret)
    assert secret not in str(caught.value)


# --- streaming -------------------------------------------------------------------------------------------

_MEMORY_PROBE = """
import resource, sys
from pathlib import Path
import pyrage
from evidencekit.encryption import decrypt_file, encrypt_file, load_identities
folder = Path(sys.argv[1])
identity = pyrage.x25519.Identity.generate()
(folder / "id.key").write_text(str(identity) + "\\n")
identities = load_identities([str(folder / "id.key")])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
encrypt_file(folder / "big.bin", folder / "big.age", [str(identity.to_public())])
decrypt_file(folder / "big.age", folder / "big.out", identities)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * (1 if sys.platform == "darwin" else 1024))
"""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="resource.getrusage is POSIX-only")
def test_64_mib_round_trip_with_flat_memory(tmp_path: Path) -> None:
    with open(tmp_path / "big.bin", "wb") as handle:
        for _ in range(64):
            handle.write(os.urandom(MIB))
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    growth = int(result.stdout.strip())
    assert growth < 40 * MIB, f"max RSS grew by {growth / MIB:.1f} MiB"
    assert (tmp_path / "big.age").stat().st_size > 64 * MIB
    assert sha256_of(tmp_path / "big.out") == sha256_of(tmp_path / "big.bin")
