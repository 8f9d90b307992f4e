"""The physician's workflow end to end through the CLI: identity, sign, verify, audit."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, run_cli) -> tuple[Path, dict[str, str]]:
    """A folder with a case, the practice profile, a demo identity and a signed letter."""
    folder = tmp_path_factory.mktemp("signing")
    for name in ("crps-1.yaml", "practice.yaml", "signature-dr-chen.png"):
        shutil.copy(EXAMPLES / name, folder / name)
    env = dict(os.environ)
    env["KETAMINE_LETTERS_AUDIT_LOG"] = str(folder / "audit.sqlite3")
    env["KETAMINE_LETTERS_P12_PASSWORD"] = PASSWORD
    made = run_cli("demo-identity", "--for-case", "crps-1.yaml", "-o", "dr.p12", env=env,
                   cwd=folder)
    assert made.returncode == 0, made.stderr
    signed = run_cli("sign", "crps-1.yaml", "--p12", "dr.p12", "-o", "signed.pdf", env=env,
                     cwd=folder)
    assert signed.returncode == 0, signed.stderr
    return folder, env


def test_signed_letter_verifies_and_has_no_watermark(workspace, run_cli) -> None:
    from pypdf import PdfReader

    folder, env = workspace
    result = run_cli("verify", "signed.pdf", env=env, cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact and unchanged" in result.stdout
    assert "Elena Chen, MD" in result.stdout and "1234567893" in result.stdout
    assert "self-signed" in result.stdout
    text = "\n".join(page.extract_text() for page in PdfReader(folder / "signed.pdf").pages)
    assert "DRAFT - NOT SIGNED" not in text
    assert "Digitally signed by Elena Chen, MD" in text


def test_draft_letter_is_not_signed(workspace, run_cli) -> None:
    folder, env = workspace
    made = run_cli("letter", "crps-1.yaml", "-o", "draft.pdf", env=env, cwd=folder)
    assert made.returncode == 0, made.stderr
    result = run_cli("verify", "draft.pdf", env=env, cwd=folder)
    assert result.returncode == 1
    assert "NOT SIGNED" in result.stdout


def test_files_with_patient_data_are_owner_only(workspace, run_cli) -> None:
    folder, _ = workspace
    for name in ("signed.pdf", "dr.p12", "audit.sqlite3"):
        mode = stat.S_IMODE((folder / name).stat().st_mode)
        assert mode == 0o600, f"{name}: {oct(mode)}"


def test_flipped_byte_is_detected(workspace, tmp_path: Path, run_cli) -> None:
    folder, env = workspace
    data = bytearray((folder / "signed.pdf").read_bytes())
    position = data.index(b"Maria Alvarez") if b"Maria Alvarez" in data else len(data) // 3
    data[position] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    result = run_cli("verify", str(tampered), env=env, cwd=folder)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout or "MODIFIED" in result.stdout


def test_incremental_update_is_detected(workspace, tmp_path: Path, run_cli) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    folder, env = workspace
    with open(folder / "signed.pdf", "rb") as handle:
        writer = IncrementalPdfFileWriter(handle)
        extra = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 100 Td (6 more) Tj ET")
        writer.add_stream_to_page(0, writer.add_object(extra))
        out = tmp_path / "updated.pdf"
        with open(out, "wb") as target:
            writer.write(target)
    result = run_cli("verify", str(out), env=env, cwd=folder)
    assert result.returncode == 1
    assert "CHANGED AFTER SIGNING" in result.stdout


def test_not_a_pdf_exits_2(workspace, tmp_path: Path, run_cli) -> None:
    folder, env = workspace
    junk = tmp_path / "notes.pdf"
    junk.write_text("these are not PDF bytes")
    result = run_cli("verify", str(junk), env=env, cwd=folder)
    assert result.returncode == 2
    assert "not a PDF" in result.stderr and "Traceback" not in result.stderr


def test_wrong_password_is_refused(workspace, tmp_path: Path, run_cli) -> None:
    folder, env = workspace
    bad = dict(env, KETAMINE_LETTERS_P12_PASSWORD="wrong")
    out = tmp_path / "x.pdf"
    result = run_cli("sign", "crps-1.yaml", "--p12", "dr.p12", "-o", str(out), env=bad, cwd=folder)
    assert result.returncode == 2
    assert "password" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_wrong_signer_is_refused(workspace, tmp_path: Path, run_cli) -> None:
    folder, env = workspace
    case = yaml.safe_load((folder / "crps-1.yaml").read_text())
    case["prescriber"] = "dr-okafor"
    other = folder / "okafor-case.yaml"
    other.write_text(yaml.safe_dump(case, sort_keys=False))
    out = tmp_path / "x.pdf"
    result = run_cli("sign", str(other), "--p12", "dr.p12", "-o", str(out), env=env, cwd=folder)
    assert result.returncode == 2
    assert "Elena Chen" in result.stderr and "Daniel Okafor" in result.stderr
    assert not out.exists()


def test_expired_certificate_is_refused(workspace, tmp_path: Path, run_cli) -> None:
    from datetime import UTC, datetime

    from coverage.loading import load_practice
    from coverage.signing import create_demo_identity, save_identity

    folder, env = workspace
    chen = load_practice(folder / "practice.yaml").physician("dr-chen")
    old = create_demo_identity(chen, PASSWORD.encode(), valid_days=30,
                               not_before=datetime(2025, 1, 1, tzinfo=UTC))
    save_identity(tmp_path / "old.p12", old)
    out = tmp_path / "x.pdf"
    result = run_cli("sign", "crps-1.yaml", "--p12", str(tmp_path / "old.p12"), "-o", str(out),
                 env=env, cwd=folder)
    assert result.returncode == 2
    assert "expired" in result.stderr and "2025-01-31" in result.stderr
    assert not out.exists()


def test_blocked_case_is_not_signed(workspace, tmp_path: Path, run_cli) -> None:
    folder, env = workspace
    case = yaml.safe_load((folder / "crps-1.yaml").read_text())
    case["plan"]["route"] = "intranasal"
    blocked = folder / "blocked.yaml"
    blocked.write_text(yaml.safe_dump(case, sort_keys=False))
    out = tmp_path / "x.pdf"
    result = run_cli("sign", str(blocked), "--p12", "dr.p12", "-o", str(out), env=env, cwd=folder)
    assert result.returncode == 2
    assert "ROUTE_NOT_IV" in result.stderr
    assert not out.exists()


def test_password_is_never_an_argument(run_cli) -> None:
    result = run_cli("sign", "--help")
    assert "--password" not in result.stdout


def test_audit_log_records_without_patient_names(workspace, run_cli) -> None:
    folder, env = workspace
    listing = run_cli("audit", env=env, cwd=folder)
    assert listing.returncode == 0
    assert "sign" in listing.stdout and "dr-chen NPI 1234567893" in listing.stdout
    assert run_cli("audit", "--check", "signed.pdf", env=env, cwd=folder).returncode == 0
    (folder / "stranger.pdf").write_bytes(b"%PDF-1.4 not one of ours")
    assert run_cli("audit", "--check", "stranger.pdf", env=env, cwd=folder).returncode == 1
    with sqlite3.connect(folder / "audit.sqlite3") as db:
        rows = db.execute("SELECT * FROM events").fetchall()
        dump = repr(rows)
        assert "Maria" not in dump and "Alvarez" not in dump and "XJH884512307" not in dump
        assert any(row[2] == "sign" for row in rows)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM events")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE events SET signer = 'someone else'")
