"""Hostile outputs (issue 16, "never lose a file"): no command replaces one of its inputs, the
audit log or anything but a regular file; a batch never follows a planted link; private modes
whatever the umask; a full disk mid-batch loses nothing and says what was written."""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from coverage import pipeline
from coverage.batch import WRITTEN, run_batch, worker
from coverage.errors import OutputError
from coverage.files import sha256_file
from coverage.kinds import LetterKind

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TODAY = date(2026, 11, 20)


@pytest.fixture
def folder(tmp_path: Path, practice_into) -> Path:
    practice_into(tmp_path)
    shutil.copy(EXAMPLES / "crps-1.yaml", tmp_path / "case.yaml")
    return tmp_path


def _unchanged(path: Path):
    before = path.read_bytes()
    return lambda: path.read_bytes() == before


@pytest.mark.parametrize("target", ["case.yaml", "practice.yaml", "signature-dr-chen.png"])
def test_letter_refuses_to_write_over_one_of_its_inputs(folder, run_cli, target):
    profile = folder / "practice.yaml"
    profile.write_text(profile.read_text().replace("# signature_image:", "signature_image:"))
    shutil.copy(EXAMPLES / "signature-dr-chen.png", folder)
    path = folder / target
    assert path.exists()
    same = _unchanged(path)
    result = run_cli("letter", folder / "case.yaml", "-o", path)
    assert result.code == 2, result.output
    assert "nothing was written" in result.stderr and "Traceback" not in result.output
    assert same()


def test_letter_refuses_a_link_to_an_input_and_the_audit_log(folder, run_cli, audit_log):
    (folder / "link.pdf").symlink_to(folder / "case.yaml")
    same = _unchanged(folder / "case.yaml")
    assert run_cli("letter", folder / "case.yaml", "-o", folder / "link.pdf").code == 2
    assert same()
    assert run_cli("letter", folder / "case.yaml", "-o", folder / "first.pdf").code == 0
    history = _unchanged(audit_log)
    result = run_cli("letter", folder / "case.yaml", "-o", audit_log)
    assert result.code == 2 and "audit log" in result.stderr
    assert history()


def test_templates_and_signing_identity_are_protected(folder):
    inputs = pipeline.load_inputs(folder / "case.yaml")
    templates = folder / "templates"
    templates.mkdir()
    (folder / "dr.p12").write_bytes(b"identity")
    for path, protect in [(folder / "dr.p12", [("signing identity", folder / "dr.p12")]),
                          (templates / "lmn.xml.j2", [("templates folder", templates)])]:
        with pytest.raises(OutputError):
            pipeline.check_outputs([path], inputs, protect)
    assert (folder / "dr.p12").read_bytes() == b"identity"


def test_a_device_fifo_or_folder_is_never_an_output(folder, run_cli):
    fifo = folder / "pipe.pdf"
    os.mkfifo(fifo)
    (folder / "to-null.pdf").symlink_to("/dev/null")
    for target in (fifo, Path("/dev/null"), folder / "to-null.pdf", folder):
        result = run_cli("letter", folder / "case.yaml", "-o", target)
        assert result.code == 2, (target, result.output)
        assert "Traceback" not in result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.readlink(folder / "to-null.pdf") == "/dev/null"


def test_two_outputs_of_one_command_may_not_share_a_path(folder):
    inputs = pipeline.load_inputs(folder / "case.yaml")
    with pytest.raises(OutputError):
        pipeline.check_outputs([folder / "a.pdf", folder / "a.pdf"], inputs)


def test_a_damaged_audit_log_keeps_the_file_at_the_output_path(folder, run_cli, audit_log):
    audit_log.parent.mkdir(parents=True, exist_ok=True)
    audit_log.write_bytes(b"\0garbage" * 512)
    (folder / "out.pdf").write_bytes(b"the letter sent yesterday")
    result = run_cli("letter", folder / "case.yaml", "-o", folder / "out.pdf")
    assert result.code != 0 and "damaged" in result.stderr
    assert "Traceback" not in result.output
    assert (folder / "out.pdf").read_bytes() == b"the letter sent yesterday"


# --------------------------------------------------------------------------- batch


def _cases(folder: Path, practice_into, count: int = 3) -> Path:
    from tests.test_batch import case_data, write_case

    folder.mkdir(parents=True, exist_ok=True)
    practice_into(folder)
    for i in range(count):
        write_case(folder / f"c{i}.yaml", case_data(f"K-{i}", f"MEM00{i}"))
    return folder


def test_batch_replaces_a_planted_link_never_the_file_it_points_to(tmp_path, practice_into):
    cases = _cases(tmp_path / "cases", practice_into, 2)
    out = tmp_path / "out"
    run_batch(cases, out, today=TODAY, jobs=1)
    first, second = out / "K-0-lmn.pdf", out / "K-1-lmn.pdf"
    kept = second.read_bytes()
    first.unlink()
    first.symlink_to(second.name)  # one patient's letter name points at another's
    summary = run_batch(cases, out, today=TODAY, jobs=1)
    assert second.read_bytes() == kept
    assert not first.is_symlink() and first.is_file()
    rows = {r["case_file"]: r for r in json.loads((out / "report.json").read_text())["cases"]}
    assert rows["c0.yaml"]["output_sha256"] == sha256_file(first)
    assert rows["c1.yaml"]["output_sha256"] == sha256_file(second)
    assert {r.status for r in summary.results} <= {WRITTEN, "up_to_date"}


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o777])
def test_folders_and_lock_are_private_whatever_the_umask(tmp_path, practice_into, umask):
    cases = _cases(tmp_path / "cases", practice_into, 1)
    out = tmp_path / "new" / "letters"
    log = tmp_path / "state" / "audit.sqlite3"
    code = (f"import os, datetime; os.umask({umask}); from coverage.batch import run_batch; "
            f"os.environ['KETAMINE_LETTERS_AUDIT_LOG'] = {str(log)!r}; "
            f"run_batch({str(cases)!r}, {str(out)!r}, today=datetime.date(2026, 11, 20), "
            "jobs=1)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for made in (out, out.parent, log.parent):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700
    for private in (out / ".batch.lock", log, out / "K-0-lmn.pdf", out / "report.json"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private


def test_a_full_disk_mid_batch_keeps_letters_written_and_names_the_rest(
        tmp_path, practice_into, monkeypatch):
    cases = _cases(tmp_path / "cases", practice_into, 4)
    out = tmp_path / "out"
    real = worker.write_atomic
    calls = []

    def fill_up(path, data, *args, **kwargs):
        calls.append(path)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data, *args, **kwargs)

    monkeypatch.setattr(worker, "write_atomic", fill_up)
    summary = run_batch(cases, out, today=TODAY, jobs=1)
    statuses = [r.status for r in summary.results]
    assert statuses == [WRITTEN, WRITTEN, "failed", "failed"]
    assert all("No space left" in r.findings[0] for r in summary.results[2:])
    rows = json.loads((out / "report.json").read_text())["cases"]
    assert [r["status"] for r in rows] == statuses
    assert sorted(p.name for p in out.glob("*.pdf")) == ["K-0-lmn.pdf", "K-1-lmn.pdf"]


def test_a_file_size_limit_fails_letters_one_by_one_not_the_run(tmp_path, practice_into,
                                                                 cli_command):
    cases = _cases(tmp_path / "cases", practice_into, 2)
    out = tmp_path / "out"

    def limit() -> None:  # letters are ~60 KB; the report and manifest are smaller
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    done = subprocess.run(cli_command("batch", cases, "-o", out, "--jobs", "1", "--today",
                                      "2026-11-20"),
                          preexec_fn=limit, capture_output=True, text=True, timeout=120,
                          check=False)
    assert "Traceback" not in done.stderr
    assert done.returncode == 1, done.stderr
    rows = json.loads((out / "report.json").read_text())["cases"]
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert all("too large" in " ".join(r["findings"]).lower() for r in rows), rows
    assert list(out.glob("*.pdf")) == []


def test_when_even_the_report_cannot_be_written_the_console_says_what_was(
        tmp_path, practice_into, monkeypatch):
    from coverage.batch import report
    from coverage.errors import BatchError

    cases = _cases(tmp_path / "cases", practice_into, 2)
    out = tmp_path / "out"

    def no_room(path, data, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(report, "write_atomic", no_room)
    with pytest.raises(BatchError) as raised:
        run_batch(cases, out, today=TODAY, jobs=1)
    message = str(raised.value)
    assert "written by this run and complete: 2" in message
    assert "K-0-lmn.pdf" in message and "K-1-lmn.pdf" in message
    assert (out / "K-0-lmn.pdf").is_file()


def test_record_needs_nothing_but_the_pipeline(folder, audit_log):
    """The record step refuses before writing, whichever front end calls it."""
    inputs = pipeline.load_inputs(folder / "case.yaml")
    letter = pipeline.make_letter(inputs, TODAY)
    same = _unchanged(folder / "practice.yaml")
    with pytest.raises(OutputError):
        pipeline.record(pipeline.outputs_for(letter, {"pdf": folder / "practice.yaml"}),
                        inputs, command="lmn", kind=LetterKind.LMN)
    assert same()
    assert not audit_log.exists() or audit_log.stat().st_size >= 0


def test_sigkill_of_the_batch_leaves_no_worker_behind(tmp_path, cli_command):
    """Only the batch process is killed (not its group): its workers must die with it."""
    import signal
    import time

    from tests.test_batch import first_letter_staged, good_cases, start_batch_cli, wait_for

    cases = good_cases(tmp_path / "cases", 30)
    out = tmp_path / "letters"
    process = start_batch_cli(cli_command, cases, out)
    try:
        wait_for(first_letter_staged(out))
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)  # any process left in the batch's group
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("a worker of the killed batch is still running")
    finally:
        import contextlib

        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def test_a_damaged_pkcs12_is_not_called_a_wrong_password(folder):
    from datetime import UTC, datetime

    from coverage.errors import SigningError
    from coverage.signing import create_demo_identity, load_identity

    inputs = pipeline.load_inputs(folder / "case.yaml")
    p12 = create_demo_identity(inputs.physician, b"pw")
    now = datetime.now(UTC)
    with pytest.raises(SigningError, match="cut short"):
        load_identity(p12[: len(p12) // 2], b"pw", source="id.p12", now=now)
    with pytest.raises(SigningError, match="or the file is damaged"):
        load_identity(p12, b"not it", source="id.p12", now=now)


def test_demo_identity_never_replaces_the_case_or_profile(folder, run_cli):
    for target in ("case.yaml", "practice.yaml"):
        same = _unchanged(folder / target)
        result = run_cli("demo-identity", "--for-case", folder / "case.yaml", "-o",
                         folder / target, "--overwrite",
                         env={**os.environ, "KETAMINE_LETTERS_P12_PASSWORD": "pw"})
        assert result.code == 2 and "nothing was written" in result.stderr
        assert same()
