"""Case + practice + knowledge -> LetterContext: every fact a letter says, precomputed.

Templates never compute: dates are formatted, doses multiplied, billing lines derived and the
evidence for this condition chosen and numbered here, where tests can check them. ``letter``
composes what every letter says, ``appeal`` adds the denial's facts, ``context`` holds the
typed result and ``dates`` the date formats.
"""

from coverage.compose.appeal import compose_appeal
from coverage.compose.context import LetterContext
from coverage.compose.dates import month_span, month_year, span_text, us_date
from coverage.compose.letter import compose_letter

__all__ = ["LetterContext", "compose_appeal", "compose_letter", "month_span", "month_year",
           "span_text", "us_date"]
