"""`export pas`: a Da Vinci PAS request bundle from a case and its letter.

The structure is compared with a conformant PAS bundle nobody here wrote (tests/data/pas, from
the Inferno PAS test kit); the Claim's codes are compared with the letter's own text, read back
from its PDF; refusals write nothing.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import stat
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
import yaml

from coverage.codes import load_code_set
from coverage.errors import ExportError
from coverage.fhir.case_file import import_fhir
from coverage.loading import load_practice
from coverage.yaml_files import load_roundtrip, write_case_file

DATA = Path(__file__).parent / "data"
CORPUS = json.loads((DATA / "pas" / "conformant_pas_bundle_v110.json").read_text("utf-8"))
PAS_IG = "http://hl7.org/fhir/us/davinci-pas"
TODAY = "2026-11-30"


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _claim(bundle: dict) -> dict:
    return bundle["entry"][0]["resource"]


def _export(run_cli, case: Path, out: Path, *extra: str | Path) -> tuple[dict, Any]:
    result = run_cli("export", "pas", case, "-o", out, "--today", TODAY, *extra)
    assert result.code == 0, result.output
    return json.loads(out.read_text("utf-8")), result


def _by_url(bundle: dict) -> dict[str, dict]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def _pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


@pytest.fixture(scope="module")
def crps_export(tmp_path_factory, run_cli, examples_dir) -> tuple[dict, Any]:
    folder = tmp_path_factory.mktemp("pas")
    env = {**os.environ, "KETAMINE_LETTERS_AUDIT_LOG": str(folder / "audit.sqlite3")}
    out = folder / "request.json"
    result = run_cli("export", "pas", examples_dir / "crps-1.yaml", "-o", out, "--today", TODAY,
                     env=env)
    assert result.code == 0, result.output
    return json.loads(out.read_text("utf-8")), result


# ------------------------------------------------------------------- structure vs the corpus


def test_resource_types_match_the_corpus_bundle(crps_export) -> None:
    bundle, _ = crps_export
    assert bundle["type"] == CORPUS["type"] == "collection"
    assert {"identifier", "timestamp", "meta"} <= bundle.keys()
    assert bundle["entry"][0]["resource"]["resourceType"] == "Claim"  # the IG: Claim first
    ours = {e["resource"]["resourceType"] for e in bundle["entry"]}
    theirs = {e["resource"]["resourceType"] for e in CORPUS["entry"]}
    # the corpus requests a consultation (ServiceRequest); our requested service is a drug
    assert theirs - {"ServiceRequest"} <= ours
    assert ours - theirs == {"MedicationRequest", "DocumentReference"}
    roles = {r["meta"]["profile"][0].split("/")[-1].split("|")[0]
             for r in _resources(bundle, "Organization")}
    assert roles == {"profile-insurer", "profile-requestor"}  # payer, and the practice


def test_profiles_are_the_corpus_profiles_at_the_chosen_version(crps_export) -> None:
    bundle, _ = crps_export
    theirs = {e["resource"]["resourceType"]: e["resource"]["meta"]["profile"][0]
              for e in CORPUS["entry"] if e["resource"]["resourceType"] != "Organization"}
    theirs["Bundle"] = CORPUS["meta"]["profile"][0]
    ours = {e["resource"]["resourceType"]: e["resource"]["meta"]["profile"][0]
            for e in bundle["entry"] if e["resource"]["resourceType"] != "Organization"}
    ours["Bundle"] = bundle["meta"]["profile"][0]
    for kind in ("Bundle", "Claim", "Coverage", "Practitioner"):
        assert ours[kind] == theirs[kind] + "|2.0.1", kind
    # 2.x names the patient the beneficiary (1.1.0's example: subscriber)
    assert ours["Patient"] == f"{PAS_IG}/StructureDefinition/profile-beneficiary|2.0.1"


def test_claim_uses_the_corpus_claim_elements(crps_export) -> None:
    bundle, _ = crps_export
    claim, theirs = _claim(bundle), _claim(CORPUS)
    # the corpus's Claim-level extension is the level of service (urgent): a case says nothing
    # about urgency, so it is left out; its narrative (text) is generated, not data
    assert set(theirs) - set(claim) == {"text", "extension"}
    assert set(claim) - set(theirs) == {"supportingInfo"}
    for element in ("careTeam", "diagnosis", "insurance"):
        assert set(theirs[element][0]) - {"extension"} <= set(claim[element][0]), element
    assert claim["careTeam"][0]["extension"] == theirs["careTeam"][0]["extension"]
    assert claim["use"] == theirs["use"] == "preauthorization"
    assert claim["status"] == theirs["status"] == "active"
    assert claim["type"] == theirs["type"] and claim["priority"] == theirs["priority"]
    dx_system = {c["system"] for d in theirs["diagnosis"]
                 for c in d["diagnosisCodeableConcept"]["coding"]}
    assert {c["system"] for d in claim["diagnosis"]
            for c in d["diagnosisCodeableConcept"]["coding"]} == dx_system


def test_items_use_the_corpus_item_elements_and_extensions(crps_export) -> None:
    bundle, _ = crps_export
    theirs = _claim(CORPUS)["item"][0]
    their_extensions = {e["url"] for e in theirs["extension"]}
    pos_system = theirs["locationCodeableConcept"]["coding"][0]["system"]
    for item in _claim(bundle)["item"]:
        assert set(theirs) <= set(item)
        assert {"quantity", "servicedPeriod", "informationSequence"} <= set(item)
        assert {e["url"] for e in item["extension"]} <= their_extensions
        assert item["locationCodeableConcept"]["coding"][0] == {"system": pos_system,
                                                               "code": "11"}


def test_every_reference_resolves_inside_the_bundle(crps_export) -> None:
    bundle, _ = crps_export
    urls = _by_url(bundle)
    text = json.dumps(bundle)
    references = re.findall(r'"reference": "([^"]+)"', text)
    assert references and all(ref in urls for ref in references)


def test_letter_is_the_additional_information_slice(crps_export) -> None:
    # The corpus bundle carries no supportingInfo; the slice is the IG's AdditionalInformation
    # (category additionalInformation, in PASTempCodes since 2.0.0), a Reference to the document.
    bundle, _ = crps_export
    claim = _claim(bundle)
    [info] = claim["supportingInfo"]
    assert info["category"]["coding"] == [{"system": f"{PAS_IG}/CodeSystem/PASTempCodes",
                                           "code": "additionalInformation"}]
    assert "timingDate" not in info and "valueString" not in info
    document = _by_url(bundle)[info["valueReference"]["reference"]]
    assert document["resourceType"] == "DocumentReference"
    assert all(item["informationSequence"] == [info["sequence"]] for item in claim["item"])


# ------------------------------------------------------------------- content


def test_claim_parties_come_from_the_case_and_profile(crps_export, examples_dir) -> None:
    bundle, _ = crps_export
    case = yaml.safe_load((examples_dir / "crps-1.yaml").read_text("utf-8"))
    urls = _by_url(bundle)
    claim = _claim(bundle)
    coverage = urls[claim["insurance"][0]["coverage"]["reference"]]
    assert coverage["subscriberId"] == case["patient"]["member_id"]
    assert "relationship" not in coverage  # not in the case: not guessed
    assert urls[claim["insurer"]["reference"]]["name"] == case["coverage"]["payer_name"]
    assert urls[claim["provider"]["reference"]]["name"] == "Riverside Pain & Infusion Center"
    doctor = urls[claim["careTeam"][0]["provider"]["reference"]]
    assert doctor["identifier"] == [{"system": "http://hl7.org/fhir/sid/us-npi",
                                     "value": "1234567893"}]
    patient = urls[claim["patient"]["reference"]]
    assert patient["birthDate"] == case["patient"]["date_of_birth"].isoformat()
    assert patient["gender"] == case["patient"]["sex"]


def test_ndc_is_on_the_requested_medication_of_the_drug_line(crps_export, examples_dir) -> None:
    bundle, _ = crps_export
    plan = yaml.safe_load((examples_dir / "crps-1.yaml").read_text("utf-8"))["plan"]
    [drug] = [i for i in _claim(bundle)["item"]
              if i["productOrService"]["coding"][0]["code"] == "J3490"]
    [requested] = [e for e in drug["extension"] if e["url"].endswith("requestedService")]
    medication = _by_url(bundle)[requested["valueReference"]["reference"]]
    assert medication["resourceType"] == "MedicationRequest"
    assert medication["medicationCodeableConcept"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/ndc", "code": plan["ndc"]}]
    assert drug["servicedPeriod"] == {"start": plan["requested_start"].isoformat(),
                                      "end": "2026-12-28"}  # 3 weeks from 2026-12-07


def test_default_attaches_the_draft_and_says_it_is_unsigned(crps_export) -> None:
    bundle, result = crps_export
    [document] = _resources(bundle, "DocumentReference")
    assert document["docStatus"] == "preliminary"
    attachment = document["content"][0]["attachment"]
    pdf = base64.b64decode(attachment["data"])
    assert attachment["contentType"] == "application/pdf" and pdf.startswith(b"%PDF")
    assert attachment["size"] == len(pdf)
    from pypdf import PdfReader

    assert "DRAFT - NOT SIGNED" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "UNSIGNED DRAFT" in result.stdout
    assert "PAS 2.0.1" in result.stdout and "not the PAS profiles" in result.stdout
    assert "Alvarez" not in result.output  # no patient data on the console


# ------------------------------------------------------------------- round trip


def test_round_trip_import_fill_letter_export(tmp_path: Path, run_cli, practice_into) -> None:
    """FHIR record -> case file -> filled in -> letter -> PAS: the Claim says what the letter
    says, line by line, read back from the letter's PDF."""
    from test_fhir_import import _fill

    practice_into(tmp_path)
    case_file = tmp_path / "case.yaml"
    import_fhir([DATA / "fhir" / "crps-us-core.json"], case_file,
                load_practice(tmp_path / "practice.yaml"), load_code_set(), date(2026, 11, 30))
    case = load_roundtrip(case_file.read_text("utf-8"), str(case_file))
    _fill(case)
    write_case_file(case_file, case)
    letter = tmp_path / "letter.pdf"
    made = run_cli("letter", case_file, "-o", letter, "--today", TODAY)
    assert made.code == 0, made.output
    bundle, result = _export(run_cli, case_file, tmp_path / "request.json", "--letter", letter)

    text = _pdf_text(letter.read_bytes())
    table = text[text.index("Code Description (ICD-10-CM)"):text.index("Billing lines")]
    letter_codes = re.findall(r"^([A-Z]\d{2}\.\w+) ", table, re.M)  # pointers A, B, ...
    lines = re.findall(r"^(CPT|HCPCS) (\w+) .*? (\d+) (\d+) ([A-L]+)$", text, re.M)
    assert lines  # the letter's billing table
    claim = _claim(bundle)
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]
            ] == letter_codes
    exported = [(i["productOrService"]["coding"][0]["system"].split("/")[-1],
                 i["productOrService"]["coding"][0]["code"], i["quantity"]["value"],
                 [letter_codes[n - 1] for n in i["diagnosisSequence"]]) for i in claim["item"]]
    expected = [({"CPT": "cpt", "HCPCS": "HCPCSReleaseCodeSets"}[system], code, int(total),
                 [letter_codes["ABCDEFGHIJKL".index(p)] for p in pointers])
                for system, code, _per, total, pointers in lines]
    assert exported == expected
    [document] = _resources(bundle, "DocumentReference")
    assert base64.b64decode(document["content"][0]["attachment"]["data"]) == letter.read_bytes()
    assert document["docStatus"] == "preliminary"  # a draft given with --letter: not signed
    assert "NO digital signature" in result.stdout


def test_signed_letter_is_attached_as_final(tmp_path: Path, run_cli, examples_dir) -> None:
    for name in ("crps-1.yaml", "practice.yaml", "signature-dr-chen.png"):
        shutil.copy(examples_dir / name, tmp_path / name)
    env = {**os.environ, "KETAMINE_LETTERS_P12_PASSWORD": "correct horse battery staple"}
    for argv in (("demo-identity", "--for-case", "crps-1.yaml", "-o", "dr.p12"),
                 ("sign", "crps-1.yaml", "--p12", "dr.p12", "-o", "signed.pdf")):
        made = run_cli(*argv, env=env, cwd=tmp_path)
        assert made.code == 0, made.output
    result = run_cli("export", "pas", "crps-1.yaml", "--letter", "signed.pdf", "-o", "req.json",
                     env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert "signed.pdf (signed)" in result.stdout and "UNSIGNED" not in result.stdout
    [document] = _resources(json.loads((tmp_path / "req.json").read_text("utf-8")),
                            "DocumentReference")
    assert document["docStatus"] == "final"
    attached = base64.b64decode(document["content"][0]["attachment"]["data"])
    assert attached == (tmp_path / "signed.pdf").read_bytes()

    # a signed letter changed afterwards is refused
    data = bytearray((tmp_path / "signed.pdf").read_bytes())
    data[len(data) // 3] ^= 0x01
    (tmp_path / "tampered.pdf").write_bytes(bytes(data))
    refused = run_cli("export", "pas", "crps-1.yaml", "--letter", "tampered.pdf", "-o",
                      "x.json", env=env, cwd=tmp_path)
    assert refused.code == 2 and not (tmp_path / "x.json").exists()
    assert "signature broken" in refused.stderr, refused.output

    # the same case signed by another physician of the practice is not this case's letter
    case = yaml.safe_load((tmp_path / "crps-1.yaml").read_text("utf-8"))
    (tmp_path / "okafor.yaml").write_text(yaml.safe_dump({**case, "prescriber": "dr-okafor"}),
                                          encoding="utf-8")
    for argv in (("demo-identity", "--for-case", "okafor.yaml", "-o", "okafor.p12"),
                 ("sign", "okafor.yaml", "--p12", "okafor.p12", "-o", "okafor.pdf")):
        made = run_cli(*argv, env=env, cwd=tmp_path)
        assert made.code == 0, made.output
    refused = run_cli("export", "pas", "crps-1.yaml", "--letter", "okafor.pdf", "-o", "x.json",
                      env=env, cwd=tmp_path)
    assert refused.code == 2 and not (tmp_path / "x.json").exists()
    assert "signed by NPI 1398999619" in refused.stderr and "1234567893" in refused.stderr


# ------------------------------------------------------------------- writing and refusing


def test_request_is_private_and_in_the_audit_log(tmp_path: Path, run_cli, examples_dir) -> None:
    out = tmp_path / "request.json"
    _export(run_cli, examples_dir / "crps-1.yaml", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.part"))
    checked = run_cli("audit", "--check", out)
    assert checked.code == 0, checked.output
    assert "export-pas" in checked.stdout


def _refusal(run_cli, tmp_path: Path, *args: str | Path) -> Any:
    out = tmp_path / "request.json"
    result = run_cli("export", "pas", *args, "-o", out, "--today", TODAY)
    assert result.code == 2, result.output
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    assert "Traceback" not in result.stderr
    return result


def test_blocked_case_is_refused_with_its_findings(tmp_path, run_cli, examples_dir) -> None:
    result = _refusal(run_cli, tmp_path, examples_dir / "blocked-oral-route.yaml")
    head, *findings = result.stderr.strip().splitlines()
    assert "no PAS request written" in head
    assert findings and all("ROUTE_NOT_IV" in f for f in findings)


@pytest.mark.parametrize(("letter", "says"), [
    ("notes.pdf", "is not a PDF"),
    ("missing.pdf", "file not found"),
])
def test_bad_letter_is_one_clear_line(tmp_path, run_cli, examples_dir, letter, says) -> None:
    (tmp_path / "notes.pdf").write_text("clinic notes, not a PDF", encoding="utf-8")
    result = _refusal(run_cli, tmp_path, examples_dir / "crps-1.yaml", "--letter",
                      tmp_path / letter)
    assert result.stderr.strip().count("\n") == 0
    assert says in result.stderr and letter in result.stderr and "--letter" in result.stderr


def test_missing_case_file_is_one_clear_line(tmp_path: Path, run_cli) -> None:
    result = _refusal(run_cli, tmp_path, tmp_path / "nope.yaml")
    assert result.stderr.strip().count("\n") == 0 and "not found" in result.stderr


def test_case_without_ndc_or_start_says_so(write_case, case_data, run_cli, tmp_path) -> None:
    del case_data["plan"]["ndc"], case_data["plan"]["requested_start"]
    bundle, result = _export(run_cli, write_case(case_data), tmp_path / "request.json")
    assert "no plan.ndc" in result.stdout and "no plan.requested_start" in result.stdout
    assert all("servicedPeriod" not in i for i in _claim(bundle)["item"])
    [medication] = _resources(bundle, "MedicationRequest")
    assert "coding" not in medication["medicationCodeableConcept"]


def test_an_invalid_bundle_is_never_written(tmp_path, examples_dir, monkeypatch) -> None:
    from coverage.fhir import export

    real = export.build_request

    def broken(*args: Any) -> dict:
        bundle = real(*args)
        del bundle["entry"][0]["resource"]["patient"]  # Claim.patient is 1..1 in R4
        return bundle

    monkeypatch.setattr(export, "build_request", broken)
    out = tmp_path / "request.json"
    with pytest.raises(ExportError, match="not valid FHIR R4"):
        export.run_export(examples_dir / "crps-1.yaml", out, None, None, None,
                          date(2026, 11, 30))
    assert not out.exists()


@pytest.mark.parametrize("argv", [("export", "--help"), ("export", "pas", "--help")])
def test_help_does_not_import_the_fhir_library(cli_command, argv) -> None:
    python, *args = cli_command(*argv)
    completed = subprocess.run([python, "-X", "importtime", *args], capture_output=True,
                               text=True, check=True)
    assert "fhir" not in completed.stderr
    assert "Da Vinci PAS" in completed.stdout


def test_another_cases_letter_is_refused(tmp_path, run_cli, examples_dir) -> None:
    other = tmp_path / "phn-letter.pdf"
    assert run_cli("letter", examples_dir / "phn.yaml", "-o", other, "--today", TODAY).code == 0
    result = _refusal(run_cli, tmp_path, examples_dir / "crps-1.yaml", "--letter", other)
    assert result.stderr.strip().count("\n") == 0
    assert "is the letter of case" in result.stderr and "RPC-2026-0412" in result.stderr
