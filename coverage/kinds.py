"""The kinds of letter the tool writes: each carries its template, its title and its words.

A kind is a :class:`str` enum, so ``LetterKind.LMN == "lmn"`` and it prints, stores (manifests,
audit log, reports) and parses as the word staff type after ``--kind``. The rule that picks a
kind for a case lives here too, so the CLI, the batch and the web workspace cannot disagree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from coverage.errors import UsageError

if TYPE_CHECKING:
    from coverage.case import Case

AUTO = "auto"


class LetterKind(StrEnum):
    LMN = "lmn"
    APPEAL = "appeal"

    @property
    def template(self) -> str:
        return f"{self.value}.xml.j2"

    @property
    def title(self) -> str:
        """Short title for document properties and listings."""
        return _TITLES[self]

    @property
    def words(self) -> str:
        """The kind in a sentence: '... calls for an appeal'."""
        return _WORDS[self]

    @classmethod
    def for_case(cls, case: Case) -> LetterKind:
        """The letter a case calls for: an appeal when it records a denial."""
        return cls.APPEAL if case.denial is not None else cls.LMN

    @classmethod
    def parse(cls, text: str, option: str = "--kind", auto: bool = True) -> LetterKind | None:
        """A kind from what staff typed; None means 'auto' (choose per case)."""
        word = text.strip().lower()
        if auto and word == AUTO:
            return None
        try:
            return cls(word)
        except ValueError:
            choices = [AUTO, *cls] if auto else list(cls)
            raise UsageError(f"{option}: '{text}' is not one of {', '.join(choices)}") from None


_TITLES = {LetterKind.LMN: "Letter of medical necessity", LetterKind.APPEAL: "Appeal of denial"}
_WORDS = {LetterKind.LMN: "a letter of medical necessity", LetterKind.APPEAL: "an appeal"}
KIND_CHOICES = f"{AUTO}|{'|'.join(LetterKind)}"
