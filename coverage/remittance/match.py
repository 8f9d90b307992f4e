"""Which case file a remittance claim belongs to, without guessing.

First by the claim's patient control number (CLP01): the case id, or any number in the case's
``claim_numbers``. Only when none matches that way, by member id together with service dates
inside what the case covers (the requested series, earlier infusions, a denial's dates).
Zero or several matches are reported, never resolved by the tool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from coverage.case import Case
from coverage.errors import LetterError
from coverage.remittance.parse import Claim
from coverage.settings import CASE_SUFFIXES, PRACTICE_NAMES


@dataclass(frozen=True)
class CaseEntry:
    path: Path
    relative: str  # POSIX path under the cases folder: the key of the state records
    case: Case


@dataclass
class CaseIndex:
    entries: list[CaseEntry] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    by_number: dict[str, list[CaseEntry]] = field(default_factory=dict)
    by_member: dict[str, list[CaseEntry]] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    cases: list[CaseEntry]
    how: str  # "claim number", "member id and service dates", or why there is none


def _key(text: str) -> str:
    return text.strip().casefold()


def case_files(cases_dir: Path) -> list[tuple[str, Path]]:
    """Case files under the folder, hidden folders (the state folder) and profiles skipped."""
    found = []
    for folder, dirs, files in os.walk(cases_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            path = Path(folder) / name
            if name.startswith(".") or name.lower() in PRACTICE_NAMES:
                continue
            if path.suffix.lower() in CASE_SUFFIXES and path.is_file():
                found.append((path.relative_to(cases_dir).as_posix(), path))
    return sorted(found)


def index_cases(cases_dir: Path) -> CaseIndex:
    """Every readable case, keyed by its numbers and member id; unreadable ones listed."""
    from coverage.loading import load_case

    index = CaseIndex()
    for relative, path in case_files(cases_dir):
        try:
            case = load_case(path)
        except LetterError:
            index.unreadable.append(relative)
            continue
        entry = CaseEntry(path, relative, case)
        index.entries.append(entry)
        for number in {_key(case.case_id), *(_key(n) for n in case.claim_numbers)}:
            index.by_number.setdefault(number, []).append(entry)
        index.by_member.setdefault(_key(case.patient.member_id), []).append(entry)
    return index


def case_periods(case: Case) -> list[tuple[date, date]]:
    """The date ranges a case covers: requested series, infusions given, a denial's services."""
    periods = []
    plan = case.plan
    if plan.requested_start:
        periods.append((plan.requested_start, plan.requested_start + timedelta(weeks=plan.weeks)))
    if case.ketamine_response:
        periods.append((case.ketamine_response.first_infusion,
                        case.ketamine_response.last_infusion))
    if case.denial and case.denial.service_from:
        periods.append((case.denial.service_from,
                        case.denial.service_to or case.denial.service_from))
    return periods


def claim_period(claim: Claim) -> tuple[date, date] | None:
    days = [d for line in claim.lines for d in (line.date_from, line.date_to) if d]
    days += [d for d in (claim.date_from, claim.date_to) if d]
    return (min(days), max(days)) if days else None


def match_claim(claim: Claim, index: CaseIndex) -> Match:
    by_number = index.by_number.get(_key(claim.patient_control), [])
    if by_number:
        return Match(_unique(by_number), "claim number")
    members = {_key(m) for m in (claim.member_id, claim.subscriber_id) if m}
    candidates = _unique([e for m in members for e in index.by_member.get(m, [])])
    if not candidates:
        return Match([], "no case lists this claim number or member id")
    period = claim_period(claim)
    if period is None:
        return Match([], "member id matches, but the claim has no service dates to confirm it")
    start, end = period
    inside = [e for e in candidates
              if any(a <= end and start <= b for a, b in case_periods(e.case))]
    if not inside:
        return Match([], "member id matches, but the service dates are outside every such "
                         "case's dates; add the claim number to the case's claim_numbers")
    return Match(inside, "member id and service dates")


def _unique(entries: list[CaseEntry]) -> list[CaseEntry]:
    seen: dict[str, CaseEntry] = {}
    for entry in entries:
        seen.setdefault(entry.relative, entry)
    return list(seen.values())
