"""ICD-10-CM code search over the loaded code set (``coverage.codes``), for the case form.

Staff type a code ("G90.5") or words ("crps", "postherpetic"); billable codes come first, and
only billable codes can be picked, since the review refuses a category (G90.5) on a letter.
"""

from __future__ import annotations

import re

from coverage.codes import CodeEntry, CodeSet

ABBREVIATIONS = {  # what staff type for the conditions the tool writes letters for
    "crps": "complex regional pain syndrome",
    "phn": "postherpetic",
    "pdpn": "diabetes polyneuropathy",
    "dpn": "diabetes polyneuropathy",
}
CODE_LIKE = re.compile(r"^[A-Za-z]\d[0-9A-Za-z]?\.?[0-9A-Za-z]{0,4}$")
LIMIT = 15


_INDEXES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}


def _index(codes: CodeSet) -> tuple[tuple[str, str], ...]:
    """(code, lower-case description) for every code in the release, in code order."""
    key = (codes.release, codes.source)
    if key not in _INDEXES:
        _INDEXES[key] = tuple(sorted((code, description.lower())
                                     for code, (description, _) in codes.entries.items()))
    return _INDEXES[key]


def search(codes: CodeSet, query: str, limit: int = LIMIT) -> list[CodeEntry]:
    """Billable codes matching a code prefix or every word of a description."""
    text = query.strip()
    if len(text) < 2:
        return []
    found: list[CodeEntry] = []
    if CODE_LIKE.match(text):
        prefix = text.upper().replace(".", "")
        for code, _ in _index(codes):
            if code.replace(".", "").startswith(prefix):
                entry = codes.lookup(code)
                if entry is not None and entry.billable:
                    found.append(entry)
                    if len(found) >= limit:
                        break
        if found or any(ch.isdigit() for ch in text):
            return found
    words = ABBREVIATIONS.get(text.lower(), text.lower()).split()
    for code, description in _index(codes):
        if all(word in description for word in words):
            entry = codes.lookup(code)
            if entry is not None and entry.billable:
                found.append(entry)
                if len(found) >= limit:
                    break
    return found
