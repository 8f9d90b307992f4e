"""``import 835``: remittance files -> denial sections in case files, and a worklist.

Each file is read whole before anything is written, so a bad file (not an 835, wrong
version, broken envelope, truncated) changes no case file; it is reported with its segment
position and the other files go on. Only claims with infusion or drug lines are kept in
memory; the rest are counted and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from coverage.case import Denial, DenialReason, RequestedAction
from coverage.errors import InputError, Problem
from coverage.remittance.actions import (
    ACTION_ORDER,
    WRITES_DENIAL,
    Action,
    ActionTable,
    load_actions,
)
from coverage.remittance.apply import apply_denial, read_state, state_folder, write_state
from coverage.remittance.match import (
    CaseEntry,
    CaseIndex,
    claim_period,
    index_cases,
    match_claim,
)
from coverage.remittance.parse import Adjustment, Claim, FileCounts, walk
from coverage.remittance.segments import SegmentError
from coverage.remittance.worklist import Row, initials


@dataclass(frozen=True)
class Decision:
    adjustment: Adjustment
    action: Action
    reason: DenialReason | None
    next_step: str


@dataclass
class ImportSummary:
    files: dict[str, FileCounts] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    infusion_claims: int = 0
    skipped_claims: int = 0  # not infusion claims, or nothing but routine adjustments
    unreadable_cases: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.problems and not self.files:
            return 2  # every file was bad input
        return 1 if self.problems else 0

    def summary_lines(self) -> list[str]:
        claims = sum(c.claims for c in self.files.values())
        lines = [f"read {len(self.files)} remittance file(s), {claims} claim(s); "
                 f"{self.infusion_claims} with infusion or drug lines",
                 f"  skipped (not infusion claims, or routine adjustments only): "
                 f"{self.skipped_claims}"]
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.action] = counts.get(row.action, 0) + 1
        lines += [f"  {action.replace('_', ' ')}: {n}" for action, n in sorted(counts.items())]
        if self.unreadable_cases:
            lines.append(f"  case files that could not be read (not matched): "
                         f"{len(self.unreadable_cases)}; run `ketamine-letters check` on them")
        if self.problems:
            lines.append(f"  files that could not be read: {len(self.problems)}")
        return lines


def _is_infusion(code: str, table: ActionTable) -> bool:
    return code in table.infusion_codes


def decisions_for(claim: Claim, table: ActionTable) -> list[Decision] | None:
    """The decisions on the claim's own and its infusion lines' adjustments; None when the
    claim has no infusion or drug line."""
    lines = [line for line in claim.lines if _is_infusion(line.code, table)]
    if not lines:
        return None
    adjustments = claim.adjustments + [a for line in lines for a in line.adjustments]
    return [Decision(a, *table.decide(a.group, a.carc)) for a in adjustments]


def _unique(items) -> list:
    return list(dict.fromkeys(items))


def build_denial(claim: Claim, decisions: list[Decision], table: ActionTable,
                 received: date | None) -> Denial:
    """The denial section for a matched claim; ValueError/ValidationError when it cannot be."""
    when = claim.remittance_date
    if when is None:
        raise ValueError("the remittance has no valid production (DTM*405) or payment date")
    writing = [d for d in decisions if d.action in WRITES_DENIAL]
    lines = [line for line in claim.lines if _is_infusion(line.code, table)]
    period = claim_period(claim)
    codes = _unique(line.code for line in lines)
    named = [f"CPT {c}" if c.isdigit() else f"HCPCS {c}" for c in codes]
    remarks = _unique(claim.remarks + [r for line in lines for r in line.remarks])
    retro_only = all(d.action is Action.retro_authorization for d in writing)
    return Denial(
        denial_date=when,
        received_date=received or when,
        reference=claim.payer_claim_number,
        service_denied="remittance lines billed as " + ", ".join(named),
        service_from=period[0] if period else None,
        service_to=period[1] if period else None,
        reasons=_unique(d.reason for d in writing),
        carc_codes=_unique(d.adjustment.code for d in writing),
        rarc_codes=remarks,
        billed_amount=sum((line.billed for line in lines), start=0),
        paid_amount=sum((line.paid for line in lines), start=0),
        requested_action=RequestedAction.retro_authorization if retro_only
        else RequestedAction.appeal,
    )


def _deadline(entry: CaseEntry, denial: Denial) -> str:
    from coverage.deadlines import filing_deadline
    from coverage.loading import find_practice, load_practice

    try:
        windows = load_practice(find_practice(entry.path, None)).appeal_windows
    except Exception:  # no usable profile: the default windows still apply
        windows = {}
    deadline = filing_deadline(denial, entry.case.coverage.plan_type,
                               entry.case.coverage.payer_name, windows)
    return deadline.due.isoformat() if deadline.due else deadline.basis


def _claim_row(name: str, claim: Claim, decisions: list[Decision], **values: str) -> Row:
    period = claim_period(claim)
    dates = "" if period is None else period[0].isoformat() if period[0] == period[1] else \
        f"{period[0].isoformat()} to {period[1].isoformat()}"
    return Row(
        file=name, claim=claim.patient_control, payer_claim_number=claim.payer_claim_number,
        patient=initials(claim.patient_given, claim.patient_family), service_dates=dates,
        codes=_unique(d.adjustment.code for d in decisions),
        remark_codes=_unique(claim.remarks + [r for line in claim.lines for r in line.remarks]),
        matched_case=values.get("matched_case", ""), case_file=values.get("case_file", ""),
        action=values["action"], next_step=values.get("next_step", ""),
        filing_deadline=values.get("filing_deadline", ""), note=values.get("note", ""),
    )


def _next_steps(decisions: list[Decision]) -> str:
    ordered = sorted(decisions, key=lambda d: ACTION_ORDER.index(d.action))
    return " ".join(_unique(f"{d.adjustment.code}: {d.next_step}" for d in ordered
                            if d.action is not Action.not_for_this_tool))


class _Importer:
    def __init__(self, index: CaseIndex, table: ActionTable, records: dict, *,
                 received: date | None, dry_run: bool, today: date) -> None:
        self.index, self.table, self.records = index, table, records
        self.received, self.dry_run, self.today = received, dry_run, today

    def handle(self, name: str, claim: Claim, decisions: list[Decision]) -> Row:
        match = match_claim(claim, self.index)
        steps = _next_steps(decisions)
        if not match.cases:
            return _claim_row(name, claim, decisions, action="no_matching_case",
                              next_step=steps, note=match.how)
        if len(match.cases) > 1:
            ids = ", ".join(e.case.case_id for e in match.cases)
            return _claim_row(name, claim, decisions, action="several_matching_cases",
                              next_step=steps, note=f"matched by {match.how}: {ids}")
        entry = match.cases[0]
        where = {"matched_case": entry.case.case_id, "case_file": entry.relative}
        actions = [d.action for d in decisions]
        if not any(a in WRITES_DENIAL for a in actions):
            first = min(actions, key=ACTION_ORDER.index)
            return _claim_row(name, claim, decisions, action=first.value, next_step=steps,
                              note=f"matched by {match.how}; no denial section written", **where)
        try:
            denial = build_denial(claim, decisions, self.table, self.received)
        except (ValueError, ValidationError) as exc:
            why = exc.errors()[0]["loc"][0] if isinstance(exc, ValidationError) else str(exc)
            return _claim_row(name, claim, decisions, action="not_written", next_step=steps,
                              note=f"cannot build the denial section ({why}); enter it by "
                                   "hand", **where)
        outcome = apply_denial(entry, denial, claim.patient_control, name, self.records,
                               dry_run=self.dry_run, today=self.today)
        return _claim_row(name, claim, decisions, action=outcome.action, next_step=steps,
                          filing_deadline=_deadline(entry, denial),
                          note=f"matched by {match.how}; {outcome.note}", **where)


def read_file(path: Path, table: ActionTable) -> tuple[FileCounts, list, int]:
    """(counts, [(claim, decisions)] needing attention, claims skipped); SegmentError if bad."""
    kept, skipped, counts = [], 0, FileCounts()
    for item in walk(path):
        if isinstance(item, FileCounts):
            counts = item
            continue
        decisions = decisions_for(item, table)
        if decisions is None or all(d.action is Action.not_for_this_tool for d in decisions):
            skipped += 1
            continue
        kept.append((item, decisions))
    return counts, kept, skipped


def import_835(files: list[Path], cases_dir: Path, *, received: date | None = None,
               dry_run: bool = False, today: date) -> ImportSummary:
    """Read the remittances, write the matched denials, return the worklist and counts."""
    cases_dir = Path(cases_dir)
    if not cases_dir.is_dir():
        raise InputError.one(str(cases_dir), "", "is not a folder of case files")
    table = load_actions()
    index = index_cases(cases_dir)
    folder = state_folder(cases_dir)
    records = read_state(folder)
    before = dict(records)
    summary = ImportSummary(unreadable_cases=index.unreadable)
    importer = _Importer(index, table, records, received=received, dry_run=dry_run,
                         today=today)
    try:
        for path in files:
            name = Path(path).name
            try:
                counts, kept, skipped = read_file(Path(path), table)
            except SegmentError as exc:
                summary.problems.append(Problem(str(path), exc.where, str(exc)))
                continue
            except OSError as exc:
                summary.problems.append(Problem(str(path), "", f"cannot be read "
                                                                f"({exc.strerror})"))
                continue
            summary.files[str(path)] = counts
            summary.skipped_claims += skipped
            summary.infusion_claims += len(kept)
            for claim, decisions in kept:
                summary.rows.append(importer.handle(name, claim, decisions))
    finally:
        if records != before and not dry_run:
            write_state(folder, records)
    return summary
