"""Patient, payer and prescriber from FHIR: who the letter is about, to and from.

The payer comes from a Coverage resource; many exports (Synthea among them) have none, and
then from the payer named on the latest Claim or ExplanationOfBenefit, which says so in its
comment. The prescriber is matched to the practice profile by NPI, and only by an NPI whose
check digit holds: an invalid one is shown and the prescriber is left to fill in.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from coverage.fhir.common import NPI_SYSTEM, codings, day, display_or_reference, fill_in, put
from coverage.fhir.reading import Record, label
from coverage.practice import Practice, npi_is_valid
from coverage.starter import PLACEHOLDER

SEX = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def patient_section(record: Record, weight: tuple[float, str] | None) -> CommentedMap:
    patient = record.patient
    where = label(patient)
    out = CommentedMap()
    name = _name(patient)
    name_map = CommentedMap()
    if name and name.family and name.given:
        put(name_map, "given", " ".join(name.given), where)
        put(name_map, "family", name.family, where)
    else:
        fill_in(name_map, "given", f"{where} gives no full name: copy it from the card")
        fill_in(name_map, "family", "the family name")
    out["name"] = name_map
    birth = day(patient.birthDate)
    if birth:
        put(out, "date_of_birth", birth, where)
    else:
        fill_in(out, "date_of_birth", f"{where} has no full birth date", is_date=True)
    if patient.gender in SEX:
        put(out, "sex", SEX[patient.gender], where)
    else:
        fill_in(out, "sex", "female, male, other or unknown")
    if weight:
        put(out, "weight_kg", weight[0], weight[1])
    else:
        fill_in(out, "weight_kg", "kilograms, from the latest visit (no body weight in FHIR)")
    return out


def _name(patient: Any) -> Any:
    names = list(patient.name or [])
    return next((n for n in names if n.use == "official"), names[0] if names else None)


def _payer_name(record: Record, reference: Any, within: Any) -> str:
    target = record.resolve(reference, within=within)
    name = getattr(target, "name", None) if target is not None else None
    return (name or display_or_reference(reference)).strip()


def _class_value(coverage: Any, kind: str) -> tuple[str | None, str | None]:
    for item in coverage.class_fhir or []:
        if any(c.code == kind for c in codings(item.type)):
            return item.value, item.name
    return None, None


def _member_id(coverage: Any) -> str | None:
    if coverage.subscriberId:
        return coverage.subscriberId
    for identifier in coverage.identifier or []:
        if any(c.code == "MB" for c in codings(identifier.type)) and identifier.value:
            return identifier.value
    return None


def coverage_sections(record: Record, patient: CommentedMap) -> CommentedMap:
    """The coverage section, and member id / group number into the patient section."""
    out = CommentedMap()
    coverages = [c for c in record.of_type("Coverage") if c.status in (None, "active")]
    coverages.sort(key=lambda c: str(getattr(c.period, "start", "") or ""), reverse=True)
    coverage = coverages[0] if coverages else None
    if coverage is not None:
        where = label(coverage)
        payer = _payer_name(record, (coverage.payor or [None])[0], coverage)
        member = _member_id(coverage)
        group, _ = _class_value(coverage, "group")
        plan_value, plan_name = _class_value(coverage, "plan")
        plan = plan_name or plan_value
    else:
        where, payer, member, group, plan = _payer_from_claims(record)
    if member:
        put(patient, "member_id", member, where)
    else:
        fill_in(patient, "member_id", "not in the FHIR record: copy it from the insurance card")
    if group:
        put(patient, "group_number", group, where)
    if payer:
        put(out, "payer_name", payer, where)
    else:
        fill_in(out, "payer_name", "the insurer's name, from the card")
    put(out, "payer_department", "Utilization Management",
        "the department that reviews prior authorization; change it if the payer names another")
    address = CommentedMap()
    address["lines"] = CommentedSeq([PLACEHOLDER])
    address.yaml_add_eol_comment("from the payer's prior-authorization instructions", "lines")
    fill_in(address, "city", "city")
    fill_in(address, "state", "two capitals, e.g. OR")
    fill_in(address, "postal_code", "ZIP code")
    out["payer_address"] = address
    fill_in(out, "payer_fax", "the payer's prior-authorization fax number")
    if plan:
        put(out, "plan_name", plan, where)
    else:
        fill_in(out, "plan_name", "the plan's name, from the card")
    fill_in(out, "plan_type", "commercial, erisa_group, aca_individual, medicare, "
            "medicare_advantage, medicaid or other (FHIR does not say which appeal rules apply)")
    return out


def _payer_from_claims(record: Record) -> tuple[str, str, str | None, str | None, str | None]:
    claims = record.of_type("ExplanationOfBenefit") + record.of_type("Claim")
    if not claims:
        return "", "", None, None, None
    claim = claims[0]  # reading keeps only the latest one
    where = f"{label(claim)} (latest; the record has no Coverage resource)"
    payer = ""
    if getattr(claim, "insurer", None) is not None:
        payer = _payer_name(record, claim.insurer, claim)
    member = None
    for insurance in claim.insurance or []:
        target = record.resolve(insurance.coverage, within=claim)
        if target is not None and target.get_resource_type() == "Coverage":
            payer = payer or _payer_name(record, (target.payor or [None])[0], claim)
            member = member or _member_id(target)
        payer = payer or display_or_reference(insurance.coverage)
    return where, payer, member, None, None


def _npi(practitioner: Any) -> str | None:
    for identifier in practitioner.identifier or []:
        if identifier.system == NPI_SYSTEM and identifier.value:
            return identifier.value.strip()
    return None


def prescriber(record: Record, practice: Practice | None, out: CommentedMap) -> None:
    """Set ``prescriber`` when exactly one practitioner's valid NPI is in the practice."""
    notes: list[str] = []
    matches: dict[str, str] = {}
    for practitioner in _prescribing_order(record):
        npi, where = _npi(practitioner), label(practitioner)
        if npi is None:
            notes.append(f"{where} has no NPI")
        elif not npi_is_valid(npi):
            notes.append(f"{where}: NPI '{npi}' is not a valid NPI (10 digits, check digit)")
        elif practice is None:
            notes.append(f"{where}: NPI {npi} (no practice profile to match it against)")
        else:
            physician = next((p for p in practice.physicians if p.npi == npi), None)
            if physician is None:
                notes.append(f"{where}: NPI {npi} is not in the practice profile")
            else:
                matches.setdefault(physician.id, f"{where}: NPI {npi} matches the practice "
                                   "profile")
    if len(matches) == 1:
        physician_id, why = next(iter(matches.items()))
        put(out, "prescriber", physician_id, why)
        return
    if len(matches) > 1:
        notes = [f"several practitioners match: {', '.join(sorted(matches))}"]
    head = "a physician id from the practice profile"
    fill_in(out, "prescriber", "; ".join([head, *notes[:3]]))


def _prescribing_order(record: Record) -> list[Any]:
    """Practitioners, those who requested medications most recently first."""
    order: list[Any] = []
    requests = sorted(record.of_type("MedicationRequest"),
                      key=lambda r: str(r.authoredOn or ""), reverse=True)
    for request in requests:
        target = record.resolve(request.requester, within=request) if request.requester else None
        if target is not None and target.get_resource_type() == "PractitionerRole":
            target = record.resolve(target.practitioner, within=target)
        if (target is not None and target.get_resource_type() == "Practitioner"
                and all(target is not seen for seen in order)):
            order.append(target)
    for practitioner in record.of_type("Practitioner"):
        if all(practitioner is not seen for seen in order):
            order.append(practitioner)
    return order
