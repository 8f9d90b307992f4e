"""The names a PAS request bundle uses: the IG version and profiles, code systems, the ids of
its resources, and small builders for codings and references.

X12 code systems (entity type 98, certification type 1322) are named by code only: their
displays are X12's licensed text.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

IG_VERSION = "2.0.1"
PAS = "http://hl7.org/fhir/us/davinci-pas"
US_CORE_DOCUMENT = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-documentreference"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
NDC = "http://hl7.org/fhir/sid/ndc"
PLACE_OF_SERVICE = ("https://www.cms.gov/Medicare/Coding/place-of-service-codes/"
                    "Place_of_Service_Code_Set")
X12_ENTITY = "https://codesystem.x12.org/005010/98"  # PR payer, 1P provider
X12_CERTIFICATION = "https://codesystem.x12.org/005010/1322"  # I initial
SUPPORTING_INFO_TYPE = f"{PAS}/CodeSystem/PASTempCodes"  # the 2.x home of additionalInformation
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
US_EIN = "urn:oid:2.16.840.1.113883.4.4"
UCUM = "http://unitsofmeasure.org"
CASE_ID_SYSTEM = "urn:ketamine-letters:case-id"
SYSTEMS = {"CPT": CPT, "HCPCS": HCPCS}
POINTERS = "ABCDEFGHIJKL"


def profile(name: str) -> list[str]:
    return [f"{PAS}/StructureDefinition/{name}|{IG_VERSION}"]


@dataclass(frozen=True)
class LetterFile:
    """The letter attached to the request: its bytes and whether a physician signed it."""

    pdf: bytes
    signed: bool


@dataclass(frozen=True)
class Ids:
    """The fullUrl (urn:uuid) of each resource in the bundle; references use them."""

    claim: str
    insurer: str
    requestor: str
    coverage: str
    patient: str
    medication: str
    practitioner: str
    letter: str


def ids_for(case_id: str) -> Ids:
    """Stable ids from the case ID, so two exports of one case name their resources alike."""
    names = Ids.__dataclass_fields__
    return Ids(**{name: f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{case_id}/{name}')}"
                  for name in names})


def ref(target: str) -> dict[str, str]:
    return {"reference": target}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(system, code, display)]}


def attachment(letter: LetterFile, title: str) -> dict[str, Any]:
    """The PDF inline (base64), with its size and SHA-1 (FHIR's Attachment.hash)."""
    return {
        "contentType": "application/pdf",
        "data": base64.b64encode(letter.pdf).decode("ascii"),
        "size": len(letter.pdf),
        "hash": base64.b64encode(hashlib.sha1(letter.pdf).digest()).decode("ascii"),
        "title": title,
    }
