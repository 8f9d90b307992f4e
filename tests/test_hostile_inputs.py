"""Hostile inputs (issue 16, "never crash, never hang"): every one gets one clear message
naming the file (and field), exit 2, never a traceback and never a wait without end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coverage.batch import run_batch
from coverage.errors import InputError
from coverage.input_limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_LIST_ITEMS, MAX_TEXT_CHARS
from coverage.loading import read_data

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _refused(path: Path, needle: str) -> None:
    with pytest.raises(InputError) as raised:
        read_data(path)
    assert needle in str(raised.value), raised.value
    assert str(path) in str(raised.value)


def test_a_fifo_or_device_as_a_case_file_is_refused_at_once(tmp_path, run_cli, practice_into):
    practice_into(tmp_path)
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    for target in (fifo, Path("/dev/zero"), Path("/dev/null")):
        result = run_cli("check", target, "--practice", tmp_path / "practice.yaml")
        assert result.code == 2, result.output
        assert "not a regular file" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(("suffix", "body", "needle"), [
    (".yaml", "case_id: " + "9" * 5000 + "\n", "case_id"),  # digits stay text, then validated
    (".json", '{"case_id": ' + "9" * 5000 + "}", "longer than 30 digits"),
    (".json", "[" * 900 + "]" * 900, f"nested more than {MAX_DEPTH} deep"),
    (".yaml", "a:\n" + "".join("  " * i + "- \n" for i in range(1, 600)), "nested more than"),
    (".yaml", "x: [" + ",".join(["1"] * (MAX_LIST_ITEMS + 1)) + "]\n", "more than 1,000 items"),
    (".json", '{"x": "' + "a" * (MAX_TEXT_CHARS + 1) + '"}', "text longer than"),
    (".json", '{"a": 1, "a": 2}', "key 'a' appears twice"),
    (".json", '{"a": NaN}', "'NaN' is not a number"),
    (".yaml", "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}' if i > 1 else '*a'] * 9)}]\n"
        for i in range(1, 8)), "aliases"),
])
def test_case_file_limits(tmp_path, suffix, body, needle):
    path = tmp_path / f"case{suffix}"
    path.write_text(body, encoding="utf-8")
    if needle == "case_id":  # reading succeeds with text; the model then names the field
        assert isinstance(read_data(path)["case_id"], str)
        return
    _refused(path, needle)


def test_a_file_too_large_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "case.yaml"
    with open(path, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES * 50)  # sparse: 50 MB of nothing
    _refused(path, "larger than 1,000,000 bytes")


def test_huge_numbers_through_the_cli_are_one_message(tmp_path, run_cli, practice_into):
    practice_into(tmp_path)
    text = (EXAMPLES / "crps-1.yaml").read_text(encoding="utf-8")
    case = tmp_path / "case.yaml"
    case.write_text(text.replace("weight_kg: ", "weight_kg: " + "9" * 5000 + " #"),
                    encoding="utf-8")
    result = run_cli("check", case)
    assert result.code == 2 and "patient.weight_kg" in result.stderr
    assert "Traceback" not in result.output


def test_a_link_loop_in_a_cases_folder_fails_that_case_alone(tmp_path, practice_into):
    cases = tmp_path / "cases"
    cases.mkdir()
    practice_into(cases)
    shutil.copy(EXAMPLES / "crps-1.yaml", cases / "good.yaml")
    (cases / "loop-a.yaml").symlink_to("loop-b.yaml")
    (cases / "loop-b.yaml").symlink_to("loop-a.yaml")
    (cases / "self.yaml").symlink_to("self.yaml")
    from datetime import date

    summary = run_batch(cases, tmp_path / "out", today=date(2026, 11, 20), jobs=1)
    statuses = {r.case_file: r.status for r in summary.results}
    assert statuses == {"good.yaml": "written", "loop-a.yaml": "failed",
                        "loop-b.yaml": "failed", "self.yaml": "failed"}
    loop = next(r for r in summary.results if r.case_file == "self.yaml")
    assert "symbolic links" in loop.findings[0]


def test_closed_standard_input_when_a_password_is_needed(tmp_path, practice_into):
    practice_into(tmp_path)
    shutil.copy(EXAMPLES / "crps-1.yaml", tmp_path / "case.yaml")
    env = {k: v for k, v in os.environ.items() if k != "KETAMINE_LETTERS_P12_PASSWORD"}
    command = [sys.executable, str(ROOT / "cli.py"), "demo-identity", "--for-case",
               str(tmp_path / "case.yaml"), "-o", str(tmp_path / "id.p12")]
    done = subprocess.run(" ".join(f"'{c}'" for c in command) + " <&-", shell=True, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "no password" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "id.p12").exists()


def test_json_case_files_refuse_duplicate_keys_through_the_cli(tmp_path, run_cli,
                                                              practice_into):
    practice_into(tmp_path)
    data = json.dumps({"case_id": "A-1"})[:-1] + ', "case_id": "B-2"}'
    case = tmp_path / "case.json"
    case.write_text(data, encoding="utf-8")
    result = run_cli("check", case)
    assert result.code == 2 and "appears twice" in result.stderr
