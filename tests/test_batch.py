"""Batches (coverage.batch): report, names, resume, interruption, path safety, parallelism."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import yaml

from coverage import batch
from coverage.audit import events
from coverage.batch import (
    BLOCKED,
    FAILED,
    NOT_RUN,
    UP_TO_DATE,
    WRITTEN,
    BatchSummary,
    CaseResult,
    assign_names,
    discover,
    inside,
    letter_name,
    path_digest,
    pool,
    read_report_csv,
    result_line,
    run_batch,
    safe_stem,
    worker,
)
from coverage.errors import InputError
from coverage.files import sha256_file
from coverage.loading import read_data

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 20)
NAMES = [("Maria", "Alvarez"), ("Thaddeus", "Quimby"), ("Oksana", "Verbytska"),
         ("Bartholomew", "Nakagawa-Smythe"), ("Ingrid", "Fjellheim"), ("Cosimo", "Benedetti")]


def case_data(case_id: str, member_id: str, name: tuple[str, str] = NAMES[0], **changes) -> dict:
    data = read_data(ROOT / "examples" / "crps-1.yaml")
    data["case_id"] = case_id
    data["patient"]["member_id"] = member_id
    data["patient"]["name"] = {"given": name[0], "family": name[1]}
    for key, value in changes.items():
        if key == "route":
            data["plan"]["route"] = value
        elif key == "nrs":
            data["pain"]["scores"][-1]["nrs"] = value
        else:
            data[key] = value
    return data


def write_case(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(data, default=str, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
    return path


def practice_into(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "practice.yaml"
    target.write_text((ROOT / "examples" / "practice.yaml").read_text(encoding="utf-8"),
                      encoding="utf-8")
    return target


@pytest.fixture
def mixed(tmp_path) -> Path:
    """Good, blocked, malformed and ignored files, in a folder with a sub-folder."""
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001", NAMES[0]))
    write_case(cases / "sub" / "b.yaml", case_data("B-2", "MEM002", NAMES[1]))
    write_case(cases / "sub" / "f.json", case_data("F-6", "MEM006", NAMES[5]))
    write_case(cases / "c.yaml", case_data("C-3", "MEM003", NAMES[2], route="oral"))
    (cases / "d.yaml").write_text("case_id: D-4\npatient: [unclosed\n", encoding="utf-8")
    write_case(cases / ".hidden.yaml", case_data("H-9", "MEM009", NAMES[3]))
    write_case(cases / ".git" / "x.yaml", case_data("H-8", "MEM008", NAMES[3]))
    (cases / "notes.txt").write_text("not a case", encoding="utf-8")
    return cases


def run(cases: Path, out: Path, **options) -> BatchSummary:
    options.setdefault("jobs", 1)
    return run_batch(cases, out, today=TODAY, **options)


def by_file(summary: BatchSummary) -> dict[str, CaseResult]:
    return {r.case_file: r for r in summary.results}


def report_json(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def pdfs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.pdf"))}


def assert_clean(out: Path) -> None:
    """No half-written or staged file anywhere in the output folder."""
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".part") or ".staging" in p.parts]
    assert leftovers == []
    assert not (out / ".staging").exists()


def assert_report_matches_disk(out: Path) -> list[dict]:
    rows = report_json(out)["cases"]
    listed = set()
    for row in rows:
        if row["status"] in (WRITTEN, UP_TO_DATE):
            path = out / row["output"]
            assert path.is_file(), row
            assert sha256_file(path) == row["output_sha256"]
            assert row["pages"] >= 1
            listed.add(row["output"])
        else:
            assert row["output"] is None and row["output_sha256"] is None
    assert set(pdfs(out)) == listed  # no PDF the report does not account for
    return rows


# ----------------------------------------------------------------------------- the report


def test_mixed_folder_gives_one_row_per_case_file_with_the_right_status(mixed, tmp_path):
    out = tmp_path / "letters"
    seen: list[tuple[str, int, int]] = []
    summary = run(mixed, out, on_result=lambda r, done, total: seen.append((r.status, done,
                                                                            total)))
    results = by_file(summary)
    assert list(results) == ["a.yaml", "c.yaml", "d.yaml", "sub/b.yaml", "sub/f.json"]
    assert [results[f].status for f in results] == [WRITTEN, BLOCKED, FAILED, WRITTEN, WRITTEN]
    assert [done for _, done, _ in seen] == [1, 2, 3, 4, 5]
    assert {total for _, _, total in seen} == {5}
    assert results["a.yaml"].output == "A-1-lmn.pdf"
    assert results["sub/b.yaml"].output == "B-2-lmn.pdf"
    assert results["sub/f.json"].output == "F-6-lmn.pdf"
    assert results["c.yaml"].case_id == "C-3" and results["c.yaml"].kind == "lmn"
    assert any(f.startswith("ROUTE_NOT_IV plan.route") for f in results["c.yaml"].findings)
    assert results["d.yaml"].case_id is None
    assert results["d.yaml"].findings[0].startswith("d.yaml: line ")
    assert "not valid YAML" in results["d.yaml"].findings[0]
    assert str(mixed) not in results["d.yaml"].findings[0]  # relative path, as in the report
    assert summary.counts == {WRITTEN: 3, UP_TO_DATE: 0, BLOCKED: 1, FAILED: 1, NOT_RUN: 0}
    assert summary.exit_code == 1
    assert not summary.interrupted
    assert_report_matches_disk(out)
    assert_clean(out)


def test_csv_and_json_reports_agree_and_hold_no_patient_name(mixed, tmp_path):
    out = tmp_path / "letters"
    run(mixed, out)
    rows = report_json(out)["cases"]
    assert read_report_csv(out / "report.csv") == rows
    assert report_json(out)["counts"] == {WRITTEN: 3, UP_TO_DATE: 0, BLOCKED: 1, FAILED: 1,
                                          NOT_RUN: 0}
    assert [r["case_file"] for r in rows] == ["a.yaml", "c.yaml", "d.yaml", "sub/b.yaml",
                                              "sub/f.json"]
    for name in ("report.csv", "report.json", ".manifest.json"):
        text = (out / name).read_text(encoding="utf-8")
        for given, family in NAMES:
            assert given not in text and family not in text, (name, given, family)
        assert "1984-06-12" not in text  # nor the date of birth
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    for pdf in out.glob("*.pdf"):
        assert stat.S_IMODE(pdf.stat().st_mode) == 0o600


def test_reports_name_the_rule_and_field_never_a_value_of_the_case(tmp_path):
    """A blocked case's findings quote its dose and dates on screen; the reports do not."""
    cases = tmp_path / "cases"
    practice_into(cases)
    data = case_data("V-1", "MEM010", NAMES[4])
    data["plan"]["dose_mg_per_kg"] = 2.75
    data["pain"]["scores"][-1]["date"] = date(2027, 3, 14)
    write_case(cases / "v.yaml", data)
    out = tmp_path / "letters"
    (result,) = run(cases, out).results
    assert result.status == BLOCKED
    assert "DOSE_OUT_OF_BOUNDS plan.dose_mg_per_kg: the dose is outside the practice protocol" \
        in result.findings
    assert any(f.startswith("DATE_IN_FUTURE pain.scores[") for f in result.findings)
    for name in ("report.csv", "report.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert "DOSE_OUT_OF_BOUNDS" in text
        for value in ("2.75", "2027-03-14", "03/14/2027", "March 14, 2027"):
            assert value not in text, (name, value)


def test_every_letter_written_is_in_the_audit_log(mixed, tmp_path, audit_log):
    out = tmp_path / "letters"
    summary = run(mixed, out)
    logged = [e for e in events(audit_log) if e.command == "batch"]
    written = [r for r in summary.results if r.status == WRITTEN]
    assert sorted(e.output_sha256 for e in logged) == sorted(r.output_sha256 for r in written)
    assert sorted(e.case_sha256 for e in logged) == sorted(
        sha256_file(mixed / r.case_file) for r in written
    )
    assert {e.kind for e in logged} == {"lmn"}


def test_csv_cells_never_read_as_formulas():
    rows = [{"case_file": "=HYPERLINK(1).yaml", "case_id": None, "kind": None,
             "status": FAILED, "filing_deadline": None, "findings": ["-bad", "fine"],
             "output": None,
             "output_sha256": None, "pages": None, "note": ""}]
    text = batch.report_csv_bytes(rows).decode("utf-8")
    assert "'=HYPERLINK(1).yaml" in text and "'-bad | fine" in text


# ----------------------------------------------------------------------------- names


def test_shared_case_ids_get_distinct_deterministic_names(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "x" / "one.yaml", case_data("DUP-1", "MEM101", NAMES[0]))
    write_case(cases / "y" / "one.yaml", case_data("DUP-1", "MEM102", NAMES[1]))
    write_case(cases / "z.yaml", case_data("dup-1", "MEM103", NAMES[2]))  # differs in case only
    write_case(cases / "solo.yaml", case_data("SOLO-1", "MEM104", NAMES[3]))
    out = tmp_path / "letters"
    results = by_file(run(cases, out))
    assert results["solo.yaml"].output == "SOLO-1-lmn.pdf" and results["solo.yaml"].note == ""
    expected = {
        "x/one.yaml": f"DUP-1-lmn-{path_digest('x/one.yaml')}.pdf",
        "y/one.yaml": f"DUP-1-lmn-{path_digest('y/one.yaml')}.pdf",
        "z.yaml": f"dup-1-lmn-{path_digest('z.yaml')}.pdf",
    }
    for case_file, name in expected.items():
        assert results[case_file].status == WRITTEN
        assert results[case_file].output == name
        assert "case_id shared with 2 other case file(s)" in results[case_file].note
    assert "y/one.yaml" in results["x/one.yaml"].note
    files = pdfs(out)
    assert len(files) == 4 and len(set(files.values())) == 4  # nothing overwritten
    assert_report_matches_disk(out)
    rows = {r["case_file"]: r for r in read_report_csv(out / "report.csv")}
    assert "case_id shared" in rows["z.yaml"]["note"]

    # the twin goes away: the remaining letter takes the plain name without being rendered
    (cases / "y" / "one.yaml").unlink()
    (cases / "z.yaml").unlink()
    again = by_file(run(cases, out))
    assert again["x/one.yaml"].status == UP_TO_DATE
    assert again["x/one.yaml"].output == "DUP-1-lmn.pdf" and again["x/one.yaml"].note == ""
    assert (out / "DUP-1-lmn.pdf").read_bytes() == files[expected["x/one.yaml"]]
    assert not (out / expected["x/one.yaml"]).exists()
    # letters of case files no longer in the folder stay where they were
    assert set(pdfs(out)) == {"DUP-1-lmn.pdf", "SOLO-1-lmn.pdf", expected["y/one.yaml"],
                              expected["z.yaml"]}


def test_assign_names_does_not_depend_on_result_order():
    results = [
        CaseResult("b.yaml", WRITTEN, case_id="X", kind="lmn"),
        CaseResult("a.yaml", WRITTEN, case_id="X", kind="lmn"),
        CaseResult("c.yaml", WRITTEN, case_id="X", kind="appeal"),
        CaseResult("d.yaml", FAILED),
    ]
    forward = assign_names(results)
    assert forward == assign_names(list(reversed(results)))
    assert forward["c.yaml"] == ("X-appeal.pdf", "")
    assert forward["a.yaml"][0] == f"X-lmn-{path_digest('a.yaml')}.pdf"
    assert "d.yaml" not in forward
    by_member = assign_names([CaseResult("m.yaml", WRITTEN, case_id=None, kind="lmn",
                                         stem=safe_stem(None, "AB/12"))])
    assert by_member == {"m.yaml": ("AB_12-lmn.pdf", "")}


# ----------------------------------------------------------------------------- path safety


@pytest.mark.parametrize("name", ["../x.pdf", "sub/x.pdf", "/etc/x.pdf", "..", ".", ""])
def test_inside_refuses_anything_but_a_plain_name(tmp_path, name):
    with pytest.raises(ValueError):
        inside(tmp_path, name)


def test_inside_accepts_a_plain_name(tmp_path):
    assert inside(tmp_path, "A-1-lmn.pdf") == tmp_path.resolve() / "A-1-lmn.pdf"


@pytest.mark.parametrize("stem", ["../evil", "a/b", ".hidden", "", "x" * 65, "a b", "é"])
def test_letter_names_come_only_from_safe_stems(stem):
    with pytest.raises(ValueError):
        letter_name(stem, "lmn")


def test_letter_name_refuses_unknown_kinds_and_suffixes():
    with pytest.raises(ValueError):
        letter_name("A-1", "../lmn")
    with pytest.raises(ValueError):
        letter_name("A-1", "lmn", "../x")
    assert letter_name("A-1", "appeal", "0123abcdef") == "A-1-appeal-0123abcdef.pdf"


def test_safe_stem_falls_back_to_a_sanitised_member_id():
    assert safe_stem("RPC-2026-0412", "M/1") == "RPC-2026-0412"
    assert safe_stem("../../etc/passwd", "AB/../12") == "AB_.._12"
    assert "/" not in safe_stem(None, "../../x")
    with pytest.raises(ValueError):
        safe_stem("../x", "///")


def test_a_hostile_case_id_writes_nothing_outside_the_output_folder(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "evil.yaml", case_data("../../escaped", "MEM1", NAMES[0]))
    write_case(cases / "evil2.yaml", case_data("x/../../escaped", "../../MEM2", NAMES[1]))
    write_case(cases / "ok.yaml", case_data("OK-1", "MEM3", NAMES[2]))
    out = tmp_path / "letters"
    results = by_file(run(cases, out))
    assert results["evil.yaml"].status == FAILED
    assert any("case_id" in line for line in results["evil.yaml"].findings)
    assert results["evil2.yaml"].status == FAILED
    assert results["ok.yaml"].status == WRITTEN
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.pdf")) == [
        "letters/OK-1-lmn.pdf"
    ]


# ----------------------------------------------------------------------------- resume


def test_second_run_skips_letters_that_are_up_to_date(mixed, tmp_path, audit_log):
    out = tmp_path / "letters"
    run(mixed, out)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*.pdf")}
    logged = len(events(audit_log))
    seen: list[str] = []
    again = run(mixed, out, on_result=lambda r, done, total: seen.append(r.status))
    results = by_file(again)
    assert [results[f].status for f in results] == [UP_TO_DATE, BLOCKED, FAILED, UP_TO_DATE,
                                                    UP_TO_DATE]
    assert sorted(seen) == sorted(r.status for r in again.results)
    assert again.counts[WRITTEN] == 0
    assert again.exit_code == 1  # the blocked and the failed case are still there
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*.pdf")}
    assert after == before
    assert len(events(audit_log)) == logged  # nothing new written, nothing new logged
    assert results["a.yaml"].output_sha256 == sha256_file(out / "A-1-lmn.pdf")
    assert_report_matches_disk(out)


def test_a_changed_case_is_the_only_one_rendered_again(mixed, tmp_path):
    out = tmp_path / "letters"
    first = by_file(run(mixed, out))
    write_case(mixed / "sub" / "b.yaml", case_data("B-2", "MEM002", NAMES[1], nrs=9))
    again = by_file(run(mixed, out))
    assert again["sub/b.yaml"].status == WRITTEN
    assert again["sub/b.yaml"].output_sha256 != first["sub/b.yaml"].output_sha256
    assert again["a.yaml"].status == UP_TO_DATE
    assert again["sub/f.json"].status == UP_TO_DATE
    assert_report_matches_disk(out)


def test_force_renders_everything_again_to_the_same_bytes(mixed, tmp_path):
    out = tmp_path / "letters"
    run(mixed, out)
    before = pdfs(out)
    again = run(mixed, out, force=True)
    assert again.counts[WRITTEN] == 3 and again.counts[UP_TO_DATE] == 0
    assert pdfs(out) == before


def test_a_missing_or_altered_letter_or_a_new_practice_profile_is_rebuilt(mixed, tmp_path):
    out = tmp_path / "letters"
    run(mixed, out)
    (out / "A-1-lmn.pdf").unlink()
    (out / "B-2-lmn.pdf").write_bytes(b"%PDF-1.4 edited by hand")
    results = by_file(run(mixed, out))
    assert results["a.yaml"].status == WRITTEN
    assert results["sub/b.yaml"].status == WRITTEN
    assert results["sub/f.json"].status == UP_TO_DATE
    assert_report_matches_disk(out)
    practice = mixed / "practice.yaml"
    practice.write_text(practice.read_text(encoding="utf-8").replace("(503) 555-0142",
                                                                     "(503) 555-0199"),
                        encoding="utf-8")
    assert run(mixed, out).counts[WRITTEN] == 3


def test_manifest_records_hashes_kind_and_tool_version(mixed, tmp_path):
    out = tmp_path / "letters"
    run(mixed, out)
    manifest = json.loads((out / ".manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == 1
    entry = manifest["cases"]["a.yaml"]
    assert entry["case_sha256"] == sha256_file(mixed / "a.yaml")
    assert entry["practice_sha256"] == sha256_file(mixed / "practice.yaml")
    assert entry["output"] == "A-1-lmn.pdf"
    assert entry["output_sha256"] == sha256_file(out / "A-1-lmn.pdf")
    assert (entry["kind"], entry["requested_kind"]) == ("lmn", "auto")
    assert entry["tool_version"]
    assert set(manifest["cases"]) == {"a.yaml", "sub/b.yaml", "sub/f.json"}


# ----------------------------------------------------------------------------- interruption


def good_cases(folder: Path, count: int) -> Path:
    practice_into(folder)
    for i in range(count):
        write_case(folder / f"case-{i:02d}.yaml",
                   case_data(f"K-{i:02d}", f"MEM{i:03d}", NAMES[i % len(NAMES)]))
    return folder


@pytest.mark.parametrize(("jobs", "count"), [(1, 6), (2, 40)])
def test_ctrl_c_keeps_finished_letters_and_reports_the_rest_as_not_run(tmp_path, jobs, count):
    cases = good_cases(tmp_path / "cases", count)
    out = tmp_path / "letters"

    told: list[str] = []

    def stop_after_two(result, done, total):
        told.append(result.case_file)
        if done == 2:
            raise KeyboardInterrupt

    summary = run(cases, out, jobs=jobs, on_result=stop_after_two)
    assert summary.interrupted and summary.exit_code == 130
    counts = summary.counts
    # every case the report says was done was also shown, once, as it was settled
    assert sorted(told) == sorted(r.case_file for r in summary.results if r.status != NOT_RUN)
    assert counts[WRITTEN] >= 2 and counts[NOT_RUN] >= 1
    assert counts[WRITTEN] + counts[NOT_RUN] == count
    if jobs == 1:
        assert counts == {WRITTEN: 2, UP_TO_DATE: 0, BLOCKED: 0, FAILED: 0, NOT_RUN: 4}
    rows = assert_report_matches_disk(out)
    assert len(rows) == count
    assert report_json(out)["interrupted"] is True
    assert read_report_csv(out / "report.csv") == rows
    assert_clean(out)
    assert any("not run" in line for line in summary.summary_lines())

    resumed = run(cases, out, jobs=jobs)
    assert resumed.counts[UP_TO_DATE] == counts[WRITTEN]
    assert resumed.counts[WRITTEN] == counts[NOT_RUN]
    assert resumed.exit_code == 0
    assert_report_matches_disk(out)
    assert_clean(out)


def test_a_staging_folder_left_by_a_killed_run_is_cleared(tmp_path):
    cases = good_cases(tmp_path / "cases", 1)
    out = tmp_path / "letters"
    (out / ".staging").mkdir(parents=True)
    (out / ".staging" / ".x.pdf.abc.part").write_bytes(b"half")
    assert run(cases, out).counts[WRITTEN] == 1
    assert_clean(out)


# ----------------------------------------------------------------------------- parallelism


def test_one_and_two_workers_give_byte_identical_letters(mixed, tmp_path):
    one = run(mixed, tmp_path / "one", jobs=1)
    two = run(mixed, tmp_path / "two", jobs=2)
    assert two.jobs == 2
    assert pdfs(tmp_path / "one") == pdfs(tmp_path / "two")
    assert len(pdfs(tmp_path / "one")) == 3
    assert [r.report_row() for r in one.results] == [r.report_row() for r in two.results]
    assert len(two.worker_peak_rss_kb) >= 1
    assert all(kb > 0 for kb in two.worker_peak_rss_kb.values())
    assert all(pid != os.getpid() for pid in two.worker_peak_rss_kb)


# ----------------------------------------------------------------------------- kinds


DENIAL = {
    "denial_date": date(2026, 11, 2),
    "received_date": date(2026, 11, 5),
    "reference": "CLM-2026-77",
    "service_denied": "Intravenous ketamine infusion",
    "reasons": ["experimental"],
}


def test_auto_chooses_an_appeal_when_the_case_has_a_denial(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "denied.yaml", case_data("DEN-1", "MEM1", NAMES[0], denial=DENIAL))
    write_case(cases / "plain.yaml", case_data("PLN-1", "MEM2", NAMES[1]))
    summary = run(cases, tmp_path / "auto")
    results = by_file(summary)
    assert results["denied.yaml"].kind == "appeal"
    assert results["denied.yaml"].status == WRITTEN
    assert results["denied.yaml"].output == "DEN-1-appeal.pdf"
    assert results["plain.yaml"].kind == "lmn"
    forced = by_file(run(cases, tmp_path / "lmn", kind="lmn"))
    assert forced["denied.yaml"].kind == "lmn"
    assert forced["denied.yaml"].status == WRITTEN
    assert forced["denied.yaml"].output == "DEN-1-lmn.pdf"


def test_the_report_gives_each_appeal_its_filing_deadline(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "denied.yaml", case_data("DEN-1", "MEM1", NAMES[0], denial=DENIAL))
    write_case(cases / "plain.yaml", case_data("PLN-1", "MEM2", NAMES[1]))
    out = tmp_path / "letters"
    summary = run(cases, out)
    rows = {row["case_file"]: row for row in report_json(out)["cases"]}
    # employer plan (ERISA): 180 days from receipt of the notice, 2026-11-05
    assert rows["denied.yaml"]["filing_deadline"] == "2027-05-04"
    assert rows["plain.yaml"]["filing_deadline"] is None
    assert read_report_csv(out / "report.csv") == report_json(out)["cases"]
    assert "  earliest appeal filing deadline: 2027-05-04 (denied.yaml)" in (
        summary.summary_lines())
    again = by_file(run(cases, out))  # up to date: the date comes back from the manifest
    assert again["denied.yaml"].status == UP_TO_DATE
    assert again["denied.yaml"].filing_deadline == "2027-05-04"


def test_advisory_findings_are_reported_in_words(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001", denial=DENIAL))
    results = by_file(run(cases, tmp_path / "letters"))
    assert results["a.yaml"].status == WRITTEN
    assert results["a.yaml"].findings, "the example appeal has advisory findings"
    for line in results["a.yaml"].findings:
        code, rest = line.split(" ", 1)
        assert code.isupper() and ": " in rest and len(rest.split(": ", 1)[1]) > 10, line


def test_a_letter_of_another_kind_is_not_up_to_date(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "plain.yaml", case_data("PLN-1", "MEM2", NAMES[1]))
    out = tmp_path / "letters"
    run(cases, out, kind="lmn")
    assert run(cases, out, kind="auto").counts[UP_TO_DATE] == 0  # auto never chose for it
    assert run(cases, out, kind="auto").counts[UP_TO_DATE] == 1
    assert run(cases, out, kind="lmn").counts[UP_TO_DATE] == 1  # same letter, same kind
    assert run(cases, out, kind="appeal").counts[UP_TO_DATE] == 0


# ----------------------------------------------------------------------------- arguments


def test_bad_arguments_are_input_errors(tmp_path, mixed):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    practice_into(tmp_path / "only-practice")
    bad = [
        dict(cases_dir=tmp_path / "missing", out_dir=tmp_path / "o"),
        dict(cases_dir=a_file, out_dir=tmp_path / "o"),
        dict(cases_dir=mixed, out_dir=a_file),
        dict(cases_dir=empty, out_dir=tmp_path / "o"),
        dict(cases_dir=tmp_path / "only-practice", out_dir=tmp_path / "o"),
        dict(cases_dir=mixed, out_dir=tmp_path / "o", jobs=0),
        dict(cases_dir=mixed, out_dir=tmp_path / "o", kind="fax"),
        dict(cases_dir=mixed, out_dir=mixed),
        dict(cases_dir=mixed, out_dir=tmp_path / "o", practice=tmp_path / "nope.yaml"),
    ]
    for arguments in bad:
        with pytest.raises(InputError) as caught:
            run_batch(today=TODAY, **arguments)
        assert caught.value.exit_code == 2
        assert caught.value.lines()


def test_an_output_folder_inside_the_case_folder_is_not_read_as_cases(mixed):
    out = mixed / "letters"
    first = run(mixed, out)
    again = run(mixed, out)
    assert [r.case_file for r in again.results] == [r.case_file for r in first.results]


def test_an_explicit_practice_profile_is_used_and_not_read_as_a_case(tmp_path):
    cases = tmp_path / "cases"
    write_case(cases / "a.yaml", case_data("A-1", "MEM1", NAMES[0]))
    profile = practice_into(cases / "profiles")
    profile = profile.rename(cases / "profiles" / "clinic.yaml")
    summary = run(cases, tmp_path / "letters", practice=profile)
    assert [(r.case_file, r.status) for r in summary.results] == [("a.yaml", WRITTEN)]


def test_a_case_without_a_practice_profile_fails_alone(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases / "clinic")
    write_case(cases / "clinic" / "a.yaml", case_data("A-1", "MEM1", NAMES[0]))
    write_case(cases / "deep" / "er" / "b.yaml", case_data("B-1", "MEM2", NAMES[1]))
    results = by_file(run(cases, tmp_path / "letters"))
    assert results["clinic/a.yaml"].status == WRITTEN
    assert results["deep/er/b.yaml"].status == FAILED
    assert "no practice profile" in results["deep/er/b.yaml"].findings[0]


# ----------------------------------------------------------------------------- summary


def summary_of(*statuses: str, interrupted: bool = False) -> BatchSummary:
    results = [CaseResult(f"{i}.yaml", s) for i, s in enumerate(statuses)]
    return BatchSummary(results, Path("cases"), Path("letters"), "auto", 2, 4.0,
                        interrupted=interrupted)


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ((WRITTEN, UP_TO_DATE), 0),
        ((UP_TO_DATE,), 0),
        ((WRITTEN, BLOCKED), 1),
        ((WRITTEN, FAILED), 1),
        ((WRITTEN, NOT_RUN), 1),
    ],
)
def test_exit_code_rule(statuses, code):
    assert summary_of(*statuses).exit_code == code


def test_interrupted_exit_code_and_summary_lines():
    summary = summary_of(WRITTEN, WRITTEN, BLOCKED, NOT_RUN, interrupted=True)
    assert summary.exit_code == 130
    text = "\n".join(summary.summary_lines())
    assert "interrupted after 4.0 s: 4 case file(s)" in text
    assert "0.5 letters/s" in text
    assert str(Path("letters") / "report.csv") in text
    lines = summary_of(WRITTEN).summary_lines()
    assert not any("not run" in line for line in lines)


def test_result_line_names_the_case_file_and_first_problem():
    result = CaseResult("sub/c.yaml", BLOCKED, case_id="C-3", kind="lmn",
                        findings=("ROUTE_NOT_IV plan.route: refused", "X y: z"))
    line = result_line(result, 7, 120)
    assert line.startswith("[  7/120] blocked")
    assert "sub/c.yaml (C-3, lmn): ROUTE_NOT_IV plan.route: refused (+1 more)" in line


def test_an_audit_log_that_cannot_be_opened_stops_the_run_before_any_letter(
        mixed, tmp_path, monkeypatch):
    from coverage.audit import AuditError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log's folder should be", encoding="utf-8")
    monkeypatch.setenv("KETAMINE_LETTERS_AUDIT_LOG", str(blocker / "audit.sqlite3"))
    out = tmp_path / "letters"
    with pytest.raises(AuditError, match="audit log cannot be opened"):
        run(mixed, out, jobs=2)
    assert pdfs(out) == {}
    report = report_json(out)
    assert report["error"].startswith("nothing was made: ")
    assert {row["status"] for row in report["cases"]} == {NOT_RUN}
    assert_clean(out)


def test_an_audit_log_that_fails_during_the_run_keeps_no_letter(mixed, tmp_path,
                                                                monkeypatch):
    from coverage import audit

    def refuse(path, new_events, key=None):
        raise audit.AuditError(f"{path}: could not record the event (disk I/O error)")

    monkeypatch.setattr(audit, "record_many", refuse)
    out = tmp_path / "letters"
    summary = run(mixed, out, jobs=1)
    results = by_file(summary)
    for name in ("a.yaml", "sub/b.yaml", "sub/f.json"):
        assert results[name].status == FAILED
        assert results[name].findings[0] == f"{name}: letter not kept, the audit log failed:"
        assert "could not record the event" in results[name].findings[1]
    assert results["c.yaml"].status == BLOCKED
    assert pdfs(out) == {}
    assert summary.exit_code == 1
    assert_report_matches_disk(out)
    assert_clean(out)


def test_a_bad_practice_profile_beside_the_cases_is_said_once(mixed, run_cli, tmp_path):
    profile = mixed / "practice.yaml"
    profile.write_text(profile.read_text(encoding="utf-8").replace('"1234567893"',
                                                                   '"1234567890"'),
                       encoding="utf-8")
    out = tmp_path / "letters"
    result = run_cli("batch", mixed, "-o", out, "--jobs", "2")
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    npi_lines = [line for line in result.stderr.splitlines() if "npi" in line.lower()]
    assert len(npi_lines) == 1 and "check digit" in npi_lines[0], result.stderr
    assert pdfs(out) == {}


def test_one_bad_profile_fails_only_its_own_cases(mixed, tmp_path):
    other = mixed / "other-clinic"
    profile = practice_into(other)
    profile.write_text(profile.read_text(encoding="utf-8").replace('"1234567893"',
                                                                   '"1234567890"'),
                       encoding="utf-8")
    write_case(other / "e.yaml", case_data("E-5", "MEM005", NAMES[4]))
    out = tmp_path / "letters"
    results = by_file(run(mixed, out, jobs=2))
    assert results["other-clinic/e.yaml"].status == FAILED
    assert results["other-clinic/e.yaml"].findings[0] == (
        "other-clinic/e.yaml: its practice profile (or the audit log it names) cannot be "
        "used:")
    assert "other-clinic/practice.yaml" in results["other-clinic/e.yaml"].findings[1]
    assert results["a.yaml"].status == WRITTEN
    assert_report_matches_disk(out)


class _BrokenPool:
    """A process pool whose workers die: the first chunks fail, later submits are refused."""

    def __init__(self, *args, **kwargs) -> None:
        self.submitted = 0

    def submit(self, function, *args):
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        self.submitted += 1
        if self.submitted > 2:
            raise BrokenProcessPool("a child process terminated abruptly")
        future: Future = Future()
        future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
        return future

    def shutdown(self, wait=True, cancel_futures=False) -> None:
        pass


def test_a_worker_that_dies_ends_the_run_with_a_report_not_a_traceback(tmp_path, monkeypatch):
    cases = tmp_path / "cases"
    practice_into(cases)
    for i in range(12):
        write_case(cases / f"c{i:02d}.yaml", case_data(f"C-{i}", f"MEM{i:03d}"))
    monkeypatch.setattr(pool, "ProcessPoolExecutor", _BrokenPool)
    monkeypatch.setattr(discover, "usable_cores", lambda: 2)  # a pool even on a 1-core machine
    out = tmp_path / "letters"
    summary = run(cases, out, jobs=2)
    statuses = [r.status for r in summary.results]
    assert WRITTEN not in statuses
    assert FAILED in statuses and NOT_RUN in statuses  # sent and lost; never sent
    assert summary.error == "a worker process stopped unexpectedly (out of memory?)"
    assert "  stopped early: a worker process stopped unexpectedly (out of memory?)" in (
        summary.summary_lines())
    assert summary.exit_code == 1
    assert_report_matches_disk(out)
    assert_clean(out)


def test_a_new_code_set_release_in_place_of_the_old_makes_letters_again(tmp_path):
    """The profile names its ICD-10-CM file; replacing that file's contents is a change."""
    from coverage.codes import load_code_set

    cases = tmp_path / "cases"
    profile = practice_into(cases)
    profile.write_text(profile.read_text(encoding="utf-8") + "icd10cm_tabular: codes.xml\n",
                       encoding="utf-8")
    official = Path(load_code_set().source).read_text(encoding="utf-8")
    (cases / "codes.xml").write_text(official, encoding="utf-8")
    write_case(cases / "a.yaml", case_data("A-1", "MEM001"))
    out = tmp_path / "letters"
    assert [r.status for r in run(cases, out).results] == [WRITTEN]
    assert [r.status for r in run(cases, out).results] == [UP_TO_DATE]
    newer = official.replace("<version>2026</version>", "<version>2027</version>", 1)
    (cases / "codes.xml").write_text(newer, encoding="utf-8")
    assert [r.status for r in run(cases, out).results] == [WRITTEN]
    manifest = json.loads((out / ".manifest.json").read_text(encoding="utf-8"))
    assert manifest["cases"]["a.yaml"]["code_set_sha256"] == sha256_file(cases / "codes.xml")
    assert [r.status for r in run(cases, out).results] == [UP_TO_DATE]


def test_an_earlier_letter_is_withdrawn_when_its_case_is_now_blocked_or_broken(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001"))
    write_case(cases / "b.yaml", case_data("B-2", "MEM002"))
    write_case(cases / "c.yaml", case_data("C-3", "MEM003"))
    out = tmp_path / "letters"
    run(cases, out)
    earlier = pdfs(out)
    assert set(earlier) == {"A-1-lmn.pdf", "B-2-lmn.pdf", "C-3-lmn.pdf"}
    write_case(cases / "a.yaml", case_data("A-1", "MEM001", route="oral"))  # now blocked
    (cases / "b.yaml").write_text("case_id: B-2\npatient: [unclosed\n", encoding="utf-8")
    summary = run(cases, out)
    results = by_file(summary)
    assert [results[f].status for f in ("a.yaml", "b.yaml", "c.yaml")] == [BLOCKED, FAILED,
                                                                           UP_TO_DATE]
    assert set(pdfs(out)) == {"C-3-lmn.pdf"}
    withdrawn = {p.name: p.read_bytes() for p in (out / "withdrawn").iterdir()}
    assert withdrawn == {"A-1-lmn.pdf": earlier["A-1-lmn.pdf"],
                         "B-2-lmn.pdf": earlier["B-2-lmn.pdf"]}  # the practice keeps its copy
    assert results["a.yaml"].note == ("earlier letter moved to withdrawn/A-1-lmn.pdf: this case "
                                      "makes no letter now; do not send it")
    assert results["b.yaml"].note.startswith("earlier letter moved to withdrawn/B-2-lmn.pdf")
    assert any("2 earlier letter(s) no longer stand" in line for line in summary.summary_lines())
    manifest = json.loads((out / ".manifest.json").read_text(encoding="utf-8"))["cases"]
    assert set(manifest) == {"c.yaml"}
    assert_report_matches_disk(out)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001"))  # fixed: written again
    assert by_file(run(cases, out))["a.yaml"].status == WRITTEN
    assert "A-1-lmn.pdf" in pdfs(out)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001", route="nasal"))  # blocked again
    run(cases, out)
    assert {p.name for p in (out / "withdrawn").iterdir()} == {
        "A-1-lmn.pdf", "A-1-lmn-2.pdf", "B-2-lmn.pdf"}  # no earlier copy overwritten


def test_asking_for_another_kind_never_withdraws_a_letter(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "plain.yaml", case_data("PLN-1", "MEM1"))
    out = tmp_path / "letters"
    run(cases, out)
    summary = run(cases, out, kind="appeal")  # no denial: blocked as an appeal
    assert by_file(summary)["plain.yaml"].status == BLOCKED
    assert by_file(summary)["plain.yaml"].note == ""
    assert set(pdfs(out)) == {"PLN-1-lmn.pdf"}
    assert not (out / "withdrawn").exists()


def test_a_failure_that_is_not_the_case_files_fault_keeps_the_earlier_letter(tmp_path,
                                                                              monkeypatch):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001"))
    out = tmp_path / "letters"
    run(cases, out)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001", nrs=8))  # changed, still valid
    monkeypatch.setattr(worker, "write_atomic", _failing_write(worker.write_atomic))
    summary = run(cases, out)  # the new letter cannot be saved: disk full
    assert by_file(summary)["a.yaml"].status == FAILED
    assert by_file(summary)["a.yaml"].note == ""
    assert set(pdfs(out)) == {"A-1-lmn.pdf"}
    assert not (out / "withdrawn").exists()


def _failing_write(real):
    def write(path, data, *args, **kwargs):
        if path.suffix == ".pdf":
            raise OSError(28, "No space left on device")
        return real(path, data, *args, **kwargs)
    return write


def test_a_letter_dated_by_its_run_is_made_again_on_a_later_day(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    undated = case_data("U-1", "MEM001")
    del undated["letter_date"]
    write_case(cases / "undated.yaml", undated)
    write_case(cases / "dated.yaml", case_data("D-2", "MEM002"))  # letter_date: 2026-11-20
    out = tmp_path / "letters"

    def statuses(today: date) -> dict[str, tuple[str, str | None]]:
        summary = run_batch(cases, out, today=today, jobs=1)
        return {r.case_file: (r.status, r.letter_date) for r in summary.results}

    assert statuses(date(2026, 11, 23)) == {"dated.yaml": (WRITTEN, "2026-11-20"),
                                            "undated.yaml": (WRITTEN, "2026-11-23")}
    assert statuses(date(2026, 11, 23)) == {"dated.yaml": (UP_TO_DATE, "2026-11-20"),
                                            "undated.yaml": (UP_TO_DATE, "2026-11-23")}
    assert statuses(date(2026, 11, 24)) == {"dated.yaml": (UP_TO_DATE, "2026-11-20"),
                                            "undated.yaml": (WRITTEN, "2026-11-24")}


def start_batch_cli(cli_command, cases: Path, out: Path, stderr=subprocess.PIPE
                    ) -> subprocess.Popen:
    """`ketamine-letters batch` with two workers, in a process group of its own to signal."""
    return subprocess.Popen(
        cli_command("batch", cases, "-o", out, "--jobs", "2", "--today", "2026-11-20"),
        stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True,
    )


def first_letter_staged(out: Path) -> Callable[[], bool]:
    return lambda: any((out / ".staging").glob("*.pdf"))


def wait_for(ready: Callable[[], bool], seconds: float = 120, every: float = 0.02,
             meanwhile: Callable[[], None] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not ready() and time.monotonic() < deadline:
        if meanwhile is not None:
            meanwhile()
        time.sleep(every)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_kill_or_a_closed_terminal_ends_the_run_like_ctrl_c(tmp_path, signal_name, cli_command):
    """The whole process group gets the signal, as from `kill -TERM -pgid` or a hang-up."""
    cases = good_cases(tmp_path / "cases", 40)
    out = tmp_path / "letters"
    process = start_batch_cli(cli_command, cases, out)
    wait_for(first_letter_staged(out))
    os.killpg(process.pid, getattr(signal, signal_name))
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert "Batch interrupted after" in stdout
    report = report_json(out)
    assert report["interrupted"] is True
    assert report["counts"][WRITTEN] >= 1 and report["counts"][NOT_RUN] >= 1
    assert_report_matches_disk(out)
    assert_clean(out)


def test_jobs_never_exceed_the_cores(tmp_path, monkeypatch):
    monkeypatch.setattr(discover, "usable_cores", lambda: 2)
    cases = good_cases(tmp_path / "cases", 3)
    assert run(cases, tmp_path / "letters", jobs=500).jobs == 2


def test_a_case_that_fails_validation_still_shows_its_case_id(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    data = case_data("TYPO-7", "MEM007")
    data["patient"]["weight_kg"] = "heavy"
    write_case(cases / "typo.yaml", data)
    write_case(cases / "hostile.yaml", {**data, "case_id": "../../etc/passwd"})
    results = by_file(run(cases, tmp_path / "letters"))
    assert results["typo.yaml"].status == FAILED
    assert results["typo.yaml"].case_id == "TYPO-7"
    assert results["typo.yaml"].findings == (
        "typo.yaml: patient.weight_kg: must be a number",)
    assert results["hostile.yaml"].status == FAILED
    assert results["hostile.yaml"].case_id is None  # only a safe case_id is repeated


def test_ctrl_c_while_the_workers_start_never_reads_as_a_crashed_worker(tmp_path, cli_command):

    cases = good_cases(tmp_path / "cases", 12)
    out = tmp_path / "letters"
    process = start_batch_cli(cli_command, cases, out)
    wait_for((out / ".staging").exists, seconds=60, every=0.005)
    time.sleep(0.05)  # the pool is starting its workers
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode in (0, 130), stdout + stderr
    assert "stopped unexpectedly" not in stdout + stderr
    assert "Traceback" not in stderr
    assert_report_matches_disk(out)
    assert_clean(out)


def test_a_hang_up_with_the_progress_bar_showing_still_reports_the_run(tmp_path, cli_command):
    """The progress bar is drawn on a terminal; a hang-up means that terminal is gone."""
    import pty

    cases = good_cases(tmp_path / "cases", 40)
    out = tmp_path / "letters"
    terminal, terminal_side = pty.openpty()
    process = start_batch_cli(cli_command, cases, out, stderr=terminal_side)
    os.close(terminal_side)

    def drain() -> None:  # keep the terminal drained, as a real one is
        with contextlib.suppress(OSError):
            os.read(terminal, 65536)

    wait_for(first_letter_staged(out), meanwhile=drain)
    os.close(terminal)  # the window is closed...
    os.killpg(process.pid, signal.SIGHUP)  # ...and everything in it gets the hang-up
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 130, stdout
    report = report_json(out)
    assert report["interrupted"] is True and report["counts"][WRITTEN] >= 1
    assert_report_matches_disk(out)
    assert_clean(out)


def test_a_case_that_now_calls_for_an_appeal_withdraws_its_earlier_lmn(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001"))
    out = tmp_path / "letters"
    run(cases, out)
    lmn = pdfs(out)["A-1-lmn.pdf"]
    write_case(cases / "a.yaml", case_data("A-1", "MEM001", denial=DENIAL))  # denied since
    result = by_file(run(cases, out))["a.yaml"]
    assert (result.status, result.kind, result.output) == (WRITTEN, "appeal", "A-1-appeal.pdf")
    assert result.note == ("earlier letter moved to withdrawn/A-1-lmn.pdf: this case now calls "
                           "for an appeal; do not send it")
    assert set(pdfs(out)) == {"A-1-appeal.pdf"}
    assert (out / "withdrawn" / "A-1-lmn.pdf").read_bytes() == lmn
    assert_report_matches_disk(out)


def test_asking_for_each_kind_by_name_keeps_both_letters(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001", denial=DENIAL))
    out = tmp_path / "letters"
    run(cases, out, kind="lmn")
    run(cases, out, kind="appeal")
    assert set(pdfs(out)) == {"A-1-lmn.pdf", "A-1-appeal.pdf"}
    assert not (out / "withdrawn").exists()


def test_a_withdrawal_that_cannot_be_done_is_said(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    write_case(cases / "a.yaml", case_data("A-1", "MEM001"))
    out = tmp_path / "letters"
    run(cases, out)
    (out / "withdrawn").write_text("a file in the way", encoding="utf-8")
    write_case(cases / "a.yaml", case_data("A-1", "MEM001", route="oral"))
    summary = run(cases, out)
    note = by_file(summary)["a.yaml"].note
    assert note.startswith("earlier letter A-1-lmn.pdf could not be moved to withdrawn/ (")
    assert note.endswith("this case makes no letter now: do not send it")
    assert any("1 earlier letter(s) no longer stand" in line for line in summary.summary_lines())
    # the next run tries again
    (out / "withdrawn").unlink()
    assert by_file(run(cases, out))["a.yaml"].note.startswith("earlier letter moved to withdrawn/")


def test_ctrl_c_pressed_again_and_again_still_ends_cleanly(tmp_path, cli_command):

    cases = good_cases(tmp_path / "cases", 40)
    out = tmp_path / "letters"
    process = start_batch_cli(cli_command, cases, out)
    try:
        wait_for(first_letter_staged(out))
        for _ in range(4):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            time.sleep(0.1)
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 130, stdout + stderr
        assert "Traceback" not in stderr
        deadline = time.monotonic() + 20  # no worker outlives the run
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("a process of the batch is still running")
    finally:  # should this regress, leave no worker behind (they ignore all but SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert_report_matches_disk(out)
    assert_clean(out)


# ----------------------------------------------------------------------------- formats


def test_each_case_is_written_in_every_format_asked_for(mixed, tmp_path, audit_log):
    out = tmp_path / "out"
    summary = run(mixed, out, formats=("pdf", "txt"))
    written = [r for r in summary.results if r.status == WRITTEN]
    assert {r.output for r in written} == {"A-1-lmn.pdf", "B-2-lmn.pdf", "F-6-lmn.pdf"}
    for result in written:
        text = out / result.output.replace(".pdf", ".txt")
        assert sha256_file(text) == result.extra_sha256[0]
        assert "DRAFT - NOT SIGNED" in text.read_text(encoding="utf-8")
        assert [name for name, _ in result.files()] == [result.output, text.name]
    rows = {row["case_file"]: row for row in report_json(out)["cases"]}
    assert rows["a.yaml"]["other_outputs"] == ["A-1-lmn.txt"]
    assert rows["c.yaml"]["other_outputs"] == []
    logged = {e.output_sha256 for e in events(audit_log)}
    assert logged == {d for r in written for d in (r.output_sha256, *r.extra_sha256)}
    assert_clean(out)
    again = by_file(run(mixed, out, formats=("pdf", "txt")))
    assert again["a.yaml"].status == UP_TO_DATE
    assert again["a.yaml"].files() == by_file(summary)["a.yaml"].files()
    (out / "A-1-lmn.txt").write_text("edited by hand", encoding="utf-8")
    assert by_file(run(mixed, out, formats=("pdf", "txt")))["a.yaml"].status == WRITTEN
    assert by_file(run(mixed, out))["a.yaml"].status == WRITTEN  # pdf only: made again


def test_formats_no_longer_made_are_withdrawn_not_left_beside_the_new_letter(mixed, tmp_path):
    out = tmp_path / "out"
    first = by_file(run(mixed, out, formats=("pdf", "docx", "txt")))["a.yaml"]
    old_docx = (out / "A-1-lmn.docx").read_bytes()
    data = case_data("A-1", "MEM001", NAMES[0])
    data["plan"]["infusions"] = 5
    write_case(mixed / "a.yaml", data)
    again = by_file(run(mixed, out))["a.yaml"]
    assert again.status == WRITTEN and again.output_sha256 != first.output_sha256
    assert not (out / "A-1-lmn.docx").exists() and not (out / "A-1-lmn.txt").exists()
    assert (out / "withdrawn" / "A-1-lmn.docx").read_bytes() == old_docx
    assert (out / "withdrawn" / "A-1-lmn.txt").is_file()
    assert "A-1-lmn.docx moved to withdrawn/A-1-lmn.docx" in again.note
    others = by_file(run(mixed, out))  # nothing left to withdraw the second time
    assert others["a.yaml"].status == UP_TO_DATE and not others["a.yaml"].note
    assert_report_matches_disk(out)


def test_a_word_only_batch_names_its_files_by_case_id(mixed, tmp_path):
    out = tmp_path / "out"
    summary = by_file(run(mixed, out, formats=("docx",)))
    assert summary["a.yaml"].output == "A-1-lmn.docx"
    assert (out / "A-1-lmn.docx").read_bytes()[:2] == b"PK"
    assert not list(out.glob("*.pdf"))


def test_an_appeal_up_to_date_is_reviewed_again_once_its_deadline_has_passed(tmp_path):
    cases = tmp_path / "cases"
    practice_into(cases)
    shutil.copy(ROOT / "examples" / "appeals" / "experimental.yaml", cases / "exp.yaml")
    out = tmp_path / "out"
    first = by_file(run_batch(cases, out, jobs=1, today=date(2026, 11, 30)))
    assert first["exp.yaml"].status == WRITTEN and first["exp.yaml"].filing_deadline
    same_day = by_file(run_batch(cases, out, jobs=1, today=date(2026, 11, 30)))
    assert same_day["exp.yaml"].status == UP_TO_DATE
    late = by_file(run_batch(cases, out, jobs=1, today=date(2027, 9, 1)))["exp.yaml"]
    assert late.status == BLOCKED
    assert any("APPEAL_PAST_DEADLINE" in f for f in late.findings)
    assert (out / "withdrawn" / "RPC-2026-0412-A2-appeal.pdf").exists()
    assert "moved to withdrawn/" in late.note


def test_a_clinic_template_folder_is_used_and_a_change_in_it_makes_letters_again(mixed,
                                                                                 tmp_path):
    templates = tmp_path / "clinic-templates"
    (templates / "partials").mkdir(parents=True)
    closing = (ROOT / "templates" / "partials" / "closing.xml.j2").read_text(encoding="utf-8")
    (templates / "partials" / "closing.xml.j2").write_text(closing, encoding="utf-8")
    out = tmp_path / "out"
    first = by_file(run(mixed, out, templates=templates))
    assert first["a.yaml"].status == WRITTEN
    assert by_file(run(mixed, out, templates=templates))["a.yaml"].status == UP_TO_DATE
    (templates / "partials" / "closing.xml.j2").write_text(
        closing.replace("<signature/>", "<p>Our clinic's own closing line.</p><signature/>"),
        encoding="utf-8")
    again = by_file(run(mixed, out, templates=templates))["a.yaml"]
    assert again.status == WRITTEN
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(out / again.output).pages)
    assert "Our clinic's own closing line." in " ".join(text.split())
