"""`import fhir`: real Synthea bundles nobody here wrote, our own US Core bundles, bad input.

Expected values are read from the bundles with plain json here, never through the mapper.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from coverage.codes import load_code_set
from coverage.errors import InputError
from coverage.fhir.case_file import import_fhir
from coverage.loading import load_case, load_practice, read_data, unfilled_fields
from coverage.yaml_files import load_roundtrip, write_case_file

DATA = Path(__file__).parent / "data" / "fhir"
SYNTHEA = sorted(p for p in DATA.glob("*_*-*.json"))
TODAY = date(2026, 11, 30)


def _import(tmp_path: Path, *sources: Path, practice: Path | None = None) -> tuple[dict, Any]:
    out = tmp_path / "case.yaml"
    prof = load_practice(practice) if practice else None
    summary = import_fhir(list(sources), out, prof, load_code_set(), TODAY)
    return read_data(out), summary


def _resources(path: Path, kind: str) -> list[dict]:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _loinc(resource: dict) -> set[str]:
    return {c.get("code") for c in resource.get("code", {}).get("coding", [])}


def test_five_synthea_bundles_are_copied_with_their_licence() -> None:
    assert len(SYNTHEA) == 5
    assert (DATA / "LICENSE-generated-sample-data").is_file()


@pytest.mark.parametrize("bundle", SYNTHEA, ids=lambda p: p.name.split("_")[0])
def test_synthea_bundle_maps_to_its_own_values(tmp_path: Path, bundle: Path) -> None:
    case, summary = _import(tmp_path, bundle)
    patient = _resources(bundle, "Patient")[0]
    assert case["patient"]["date_of_birth"] == date.fromisoformat(patient["birthDate"])
    assert case["patient"]["sex"] == patient["gender"]
    official = patient["name"][0]
    assert case["patient"]["name"] == {"given": " ".join(official["given"]),
                                       "family": official["family"]}
    pains = sorted((o for o in _resources(bundle, "Observation") if "72514-3" in _loinc(o)),
                   key=lambda o: o["effectiveDateTime"])
    scores = case["pain"]["scores"]
    assert [s["date"] for s in scores] == [date.fromisoformat(o["effectiveDateTime"][:10])
                                           for o in pains]
    assert [s["nrs"] for s in scores] == [
        int(Decimal(str(o["valueQuantity"]["value"])).quantize(Decimal(1), ROUND_HALF_UP))
        for o in pains]
    weights = sorted((o for o in _resources(bundle, "Observation") if "29463-7" in _loinc(o)),
                     key=lambda o: o["effectiveDateTime"])
    latest = Decimal(str(weights[-1]["valueQuantity"]["value"])).quantize(Decimal("0.1"))
    assert case["patient"]["weight_kg"] == float(latest)
    # no member ids and no real NPIs in Synthea: both are left to fill in, never guessed
    assert case["patient"]["member_id"] == "FILL-IN"
    assert case["prescriber"] == "FILL-IN"
    assert "Coverage" not in {e for e in _resource_types(bundle)}
    assert case["coverage"]["payer_name"]  # from the latest claim
    for therapy in case["prior_therapies"]:
        assert therapy["outcome"] == "FILL-IN"  # FHIR never gives an outcome
    assert summary.placeholders == len(unfilled_fields(case)) > 0


def _resource_types(bundle: Path) -> set[str]:
    data = json.loads(bundle.read_text(encoding="utf-8"))
    return {e["resource"]["resourceType"] for e in data["entry"]}


def test_diabetic_neuropathy_concept_writes_candidates_not_a_code(tmp_path: Path) -> None:
    bundle = next(p for p in SYNTHEA if p.name.startswith("Danae"))
    text_out = tmp_path / "case.yaml"
    import_fhir([bundle], text_out, None, load_code_set(), TODAY)
    text = text_out.read_text(encoding="utf-8")
    case = yaml.safe_load(text)
    first = case["diagnoses"][0]
    assert first["code"] == "FILL-IN"
    assert "SNOMED 368581000119106" in text
    for code in ("E11.40", "E11.42", "E11.49"):
        assert f"#   {code}  Type 2 diabetes mellitus" in text
    # drug overdose in the record is a note for the physician, not a screening done
    assert case["safety"]["substance_use"] == {"reviewed": "FILL-IN"}
    assert "Drug overdose (Condition/" in text


def test_check_names_every_field_left_to_fill_in(tmp_path: Path, run_cli, examples_dir) -> None:
    bundle = next(p for p in SYNTHEA if p.name.startswith("Danae"))
    out = tmp_path / "case.yaml"
    result = run_cli("import", "fhir", bundle, "-o", out, "--practice",
                     examples_dir / "practice.yaml", "--today", "2026-11-30")
    assert result.code == 0, result.output
    assert "to fill in from the notes" in result.stdout
    assert "Danae" not in result.output  # no patient data on the console
    check = run_cli("check", out, "--practice", examples_dir / "practice.yaml")
    assert check.code == 2
    named = {line.split(": ")[1] for line in check.stderr.splitlines() if "placeholder" in line}
    assert named == set(unfilled_fields(read_data(out)))
    assert {"diagnoses[0].code", "patient.member_id", "prescriber", "plan.dose_mg_per_kg",
            "safety.pregnancy.reviewed"} <= named


def test_crps_bundle_covers_every_mapping(tmp_path: Path, examples_dir: Path) -> None:
    case, summary = _import(tmp_path, DATA / "crps-us-core.json",
                            practice=examples_dir / "practice.yaml")
    text = (tmp_path / "case.yaml").read_text(encoding="utf-8")
    assert case["prescriber"] == "dr-chen"  # NPI 1234567893 matched to the profile
    assert case["patient"]["member_id"] == "XJH884512307"
    assert case["patient"]["group_number"] == "0047112"  # stays text
    assert case["patient"]["weight_kg"] == 68.0  # 150 lb
    assert case["coverage"]["payer_name"] == "Cascade Health Plan"  # contained Organization
    assert case["coverage"]["plan_name"] == "Cascade PPO Gold"
    assert [d["code"] for d in case["diagnoses"]] == ["G90.521"]
    assert case["diagnoses"][0]["budapest_criteria_met"] == "FILL-IN"
    agents = {t["agent"]: t for t in case["prior_therapies"]}
    assert set(agents) == {"gabapentin", "duloxetine", "pregabalin", "physical therapy",
                           "lumbar sympathetic block", "cognitive behavioral therapy"}
    assert agents["pregabalin"]["therapy_class"] == "gabapentinoid"  # via contained Medication
    assert agents["duloxetine"]["end_date"] == date(2025, 4, 20)
    assert agents["lumbar sympathetic block"]["dose"] == "2 procedures"
    assert agents["gabapentin"]["dose"] == "1200 mg three times a day (3600 mg/day)"
    assert [m["instrument"] for m in case["pain"]["measures"]] == ["PHQ-9", "BPI interference"]
    assert "latest blood pressure 122/78 mmHg on 2026-11-04" in text
    assert "Opioid dependence, in remission (Condition/oud-dx" in text
    assert "Condition/crps-dx -> Encounter/visit-missing" in text
    assert summary.unresolved == 1
    assert "amoxicillin" in text and "agent: amoxicillin" not in text
    for item in case["safety"].values():
        assert item == {"reviewed": "FILL-IN"}


def test_phn_bundle_invalid_npi_and_safety_notes(tmp_path: Path, examples_dir: Path) -> None:
    case, _ = _import(tmp_path, DATA / "phn-us-core.json",
                      practice=examples_dir / "practice.yaml")
    text = (tmp_path / "case.yaml").read_text(encoding="utf-8")
    assert case["prescriber"] == "FILL-IN"
    assert "NPI '1234567890' is not a valid NPI" in text
    assert [d["code"] for d in case["diagnoses"]] == ["B02.29", "G89.29"]
    assert case["patient"]["member_id"] == "1EG4TE5MK73"  # identifier typed MB
    assert case["coverage"]["payer_name"] == "Noridian Medicare Part B"
    assert {t["agent"] for t in case["prior_therapies"]} == {
        "nortriptyline", "gabapentin", "intercostal nerve block"}
    gabapentin = next(t for t in case["prior_therapies"] if t["agent"] == "gabapentin")
    assert "end_date" not in gabapentin  # still active in the record
    for note in ("Unspecified atrial fibrillation", "Fatty (change of) liver",
                 "Schizophrenia, unspecified (Condition/scz-dx, remission"):
        assert note in text


def _fill(case: Any) -> None:
    """What billing staff would write from the notes (test values)."""
    case["case_id"] = "FHIR-CRPS-1"
    case["coverage"]["payer_address"] = {"lines": ["PO Box 4410"], "city": "Seattle",
                                         "state": "WA", "postal_code": "98194"}
    case["coverage"]["payer_fax"] = "(800) 555-0199"
    case["coverage"]["plan_type"] = "erisa_group"
    case["diagnoses"][0]["how_diagnosed"] = "Examined; Budapest criteria met."
    case["diagnoses"][0]["budapest_criteria_met"] = True
    case["pain"]["pain_since"] = date(2024, 2, 10)
    case["pain"]["functional_impact"] = "Unable to bear full weight."
    for therapy in case["prior_therapies"]:
        therapy["outcome"] = "inadequate_response"
        therapy["note"] = "No lasting relief."
        if therapy.get("end_date") == "YYYY-MM-DD":
            therapy["end_date"] = date(2025, 8, 1)
    for item in case["safety"].values():
        item["reviewed"] = True
    case["plan"].update({"phase": "initial_series", "dose_mg_per_kg": 0.5,
                         "minutes_per_infusion": 60, "infusions": 6, "weeks": 3,
                         "setting": "outpatient infusion suite", "place_of_service": 11,
                         "monitoring": ["continuous pulse oximetry and ECG"],
                         "ndc": "00409-2051-05"})
    case["enclosures"] = ["Clinic notes"]


def test_imported_crps_case_filled_in_gives_a_letter(tmp_path: Path, run_cli,
                                                     practice_into) -> None:
    practice_into(tmp_path)
    out = tmp_path / "case.yaml"
    import_fhir([DATA / "crps-us-core.json"], out, load_practice(tmp_path / "practice.yaml"),
                load_code_set(), TODAY)
    case = load_roundtrip(out.read_text(encoding="utf-8"), str(out))
    _fill(case)
    write_case_file(out, case)
    assert load_case(out).imported_from.file == "crps-us-core.json"
    assert "# Coverage/crps-coverage" in out.read_text(encoding="utf-8")  # comments kept
    letter = run_cli("letter", out, "-o", tmp_path / "letter.pdf", "--today", "2026-11-30")
    assert letter.code == 0, letter.output
    assert (tmp_path / "letter.pdf").read_bytes().startswith(b"%PDF")


def test_ndjson_import_gives_the_same_case_as_the_bundle(tmp_path: Path) -> None:
    bundle = json.loads((DATA / "crps-us-core.json").read_text(encoding="utf-8"))
    by_type: dict[str, list[str]] = {}
    for entry in bundle["entry"]:
        resource = json.loads(json.dumps(entry["resource"]))
        text = json.dumps(resource).replace("urn:uuid:5b3f0c1e-0001-4000-8000-000000000001",
                                            "Patient/crps-patient")
        text = text.replace("urn:uuid:5b3f0c1e-0001-4000-8000-000000000002",
                            "Practitioner/dr-chen")
        by_type.setdefault(resource["resourceType"], []).append(text)
    files = []
    for kind, lines in by_type.items():
        path = tmp_path / f"{kind}.ndjson"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    from_ndjson, _ = _import(tmp_path, *files)
    from_bundle, _ = _import(tmp_path / "b", DATA / "crps-us-core.json")
    for key in ("patient", "coverage", "diagnoses", "pain", "prior_therapies", "safety"):
        assert from_ndjson[key] == from_bundle[key], key


def _bundle(*resources: dict, kind: str = "collection") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1980-01-01"}


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "not valid JSON"),
    (json.dumps(PATIENT), "is a Patient, not a Bundle"),
    (json.dumps(_bundle(PATIENT, kind="history")), "cannot be imported"),
    (json.dumps(_bundle(PATIENT, {"resourceType": "Transport", "id": "t"})), "is not FHIR R4"),
    (json.dumps(_bundle({**PATIENT, "name": [{"family": "X"}]},
                        {"resourceType": "Condition", "id": "c", "subject": {"reference": "p"},
                         "code": {"text": "x"}, "onsetDateTime": "2020-01-01",
                         "addedInR5": True})), "R5 content?"),
    (json.dumps(_bundle({"resourceType": "Condition", "subject": {"reference": "p"}})),
     "holds no Patient"),
    (json.dumps(_bundle(PATIENT, {**PATIENT, "id": "p2"})), "holds 2 Patient resources"),
])
def test_bad_input_is_one_clear_problem(tmp_path: Path, content: str, says: str) -> None:
    source = tmp_path / "in.json"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_fhir([source], tmp_path / "case.yaml", None, load_code_set(), TODAY)
    assert len(caught.value.lines()) == 1
    assert says in caught.value.lines()[0]
    assert str(source) in caught.value.lines()[0]
    assert not (tmp_path / "case.yaml").exists()


def test_bad_input_exits_2_from_the_cli(tmp_path: Path, run_cli) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps(PATIENT), encoding="utf-8")
    result = run_cli("import", "fhir", source, "-o", tmp_path / "case.yaml")
    assert result.code == 2
    assert result.stderr.strip().count("\n") == 0 and "not a Bundle" in result.stderr


def test_help_does_not_import_the_fhir_library(cli_command) -> None:
    python, *args = cli_command("--help")
    completed = subprocess.run([python, "-X", "importtime", *args], capture_output=True,
                               text=True, check=True)
    assert "fhir" not in completed.stderr
    assert "ruamel" not in completed.stderr
