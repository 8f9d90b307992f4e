"""The codes a tabular note names, in every form the official tabular writes them.

A note ends with its codes in parentheses: a single code (``G89.0``), a category with a dash
(``G90.5-``, ``E85.-``), a range (``G56-G58``, ``B27.0-B27.9``), a list of these (``T36-T50,
T51-T65``), and a range qualified by the characters that follow (``E08-E13 with .42``,
``B27.0-B27.9 with fifth character 1``, ``T36-T50 with fifth or sixth character 5``). A code
named names its children too. A group that is not in one of these forms (``(due to)``) is not a
reference; a qualifier the tool does not understand makes the group unread rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

_CODE = r"[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]*)*\.?-?"
_ITEM = re.compile(rf"^(?P<low>{_CODE})(?:\s*-\s*(?P<high>{_CODE}))?(?:\s+with\s+(?P<q>.+))?$")
_GROUP = re.compile(r"\(([^()]*)\)")
_ORDINALS = {
    "fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7,
}
_POSITIONS = re.compile(
    r"^(?P<pos>(?:\w+)(?:\s+or\s+\w+)?)\s+characters?\s+\.?(?P<chars>[0-9A-Z](?:-[0-9A-Z])?)$"
)


def _bare(code: str) -> str:
    return code.replace(".", "").replace("-", "")


@dataclass(frozen=True)
class CodeReference:
    """One code, category or range a note names, with the qualifier that narrows it."""

    text: str
    low: str
    high: str | None = None
    suffix: str | None = None  # "with .42": the characters after the 3-character category
    suffix_high: str | None = None  # "with .51-.52": the last such suffix of a range
    positions: tuple[int, ...] = ()  # "with fifth or sixth character 1-4": 1-based positions
    characters: str = ""  # ... and the characters allowed there
    final: str | None = None  # "with final characters -23"

    def matches(self, code: str) -> bool:
        """Whether a case's code (with or without its dot) falls under this reference."""
        bare = _bare(code.upper())
        if self.high is None:
            if not bare.startswith(self.low):
                return False
        elif not (bare[: len(self.low)] >= self.low and bare[: len(self.high)] <= self.high):
            return False
        if self.suffix is not None:
            after = bare[3:]
            high = self.suffix_high or self.suffix
            if not self.suffix <= after[: len(self.suffix)] <= high[: len(after)] or not after:
                return False
        if self.positions and not any(
            len(bare) >= p and bare[p - 1] in self.characters for p in self.positions
        ):
            return False
        return self.final is None or bare.endswith(self.final)


def _qualified(item: str, low: str, high: str | None, qualifier: str) -> CodeReference | None:
    qualifier = re.sub(r"\bsix\b", "sixth", qualifier.strip().replace("-character", " character"))
    suffix = re.fullmatch(r"\.([0-9A-Z]+)-?(?:\s*-\s*\.([0-9A-Z]+)-?)?", qualifier)
    if suffix:
        return CodeReference(item, low, high, suffix=suffix.group(1), suffix_high=suffix.group(2))
    final = re.fullmatch(r"final characters? -?([0-9A-Z]+)", qualifier)
    if final:
        return CodeReference(item, low, high, final=final.group(1))
    found = _POSITIONS.match(qualifier)
    if not found:
        return None
    words = re.split(r"\s+or\s+", found.group("pos"))
    if any(w not in _ORDINALS for w in words):
        return None
    chars = found.group("chars")
    if "-" in chars:
        first, last = chars.split("-")
        chars = "".join(chr(c) for c in range(ord(first), ord(last) + 1))
    return CodeReference(item, low, high, positions=tuple(_ORDINALS[w] for w in words),
                         characters=chars)


def parse_group(group: str) -> tuple[CodeReference, ...] | None:
    """The references in one parenthesised group, or None when it is not a list of codes."""
    found = []
    items = [part.strip() for part in re.sub(r"\s+to\s+", "-", group).split(",")]
    for item in (i for i in items if i):
        match = _ITEM.match(item)
        if match is None:
            return None
        low, high = _bare(match.group("low")), match.group("high")
        high = _bare(high) if high else None
        if match.group("q"):
            reference = _qualified(item, low, high, match.group("q"))
            if reference is None:
                return None
        else:
            reference = CodeReference(item, low, high)
        found.append(reference)
    return tuple(found) if found else None


@cache
def note_references(text: str) -> tuple[CodeReference, ...]:
    """Every code reference a note's text makes (parsed once per distinct note text)."""
    found: list[CodeReference] = []
    for group in _GROUP.findall(text):
        parsed = parse_group(group.strip())
        if parsed:
            found.extend(parsed)
    return tuple(found)
