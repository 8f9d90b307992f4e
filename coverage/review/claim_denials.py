"""Claim denials that are not answered with an appeal letter.

CARC 16 (the claim lacks information or has billing errors) is fixed by a corrected claim that
carries the missing item, not by an appeal: the review blocks the letter and says so. CARC 197
(no authorization before treatment) is answered by a request for retroactive authorization,
its own kind of request, and the review says so when the case still asks for an appeal. A
claim is denied after its services are given: remittance codes dated before the last date of
service are a contradiction the letter would print.
"""

from __future__ import annotations

from coverage.case import Case
from coverage.kinds import LetterKind

CORRECTED_CLAIM = "16"
NO_AUTHORIZATION = "197"


def _carc_numbers(case: Case) -> dict[str, str]:
    from coverage.review.appeal import carc_number

    assert case.denial is not None
    return {carc_number(code): code for code in case.denial.carc_codes}


def review_claim_denials(case: Case, kind: LetterKind, block, advise) -> None:
    if case.denial is None:
        return
    numbers = _carc_numbers(case)
    denial = case.denial
    if numbers and denial.service_to is not None and denial.denial_date < denial.service_to:
        block(
            "CLAIM_DENIED_BEFORE_SERVICE", "denial.denial_date",
            f"the claim's remittance codes ({', '.join(denial.carc_codes)}) are dated "
            f"{denial.denial_date}, before the last date of service ({denial.service_to}): a "
            "claim is denied after its services are given. Correct the denial date (the date "
            "on the remittance advice) or the dates of service",
        )
    if CORRECTED_CLAIM in numbers:
        remarks = ", ".join(case.denial.rarc_codes)
        named = f" (remark codes {remarks} say what is missing)" if remarks else ""
        block(
            "CORRECTED_CLAIM_NOT_APPEAL", "denial.carc_codes",
            f"{numbers[CORRECTED_CLAIM]} means the claim lacked information or had a billing "
            f"error{named}: it is not appealed. Send a corrected claim with the missing item "
            "through the practice's billing system (outside this tool); write an appeal only "
            "if the corrected claim is denied for another reason",
        )
    if NO_AUTHORIZATION in numbers and kind is LetterKind.APPEAL:
        advise(
            "RETRO_AUTHORIZATION_NOT_APPEAL", "denial.requested_action",
            f"{numbers[NO_AUTHORIZATION]} means no authorization was obtained before treatment: "
            "payers answer it through a request for retroactive authorization rather than a "
            "first-level appeal; leave out denial.requested_action (or set it to "
            "retro_authorization) and `ketamine-letters appeal` writes that request, addressed "
            "to the payer's authorization department",
        )
