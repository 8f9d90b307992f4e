"""Coding rules read from the official tabular: every reference form on real notes from the
file, Excludes1 pairs found from the file (no list here), the I.A.12.a exception and billing
pointers, "use additional code" for current long-term drugs, and the release by date of service.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from coverage.case import Case
from coverage.codes import EXCLUDES1, USE_ADDITIONAL, load_code_set
from coverage.codes.references import note_references
from coverage.compose.letter import compose_letter
from coverage.knowledge import load_knowledge
from coverage.loading import load_practice
from coverage.review import Review, review_case
from coverage.review.coding import fiscal_year, release_covers, release_name, releases_for

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def codes():
    return load_code_set()


@pytest.fixture(scope="module")
def world(codes):
    return load_practice(EXAMPLES / "practice.yaml"), load_knowledge(), codes


def review(world, data: dict[str, Any]) -> Review:
    practice, kb, codes = world
    case = Case.model_validate(data)
    return review_case(case, practice, kb, codes, case.letter_date)


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))


def note_with(codes, code: str, kind: str, needle: str):
    """The note of ``kind`` that applies to ``code`` and whose text contains ``needle``."""
    found = [n for n in codes.notes_for(code, kind) if needle in n.text]
    assert len(found) == 1, [n.text for n in codes.notes_for(code, kind)]
    return found[0]


# --- the forms a note names codes in, each on a real note read from the file ----------------


def test_single_code(codes) -> None:
    note = note_with(codes, "G89.29", EXCLUDES1, "chronic pain syndrome")
    (reference,) = note_references(note.text)
    assert note.owner == "G89.2" and reference.text == "G89.4"
    assert reference.matches("G89.4") and not reference.matches("G89.3")


def test_dash_category_names_every_child(codes) -> None:
    note = note_with(codes, "G89.29", EXCLUDES1, "reflex sympathetic dystrophy")
    (reference,) = note_references(note.text)
    assert reference.text == "G90.5-"
    children = [c for c in codes.entries if c.startswith("G90.5")]
    assert len(children) >= 10 and all(reference.matches(c) for c in children)
    assert not reference.matches("G90.4") and not reference.matches("G90.8")


def test_range_of_categories(codes) -> None:
    # E11's note names other diabetes types; the G63 code-first note names category ranges
    note = note_with(codes, "G63", "codeFirst", "endocrine disease, except diabetes")
    references = note_references(note.text)
    assert [r.text for r in references] == ["E00-E07", "E15-E16", "E20-E34"]
    assert references[0].matches("E03.9") and references[0].matches("E07.89")
    assert not any(r.matches("E11.42") for r in references)  # diabetes is the exception
    assert references[2].matches("E34.9") and not references[2].matches("E35")


def test_qualified_range_with_characters_after_the_category(codes) -> None:
    note = note_with(codes, "G63", EXCLUDES1, "diabetes mellitus")
    (reference,) = note_references(note.text)
    assert reference.text == "E08-E13 with .42"
    assert all(reference.matches(c) for c in ("E08.42", "E10.42", "E11.42", "E13.42"))
    assert not reference.matches("E11.40") and not reference.matches("E14.42")
    assert not reference.matches("E11.9")


def test_qualified_range_with_a_character_in_a_position(codes) -> None:
    note = note_with(codes, "G63", EXCLUDES1, "infectious mononucleosis")
    (reference,) = note_references(note.text)
    assert reference.text == "B27.0-B27.9 with fifth character 1"
    assert reference.matches("B27.01") and reference.matches("B27.91")
    assert not reference.matches("B27.00") and not reference.matches("B27.09")


def test_qualified_range_with_either_of_two_positions(codes) -> None:
    note = note_with(codes, "G62.0", USE_ADDITIONAL, "adverse effect")
    (reference,) = note_references(note.text)
    assert reference.text == "T36-T50 with fifth or sixth character 5"
    assert reference.matches("T45.1X5S") and reference.matches("T40.2X5A")
    assert not reference.matches("T45.1X1A") and not reference.matches("T51.0X5A")


def test_words_in_parentheses_are_not_references() -> None:
    (reference,) = note_references("pancytopenia (due to) (with) aplastic anemia (D61.9)")
    assert reference.text == "D61.9"
    assert note_references("polyneuropathy (in):") == ()


def test_a_section_named_like_its_only_category_is_not_its_own_parent(codes) -> None:
    assert codes.lineage("P84")[0] == "P84" and len(set(codes.lineage("P84"))) == len(
        codes.lineage("P84"))


def test_almost_every_code_group_in_the_file_is_read(codes) -> None:
    groups = unread = 0
    for notes in codes.notes.values():
        for note in notes:
            for group in note.text.split("(")[1:]:
                if any(ch.isdigit() for ch in group[:3]):
                    groups += 1
                    unread += not note_references("(" + group)
    assert groups > 6000 and unread < 30  # the rest are words, such as "(C3 glomerulopathy)"


# --- Excludes1 pairs, from the file ----------------------------------------------------------


def excludes1_pairs_of(result: Review) -> list[str]:
    return [f.message for f in result.findings if f.code.startswith("EXCLUDES1")]


def test_chronic_pain_beside_crps_is_blocked_with_the_note_quoted(world, case_data) -> None:
    case_data["diagnoses"].append({"code": "G89.29"})
    result = review(world, case_data)
    assert [(f.code, f.field) for f in result.blocking] == [("EXCLUDES1_PAIR",
                                                             "diagnoses[1].code")]
    message = result.blocking[0].message
    assert "G90.521 and G89.29" in message
    assert 'under G89.2: "Excludes1: reflex sympathetic dystrophy (G90.5-)"' in message


@pytest.mark.parametrize("pair", [("G90.521", "G57.71"), ("G56.41", "G90.512"),
                                  ("E11.42", "G63"), ("E11.42", "E10.42"), ("B02.23", "G63")])
def test_pairs_the_tabular_names_are_blocked(world, case_data, pair) -> None:
    case_data["diagnoses"] = [{"code": code} for code in pair]
    result = review(world, case_data)
    assert "EXCLUDES1_PAIR" in [f.code for f in result.blocking]


def test_every_single_code_note_of_the_nervous_system_chapter_blocks(world, case_data,
                                                                    codes) -> None:
    """Pairs read from the tabular: each Excludes1 note in G that names one billable code."""
    tried, entries = 0, sorted(codes.entries)
    for owner, notes in codes.notes.items():
        if not owner.startswith("G") or owner not in codes.entries:
            continue
        leaf = next(c for c in entries if c.startswith(owner)
                    and codes.lookup(c) and codes.lookup(c).billable)
        for note in notes:
            references = note_references(note.text) if note.kind == EXCLUDES1 else ()
            if len(references) != 1 or references[0].high or references[0].suffix:
                continue
            named = codes.lookup(references[0].text)
            if named is None or not named.billable:
                continue
            case_data["diagnoses"] = [{"code": leaf}, {"code": named.code}]
            result = review(world, case_data)
            assert any(f.code == "EXCLUDES1_PAIR" and note.text in f.message
                       for f in result.blocking), (leaf, named.code, note.text)
            tried += 1
    assert tried >= 20


def test_codes_no_note_keeps_apart_pass(world, case_data) -> None:
    case_data["diagnoses"].append({"code": "G89.4"})  # chronic pain syndrome: not barred by G90.5
    assert excludes1_pairs_of(review(world, case_data)) == []


def test_blocked_example_is_the_excludes1_pair(world) -> None:
    result = review(world, example("blocked-excludes1.yaml"))
    assert [f.code for f in result.blocking] == ["EXCLUDES1_PAIR"]


def test_a_code_first_note_puts_the_underlying_disease_first(world, case_data, codes) -> None:
    assert codes.lookup("E85.1").billable
    case_data["diagnoses"] = [{"code": "G63"}, {"code": "E85.1"}]
    (message,) = [f.message for f in review(world, case_data).findings
                  if f.code == "CODE_FIRST_ORDER"]
    assert message.startswith("list E85.1 before G63: the official tabular says")
    assert 'under G63: "Code first: amyloidosis (E85.-)"' in message
    assert 'under G63: "Code first: metabolic diseases (E70-E88)"' in message
    case_data["diagnoses"].reverse()
    assert "CODE_FIRST_ORDER" not in [f.code for f in review(world, case_data).findings]


# --- the I.A.12.a exception and the billing pointers ---------------------------------------


def confirmed(case_data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(case_data)
    data["diagnoses"].append({"code": "G89.29"})
    data["unrelated_diagnoses"] = [{
        "codes": ["G89.29", "G90.521"], "confirmed_by": "Elena Chen, MD",
        "confirmed_on": date(2026, 11, 4),
        "basis": "chronic neck pain after a 2019 car accident, unrelated to the CRPS of the ankle",
    }]
    return data


def test_a_pair_confirmed_unrelated_is_advisory(world, case_data) -> None:
    result = review(world, confirmed(case_data))
    assert result.ok
    found = [f for f in result.advisory if f.code == "EXCLUDES1_UNRELATED"]
    assert len(found) == 1 and "Elena Chen, MD confirmed on 2026-11-04" in found[0].message


def test_a_confirmation_must_name_listed_codes(world, case_data) -> None:
    data = confirmed(case_data)
    data["unrelated_diagnoses"][0]["codes"] = ["G89.29", "G90.522"]
    result = review(world, data)
    assert ("UNRELATED_PAIR_INVALID", "unrelated_diagnoses[0].codes") in [
        (f.code, f.field) for f in result.blocking]


def pointers(world, data: dict[str, Any]) -> set[str]:
    practice, kb, codes = world
    case = Case.model_validate(data)
    result = review_case(case, practice, kb, codes, case.letter_date)
    context = compose_letter(case, practice, practice.physicians[0], kb, codes, result,
                             case.letter_date)
    return {row.pointers for row in context.billing}


def test_infusion_never_points_at_the_unrelated_code(world, case_data) -> None:
    assert pointers(world, confirmed(case_data)) == {"A"}


def test_infusion_points_only_at_the_treated_condition(world) -> None:
    # fibromyalgia (A) with insomnia (B); PDPN (A) with its Z79 codes; G62.0 with T45 and Z85
    for name in ("fibromyalgia.yaml", "pdpn.yaml", "peripheral-neuropathy.yaml", "crps-2.yaml"):
        assert pointers(world, example(name)) == {"A"}, name


def test_a_chronic_pain_code_not_confirmed_unrelated_is_treated(world) -> None:
    data = example("phn.yaml")
    data["diagnoses"].append({"code": "G89.29"})
    assert pointers(world, data) == {"AB"}


# --- use additional code: current long-term drug therapy -------------------------------------


def findings(result: Review, code: str) -> list[str]:
    return [f.message for f in result.findings if f.code == code]


def test_pdpn_example_codes_both_current_drugs(world) -> None:
    result = review(world, example("pdpn.yaml"))
    assert not findings(result, "USE_ADDITIONAL_CODE")
    assert not findings(result, "LONG_TERM_USE_NOT_SHOWN")


def test_current_oral_drug_without_its_code_is_asked_for(world) -> None:
    data = example("pdpn.yaml")
    data["diagnoses"] = [d for d in data["diagnoses"] if d["code"] != "Z79.84"]
    (message,) = findings(review(world, data), "USE_ADDITIONAL_CODE")
    assert 'under E11: "Use additional code: oral antidiabetic drugs (Z79.84)"' in message
    assert "metformin" in message and message.endswith("add Z79.84")


def test_a_long_term_code_needs_a_current_medication(world) -> None:
    data = example("pdpn.yaml")
    data["current_medications"] = []
    data["prior_therapies"].append({"agent": "insulin glargine", "outcome": "adverse_effect"})
    messages = findings(review(world, data), "LONG_TERM_USE_NOT_SHOWN")
    assert len(messages) == 2
    assert "insulin glargine is recorded only as a prior therapy, which has ended" in messages[0]


# --- the release for the dates of service -------------------------------------------------


def test_fiscal_year_boundaries() -> None:
    assert fiscal_year(date(2026, 9, 30)) == 2026 and fiscal_year(date(2026, 10, 1)) == 2027
    assert release_name(date(2027, 4, 1)) == "ICD-10-CM FY2027, April 1, 2027 update"
    assert release_name(date(2027, 3, 31)) == "ICD-10-CM FY2027 (October 1, 2026 release)"
    assert releases_for(date(2026, 9, 20), date(2026, 10, 10)) == [
        "ICD-10-CM FY2026, April 1, 2026 update", "ICD-10-CM FY2027 (October 1, 2026 release)"]


def test_bundled_release_covers_its_fiscal_year_only(codes) -> None:
    assert codes.fiscal_year == 2026 and codes.update_month == "April"
    assert release_covers(codes, date(2026, 6, 1)) and release_covers(codes, date(2025, 10, 1))
    assert not release_covers(codes, date(2026, 10, 1))


@pytest.mark.parametrize("name", sorted(p.relative_to(EXAMPLES).as_posix()
                                        for p in EXAMPLES.rglob("*.yaml")
                                        if p.name != "practice.yaml"))
def test_every_current_example_says_fy2027_is_not_loaded(world, name) -> None:
    """FY2027 cannot be bundled from here: until a clinic loads it, every example says so."""
    (message,) = findings(review(world, example(name)), "CODE_SET_NOT_FOR_DATES")
    assert "ICD-10-CM FY2027" in message and "does not cover them" in message
    assert "--code-set FILE" in message and "icd10cm_tabular: FILE" in message


def test_dates_of_service_in_the_loaded_release_need_no_advisory(world, case_data) -> None:
    case_data["letter_date"] = date(2026, 5, 20)
    case_data["plan"]["requested_start"] = date(2026, 6, 1)
    for score in case_data["pain"]["scores"] + case_data["pain"]["measures"]:
        score["date"] = min(score["date"], date(2026, 5, 20))
    result = review(world, case_data)
    assert not findings(result, "CODE_SET_NOT_FOR_DATES")
