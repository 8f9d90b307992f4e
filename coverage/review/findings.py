"""Findings and the review that holds them: BLOCKING stops a letter, ADVISORY is listed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from coverage.knowledge import Condition


class Severity(StrEnum):
    blocking = "BLOCKING"
    advisory = "ADVISORY"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Review:
    findings: tuple[Finding, ...]
    condition: Condition | None
    code_set_release: str

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.blocking]

    @property
    def advisory(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.advisory]

    @property
    def ok(self) -> bool:
        return not self.blocking
