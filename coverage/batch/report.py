"""The outcome of a run: :class:`BatchSummary`, the progress line, ``report.csv`` and ``.json``.

report.csv holds the rows of report.json, findings joined by `` | ``, with any cell a
spreadsheet would read as a formula quoted; :func:`read_report_csv` reads it back.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from coverage.batch.manifest import MANIFEST_NAME
from coverage.batch.results import (
    BLOCKED,
    FAILED,
    NOT_RUN,
    STATUS_LABELS,
    STATUSES,
    UP_TO_DATE,
    WRITTEN,
    CaseResult,
    is_iso_date,
)
from coverage.files import csv_bytes, write_atomic
from coverage.settings import WITHDRAWN_FOLDER

REPORT_CSV = "report.csv"
REPORT_JSON = "report.json"
DENIAL_ANSWERS = ("appeal", "retro_authorization")  # the letters with a filing deadline
REPORT_COLUMNS = (
    "case_file", "case_id", "kind", "status", "filing_deadline", "findings", "output",
    "output_sha256", "pages", "other_outputs", "note",
)


@dataclass
class BatchSummary:
    """The outcome of a run: one result per case file, sorted by case file."""

    results: list[CaseResult]
    cases_dir: Path
    out_dir: Path
    kind: str
    jobs: int
    seconds: float
    interrupted: bool = False
    error: str | None = None
    worker_peak_rss_kb: dict[int, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    @property
    def report_csv(self) -> Path:
        return self.out_dir / REPORT_CSV

    @property
    def report_json(self) -> Path:
        return self.out_dir / REPORT_JSON

    @property
    def manifest(self) -> Path:
        return self.out_dir / MANIFEST_NAME

    @property
    def letters_per_second(self) -> float:
        return self.counts[WRITTEN] / self.seconds if self.seconds > 0 else 0.0

    @property
    def collisions(self) -> int:
        return sum(1 for r in self.results if r.note.startswith("case_id shared"))

    @property
    def withdrawn(self) -> int:
        """Earlier letters that no longer stand (moved to withdrawn/, or failing that, noted)."""
        return sum(1 for r in self.results if "earlier letter" in r.note)

    @property
    def exit_code(self) -> int:
        """0 all written or up to date; 1 some blocked, failed or not run; 130 interrupted."""
        if self.interrupted:
            return 130
        counts = self.counts
        if counts[BLOCKED] or counts[FAILED] or counts[NOT_RUN] or self.error:
            return 1
        return 0

    def summary_lines(self) -> list[str]:
        """The final summary as plain text lines (the CLI may also draw it as a table)."""
        counts = self.counts
        total = len(self.results)
        verb = "interrupted after" if self.interrupted else "finished in"
        lines = [f"Batch {verb} {self.seconds:.1f} s: {total} case file(s)"]
        width = max(len(label) for label in STATUS_LABELS.values())
        for status in STATUSES:
            if status == NOT_RUN and not counts[status]:
                continue
            lines.append(f"  {STATUS_LABELS[status]:<{width}}  {counts[status]:>6}")
        lines.append(
            f"  {counts[WRITTEN]} letter(s) in {self.seconds:.1f} s "
            f"({self.letters_per_second:.1f} letters/s, {self.jobs} worker(s))"
        )
        if self.collisions:
            lines.append(
                f"  {self.collisions} case file(s) share a case_id with another: their letters "
                "carry a hash of the case file path in the name (see the note column)"
            )
        dated = sorted((r.filing_deadline, r.case_file) for r in self.results
                       if r.status in (WRITTEN, UP_TO_DATE) and r.kind in DENIAL_ANSWERS
                       and is_iso_date(r.filing_deadline))
        if dated:
            lines.append(f"  earliest appeal filing deadline: {dated[0][0]} ({dated[0][1]})")
            lines.append("  every appeal's deadline is in the report's filing_deadline column")
        if self.withdrawn:
            lines.append(
                f"  {self.withdrawn} earlier letter(s) no longer stand: moved to "
                f"{self.out_dir / WITHDRAWN_FOLDER}; do not send them (see the note column)"
            )
        if self.interrupted:
            lines.append(
                f"  interrupted: {counts[NOT_RUN]} case file(s) not run; run the same command "
                "again to finish (letters already written are skipped)"
            )
        if self.error:
            lines.append(f"  stopped early: {self.error}")
        if counts[BLOCKED] or counts[FAILED]:
            lines.append("  blocked and failed cases list their problems in the report, by rule "
                         "and field; `ketamine-letters check CASE` shows the details")
        lines.append(f"  report: {self.report_csv} and {self.report_json}")
        return lines


def result_line(result: CaseResult, done: int, total: int) -> str:
    """One plain progress line (for output that is not a terminal)."""
    width = len(str(total))
    what = ", ".join(x for x in (result.case_id, result.kind) if x)
    if result.pages:
        what += f", {result.pages} pages"
    detail = f" ({what})" if what else ""
    if result.status in (BLOCKED, FAILED) and result.findings:
        detail += f": {result.findings[0].strip().removeprefix(result.case_file + ': ')}"
        if len(result.findings) > 1:
            detail += f" (+{len(result.findings) - 1} more)"
    label = STATUS_LABELS[result.status]
    return f"[{done:>{width}}/{total}] {label:<20} {result.case_file}{detail}"


def report_csv_bytes(rows: list[dict]) -> bytes:
    """report.csv: the rows of report.json, findings joined by ' | '."""
    return csv_bytes(REPORT_COLUMNS, rows)


def read_report_csv(path: Path) -> list[dict]:
    """report.csv back as rows shaped like report.json's (findings as a list)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for row in rows:
        item: dict = {}
        for column in REPORT_COLUMNS:
            text = row[column]
            if text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "\t", "\r"):
                text = text[1:]
            item[column] = text
        item["findings"] = item["findings"].split(" | ") if item["findings"] else []
        item["other_outputs"] = (item["other_outputs"].split(" | ")
                                 if item["other_outputs"] else [])
        item["pages"] = int(item["pages"]) if item["pages"] else None
        for column in ("case_id", "kind", "filing_deadline", "output", "output_sha256"):
            item[column] = item[column] or None
        out.append(item)
    return out


def write_reports(out_dir: Path, rows: list[dict], *, tool_version: str, kind: str,
                  today: date, interrupted: bool, error: str | None) -> None:
    """report.json (with the run's counts) and report.csv, each written atomically."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row["status"]] += 1
    report = {
        "tool_version": tool_version,
        "kind": kind,
        "letter_date_default": today.isoformat(),
        "interrupted": interrupted,
        "error": error,
        "counts": counts,
        "cases": rows,
    }
    write_atomic(out_dir / REPORT_JSON,
                 json.dumps(report, indent=1).encode("utf-8"))
    write_atomic(out_dir / REPORT_CSV, report_csv_bytes(rows))
