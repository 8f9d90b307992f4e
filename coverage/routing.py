"""Where a letter goes: the payer's department for the letter's purpose.

Payers handle prior authorization, appeals and external review in different departments, at
different addresses and fax numbers; an appeal sent to the authorization fax is often lost. The
practice profile keeps each payer's addresses per purpose (``payers:``), and a case names the
payer (``coverage.payer_id``). Old case files that carry the address inline keep working: the
inline address is used when the case names no payer, or when the profile has no address for
this purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from coverage.case import AppealLevel, Case
from coverage.kinds import LetterKind
from coverage.practice import PayerContact, PayerPurpose, Practice


@dataclass(frozen=True)
class Recipient:
    """The address block of a letter, already chosen for its purpose."""

    name: str
    department: str | None
    lines: list[str]
    fax: str | None
    phone: str | None
    purpose: PayerPurpose
    from_profile: bool


def purpose_of(case: Case, kind: LetterKind) -> PayerPurpose:
    """An appeal goes to appeals (or external review); an LMN and a retro request to
    prior authorization."""
    if kind is LetterKind.APPEAL:
        denial = case.denial
        if denial is not None and denial.level is AppealLevel.external_review:
            return PayerPurpose.external_review
        return PayerPurpose.appeals
    return PayerPurpose.prior_authorization


def profile_contact(case: Case, practice: Practice, purpose: PayerPurpose) -> PayerContact | None:
    """The profile's department for this purpose, when the case names a payer that has one."""
    payer = practice.payers.get(case.coverage.payer_id or "")
    return payer.contact(purpose) if payer is not None else None


def recipient_for(case: Case, practice: Practice, kind: LetterKind) -> Recipient:
    purpose = purpose_of(case, kind)
    coverage = case.coverage
    payer = practice.payers.get(coverage.payer_id or "")
    name = (payer.name if payer is not None else None) or coverage.payer_name or ""
    contact = profile_contact(case, practice, purpose)
    if contact is not None:
        department, address, fax, phone = contact.department, contact.address, contact.fax, \
            contact.phone
    else:
        department, address, fax, phone = (coverage.payer_department, coverage.payer_address,
                                           coverage.payer_fax, None)
    lines = []
    if address is not None:
        lines = [*address.lines, f"{address.city}, {address.state} {address.postal_code}"]
    return Recipient(name, department, lines, fax, phone, purpose, contact is not None)
