"""The command line with bad input: one clear line naming the file and the field, exit 2, no
traceback, and no PDF (nor a half-written temporary file) left behind. Plus the other commands'
happy paths: check, check --json, schema, new, --help."""

from __future__ import annotations

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from coverage.errors import InputError
from coverage.loading import load_case
from coverage.starter import STARTER_CONDITIONS, starter_case

TOP_LEVEL_FIELDS = {
    "case_id", "letter_date", "prescriber", "patient", "coverage", "diagnoses", "pain",
    "prior_therapies", "safety", "plan", "ketamine_response", "enclosures", "denial",
    "schema_version", "imported_from", "claim_numbers", "current_medications",
    "unrelated_diagnoses", "options_not_tried",
}  # fmt: skip


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """_set(data, "patient.weight_kg", 5); list items as numbers: "diagnoses.0.code"."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value


# --- bad input to `letter` ------------------------------------------------------------------
#
# Every scenario gets its own folder (case file, practice.yaml beside it) and runs
# `letter CASE -o out.pdf` in a fresh process. The processes of a module run side by side,
# one per CPU, because each pays for Python, pydantic and the ICD-10-CM code set.


@dataclass
class Refusal:
    folder: Path
    case: Path
    named_file: Path  # the file stderr must name
    needles: tuple[str, ...]  # what else stderr must say (field path, problem)
    before: set[str] = field(default_factory=set)
    result: Any = None  # conftest.CliResult once run

    @property
    def output(self) -> Path:
        return self.folder / "out.pdf"


def _crps1(examples_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((examples_dir / "crps-1.yaml").read_text(encoding="utf-8"))


def _changed(examples_dir: Path, path: str, value: Any) -> str:
    data = _crps1(examples_dir)
    _set(data, path, value)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _scenarios(examples_dir: Path) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """id -> (case file name, case file text, needles). The practice file is the example's."""
    crps1 = (examples_dir / "crps-1.yaml").read_text(encoding="utf-8")
    as_json = json.dumps(_crps1(examples_dir), default=str, indent=1)
    bad_dob = _crps1(examples_dir)
    bad_dob["patient"]["date_of_birth"] = "1984-02-30"
    scenarios = {
        name: ("case.yaml", _changed(examples_dir, path, value), tuple(needles))
        for name, path, value, needles in BAD_FIELDS
    }
    scenarios.update({
        "broken-yaml": (
            "case.yaml", "case_id: [unclosed\nprescriber: dr-chen\n", ("line 2", "not valid YAML")
        ),
        "broken-json": ("case.json", as_json[:-2] + ",\n}", ("line ", "not valid JSON")),
        "invalid-date-in-json": (
            "case.json", json.dumps(bad_dob, default=str),
            ("patient.date_of_birth", "not a valid date"),
        ),
        "invalid-unquoted-yaml-date": (
            "case.yaml", crps1.replace("letter_date: 2026-11-20", "letter_date: 2026-02-30"),
            ("letter_date",),
        ),
        "duplicate-key": (
            "case.yaml",
            crps1.replace("prescriber: dr-chen\n", "prescriber: dr-chen\nprescriber: x\n"),
            ("prescriber", "appears twice"),
        ),
        "bad-npi-in-practice": ("case.yaml", crps1, ("physicians[0].npi", "check digit")),
        # YAML 1.2 (ruamel.yaml): `yes` is text, and a true/false field says so
        "yes-for-true-false": (
            "case.yaml",
            crps1.replace("budapest_criteria_met: true", "budapest_criteria_met: yes"),
            ("diagnoses[0].budapest_criteria_met", "must be true or false"),
        ),
        "alias-bomb": ("case.yaml", crps1 + BILLION_LAUGHS, ("aliases (*name) would expand",)),
        "python-tag": (
            "case.yaml",
            crps1.replace("case_id: RPC-2026-0412", "case_id: !!python/object/apply:os.getpid []"),
            ("line 2, column 10", "tags such as '!!python/object/apply:os.getpid'"),
        ),
        "tab-indented": (
            "case.yaml", crps1.replace("\n  sex: female", "\n\tsex: female"),
            ("line ", "indent with spaces, not tabs"),
        ),
        "missing-file": ("nowhere.yaml", "", ("not found",)),
        "no-practice-profile": ("case.yaml", crps1, ("practice",)),
    })
    return scenarios


# (id, dotted path in the crps-1 case, new value, what stderr must name besides the file)
BAD_FIELDS = [
    ("wrong-type", "patient.weight_kg", "heavy", ["patient.weight_kg", "must be a number"]),
    ("unknown-field", "patient.weight_lbs", 150, ["patient.weight_lbs", "unknown field"]),
    ("quoted-invalid-date", "letter_date", "2026-02-30", ["letter_date", "not a valid date"]),
    ("non-billable-code", "diagnoses.0.code", "G90.5", ["diagnoses[0].code", "ICD_NOT_BILLABLE"]),
    ("unknown-code", "diagnoses.0.code", "G90.99", ["diagnoses[0].code", "ICD_UNKNOWN"]),
    ("oral-route", "plan.route", "oral", ["plan.route", "ROUTE_NOT_IV"]),
    ("fill-in-left", "coverage.payer_name", "FILL-IN", ["coverage.payer_name", "placeholder"]),
    ("unknown-prescriber", "prescriber", "dr-nobody", ["prescriber", "not in the practice"]),
    ("empty-diagnoses", "diagnoses", [], ["diagnoses", "at least 1"]),
    ("bad-icd-form", "diagnoses.0.code", "G90-521", ["diagnoses[0].code"]),
]
SCENARIO_IDS = [name for name, *_ in BAD_FIELDS] + [
    "broken-yaml", "broken-json", "invalid-date-in-json", "invalid-unquoted-yaml-date",
    "duplicate-key", "bad-npi-in-practice", "missing-file", "no-practice-profile",
    "yes-for-true-false", "alias-bomb", "python-tag", "tab-indented",
]  # fmt: skip
# a 1 KB "billion laughs": nine aliases of nine aliases... would expand to 387 million values
BILLION_LAUGHS = 'lol0: &lol0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]\n" for i in range(1, 9)
)
KNOWN_BUGS: dict[str, str] = {}


@pytest.fixture(scope="module")
def refusals(tmp_path_factory, examples_dir: Path, run_cli, practice_into) -> dict[str, Refusal]:
    root = tmp_path_factory.mktemp("refusals")
    env = {**os.environ, "KETAMINE_LETTERS_AUDIT_LOG": str(root / "audit.sqlite3")}
    refusals = {}
    for name, (file_name, text, needles) in _scenarios(examples_dir).items():
        folder = root / name / "deeper" if name == "no-practice-profile" else root / name
        folder.mkdir(parents=True)
        case = folder / file_name
        named = case
        if name != "missing-file":
            case.write_text(text, encoding="utf-8")
        if name != "no-practice-profile":
            practice = practice_into(folder)
        if name == "bad-npi-in-practice":
            good = practice.read_text(encoding="utf-8")
            practice.write_text(good.replace('"1234567893"', '"1234567890"'), encoding="utf-8")
            named = practice
        refusal = Refusal(folder, case, named, needles)
        refusal.before = {p.name for p in folder.iterdir()}
        refusals[name] = refusal

    def run(refusal: Refusal) -> None:
        refusal.result = run_cli("letter", refusal.case, "-o", refusal.output, env=env)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(run, refusals.values()))
    return refusals


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[n]))
        if n in KNOWN_BUGS else n
        for n in SCENARIO_IDS
    ],
)
def test_letter_refuses_bad_input(refusals: dict[str, Refusal], name: str) -> None:
    """Exit 2, the file and the field named on stderr, no traceback, nothing left on disk."""
    refusal = refusals[name]
    result = refusal.result
    assert result.code == 2, result
    assert "Traceback" not in result.output, result.output
    assert str(refusal.named_file) in result.stderr, result.stderr
    for needle in refusal.needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert not refusal.output.exists()
    assert {p.name for p in refusal.folder.iterdir()} == refusal.before, "a file was left behind"


def test_every_scenario_is_tested(examples_dir: Path) -> None:
    assert sorted(_scenarios(examples_dir)) == sorted(SCENARIO_IDS)


def test_letter_writes_a_private_pdf_and_an_audit_line(run_cli, tmp_path: Path, audit_log: Path,
                                                       examples_dir: Path) -> None:
    """The refusals above are meaningful: the same command with a good case writes the PDF."""
    output = tmp_path / "out" / "crps.pdf"
    result = run_cli("letter", examples_dir / "crps-1.yaml", "-o", output)
    assert result.code == 0, result
    assert output.read_bytes().startswith(b"%PDF-")
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o600
    assert [p.name for p in output.parent.iterdir()] == ["crps.pdf"]
    assert audit_log.exists()
    assert "wrote" in result.stdout and "DRAFT - NOT SIGNED" in result.stdout


# --- check and schema -----------------------------------------------------------------------
#
# Commands that only read: run side by side once per module, then checked one per test.

def _commands() -> list[str]:
    import typer.main

    import cli

    return sorted(typer.main.get_command(cli.app).commands)


READ_ONLY_RUNS: dict[str, tuple[str, ...]] = {
    "check-good": ("check", "examples/crps-1.yaml"),
    "check-oral": ("check", "examples/blocked-oral-route.yaml"),
    "check-json-oral": ("check", "--json", "examples/blocked-oral-route.yaml"),
    "check-json-fibromyalgia": ("check", "--json", "examples/fibromyalgia.yaml"),
    "check-bad-today": ("check", "examples/crps-1.yaml", "--today", "2026-13-01"),
    "schema": ("schema",),
    "help": ("--help",),
    **{f"help-{command}": (command, "--help") for command in _commands()},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, run_cli) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("runs")
    env = {**os.environ, "KETAMINE_LETTERS_AUDIT_LOG": str(root / "audit.sqlite3")}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = pool.map(lambda args: run_cli(*args, env=env), READ_ONLY_RUNS.values())
        return dict(zip(READ_ONLY_RUNS, results, strict=True))


def test_check_passes_a_good_example(runs) -> None:
    result = runs["check-good"]
    assert result.code == 0, result
    assert "ready: a letter can be written (0 blocking" in result.stdout
    assert "Traceback" not in result.output


def test_check_blocks_the_oral_example(runs) -> None:
    result = runs["check-oral"]
    assert result.code == 2, result
    assert "ROUTE_NOT_IV" in result.stdout and "plan.route" in result.stdout
    assert "BLOCKED" in result.stdout


def test_check_json_lists_findings(runs) -> None:
    result = runs["check-json-oral"]
    assert result.code == 2
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["condition"] == "crps-1"
    finding = payload["findings"][0]
    assert (finding["code"], finding["severity"], finding["field"]) == (
        "ROUTE_NOT_IV", "BLOCKING", "plan.route"
    )
    assert set(finding) == {"code", "severity", "field", "message"}


def test_check_json_on_a_good_weak_evidence_case(runs) -> None:
    result = runs["check-json-fibromyalgia"]
    assert result.code == 0
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert [(f["code"], f["severity"]) for f in payload["findings"]] == [
        ("WEAK_EVIDENCE", "ADVISORY"), ("CODE_SET_NOT_FOR_DATES", "ADVISORY")
    ]


def test_check_refuses_a_bad_today(runs) -> None:
    result = runs["check-bad-today"]
    assert result.code == 2
    assert "--today" in result.stderr
    assert "Traceback" not in result.output


def test_schema_prints_the_case_contract(runs) -> None:
    result = runs["schema"]
    assert result.code == 0
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) == TOP_LEVEL_FIELDS
    assert {"case_id", "prescriber", "patient", "coverage", "diagnoses", "plan"} <= set(
        schema["required"]
    )
    assert schema["additionalProperties"] is False
    from coverage.case import SCHEMA_VERSION

    assert schema["$comment"].endswith(f"schema version {SCHEMA_VERSION}")
    assert schema["properties"]["schema_version"]["default"] == SCHEMA_VERSION


def test_the_expected_commands_exist() -> None:
    assert {"check", "letter", "schema", "new"} <= set(_commands())


@pytest.mark.parametrize("command", [None, *_commands()])
def test_help_works(runs, command: str | None) -> None:
    result = runs["help" if command is None else f"help-{command}"]
    assert result.code == 0, result
    assert "Usage:" in result.stdout
    assert "Traceback" not in result.output
    if command is not None:
        assert command in result.stdout


# --- new ------------------------------------------------------------------------------------


def test_new_writes_a_starter_that_check_refuses(run_cli, tmp_path: Path, practice_into) -> None:
    practice_into(tmp_path)
    starter = tmp_path / "x.yaml"
    result = run_cli("new", "--condition", "crps", "-o", starter)
    assert result.code == 0, result
    assert "G90.521" in starter.read_text(encoding="utf-8")

    checked = run_cli("check", starter)
    assert checked.code == 2
    assert "Traceback" not in checked.output
    for path in ("case_id", "prescriber", "patient.name.given", "coverage.payer_name"):
        assert f"{starter}: {path}: still a placeholder" in checked.stderr, path

    original = starter.read_bytes()
    again = run_cli("new", "--condition", "pdpn", "-o", starter)
    assert again.code == 2
    assert "already exists" in again.stderr and "--overwrite" in again.stderr
    assert starter.read_bytes() == original

    replaced = run_cli("new", "--condition", "pdpn", "-o", starter, "--overwrite")
    assert replaced.code == 0
    assert "E11.42" in starter.read_text(encoding="utf-8")


def test_new_refuses_an_unknown_condition(run_cli, tmp_path: Path) -> None:
    result = run_cli("new", "--condition", "migraine", "-o", tmp_path / "x.yaml")
    assert result.code == 2
    assert "--condition" in result.stderr
    assert not (tmp_path / "x.yaml").exists()


@pytest.mark.parametrize("condition", sorted(STARTER_CONDITIONS))
def test_every_starter_is_refused_until_filled(tmp_path: Path, condition: str) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(starter_case(condition), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_case(path)
    problems = caught.value.problems
    assert problems and all("still a placeholder" in p.message for p in problems)
    fields = {p.field for p in problems}
    assert {"case_id", "prescriber", "patient.date_of_birth"} <= fields  # dates in round one


def _filled_starter(condition: str) -> str:
    """A starter where billing staff replaced every FILL-IN and YYYY-MM-DD, nothing else."""
    text = starter_case(condition)
    text = text.replace("case_id: FILL-IN", "case_id: T-1")
    text = text.replace("prescriber: FILL-IN", "prescriber: dr-chen")
    text = text.replace("date_of_birth: YYYY-MM-DD", "date_of_birth: 1970-01-01")
    text = text.replace("weight_kg: 0 ", "weight_kg: 70 ")
    text = text.replace("member_id: FILL-IN", "member_id: M1234567")
    text = text.replace("group_number: FILL-IN", "group_number: G-100")
    text = text.replace("payer_fax: FILL-IN", "payer_fax: (800) 555-0100")
    text = text.replace("YYYY-MM-DD", "2026-10-01")
    return text.replace("FILL-IN", "Filled in")


def test_starter_numeric_placeholders_are_refused(tmp_path: Path, practice_into) -> None:
    from coverage.pipeline import load_inputs, review

    practice_into(tmp_path)
    path = tmp_path / "case.yaml"
    path.write_text(_filled_starter("crps"), encoding="utf-8")
    try:
        result = review(load_inputs(path), date(2026, 11, 2))
    except InputError as exc:
        named = {p.field for p in exc.problems}
    else:
        assert not result.ok, "a starter with placeholder NDC and address passed check"
        named = {f.field for f in result.blocking}
    assert {"plan.ndc", "coverage.payer_address.state"} <= named


def test_a_misspelled_field_comes_first_with_the_field_it_probably_means(tmp_path,
                                                                        examples_dir):
    from coverage.errors import InputError
    from coverage.loading import load_case

    text = (examples_dir / "crps-1.yaml").read_text(encoding="utf-8")
    case = tmp_path / "case.yaml"
    case.write_text(text.replace("\npatient:", "\npatinet:"), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_case(case)
    assert caught.value.lines() == [
        f"{case}: patinet: unknown field; did you mean 'patient'?",
        f"{case}: patient: required field is missing",
    ]


def test_an_unclosed_brace_names_the_line_where_it_was_opened(tmp_path):
    from coverage.errors import InputError
    from coverage.loading import read_data

    case = tmp_path / "case.yaml"
    case.write_text("case_id: X\npatient:\n  name: {given: A, family: B\n  sex: female\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_data(case)
    (line,) = caught.value.lines()
    assert line.startswith(f"{case}: line 4, column 6: not valid YAML: ")
    assert line.endswith("(while parsing a flow mapping that starts on line 3)")


def test_a_case_written_back_by_the_yaml_module_is_checked_alike(run_cli, tmp_path: Path,
                                                                 examples_dir: Path,
                                                                 practice_into) -> None:
    """An importer's load_roundtrip -> change -> write_case_file keeps the case usable."""
    from coverage.yaml_files import load_roundtrip, write_case_file

    practice_into(tmp_path)
    source = examples_dir / "crps-1.yaml"
    data = load_roundtrip(source.read_text(encoding="utf-8"), str(source))
    data["patient"]["weight_kg"] = 70
    written = tmp_path / "case.yaml"
    write_case_file(written, data)
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600
    assert load_case(written).patient.weight_kg == 70
    result = run_cli("check", written)
    assert result.code == 0, result
    assert "ready: a letter can be written (0 blocking" in result.stdout
