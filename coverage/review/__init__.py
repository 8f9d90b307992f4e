"""Readiness review: what stops an honest letter, and what payers commonly deny for.

A pure function of the case, the practice profile, the knowledge base and the code set.
BLOCKING findings mean no letter is written; ADVISORY findings are listed and the letter is
written. Every finding names the field it is about and says in a plain sentence what to do.
``letter`` holds the rules every letter needs, ``appeal`` what only an appeal adds.
"""

from coverage.review.findings import Finding, Review, Severity
from coverage.review.letter import (
    PLACES_OF_SERVICE,
    SAFETY_LABELS,
    primary_condition,
    review_case,
    therapy_class_key,
)

__all__ = [
    "PLACES_OF_SERVICE", "SAFETY_LABELS", "Finding", "Review", "Severity",
    "primary_condition", "review_case", "therapy_class_key",
]
