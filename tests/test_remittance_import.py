"""End to end: a folder of cases + an 835 -> import -> batch writes the appeals."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from coverage.batch import run_batch
from coverage.loading import load_case
from coverage.remittance.apply import STATE_FILE
from coverage.remittance.run import import_835

X12 = Path(__file__).parent / "data" / "x12"
DENIALS = X12 / "ketamine-denials.835"
TODAY = date(2027, 1, 20)


def _copy(examples: Path, name: str, target: Path, *, drop_denial=False, add: str = "") -> None:
    text = (examples / name).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^letter_date:.*\n", "", text)  # dated by the batch run instead
    if drop_denial:
        text = re.sub(r"(?m)^denial:\n(?:  .*\n)+", "", text)
    if add:
        text = text.replace("prescriber:", add + "prescriber:", 1)
    target.write_text(text, encoding="utf-8")


@pytest.fixture
def workspace(tmp_path: Path, examples_dir: Path, practice_into) -> Path:
    cases = tmp_path / "cases"
    cases.mkdir()
    practice_into(cases)
    _copy(examples_dir, "crps-1.yaml", cases / "crps-1.yaml")
    _copy(examples_dir, "appeals/frequency-limit.yaml", cases / "frequency.yaml",
          drop_denial=True)
    _copy(examples_dir, "pdpn.yaml", cases / "pdpn.yaml",
          add="claim_numbers: [ACCT-0463-01]   # billing system account\n")
    for name in ("phn.yaml", "fibromyalgia.yaml", "peripheral-neuropathy.yaml",
                 "crps-2.yaml"):
        _copy(examples_dir, name, cases / name)
    return cases


def _rows(summary) -> dict[str, object]:
    return {row.claim + "/" + row.payer_claim_number[-2:]: row for row in summary.rows}


def test_import_writes_denials_and_lists_the_rest(workspace: Path):
    before = {p.name: p.read_text() for p in workspace.glob("*.yaml")}
    summary = import_835([DENIALS], workspace, today=TODAY)
    assert summary.exit_code == 0 and summary.problems == []
    assert summary.skipped_claims == 2  # the office visit, and the routine paid infusion
    rows = _rows(summary)
    assert {k: r.action for k, r in rows.items()} == {
        "RPC-2026-0412/01": "denial_written",
        "RPC-2026-0412-A7/02": "denial_written",
        "ACCT-0463-01/03": "denial_written",
        "PX-99120/04": "list_for_staff",
        "RPC-2026-0478/05": "list_for_staff",
        "RPC-2026-0470/06": "patient_responsibility",
        "ZZ-000001/07": "no_matching_case",
        "UNLISTED-1/08": "several_matching_cases",
    }
    assert rows["PX-99120/04"].matched_case == "RPC-2026-0451"
    assert "member id and service dates" in rows["PX-99120/04"].note
    assert "RPC-2026-0412" in rows["UNLISTED-1/08"].note
    assert rows["RPC-2026-0412/01"].patient == "M.A."
    assert rows["RPC-2026-0412/01"].filing_deadline == "2027-07-14"  # ERISA: 180 days
    assert "CO-167" in rows["RPC-2026-0478/05"].codes

    crps = load_case(workspace / "crps-1.yaml").denial
    assert crps.reference == "CHP2701150001" and str(crps.denial_date) == "2027-01-15"
    assert crps.received_date == crps.denial_date
    assert [r.value for r in crps.reasons] == ["not_medically_necessary"]
    assert crps.carc_codes == ["CO-50"] and crps.rarc_codes == ["N386"]
    assert (str(crps.billed_amount), str(crps.paid_amount)) == ("970.0", "0.0")
    assert str(crps.service_from) == str(crps.service_to) == "2026-12-07"
    pdpn = load_case(workspace / "pdpn.yaml").denial
    assert pdpn.requested_action.value == "retro_authorization"
    assert [r.value for r in pdpn.reasons] == ["no_prior_authorization"]
    assert load_case(workspace / "frequency.yaml").denial.carc_codes == ["CO-151"]
    # the rest of each file is as it was, comments included; unmatched files untouched
    after = (workspace / "pdpn.yaml").read_text()
    assert after.startswith(before["pdpn.yaml"].rstrip("\n"))
    assert "# billing system account" in after
    assert "denial_date: 2027-01-15\n  received_date: 2027-01-15\n" in after  # no YAML aliases
    for name in ("phn.yaml", "fibromyalgia.yaml", "peripheral-neuropathy.yaml", "crps-2.yaml"):
        assert (workspace / name).read_text() == before[name]
    assert (workspace.parent / ".ketamine-letters" / STATE_FILE).is_file()
    assert oct((workspace / "crps-1.yaml").stat().st_mode & 0o777) == "0o600"

    report = run_batch(workspace, workspace.parent / "letters", kind="auto", jobs=1,
                       today=TODAY)
    letters = json.loads((workspace.parent / "letters" / "report.json").read_text())
    rows_by_id = {r["case_id"]: r for r in letters["cases"]}
    appeals = {cid for cid, r in rows_by_id.items() if r["kind"] == "appeal"}
    assert appeals == {"RPC-2026-0412", "RPC-2026-0412-A7"}
    # CO-197 (no authorization): a request for retroactive authorization, not an appeal
    retro = {cid for cid, r in rows_by_id.items() if r["kind"] == "retro_authorization"}
    assert retro == {"RPC-2026-0463"}
    assert rows_by_id["RPC-2026-0463"]["filing_deadline"]  # it still has a filing deadline
    for cid in appeals | retro:
        assert rows_by_id[cid]["status"] == "written", rows_by_id[cid]
    assert rows_by_id["RPC-2026-0412"]["filing_deadline"].startswith("2027-07-14")
    assert report.exit_code == 0


def test_second_import_is_idempotent_and_staff_edits_are_kept(workspace: Path):
    import_835([DENIALS], workspace, today=TODAY)
    again = _rows(import_835([DENIALS], workspace, today=TODAY))
    assert again["RPC-2026-0412/01"].action == "unchanged"
    path = workspace / "crps-1.yaml"
    edited = path.read_text().replace("  reasons: [not_medically_necessary]",
                                      "  reasons: [not_medically_necessary]  # checked by KB")
    assert edited != path.read_text()
    path.write_text(edited)
    third = _rows(import_835([DENIALS], workspace, today=TODAY))
    assert third["RPC-2026-0412/01"].action == "not_overwritten"
    assert "staff edited" in third["RPC-2026-0412/01"].note
    assert path.read_text() == edited


def test_a_denial_entered_by_staff_is_never_overwritten(workspace: Path, examples_dir: Path):
    _copy(examples_dir, "appeals/frequency-limit.yaml", workspace / "frequency.yaml")
    before = (workspace / "frequency.yaml").read_text()
    rows = _rows(import_835([DENIALS], workspace, today=TODAY))
    assert rows["RPC-2026-0412-A7/02"].action == "not_overwritten"
    assert (workspace / "frequency.yaml").read_text() == before


def test_dry_run_and_received_date(workspace: Path):
    before = {p.name: p.read_text() for p in workspace.glob("*.yaml")}
    rows = _rows(import_835([DENIALS], workspace, dry_run=True, today=TODAY))
    assert rows["RPC-2026-0412/01"].action == "would_write"
    assert {p.name: p.read_text() for p in workspace.glob("*.yaml")} == before
    assert not (workspace.parent / ".ketamine-letters").exists()
    import_835([DENIALS], workspace, received=date(2027, 1, 25), today=TODAY)
    denial = load_case(workspace / "crps-1.yaml").denial
    assert str(denial.received_date) == "2027-01-25" and str(denial.denial_date) == "2027-01-15"


def test_cli_bad_file_among_good_ones(workspace: Path, run_cli, tmp_path: Path):
    worklist = tmp_path / "out" / "worklist.csv"
    result = run_cli("import", "835", X12 / "bad-iea-count.835", DENIALS,
                     X12 / "ketamine-corrected-claim.835", "--cases", workspace,
                     "-o", worklist, "--today", "2027-01-20")
    assert result.code == 1, result.output
    assert "bad-iea-count.835: segment 74 (IEA): IEA counts 2 groups" in result.stderr
    assert "ALVAREZ" not in result.output
    rows = json.loads(worklist.with_suffix(".json").read_text())["rows"]
    corrected = next(r for r in rows if r["claim"] == "ZZ-000002")
    assert corrected["codes"] == ["CO-16"] and "Corrected claim" in corrected["next_step"]
    assert "ALVAREZ" not in worklist.read_text()


def test_cli_only_bad_input_changes_nothing(workspace: Path, run_cli, tmp_path: Path):
    before = {p.name: p.read_text() for p in workspace.glob("*.yaml")}
    result = run_cli("import", "835", X12 / "bad-truncated.835", "--cases", workspace,
                     "-o", tmp_path / "w.csv")
    assert result.code == 2
    assert result.stderr.strip().endswith("ends in the middle of a segment (truncated?)")
    assert {p.name: p.read_text() for p in workspace.glob("*.yaml")} == before


def test_old_case_files_still_load(examples_dir: Path):
    # schema 1 files (no claim_numbers, no new denial fields) load unchanged
    for path in [*examples_dir.glob("*.yaml"), *examples_dir.glob("appeals/*.yaml")]:
        if path.name != "practice.yaml":
            data = yaml.safe_load(path.read_text())
            assert "claim_numbers" not in data
            load_case(path)


def test_state_folder_for_a_folder_not_named_cases(tmp_path: Path, workspace: Path):
    other = tmp_path / "queue"
    shutil.copytree(workspace, other)
    import_835([DENIALS], other, today=TODAY)
    assert (other / ".ketamine-letters" / STATE_FILE).is_file()


def test_the_state_folder_is_owner_only(workspace: Path):
    import os

    old = os.umask(0)
    try:
        import_835([DENIALS], workspace, today=TODAY)
    finally:
        os.umask(old)
    state = workspace.parent / ".ketamine-letters"
    assert oct(state.stat().st_mode & 0o777) == "0o700"
