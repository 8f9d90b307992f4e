"""One exception hierarchy; each error carries a message fit for billing staff.

The CLI catches :class:`LetterError` at the top, prints :meth:`LetterError.lines` and exits with
:attr:`LetterError.exit_code`. Messages name the file and the field path, never patient data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what to do about it."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class LetterError(Exception):
    """Base of every error the tool reports to a user instead of a traceback."""

    exit_code = 1

    def lines(self) -> list[str]:
        """What the CLI prints, one problem per line."""
        return [str(self)]


class InputError(LetterError):
    """A case file, practice profile or code-set file cannot be used as given."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @classmethod
    def one(cls, file: str, field: str, message: str) -> InputError:
        return cls([Problem(file, field, message)])

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class ReviewBlocked(LetterError):
    """The readiness review found problems that stop an honest letter being written."""

    exit_code = 2

    def __init__(self, file: str, findings: list, nothing: str = "no letter written") -> None:
        self.file = file
        self.findings = findings
        self.nothing = nothing  # what was not written, e.g. "no PAS request written"
        super().__init__(f"{file}: {len(findings)} blocking finding(s); {nothing}")

    def lines(self) -> list[str]:
        head = f"{self.file}: {self.nothing}; fix these first:"
        return [head] + [f"  {f.code}  {f.field}: {f.message}" for f in self.findings]


class UsageError(LetterError):
    """A command was given arguments it cannot use (an unknown --kind, a date that is not one)."""

    exit_code = 2


class TemplateError(LetterError):
    """A template failed or produced something outside the document vocabulary."""

    exit_code = 2


class OutputError(LetterError):
    """An output file cannot be written where the user asked."""

    exit_code = 2


class AuditError(LetterError):
    """The audit log cannot record or be read; no output is kept without its record."""

    exit_code = 1


class BatchError(LetterError):
    """The run itself could not be finished (the output folder failed under it)."""

    exit_code = 1


class SigningError(LetterError):
    """A letter could not be signed (identity, password, certificate or signer mismatch)."""

    exit_code = 2


class NotAPdf(LetterError):
    """A file given for verification is not a readable PDF."""

    exit_code = 2


class ExportError(LetterError):
    """An export (a PAS request bundle) failed its own structural check: a defect in the
    tool, reported instead of writing a file a payer would reject."""

    exit_code = 1
