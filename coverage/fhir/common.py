"""Small helpers the FHIR mappers share: codings, dates, and fields with their provenance.

A value written into the case file carries a comment naming the resource it came from; a
value FHIR cannot give is written as the starter's placeholder with a comment saying what to
write, so ``check`` names it until someone fills it in from the record.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import yaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from coverage.starter import DATE_PLACEHOLDER, PLACEHOLDER

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def codings(concept: Any, system: str | None = None) -> list[Any]:
    """The codings of a CodeableConcept, optionally of one system."""
    found = list(getattr(concept, "coding", None) or [])
    return [c for c in found if system is None or c.system == system]


def concept_text(concept: Any) -> str:
    """What a CodeableConcept says in words: its text, else its first display."""
    if concept is None:
        return ""
    if getattr(concept, "text", None):
        return concept.text
    return next((c.display for c in codings(concept) if c.display), "")


def day(value: Any) -> date | None:
    """A calendar day from a FHIR date or dateTime; a partial date ('2019-05') gives None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def text(value: str) -> str:
    """Text that reads back as text: quoted where PyYAML would take it for a bool or number."""
    try:
        plain = yaml.safe_load(value) == value
    except yaml.YAMLError:
        plain = False
    return value if plain and value.strip() == value else DoubleQuotedScalarString(value)


def put(target: CommentedMap, key: str, value: Any, comment: str | None = None) -> None:
    """Set ``key`` and, when given, a comment beside it (where it came from, what to write)."""
    target[key] = text(value) if isinstance(value, str) else value
    if comment:
        target.yaml_add_eol_comment(_one_line(comment), key)


def fill_in(target: CommentedMap, key: str, what: str, *, is_date: bool = False) -> None:
    """A placeholder ``check`` will name, with a comment saying what to write there."""
    put(target, key, DATE_PLACEHOLDER if is_date else PLACEHOLDER, what)


def commented(seq: CommentedSeq, before: list[str]) -> None:
    """Comment lines above a list, e.g. codes to choose from."""
    if before:
        seq.yaml_set_start_comment("\n".join(_one_line(line) for line in before), indent=2)


def _one_line(comment: str) -> str:
    return " ".join(comment.split())


def display_or_reference(reference: Any) -> str:
    """A Reference's display, for payers named only in words."""
    return (getattr(reference, "display", None) or "").strip()
