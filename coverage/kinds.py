"""The kinds of letter the tool writes: each carries its template, its title and its words.

A kind is a :class:`str` enum, so ``LetterKind.LMN == "lmn"`` and it prints, stores (manifests,
audit log, reports) and parses as the word staff type after ``--kind``. The rule that picks a
kind for a case lives here too, so the CLI, the batch and the web workspace cannot disagree.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING

from coverage.errors import UsageError

if TYPE_CHECKING:
    from coverage.case import Case

AUTO = "auto"
NO_AUTHORIZATION_CARC = "197"


class LetterKind(StrEnum):
    LMN = "lmn"
    APPEAL = "appeal"
    RETRO_AUTHORIZATION = "retro_authorization"

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

    @property
    def answers_denial(self) -> bool:
        """An appeal and a retro-authorization request both answer a recorded denial."""
        return self is not LetterKind.LMN

    @classmethod
    def for_case(cls, case: Case) -> LetterKind:
        """The letter a case calls for: an LMN, or the answer to the denial it records."""
        return cls.LMN if case.denial is None else cls.for_denial(case)

    @classmethod
    def for_denial(cls, case: Case) -> LetterKind:
        """How a denial is answered: a request for retroactive authorization when no
        authorization was obtained (CARC 197, or the reason no_prior_authorization) unless the
        case says ``requested_action: appeal``; an appeal otherwise."""
        from coverage.case import DenialReason, RequestedAction

        denial = case.denial
        if denial is None:
            return cls.APPEAL
        if "requested_action" in denial.model_fields_set:
            wanted = denial.requested_action is RequestedAction.retro_authorization
        else:
            numbers = {re.sub(r"^[A-Z]{2}-?", "", code.strip().upper())
                       for code in denial.carc_codes}
            wanted = (NO_AUTHORIZATION_CARC in numbers
                      or DenialReason.no_prior_authorization in denial.reasons)
        return cls.RETRO_AUTHORIZATION if wanted else cls.APPEAL

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


_TITLES = {
    LetterKind.LMN: "Letter of medical necessity",
    LetterKind.APPEAL: "Appeal of denial",
    LetterKind.RETRO_AUTHORIZATION: "Request for retroactive authorization",
}
_WORDS = {
    LetterKind.LMN: "a letter of medical necessity",
    LetterKind.APPEAL: "an appeal",
    LetterKind.RETRO_AUTHORIZATION: "a request for retroactive authorization",
}
KIND_CHOICES = f"{AUTO}|{'|'.join(LetterKind)}"
