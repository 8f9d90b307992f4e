"""Writing a matched claim's denial section into its case file, without losing staff's work.

The case file is parsed round-trip (``coverage.yaml_files``) to find where its ``denial:``
section lies, and only those lines are replaced (or the section appended): everything else,
comments, quoting and indentation included, stays byte for byte, which re-dumping the whole
document would not guarantee (flow mappings and list indentation get normalised).

Each section the import writes is recorded (case file, claim, SHA-256 of the section as
written) in the workspace's state folder; a section with no record was entered by staff,
and one whose hash changed was edited by staff since: neither is ever overwritten.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from coverage.case import SCHEMA_VERSION, Denial
from coverage.files import make_private_dir, write_atomic
from coverage.remittance.match import CaseEntry
from coverage.workspace import Workspace
from coverage.yaml_files import dump_roundtrip, load_roundtrip

STATE_FILE = "remittance-imports.json"


def state_folder(cases_dir: Path) -> Path:
    """The workspace's state folder: beside ``cases/`` in the standard layout, else inside
    the cases folder itself (hidden, so batch never reads it as a case)."""
    cases_dir = Path(cases_dir)
    return (Workspace.around(cases_dir.resolve()) or Workspace(cases_dir)).state


def read_state(folder: Path) -> dict[str, dict]:
    path = folder / STATE_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("cases", {})
    except (OSError, ValueError, AttributeError):
        return {}  # an unreadable record protects every section: nothing counts as ours


def write_state(folder: Path, records: dict[str, dict]) -> None:
    payload = {"version": 1, "cases": records}
    make_private_dir(folder)
    write_atomic(folder / STATE_FILE, json.dumps(payload, indent=2, sort_keys=True).encode())


def section_span(lines: list[str], data: CommentedMap) -> tuple[int, int] | None:
    """Line range [start, end) of the top-level ``denial:`` section, or None if absent.

    Comment lines at column 0 just before the next top-level key stay with that key."""
    if "denial" not in data:
        return None
    keys = list(data)
    start = data.lc.key("denial")[0]
    at = keys.index("denial")
    end = data.lc.key(keys[at + 1])[0] if at + 1 < len(keys) else len(lines)
    while end > start + 1 and lines[end - 1].startswith("#"):
        end -= 1
    return start, end


def section_hash(text: str) -> str:
    """Hash of the section's exact text, comments included: any edit by staff changes it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _section_text(lines: list[str], span: tuple[int, int] | None) -> str | None:
    return None if span is None else "".join(lines[span[0]:span[1]]).rstrip() + "\n"


def _flow(items: list[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def denial_mapping(denial: Denial) -> CommentedMap:
    """The section as YAML, in the README's key order, only the fields the import sets."""
    out = CommentedMap()
    data = denial.model_dump(mode="python", exclude_defaults=True)
    for key, value in data.items():
        if isinstance(value, list):
            value = _flow([str(v) for v in value])
        elif isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, date):
            value = date.fromordinal(value.toordinal())  # a shared object would dump as &id001
        elif hasattr(value, "value"):
            value = value.value  # enums as their plain text
        out[key] = value
    return out


@dataclass(frozen=True)
class Outcome:
    action: str  # denial_written, denial_updated, unchanged, would_write, would_update,
    #              not_overwritten, not_written
    note: str


def apply_denial(entry: CaseEntry, denial: Denial, claim_id: str, source: str,
                 records: dict[str, dict], *, dry_run: bool, today: date) -> Outcome:
    """Write (or update) the case's denial section if it is the import's to write."""
    if entry.path.suffix.lower() not in (".yaml", ".yml"):
        return Outcome("not_written", "JSON case file: enter the denial section by hand")
    text = entry.path.read_text(encoding="utf-8")
    data = load_roundtrip(text, str(entry.path))
    lines = text.splitlines(keepends=True)
    span = section_span(lines, data)
    existing = _section_text(lines, span)
    record = records.get(entry.relative)
    new = dump_roundtrip(CommentedMap(denial=denial_mapping(denial)))
    if existing is not None:
        if record is None:
            return Outcome("not_overwritten", "the case already has a denial section entered "
                           "by staff; compare it with this claim by hand")
        if section_hash(existing) != record.get("section_sha256"):
            return Outcome("not_overwritten", "staff edited the denial section after the "
                           f"import of {record.get('written', '?')}; it was left as it is")
        if record.get("reference") != denial.reference:
            return Outcome("not_overwritten", "the case's denial section is for another claim "
                           f"({record.get('reference')}); make a new case file for this one")
        if existing == new:
            return Outcome("unchanged", "the denial section already says this")
    verb = "updated" if existing is not None else "written"
    if dry_run:
        return Outcome("would_" + ("update" if existing is not None else "write"),
                       _summary(denial))
    if span is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(new)
    else:
        lines[span[0]:span[1]] = [new]
    version = data.get("schema_version")
    if isinstance(version, int) and version < SCHEMA_VERSION:
        # the section uses fields new in this schema; say so on the file's own line
        row = data.lc.key("schema_version")[0]
        lines[row] = lines[row].replace(str(version), str(SCHEMA_VERSION), 1)
    write_atomic(entry.path, "".join(lines).encode("utf-8"))
    records[entry.relative] = {
        "claim": claim_id, "reference": denial.reference, "source": source,
        "written": today.isoformat(), "section_sha256": section_hash(new),
    }
    return Outcome(f"denial_{verb}", _summary(denial))


def _summary(denial: Denial) -> str:
    reasons = ", ".join(r.value for r in denial.reasons)
    return f"reference {denial.reference}; reasons: {reasons}; codes: " + ", ".join(
        denial.carc_codes + denial.rarc_codes)
