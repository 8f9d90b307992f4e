"""Times in signing: every function takes the time as an argument (tests pin it), and all
of them must be timezone-aware, because a naive time would silently shift a validity check
or the signing time printed on the page by the local UTC offset."""

from __future__ import annotations

from datetime import UTC, datetime


def require_aware(when: datetime, what: str) -> datetime:
    """``when`` in UTC; ValueError for a naive datetime, naming the argument ``what``."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {when!r}")
    return when.astimezone(UTC)


def day(when: datetime) -> str:
    """``2026-11-25``: how messages give a certificate's validity dates."""
    return when.astimezone(UTC).strftime("%Y-%m-%d")


def minute(when: datetime) -> str:
    """``2026-11-25 14:03 UTC``: the signing time as printed in the signature box."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
