"""Dates and spans of time as US payers read them; templates print these, never compute them."""

from __future__ import annotations

from datetime import date


def us_date(value: date | None) -> str:
    """'March 4, 2026': the form US payers read without ambiguity."""
    if value is None:
        return ""
    return f"{value:%B} {value.day}, {value.year}"


def month_year(value: date | None) -> str:
    return f"{value:%b %Y}" if value else ""


def month_span(start: date, end: date) -> str:
    """'May 2024 – Oct 2024', or 'May 2024' when both fall in one month."""
    first, last = month_year(start), month_year(end)
    return first if first == last else f"{first} – {last}"


def span_text(start: date, end: date) -> str:
    """A human length of time between two dates: weeks under two months, else years and months.

    Rounded to the nearest unit, so an 8-week program reads "8 weeks", not "7 weeks".
    """
    days = (end - start).days
    if days < 61:
        weeks = max(round(days / 7), 1 if days > 0 else 0)
        return f"{weeks} week{'s' * (weeks != 1)}"
    months = round(days / 30.44)
    years, months = divmod(months, 12)
    parts = []
    if years:
        parts.append(f"{years} year{'s' * (years != 1)}")
    if months:
        parts.append(f"{months} month{'s' * (months != 1)}")
    return " ".join(parts)
