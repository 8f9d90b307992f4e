"""The resources a PAS Claim points at: patient, coverage, payer, practice, physician, the
requested drug and the letter.

Only what the case and the practice profile hold is written; what they do not hold (the
payer's identifier, the subscriber's relationship to the patient, a LOINC type for a letter
of medical necessity) is left out rather than guessed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coverage.case import Address
from coverage.compose.context import LetterContext
from coverage.fhir.common import NPI_SYSTEM
from coverage.fhir.pas_terms import (
    NDC,
    UCUM,
    US_CORE_DOCUMENT,
    US_EIN,
    V2_IDENTIFIER_TYPE,
    X12_ENTITY,
    Ids,
    LetterFile,
    attachment,
    concept,
    profile,
    ref,
)
from coverage.pipeline import Inputs

DRUG = "ketamine hydrochloride injection"


def address(value: Address | None) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [{"line": list(value.lines), "city": value.city, "state": value.state,
             "postalCode": value.postal_code, "country": "US"}]


def telecom(phone: str | None = None, fax: str | None = None) -> list[dict[str, str]]:
    found = []
    if phone:
        found.append({"system": "phone", "value": phone})
    if fax:
        found.append({"system": "fax", "value": fax})
    return found


def _with(resource: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """The resource with only the optional elements that have a value."""
    resource.update({key: value for key, value in optional.items() if value})
    return resource


def patient(inputs: Inputs) -> dict[str, Any]:
    person = inputs.case.patient
    return {
        "resourceType": "Patient",
        "meta": {"profile": profile("profile-beneficiary")},
        "identifier": [{"type": concept(V2_IDENTIFIER_TYPE, "MB"), "value": person.member_id}],
        "name": [{"family": person.name.family, "given": [person.name.given]}],
        "gender": person.sex.value,
        "birthDate": person.date_of_birth.isoformat(),
    }


def coverage(inputs: Inputs, ids: Ids) -> dict[str, Any]:
    """The member's coverage; the subscriber relationship is not in the case, so not here."""
    case = inputs.case
    group = case.patient.group_number
    classes = [{"type": concept("http://terminology.hl7.org/CodeSystem/coverage-class",
                                "group"), "value": group}] if group else []
    return _with({
        "resourceType": "Coverage",
        "meta": {"profile": profile("profile-coverage")},
        "status": "active",
        "subscriberId": case.patient.member_id,
        "beneficiary": ref(ids.patient),
        "payor": [ref(ids.insurer)],
    }, **{"class": classes})


def insurer(inputs: Inputs) -> dict[str, Any]:
    """The payer, with its prior-authorization address (the profile's, for a named payer)."""
    from coverage.practice import PayerPurpose
    from coverage.routing import profile_contact

    payer = inputs.case.coverage
    contact = profile_contact(inputs.case, inputs.practice, PayerPurpose.prior_authorization)
    fax, postal = (contact.fax, contact.address) if contact else (payer.payer_fax,
                                                                  payer.payer_address)
    return _with({
        "resourceType": "Organization",
        "meta": {"profile": profile("profile-insurer")},
        "active": True,
        "type": [concept(X12_ENTITY, "PR")],
        "name": payer.payer_name,
    }, telecom=telecom(fax=fax), address=address(postal))


def requestor(inputs: Inputs) -> dict[str, Any]:
    """The practice, as the provider asking for the authorization (tax id when the profile
    has one; the physician's NPI is on the Practitioner)."""
    practice = inputs.practice
    identifiers = [{"type": concept(V2_IDENTIFIER_TYPE, "TAX"), "system": US_EIN,
                    "value": practice.tax_id.replace("-", "")}] if practice.tax_id else []
    return _with({
        "resourceType": "Organization",
        "meta": {"profile": profile("profile-requestor")},
        "active": True,
        "type": [concept(X12_ENTITY, "1P")],
        "name": practice.name,
    }, identifier=identifiers, telecom=telecom(practice.phone, practice.fax),
        address=address(practice.address))


def practitioner(inputs: Inputs) -> dict[str, Any]:
    physician = inputs.physician
    return _with({
        "resourceType": "Practitioner",
        "meta": {"profile": profile("profile-practitioner")},
        "identifier": [{"system": NPI_SYSTEM, "value": physician.npi}],
        "name": [{"family": physician.name.family, "given": [physician.name.given],
                  "suffix": [physician.credentials]}],
    }, telecom=telecom(physician.direct_phone))


def medication_request(inputs: Inputs, context: LetterContext, ids: Ids, now: datetime
                       ) -> dict[str, Any]:
    """The drug of the J3490 line: the NDC (when the case has one) and the dose per infusion,
    as the letter states them."""
    plan = inputs.case.plan
    medication: dict[str, Any] = {"text": DRUG}
    if plan.ndc:
        medication["coding"] = [{"system": NDC, "code": plan.ndc}]
    per_infusion = (f"{context.dose_mg} mg ({plan.dose_mg_per_kg:g} mg/kg) intravenous infusion "
                    f"over {plan.minutes_per_infusion} minutes")
    return {
        "resourceType": "MedicationRequest",
        "meta": {"profile": profile("profile-medicationrequest")},
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": medication,
        "subject": ref(ids.patient),
        "authoredOn": now.isoformat(timespec="seconds"),
        "requester": ref(ids.practitioner),
        "dosageInstruction": [{
            "text": f"{per_infusion}; {plan.infusions} infusion(s) over {plan.weeks} week(s)",
            "route": {"text": "intravenous"},
            "doseAndRate": [{"doseQuantity": {"value": float(context.dose_mg), "unit": "mg",
                                              "system": UCUM, "code": "mg"}}],
        }],
    }


def document(inputs: Inputs, ids: Ids, letter: LetterFile, now: datetime) -> dict[str, Any]:
    """The letter as a DocumentReference: final when a physician signed it, preliminary for a
    draft. The type is words only: no LOINC code for a letter of medical necessity was
    confirmed, and none is invented."""
    state = "signed" if letter.signed else "unsigned draft"
    title = f"Letter of medical necessity, case {inputs.case.case_id} ({state})"
    return {
        "resourceType": "DocumentReference",
        "meta": {"profile": [US_CORE_DOCUMENT]},
        "status": "current",
        "docStatus": "final" if letter.signed else "preliminary",
        "type": {"text": "Letter of medical necessity"},
        "category": [concept("http://hl7.org/fhir/us/core/CodeSystem/"
                             "us-core-documentreference-category", "clinical-note")],
        "subject": ref(ids.patient),
        "date": now.isoformat(timespec="seconds"),
        "author": [ref(ids.practitioner)],
        "description": title,
        "content": [{"attachment": attachment(letter, title)}],
    }
