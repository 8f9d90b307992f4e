"""The planned route of administration: a closed choice, and the words that give one away.

The foundation supports ketamine only as an intravenous infusion in a monitored setting. The
case model therefore holds the route as a :class:`Route` (one supported value; the others are
named so the review can refuse them with the reason), and any detail as a free-text note that
the review reads for another route before it is printed.

Case files written before the route was a choice held free text. Text made only of the words
of an intravenous infusion ('IV', 'continuous intravenous (IV) infusion') still loads as
:attr:`Route.intravenous_infusion`; any other text is refused at load with the list of choices,
so 'IV, then nasal at home' can never pass as intravenous.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Route(StrEnum):
    """Routes a plan may name; only ``intravenous infusion`` is supported."""

    intravenous_infusion = "intravenous infusion"
    intravenous_push = "intravenous push"
    intramuscular = "intramuscular"
    subcutaneous = "subcutaneous"
    oral = "oral"
    sublingual = "sublingual"
    intranasal = "intranasal"


SUPPORTED_ROUTE = Route.intravenous_infusion
ADDICTIVE_ROUTES = frozenset({Route.oral, Route.sublingual, Route.intranasal})

INTRAVENOUS = re.compile(r"\b(iv|intravenous(ly)?|intra-venous)\b")
OTHER_ROUTES = re.compile(
    r"\b(oral(ly)?|po|nasal(ly)?|intranasal(ly)?|sprays?|troches?|lozenges?|tablets?|"
    r"capsules?|sublingual(ly)?|buccal|intramuscular(ly)?|im|subcutaneous(ly)?|sc|sq|"
    r"topical(ly)?|creams?|transdermal|patch(es)?|rectal(ly)?|inhal\w*|push(es)?|"
    r"bolus(es)?|epidural|intrathecal|home|self-administered|take-home)\b"
)
NEGATION = re.compile(r"\b(no|not|non|never|without|instead of|rather than|other than)\b")
IV_ROUTE_WORDS = frozenset({"iv", "intravenous", "intravenously", "intra", "venous",
                            "infusion", "infusions", "continuous", "ketamine"})


def is_intravenous_text(text: str) -> bool:
    """'intravenous infusion', 'IV', 'continuous intravenous (IV) infusion': yes.

    A closed vocabulary, not a search: the whole text must be made of these words (and name
    intravenous), so 'IV push', 'no IV', 'IV, then nasal at home' or 'oral' are not.
    """
    lowered = text.lower()
    words = re.sub(r"[\s\-(),/]+", " ", lowered).split()
    return (bool(words) and set(words) <= IV_ROUTE_WORDS
            and bool(INTRAVENOUS.search(lowered) or {"intra", "venous"} <= set(words))
            and not OTHER_ROUTES.search(lowered))


def route_from_text(value: object) -> object:
    """A route choice from what a case file holds (the choice itself, or old free text).

    Anything that is neither a choice nor intravenous-infusion wording is refused with the
    choices listed; the value itself is not repeated (messages carry no case data).
    """
    if not isinstance(value, str):
        return value
    spaced = " ".join(value.replace("_", " ").split()).lower()
    for route in Route:
        if spaced == route.value:
            return route
    if is_intravenous_text(value):
        return Route.intravenous_infusion
    choices = ", ".join(f"'{route.value}'" for route in Route)
    raise ValueError(
        f"is not one of the routes this tool knows ({choices}); ketamine is supported only "
        "as an intravenous infusion, and any detail goes in plan.route_note"
    )


def note_names_other_route(note: str) -> bool:
    """A route note that names another route or form, or negates IV, is not a note on IV."""
    lowered = note.lower()
    return bool(OTHER_ROUTES.search(lowered)) or bool(
        NEGATION.search(lowered) and INTRAVENOUS.search(lowered))
