"""The worklist: one row per claim that needs a person or got a denial section.

CSV for spreadsheets and JSON for tools, the same rows. The patient appears only as
initials; the claim is named by its patient control number and the payer's claim number.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from coverage.files import csv_bytes as report_csv
from coverage.files import write_atomic

COLUMNS = ("file", "claim", "payer_claim_number", "patient", "service_dates", "codes",
           "remark_codes", "matched_case", "case_file", "action", "next_step",
           "filing_deadline", "note")


@dataclass(frozen=True)
class Row:
    file: str
    claim: str
    payer_claim_number: str
    patient: str
    service_dates: str
    codes: list[str]
    remark_codes: list[str]
    matched_case: str
    case_file: str
    action: str
    next_step: str
    filing_deadline: str
    note: str


def initials(given: str, family: str) -> str:
    letters = [n.strip()[:1].upper() for n in (given, family) if n.strip()[:1].isalpha()]
    return ".".join(letters) + "." if letters else ""


def csv_bytes(rows: list[Row]) -> bytes:
    return report_csv(COLUMNS, [asdict(row) for row in rows])


def write_worklist(path: Path, rows: list[Row]) -> tuple[Path, Path]:
    """``path`` as CSV and the same name with ``.json``; both 0600, written atomically."""
    path = Path(path)
    csv_path = path if path.suffix.lower() == ".csv" else path.with_suffix(".csv")
    json_path = csv_path.with_suffix(".json")
    write_atomic(csv_path, csv_bytes(rows))
    payload = {"columns": list(COLUMNS), "rows": [asdict(r) for r in rows]}
    write_atomic(json_path, json.dumps(payload, indent=2).encode("utf-8"))
    return csv_path, json_path
