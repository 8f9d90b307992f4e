"""Rules on what the letter's plan rests on: the options not tried, and the practice's maximum.

A guideline names options for each condition (``recommended_classes`` in the knowledge base).
A payer's medical director asks of each one: tried, or why not? So the review is ADVISORY for a
group that is neither among the prior therapies nor explained under ``options_not_tried``.
"""

from __future__ import annotations

from coverage.case import Case, OptionNotTried
from coverage.knowledge import Condition, KnowledgeBase
from coverage.practice import Practice


def option_class_key(option: OptionNotTried, kb: KnowledgeBase) -> str | None:
    """The class of an option not tried: as the case gives it, else derived from its name."""
    if option.therapy_class:
        return option.therapy_class
    cls = kb.class_of_agent(option.option)
    return cls.key if cls else None


def review_options(
    case: Case, kb: KnowledgeBase, condition: Condition | None, classes_tried: set[str],
    block, advise,
) -> None:
    explained: set[str] = set()
    for i, option in enumerate(case.options_not_tried):
        field = f"options_not_tried[{i}]"
        if option.therapy_class and option.therapy_class not in kb.therapy_classes:
            block(
                "OPTION_CLASS_UNKNOWN",
                f"{field}.therapy_class",
                f"'{option.therapy_class}' is not a known class; leave it out or use one of "
                "the classes `ketamine-letters new` lists",
            )
            continue
        key = option_class_key(option, kb)
        if key is None:
            advise(
                "OPTION_CLASS_NOT_DERIVED",
                f"{field}.therapy_class",
                f"the tool does not know the class of '{option.option}'; set therapy_class",
            )
            continue
        explained.add(key)
    if condition is None:
        return
    for group in condition.recommended_classes:
        if set(group.classes) & (classes_tried | explained):
            continue
        advise(
            "RECOMMENDED_OPTION_NOT_ADDRESSED",
            "options_not_tried",
            f"{group.label} ({group.basis}) was neither tried nor explained: record it under "
            "prior_therapies, or under options_not_tried with the reason it is not suitable "
            "(contraindicated, not_tolerated, declined, not_available, not_appropriate)",
        )


def review_protocol(case: Case, practice: Practice, block) -> None:
    """The practice's (or the case's) maximum dose per infusion is a limit, like its bounds."""
    override = case.plan.protocol
    maximum = override.max_mg_per_infusion if override else None
    if maximum is None:
        maximum = practice.protocol.max_mg_per_infusion
    bounds = practice.protocol
    within = bounds.dose_mg_per_kg_min <= case.plan.dose_mg_per_kg <= bounds.dose_mg_per_kg_max
    if maximum is None or not within:  # outside the mg/kg bounds: DOSE_OUT_OF_BOUNDS says so
        return
    dose_mg = round(case.plan.dose_mg_per_kg * case.patient.weight_kg, 1)
    if dose_mg > maximum:
        block(
            "DOSE_ABOVE_MAXIMUM",
            "plan.dose_mg_per_kg",
            f"{case.plan.dose_mg_per_kg:g} mg/kg at {case.patient.weight_kg:g} kg is "
            f"{dose_mg:g} mg, above the protocol's maximum of {maximum:g} mg per infusion",
        )
