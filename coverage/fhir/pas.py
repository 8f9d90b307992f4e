"""A Da Vinci PAS request Bundle from a case and its letter: the Claim and what it points at.

The IG version is PAS STU 2.0.1 (:data:`IG_VERSION`): the 2.x line is the one CMS points the
payers of CMS-0057-F at; the corpus example in ``tests/data/pas`` is 1.1.0 and gives the shape
(Claim first, then the insurer and requestor Organizations, Coverage, Patient, the requested
service, the Practitioner). Every profile is named with its version (``...|2.0.1``) so the
bundle says which release it was written for.

Nothing is computed here that the letter does not already say: the billing lines, diagnosis
pointers and dose come from the letter's composed context, so the request and the letter
cannot disagree. X12 code systems (entity type, certification type) are named by code only:
their displays are X12's licensed text.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from coverage.case import Phase
from coverage.compose.context import BillingRow, LetterContext
from coverage.fhir.common import ICD10CM
from coverage.fhir.pas_parties import (
    coverage,
    document,
    insurer,
    medication_request,
    patient,
    practitioner,
    requestor,
)
from coverage.fhir.pas_terms import (
    CASE_ID_SYSTEM,
    IG_VERSION,
    PAS,
    PLACE_OF_SERVICE,
    POINTERS,
    SUPPORTING_INFO_TYPE,
    SYSTEMS,
    X12_CERTIFICATION,
    Ids,
    LetterFile,
    concept,
    ids_for,
    profile,
    ref,
)
from coverage.pipeline import Inputs

__all__ = ["IG_VERSION", "LetterFile", "build_request", "service_period"]


def service_period(inputs: Inputs) -> tuple[date, date] | None:
    """The requested series' dates, as the remittance matcher reads them; none without a start."""
    plan = inputs.case.plan
    if plan.requested_start is None:
        return None
    return plan.requested_start, plan.requested_start + timedelta(weeks=plan.weeks)


def build_request(inputs: Inputs, context: LetterContext, letter: LetterFile, now: datetime
                  ) -> dict[str, Any]:
    """The request Bundle as plain JSON data (validated by the caller before it is written)."""
    ids = ids_for(inputs.case.case_id)
    entries = [
        (ids.claim, claim(inputs, context, ids, now)),
        (ids.insurer, insurer(inputs)),
        (ids.requestor, requestor(inputs)),
        (ids.coverage, coverage(inputs, ids)),
        (ids.patient, patient(inputs)),
        (ids.medication, medication_request(inputs, context, ids, now)),
        (ids.practitioner, practitioner(inputs)),
        (ids.letter, document(inputs, ids, letter, now)),
    ]
    return {
        "resourceType": "Bundle",
        "meta": {"profile": profile("profile-pas-request-bundle")},
        "identifier": {"system": CASE_ID_SYSTEM + ":submission",
                       "value": f"{inputs.case.case_id}-{now:%Y%m%dT%H%M%SZ}"},
        "type": "collection",
        "timestamp": now.isoformat(timespec="seconds"),
        "entry": [{"fullUrl": url, "resource": {"id": url.removeprefix("urn:uuid:"), **resource}}
                  for url, resource in entries],
    }


def claim(inputs: Inputs, context: LetterContext, ids: Ids, now: datetime) -> dict[str, Any]:
    """The PAS Claim: one item per billing line of the letter, the letter as supportingInfo."""
    diagnoses = [
        {"sequence": number, "diagnosisCodeableConcept": concept(ICD10CM, line.code,
                                                                 line.description)}
        for number, line in enumerate(context.diagnoses, start=1)
    ]
    return {
        "resourceType": "Claim",
        "meta": {"profile": profile("profile-claim")},
        "identifier": [{"system": CASE_ID_SYSTEM, "value": inputs.case.case_id}],
        "status": "active",
        "type": concept("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
        "use": "preauthorization",
        "patient": ref(ids.patient),
        "created": now.isoformat(timespec="seconds"),
        "insurer": ref(ids.insurer),
        "provider": ref(ids.requestor),
        "priority": concept("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "careTeam": [{
            "extension": [{"url": f"{PAS}/StructureDefinition/extension-careTeamClaimScope",
                           "valueBoolean": True}],
            "sequence": 1,
            "provider": ref(ids.practitioner),
        }],
        "supportingInfo": [{
            "sequence": 1,
            "category": concept(SUPPORTING_INFO_TYPE, "additionalInformation"),
            "valueReference": ref(ids.letter),
        }],
        "diagnosis": diagnoses,
        "insurance": [{"sequence": 1, "focal": True, "coverage": ref(ids.coverage)}],
        "item": [item(inputs, row, number, ids)
                 for number, row in enumerate(context.billing, start=1)],
    }


def item(inputs: Inputs, row: BillingRow, number: int, ids: Ids) -> dict[str, Any]:
    """One billing line of the letter: its code, units over the request, dates and place."""
    case = inputs.case
    extensions: list[dict[str, Any]] = [{
        "url": f"{PAS}/StructureDefinition/extension-itemTraceNumber",
        "valueIdentifier": {"system": CASE_ID_SYSTEM + ":item",
                            "value": f"{case.case_id}-{number}"},
    }]
    if case.plan.phase is Phase.initial_series:
        extensions.append({"url": f"{PAS}/StructureDefinition/extension-certificationType",
                           "valueCodeableConcept": concept(X12_CERTIFICATION, "I")})
    if row.system == "HCPCS":  # the drug line: the NDC goes on the requested medication
        extensions.append({"url": f"{PAS}/StructureDefinition/extension-requestedService",
                           "valueReference": ref(ids.medication)})
    found: dict[str, Any] = {
        "extension": extensions,
        "sequence": number,
        "careTeamSequence": [1],
        "diagnosisSequence": [POINTERS.index(p) + 1 for p in row.pointers],
        "informationSequence": [1],
        "productOrService": {**concept(SYSTEMS[row.system], row.code), "text": row.description},
        "quantity": {"value": row.total_units},
        "locationCodeableConcept": concept(PLACE_OF_SERVICE, f"{case.plan.place_of_service:02d}"),
    }
    period = service_period(inputs)
    if period:
        found["servicedPeriod"] = {"start": period[0].isoformat(), "end": period[1].isoformat()}
    return found
