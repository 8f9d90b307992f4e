"""The FHIR code tables of the knowledge base (``knowledge/fhir_terms.yaml``), typed on load.

Kept apart from the letter's knowledge base: only the importer needs them, and each entry's
provenance rules (SNOMED ids only as seen in the corpus) are documented in the YAML itself.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

SafetyItem = Literal[
    "blood_pressure", "cardiac", "psychosis", "pregnancy", "substance_use", "liver",
    "intracranial_intraocular_pressure",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnomedConcept(_Strict):
    code: str = Field(pattern=r"^\d{6,18}$")
    label: str
    icd10: str | None = None
    candidates: list[str] = Field(default_factory=list)
    why: str | None = None
    safety: SafetyItem | None = None

    @model_validator(mode="after")
    def _one_use(self) -> SnomedConcept:
        if self.icd10 and self.candidates:
            raise ValueError(f"SNOMED {self.code}: either one code or candidates, not both")
        if not (self.icd10 or self.candidates or self.safety):
            raise ValueError(f"SNOMED {self.code}: maps to nothing")
        return self


class MeasureCode(_Strict):
    code: str
    instrument: str
    max_score: float | None = None


class MeasureName(_Strict):
    words: list[str] = Field(min_length=1)
    instrument: str
    max_score: float | None = None


class LoincTable(_Strict):
    pain_0_10: list[str]
    blood_pressure_panel: list[str]
    systolic: str
    diastolic: str
    body_weight: str
    measures: list[MeasureCode]


class FhirTerms(_Strict):
    snomed: dict[str, SnomedConcept]
    supporting_icd10_prefixes: list[str]
    safety_icd10_prefixes: dict[SafetyItem, list[str]]
    rxnorm_ingredients: dict[str, str]
    loinc: LoincTable
    measure_names: list[MeasureName]

    def safety_item_for_icd10(self, code: str) -> SafetyItem | None:
        for item, prefixes in self.safety_icd10_prefixes.items():
            if any(code.startswith(p) for p in prefixes):
                return item
        return None

    def measure_for(self, code: str | None, text: str) -> MeasureCode | MeasureName | None:
        for measure in self.loinc.measures:
            if code == measure.code:
                return measure
        lowered = text.lower()
        for named in self.measure_names:
            if all(word in lowered for word in named.words):
                return named
        return None


@cache
def load_terms() -> FhirTerms:
    """Load the FHIR tables once per process; class keys are checked against the knowledge."""
    from coverage.knowledge import load_knowledge

    text = resources.files("coverage.knowledge").joinpath("fhir_terms.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    raw["snomed"] = {c["code"]: c for c in raw["snomed"]}
    terms = FhirTerms.model_validate(raw)
    classes = load_knowledge().therapy_classes
    for ingredient, key in terms.rxnorm_ingredients.items():
        if key not in classes:
            raise ValueError(f"fhir_terms: {ingredient} -> unknown therapy class {key}")
    return terms
