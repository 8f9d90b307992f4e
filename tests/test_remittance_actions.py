"""The group code + CARC action table: typed, complete, and what the issue asks of it."""

from __future__ import annotations

import pytest

from coverage.case import DenialReason
from coverage.knowledge import load_knowledge
from coverage.remittance.actions import GROUPS, Action, load_actions


def test_table_loads_and_every_group_has_a_default():
    table = load_actions()
    assert set(table.group_defaults) == set(GROUPS)
    assert table.infusion_codes == ["96365", "96366", "96367", "96368", "J3490"]


@pytest.mark.parametrize(("group", "carc", "action", "reason"), [
    ("CO", "50", Action.appeal, DenialReason.not_medically_necessary),
    ("CO", "55", Action.appeal, DenialReason.experimental),
    ("CO", "188", Action.appeal, DenialReason.off_label),
    ("CO", "151", Action.appeal, DenialReason.frequency_limit),
    ("CO", "197", Action.retro_authorization, DenialReason.no_prior_authorization),
    ("CO", "16", Action.corrected_claim, None),
    ("CO", "96", Action.list_for_staff, None),
    ("CO", "167", Action.list_for_staff, None),
    ("PR", "204", Action.patient_responsibility, None),
    ("PR", "50", Action.patient_responsibility, None),   # PR group: the patient's, by default
    ("CO", "45", Action.not_for_this_tool, None),
    ("PR", "1", Action.not_for_this_tool, None),
    ("CO", "A2", Action.list_for_staff, None),           # not in the table: a person reads it
    ("OA", "23", Action.list_for_staff, None),
    ("XX", "50", Action.list_for_staff, None),           # not a group code at all
])
def test_decisions(group, carc, action, reason):
    decided, why, step = load_actions().decide(group, carc)
    assert (decided, why) == (action, reason) and step


def test_appeal_reasons_agree_with_the_knowledge_base_where_both_have_the_code():
    codes = load_knowledge().denial_codes
    for rule in load_actions().rules:
        if rule.reason is not None and rule.carc in codes:
            assert codes[rule.carc].category == rule.reason.value, rule.carc


def test_codes_left_out_of_the_letters_on_purpose_are_listed_for_staff():
    # denial_codes.yaml leaves out 11, 167, 96 and 29 on purpose: each has an explicit row
    table = load_actions()
    for carc in ("11", "167", "96", "29"):
        assert any(r.carc == carc and r.action is Action.list_for_staff for r in table.rules)


def test_rules_outside_the_reference_never_write_a_denial():
    for rule in load_actions().rules:
        if not rule.in_reference:
            assert rule.action is Action.not_for_this_tool
