"""Office network mode: `serve --host` off this computer refuses to start without TLS, an
account and the server's names; with them it answers only over TLS, only to those names, and
prints no one-time link."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from coverage.web.server import is_loopback
from tests.conftest import cli_argv
from tests.web_support import add_accounts


@pytest.fixture
def folder(tmp_path: Path, examples_dir: Path) -> Path:
    clinic = tmp_path / "clinic"
    (clinic / "cases").mkdir(parents=True)
    shutil.copy(examples_dir / "practice.yaml", clinic / "practice.yaml")
    return clinic


def tls_files(folder: Path, name: str = "letters.clinic.lan") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder.parent / "server.crt", folder.parent / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_loopback_or_not() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    assert not is_loopback("letters.clinic.lan")


def test_office_mode_refuses_to_start_without_what_it_needs(run_cli, folder: Path) -> None:
    bare = run_cli("serve", folder, "--host", "0.0.0.0", "--port", "8798")
    assert bare.code == 2, bare.output
    for needed in ("--cert FILE and --key FILE", "users add", "--server-name"):
        assert needed in bare.stderr
    cert, key = tls_files(folder)
    add_accounts(folder)
    no_name = run_cli("serve", folder, "--host", "0.0.0.0", "--port", "8798", "--cert", cert,
                      "--key", key)
    assert no_name.code == 2 and "--server-name" in no_name.stderr
    assert "--cert" not in no_name.stderr and "users add" not in no_name.stderr
    missing = run_cli("serve", folder, "--host", "0.0.0.0", "--port", "8798", "--cert",
                      folder / "nope.crt", "--key", key, "--server-name", "x")
    assert missing.code == 2 and "nope.crt: file not found" in missing.stderr
    assert "Traceback" not in bare.output + no_name.output + missing.output


def test_office_mode_serves_tls_to_its_names_only(folder: Path) -> None:
    cert, key = tls_files(folder)
    add_accounts(folder)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        cli_argv("serve", folder, "--host", "0.0.0.0", "--port", str(port), "--cert", cert,
                 "--key", key, "--server-name", "letters.clinic.lan"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = process.stdout.readline()
        second = process.stdout.readline()
        assert "https://letters.clinic.lan:" in second and "token" not in first + second
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False  # the test reaches it by address, names it by Host
        with httpx.Client(verify=context) as client:
            url = f"https://127.0.0.1:{port}"
            ours = client.get(f"{url}/", headers={"Host": f"letters.clinic.lan:{port}"})
            assert ours.status_code == 303 and ours.headers["location"] == "/sign-in"
            other = client.get(f"{url}/", headers={"Host": f"127.0.0.1:{port}"})
            assert other.status_code == 403
            page = client.get(f"{url}/sign-in", headers={"Host": f"letters.clinic.lan:{port}"})
            assert "Secure" in page.headers["set-cookie"]
            assert page.headers["strict-transport-security"] == "max-age=31536000"
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "Traceback" not in process.stderr.read()
