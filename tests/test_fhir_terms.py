"""The FHIR code tables: every code they name exists where they say it comes from."""

from __future__ import annotations

import json
from pathlib import Path

from coverage.codes import load_code_set
from coverage.fhir.terms import load_terms
from coverage.knowledge import load_knowledge

DATA = Path(__file__).parent / "data" / "fhir"


def _corpus_snomed() -> set[str]:
    codes: set[str] = set()
    for bundle in DATA.glob("*_*-*.json"):  # the Synthea corpus, not our own bundles
        for match in json.loads(bundle.read_text(encoding="utf-8"))["entry"]:
            for coding in match["resource"].get("code", {}).get("coding", []) or []:
                if coding.get("system") == "http://snomed.info/sct":
                    codes.add(coding["code"])
    return codes


def test_every_snomed_concept_is_seen_in_the_corpus() -> None:
    assert set(load_terms().snomed) <= _corpus_snomed()


def test_mapped_and_candidate_codes_are_billable_leaves() -> None:
    code_set = load_code_set()
    for concept in load_terms().snomed.values():
        for code in [concept.icd10] if concept.icd10 else concept.candidates:
            entry = code_set.lookup(code)
            assert entry is not None and entry.billable, code


def test_safety_prefixes_are_categories_of_the_code_set() -> None:
    code_set = load_code_set()
    for item, prefixes in load_terms().safety_icd10_prefixes.items():
        for prefix in prefixes:
            assert any(code.startswith(prefix) for code in code_set.entries), (item, prefix)
    assert "hypertension" in code_set.lookup("I10").description.lower()
    assert "opioid" in code_set.entries["F11"][0].lower()


def test_ingredient_classes_exist_and_are_medications() -> None:
    classes = load_knowledge().therapy_classes
    for ingredient, key in load_terms().rxnorm_ingredients.items():
        assert classes[key].kind.value == "medication", ingredient
        assert ingredient == ingredient.lower().strip()
