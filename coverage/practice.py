"""The practice profile: letterhead, physicians and the clinic's protocol settings.

A clinic writes this file once; every case names one of its physicians as prescriber.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from coverage.case import Address, PersonName, PhoneNumber, ProtocolOverrides, SafeId, ShortText

NPI_PREFIX = "80840"


def npi_check_digit(first_nine: str) -> int:
    """The Luhn check digit of an NPI, computed over the prefix 80840 and nine digits (CMS)."""
    digits = [int(d) for d in NPI_PREFIX + first_nine]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:  # rightmost digit of the payload is doubled
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and npi_check_digit(npi[:9]) == int(npi[9])


def _valid_npi(value: str) -> str:
    value = value.strip()
    if not (len(value) == 10 and value.isdigit()):
        raise ValueError("an NPI is exactly 10 digits")
    if not npi_is_valid(value):
        raise ValueError("this NPI fails its check digit (Luhn over 80840); check for a typo")
    return value


Npi = Annotated[str, AfterValidator(_valid_npi)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Physician(_Model):
    id: SafeId
    name: PersonName
    credentials: ShortText = Field(description="e.g. 'MD' or 'DO, MPH'")
    specialty: ShortText
    npi: Npi
    direct_phone: PhoneNumber | None = Field(
        default=None, description="line for peer-to-peer calls"
    )
    call_windows: list[ShortText] = Field(
        default_factory=list, max_length=6,
        description="when the physician takes peer-to-peer calls, with the time zone, e.g. "
        "'Tuesday and Thursday, 12:00-13:00 Pacific'",
    )
    p12: str | None = Field(default=None, description="PKCS#12 signing identity, path")
    signature_image: str | None = Field(default=None, description="image for fax copies, path")

    @property
    def display_name(self) -> str:
        return f"{self.name.full}, {self.credentials}"


class ProtocolBounds(ProtocolOverrides):
    """The clinic's own infusion protocol: limits (requests outside them are blocked) and the
    plan a letter prints as the practice's own (rescue medicines, fasting, consent, escort,
    discharge, maintenance monitoring, when response is assessed). A case may override the
    printed parts (``plan.protocol``); nothing here is attributed to the evidence.
    """

    dose_mg_per_kg_min: float = Field(default=0.1, gt=0)
    dose_mg_per_kg_max: float = Field(default=1.0, gt=0)
    minutes_min: int = Field(default=40, gt=0)
    minutes_max: int = Field(default=60, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ProtocolBounds:
        if self.dose_mg_per_kg_min > self.dose_mg_per_kg_max:
            raise ValueError("dose_mg_per_kg_min is above dose_mg_per_kg_max")
        if self.minutes_min > self.minutes_max:
            raise ValueError("minutes_min is above minutes_max")
        return self


class PayerContact(_Model):
    """One department of a payer: where a letter for one purpose goes."""

    department: ShortText | None = None
    address: Address | None = None
    fax: PhoneNumber | None = None
    phone: PhoneNumber | None = None


class PayerPurpose(StrEnum):
    """Why a letter goes to a payer; each purpose has its own department and address."""

    prior_authorization = "prior_authorization"
    appeals = "appeals"
    external_review = "external_review"


class Payer(_Model):
    """A payer the practice writes to, typed once: a case names it by its id."""

    name: ShortText
    prior_authorization: PayerContact | None = None
    appeals: PayerContact | None = None
    external_review: PayerContact | None = None

    def contact(self, purpose: PayerPurpose) -> PayerContact | None:
        return getattr(self, purpose.value)


class Practice(_Model):
    name: ShortText
    address: Address
    phone: PhoneNumber
    fax: PhoneNumber | None = None
    email: ShortText | None = None
    tax_id: Annotated[str, Field(pattern=r"^\d{2}-\d{7}$")] | None = None
    physicians: list[Physician] = Field(min_length=1)
    protocol: ProtocolBounds = Field(default_factory=ProtocolBounds)
    icd10cm_tabular: str | None = Field(
        default=None, description="path to a newer official ICD-10-CM tabular XML release"
    )
    audit_log: str | None = Field(default=None, description="path of the SQLite audit log")
    payers: dict[SafeId, Payer] = Field(
        default_factory=dict,
        description="payer id -> name and addresses per purpose; a case names one (payer_id)",
    )
    appeal_windows: dict[ShortText, int] = Field(
        default_factory=dict, description="payer name -> days to file an appeal, overriding"
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> Practice:
        ids = [p.id for p in self.physicians]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"physician id used twice: {', '.join(dupes)}")
        return self

    def physician(self, physician_id: str) -> Physician | None:
        return next((p for p in self.physicians if p.id == physician_id), None)
