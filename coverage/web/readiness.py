"""The readiness of a case as the page shows it: the same checks and words as ``check``.

Input problems (a missing field, a date that is not one, a placeholder left in) come from the
loader's validation; findings come from the pipeline's review (``pipeline.review``), the very
:class:`~coverage.review.findings.Finding` objects ``check`` prints. Both name a field path, so
the page puts each beside the input it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from coverage import pipeline
from coverage.errors import InputError
from coverage.kinds import LetterKind
from coverage.loading import case_from_data, find_practice, load_practice
from coverage.review.findings import Severity
from coverage.workspace import Workspace


class Status(StrEnum):
    needs_information = "needs information"
    blocked = "blocked"
    ready = "ready"
    drafted = "letter drafted"
    signed = "signed"


INPUT_PROBLEM = "INPUT"  # the code shown for a validation problem (check prints no code)


@dataclass(frozen=True)
class Notice:
    """One message beside a field: a validation problem or a review finding."""

    severity: str  # BLOCKING or ADVISORY
    code: str
    field: str
    message: str

    @property
    def blocking(self) -> bool:
        return self.severity == Severity.blocking.value


@dataclass(frozen=True)
class Readiness:
    status: Status
    notices: tuple[Notice, ...]
    kind: LetterKind | None = None
    case_id: str | None = None
    member_id: str | None = None
    deadline: date | None = None
    deadline_lines: dict[str, str] = field(default_factory=dict)

    @property
    def blocking(self) -> list[Notice]:
        return [n for n in self.notices if n.blocking]

    @property
    def advisory(self) -> list[Notice]:
        return [n for n in self.notices if not n.blocking]


def practice_file(ws: Workspace, case_path: Path) -> Path | None:
    """The profile a case uses: beside it or one folder up (as the CLI), else the workspace's."""
    try:
        return find_practice(case_path, None)
    except InputError:
        return ws.practice


def _identity(data: Any) -> tuple[str | None, str | None]:
    """case_id and member ID as written, for the worklist's search even when invalid."""
    if not isinstance(data, dict):
        return None, None
    patient = data.get("patient") if isinstance(data.get("patient"), dict) else {}
    case_id, member = data.get("case_id"), patient.get("member_id")
    return (str(case_id) if case_id is not None else None,
            str(member) if member is not None else None)


def _problems(exc: InputError) -> tuple[Notice, ...]:
    return tuple(Notice(Severity.blocking.value, INPUT_PROBLEM, p.field, p.message)
                 for p in exc.problems)


def assess(data: Any, case_file: str, practice: Path | None, today: date) -> Readiness:
    """Validate case data and, when it is valid, run the readiness review for its letter."""
    case_id, member_id = _identity(data)
    try:
        if practice is None:
            raise InputError.one(case_file, "", "no practice profile found: put practice.yaml "
                                 "in the workspace folder")
        case = case_from_data(data, case_file)
        inputs = pipeline.assemble_inputs(case, case_file, load_practice(practice),
                                          str(practice))
    except InputError as exc:
        return Readiness(Status.needs_information, _problems(exc), None, case_id, member_id)
    kind = pipeline.choose_kind(inputs, None)
    result = pipeline.review(inputs, today, kind)
    notices = tuple(Notice(f.severity.value, f.code, f.field, f.message)
                    for f in result.findings)
    deadline, lines = None, {}
    if kind.answers_denial:
        from coverage.review.appeal import appeal_deadline

        deadline = appeal_deadline(case, inputs.practice).due
        lines = pipeline.deadline_summary(inputs, today)
    status = Status.ready if result.ok else Status.blocked
    return Readiness(status, notices, kind, case.case_id, case.patient.member_id, deadline,
                     lines)
