"""What a complete appeal carries, and what each reason needs to be answered on the plan's terms.

appeals.md 5.2 lists an appeal's elements (claim or authorization number, receipt date, who is
appealing with the appointment form, the codes, peer-to-peer, the policy cited and its
version); payer-policies.md section 4 says to answer the plan's own definition of
investigational and its clauses, in the version the denial names. A missing element is ADVISORY:
the letter can still go (and asks for what it lacks), but billing staff see the gap first.
"""

from __future__ import annotations

from coverage.case import Appellant, Case, DenialReason, PlanType
from coverage.kinds import LetterKind
from coverage.knowledge import KnowledgeBase
from coverage.practice import PayerPurpose, Physician, Practice
from coverage.review.findings import Finding, Review, Severity
from coverage.routing import profile_contact, purpose_of

MEDICARE_PLANS = {PlanType.medicare, PlanType.medicare_advantage}
URGENT_START_DAYS = 7  # an expedited decision is due within 72 hours (appeals.md 2.2)


def review_elements(case: Case, practice: Practice, kb: KnowledgeBase,
                    reasons: list[DenialReason], kind: LetterKind, block, advise) -> None:
    denial = case.denial
    assert denial is not None
    _review_routing(case, practice, kind, advise)
    if denial.carc_codes and not denial.claim_number:
        advise("NO_CLAIM_NUMBER", "denial.claim_number",
               "the denial carries claim codes (CARC), so there is a claim: give its number, "
               "which the payer files the appeal under")
    if (kind is LetterKind.APPEAL and not denial.authorization_reference
            and not case.coverage.prior_authorization_number):
        advise("NO_AUTHORIZATION_REFERENCE", "denial.authorization_reference",
               "give the prior-authorization request's reference (on a pre-service denial it is "
               "often the notice's reference), so the appeal is matched to the request")
    physician = practice.physician(case.prescriber)
    if physician is not None:
        _review_peer_to_peer(physician, kind, advise)
    if kind is LetterKind.APPEAL:
        _review_appellant(case, advise)
    if denial.policy_cited and not denial.policy_version:
        advise("POLICY_VERSION_NOT_RECORDED", "denial.policy_version",
               "the denial cites a policy; record the version or effective date it names, so "
               "the appeal answers that text (policies change; ask the payer if the notice "
               "does not say)")
    _review_urgent_start(case, advise)
    if DenialReason.experimental in reasons:
        _review_definition(case, advise)
    if DenialReason.off_label in reasons and denial.off_label_clause is None:
        advise("OFF_LABEL_CLAUSE_NOT_RECORDED", "denial.off_label_clause",
               "record the plan's clause on off-label drug use (source, version, text) and "
               "answer each test it sets; until then the letter answers only in general terms")
    if DenialReason.step_therapy in reasons:
        _review_steps(case, kb, block, advise)
    if (DenialReason.frequency_limit in reasons and case.ketamine_response is not None
            and case.ketamine_response.relief_weeks is None):
        advise("FREQUENCY_WITHOUT_RELIEF_DURATION", "ketamine_response.relief_weeks",
               "a frequency denial is answered with the interval the documented relief "
               "justifies: record how many weeks the relief lasted")


def review_lmn_routing(case: Case, practice: Practice, base: Review) -> Review:
    """A letter of medical necessity for a payer named in the profile needs its
    prior-authorization address (or one typed in the case)."""
    if (case.coverage.payer_id is None or case.coverage.payer_address is not None
            or profile_contact(case, practice, PayerPurpose.prior_authorization) is not None):
        return base
    finding = Finding(
        "NO_ADDRESS_FOR_PURPOSE", Severity.advisory, "coverage.payer_id",
        f"the practice profile has no prior_authorization address for payer "
        f"'{case.coverage.payer_id}', and the case has none: the letter shows only the "
        "payer's name")
    return Review((*base.findings, finding), base.condition, base.code_set_release)


def _review_routing(case: Case, practice: Practice, kind: LetterKind, advise) -> None:
    purpose = purpose_of(case, kind)
    words = purpose.value.replace("_", " ")
    if case.coverage.payer_id is None:
        advise("PAYER_NOT_IN_PROFILE", "coverage.payer_id",
               f"the letter goes to the address typed in the case file; payers take "
               f"{words} at their own address and fax: add the payer to the practice "
               "profile's payers and name it with coverage.payer_id")
    elif profile_contact(case, practice, purpose) is None:
        advise("NO_ADDRESS_FOR_PURPOSE", "coverage.payer_id",
               f"the practice profile has no {purpose.value} address for payer "
               f"'{case.coverage.payer_id}'; the address typed in the case file (if any) is "
               "used")


def _review_peer_to_peer(physician: Physician, kind: LetterKind, advise) -> None:
    if kind is not LetterKind.APPEAL:
        return
    if not physician.direct_phone:
        advise("NO_DIRECT_LINE", "physicians.direct_phone",
               f"{physician.id} has no direct line in the practice profile: the appeal cannot "
               "offer a peer-to-peer call")
    if not physician.call_windows:
        advise("NO_CALL_WINDOWS", "physicians.call_windows",
               f"{physician.id} has no call windows in the practice profile: give two or more, "
               "with the time zone, so the payer's reviewer can call")


def _review_appellant(case: Case, advise) -> None:
    denial = case.denial
    assert denial is not None
    if denial.appellant is None:
        advise("APPELLANT_NOT_STATED", "denial.appellant",
               "say who is appealing: physician_as_representative (with the patient's signed "
               "appointment form) or patient")
    elif (denial.appellant is Appellant.physician_as_representative
          and not denial.representative_form):
        form = (" (for Medicare, form CMS-1696)"
                if case.coverage.plan_type in MEDICARE_PLANS else "")
        advise("REPRESENTATIVE_FORM_MISSING", "denial.representative_form",
               f"the physician appeals as the patient's representative: record the form the "
               f"patient signed{form}; it is listed as an enclosure")


def _review_definition(case: Case, advise) -> None:
    denial = case.denial
    assert denial is not None
    definition = denial.plan_definition
    if definition is None:
        advise("DEFINITION_NOT_RECORDED", "denial.plan_definition",
               "an experimental/investigational denial is answered against the plan's own "
               "definition: request it (the member's plan document governs) and record it "
               "with its source, version and tests; until then the letter asks for it")
        return
    if not definition.version:
        advise("DEFINITION_VERSION_NOT_RECORDED", "denial.plan_definition.version",
               "record the version or effective date of the definition quoted")
    if not definition.tests:
        advise("DEFINITION_TESTS_NOT_ANSWERED", "denial.plan_definition.tests",
               "list each test of the definition with the physician's answer")


def _review_steps(case: Case, kb: KnowledgeBase, block, advise) -> None:
    from coverage.review import therapy_class_key

    denial = case.denial
    assert denial is not None
    if not denial.step_requirements:
        advise("STEP_REQUIREMENTS_NOT_RECORDED", "denial.step_requirements",
               "record what the plan requires, by therapy class, so the letter can map each "
               "requirement to what the patient tried")
        return
    tried = {therapy_class_key(t, kb) for t in case.prior_therapies}
    for index, req in enumerate(denial.step_requirements):
        field = f"denial.step_requirements[{index}].therapy_class"
        if req.therapy_class not in kb.therapy_classes:
            block("STEP_CLASS_UNKNOWN", field,
                  f"'{req.therapy_class}' is not a therapy class the tool knows; use one of "
                  f"the keys in `ketamine-letters schema` (e.g. gabapentinoid, snri)")
        elif req.therapy_class not in tried:
            advise("STEP_NOT_SHOWN", field,
                   f"the plan requires {kb.therapy_classes[req.therapy_class].label}, and the "
                   "record shows no therapy of that class: record it, or why it was not "
                   "suitable")


def _review_urgent_start(case: Case, advise) -> None:
    """An expedited request whose first infusion is weeks away argues against its own urgency."""
    denial = case.denial
    assert denial is not None
    start = denial.service_from or case.plan.requested_start
    if not denial.urgent or start is None or case.letter_date is None:
        return
    days = (start - case.letter_date).days
    if days > URGENT_START_DAYS:
        advise("URGENT_START_FAR", "denial.service_from",
               f"expedited review is requested, but the first infusion is {start}, {days} days "
               f"after the letter ({case.letter_date}); an expedited decision is due within 72 "
               "hours, so a start weeks away undercuts the urgency: give the earliest date the "
               "infusion can be given, or do not ask for expedited review")
