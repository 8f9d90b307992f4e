"""The tamper-evident audit log (issue 16): a keyed hash chain, its key, `audit --verify`,
`audit --check` that trusts only what the chain vouches for, and damaged logs."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from coverage import audit, audit_verify

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def folder(tmp_path: Path, practice_into, run_cli, audit_log) -> Path:
    """Three letters written through the CLI, so three chained events."""
    practice_into(tmp_path)
    shutil.copy(EXAMPLES / "crps-1.yaml", tmp_path / "case.yaml")
    for name in ("a", "b", "c"):
        made = run_cli("letter", tmp_path / "case.yaml", "-o", tmp_path / f"{name}.pdf")
        assert made.code == 0, made.output
    return tmp_path


def _key_path(audit_log: Path) -> Path:
    return Path(os.environ["KETAMINE_LETTERS_AUDIT_KEY"])


def _tamper(log: Path, *statements: str) -> None:
    with sqlite3.connect(log) as db:
        db.execute("DROP TRIGGER IF EXISTS events_no_update")
        db.execute("DROP TRIGGER IF EXISTS events_no_delete")
        for statement in statements:
            db.execute(statement)


def test_every_event_is_chained_with_a_key_kept_outside_the_database(folder, audit_log):
    key_file = _key_path(audit_log)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = audit.load_key(key_file, create=False)
    recorded = audit.events(audit_log)
    assert len(recorded) == 3 and all(e.mac for e in recorded)
    assert key.hex() not in repr(recorded) and key.hex().encode() not in audit_log.read_bytes()
    report = audit_verify.verify_chain(audit_log, key)
    assert report.ok and report.verified == 3


def test_the_key_is_created_beside_the_practice_profile_by_default(tmp_path, practice_into,
                                                                   run_cli, monkeypatch):
    monkeypatch.delenv("KETAMINE_LETTERS_AUDIT_KEY")
    practice_into(tmp_path)
    shutil.copy(EXAMPLES / "crps-1.yaml", tmp_path / "case.yaml")
    assert run_cli("letter", tmp_path / "case.yaml", "-o", tmp_path / "a.pdf").code == 0
    key_file = tmp_path / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    verified = run_cli("audit", "--verify", "--practice", tmp_path / "practice.yaml")
    assert verified.code == 0, verified.output
    assert "1 event(s) verified" in verified.stdout


def test_verify_passes_an_intact_log(folder, run_cli, audit_log):
    result = run_cli("audit", "--verify")
    assert result.code == 0, result.output
    assert "chain intact" in result.stdout and "3 event(s) verified" in result.stdout


def test_deleting_an_event_is_named_as_a_missing_link(folder, run_cli, audit_log):
    _tamper(audit_log, "DELETE FROM events WHERE id = 2")
    result = run_cli("audit", "--verify")
    assert result.code == 1
    assert "events 2 to 2 are missing" in result.stdout


def test_changing_an_event_breaks_its_link(folder, run_cli, audit_log):
    _tamper(audit_log, "UPDATE events SET output_sha256 = '" + "0" * 64 + "' WHERE id = 2")
    result = run_cli("audit", "--verify")
    assert result.code == 1 and "event 2 does not match" in result.stdout


def test_a_forged_event_does_not_make_check_vouch_for_a_foreign_pdf(folder, run_cli,
                                                                       audit_log):
    foreign = folder / "foreign.pdf"
    foreign.write_bytes(b"%PDF-1.7 somebody else's letter")
    from coverage.files import sha256_file

    digest = sha256_file(foreign)
    last = audit.events(audit_log)[-1]
    for mac in ("NULL", "'" + "ab" * 32 + "'"):
        _tamper(audit_log, "DELETE FROM events WHERE id = 4",
                "INSERT INTO events (id, time, command, kind, case_sha256, output_sha256,"
                f" signer, tool_version, key_id, mac) VALUES (4, '{last.time}', 'sign', 'lmn',"
                f" '{last.case_sha256}', '{digest}', 'dr-chen NPI 1234567893',"
                f" '{last.tool_version}', '{last.key_id}', {mac})")
        checked = run_cli("audit", "--check", foreign)
        assert checked.code == 1, checked.output
        assert "NOT vouched for" in checked.stdout
        assert run_cli("audit", "--verify").code == 1
    assert run_cli("audit", "--check", folder / "a.pdf").code == 0


def test_a_log_from_before_the_chain_keeps_working_and_says_so(tmp_path, audit_log, run_cli,
                                                                practice_into):
    audit_log.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(audit_log) as db:  # the schema older versions wrote
        db.executescript(audit._SCHEMA)
        db.execute("INSERT INTO events (time, command, kind, case_sha256, output_sha256,"
                   " signer, tool_version) VALUES ('2026-01-01T00:00:00+00:00', 'lmn', 'lmn',"
                   " 'aa', 'bb', NULL, '0.1')")
    practice_into(tmp_path)
    shutil.copy(EXAMPLES / "crps-1.yaml", tmp_path / "case.yaml")
    assert run_cli("letter", tmp_path / "case.yaml", "-o", tmp_path / "a.pdf").code == 0
    result = run_cli("audit", "--verify")
    assert result.code == 0, result.output
    assert "1 event(s) were written before the log was keyed" in result.stdout
    assert "1 event(s) verified" in result.stdout


def _append(log: str, key_file: str, count: int) -> None:
    key = audit.load_key(Path(key_file))
    for n in range(count):
        audit.record(Path(log), audit.new_event("lmn", "lmn", "c" * 64, f"{n:064d}", None), key)


def test_appends_from_several_processes_extend_one_chain(tmp_path):
    log, key_file = tmp_path / "log.sqlite3", tmp_path / "audit.key"
    audit.load_key(key_file)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append, args=(str(log), str(key_file), 15))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    report = audit_verify.verify_chain(log, audit.load_key(key_file))
    assert report.ok and report.verified == 45


@pytest.mark.parametrize("damage", [b"not a database at all" * 40,
                                    b"SQLite format 3\0" + b"\xff" * 5000])
def test_a_damaged_log_is_named_for_audit_and_check(folder, run_cli, audit_log, damage):
    audit_log.write_bytes(damage)
    for args in (("audit",), ("audit", "--check", folder / "a.pdf"), ("audit", "--verify")):
        result = run_cli(*args)
        assert result.code == 1, (args, result.output)
        assert "damaged" in result.stderr and "Traceback" not in result.output


def test_a_damaged_key_is_not_used(folder, run_cli, audit_log):
    _key_path(audit_log).write_text("not a key\n")
    result = run_cli("letter", folder / "case.yaml", "-o", folder / "d.pdf")
    assert result.code == 1 and "is not an audit key" in result.stderr
    assert not (folder / "d.pdf").exists()


def test_a_signed_letter_records_the_chain_head_and_a_draft_does_not(folder, audit_log):
    from datetime import UTC, date, datetime

    from pypdf import PdfReader

    from coverage import pipeline
    from coverage.signing import create_demo_identity

    inputs = pipeline.load_inputs(folder / "case.yaml")
    head = audit.chain_head(audit_log)
    assert len(head) == 64
    identity = create_demo_identity(inputs.physician, b"pw")
    from coverage.signing import load_identity

    now = datetime.now(UTC).replace(microsecond=0)
    loaded = load_identity(identity, b"pw", source="id.p12", now=now)
    signed = pipeline.sign_letter(inputs, date(2026, 11, 20), pipeline.LetterKind.LMN, loaded,
                                  now)
    import io

    keywords = PdfReader(io.BytesIO(signed.pdf)).metadata["/Keywords"]
    assert f"audit chain head: {head[:32]}" in keywords
    draft = pipeline.make_letter(inputs, date(2026, 11, 20))
    assert "audit chain head" not in PdfReader(io.BytesIO(draft.pdf)).metadata["/Keywords"]


def test_check_sees_a_log_cut_back_past_a_signed_letter(folder, audit_log, run_cli):
    """Deleting the newest events keeps a valid chain; the head a signed letter recorded
    shows it."""
    from datetime import UTC, date, datetime

    from coverage import pipeline
    from coverage.signing import create_demo_identity, load_identity

    inputs = pipeline.load_inputs(folder / "case.yaml")
    now = datetime.now(UTC).replace(microsecond=0)
    identity = load_identity(create_demo_identity(inputs.physician, b"pw"), b"pw",
                             source="id.p12", now=now)
    letter = pipeline.sign_letter(inputs, date(2026, 11, 20), pipeline.LetterKind.LMN,
                                  identity, now)
    signed = folder / "signed.pdf"
    pipeline.record(pipeline.outputs_for(letter, {"pdf": signed}), inputs, command="sign",
                    kind=pipeline.LetterKind.LMN, signer="dr-chen NPI 1234567893")
    assert run_cli("audit", "--check", signed).code == 0
    _tamper(audit_log, "DELETE FROM events WHERE id >= 3")  # the head it saw, and itself
    assert run_cli("audit", "--verify").code == 0  # a shorter chain still verifies
    cut_back = run_cli("audit", "--check", signed)
    assert cut_back.code == 1 and "events before this letter were removed" in cut_back.stdout
