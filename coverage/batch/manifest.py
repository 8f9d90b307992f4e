"""The manifest (``<out>/.manifest.json``): what each letter was made from, to skip it next time.

A letter is up to date when the case, its practice profile, the code-set release the profile
names, the tool version and the letter kind are all unchanged and the file still holds the
bytes recorded (and, for a letter dated by its run, it was made today).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from coverage.batch.naming import inside, regular_entry
from coverage.batch.results import UP_TO_DATE, WRITTEN, CaseResult, is_iso_date, with_suffix
from coverage.files import sha256_file, write_atomic
from coverage.kinds import AUTO

MANIFEST_NAME = ".manifest.json"
MANIFEST_FORMAT = 1


def read_manifest(out_dir: Path) -> dict[str, dict]:
    """case file -> entry; an unreadable or foreign manifest counts as empty."""
    path = out_dir / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return {}
    cases = data.get("cases")
    if not isinstance(cases, dict):
        return {}
    return {k: v for k, v in cases.items() if isinstance(v, dict)}


def manifest_entry(result: CaseResult, requested_kind: str, tool_version: str,
                   templates_sha: str | None = None) -> dict:
    """What the manifest keeps of a letter written: enough to tell next time if it stands."""
    return {
        "case_sha256": result.case_sha256,
        "practice_sha256": result.practice_sha256,
        "code_set_sha256": result.code_set_sha256,
        "templates_sha256": templates_sha,
        "tool_version": tool_version,
        "requested_kind": requested_kind,
        "kind": result.kind,
        "case_id": result.case_id,
        "stem": result.stem,
        "output": result.output,
        "output_sha256": result.output_sha256,
        "suffixes": list(result.suffixes),
        "extra_sha256": list(result.extra_sha256),
        "pages": result.pages,
        "letter_date": result.letter_date,
        "dated_by_run": result.dated_by_run,
        "advisory": list(result.findings),
        "filing_deadline": result.filing_deadline,
        "written_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }


def up_to_date(entry: dict | None, *, case_sha: str, practice_sha: str,
               code_set_sha: str | None, kind: str, tool_version: str, out_dir: Path,
               today: date, suffixes: tuple[str, ...] = (".pdf",),
               templates_sha: str | None = None) -> bool:
    """Whether the letter ``entry`` recorded still stands for this case, so need not be made."""
    if not entry:
        return False
    # a letter dated by the run that made it is made again, dated again, on a later day: a
    # letter sent today carries today's date, and appeal deadlines are checked against it
    if entry.get("dated_by_run", True) and entry.get("letter_date") != today.isoformat():
        return False
    # an appeal whose filing deadline has passed since is reviewed again (it is now late)
    deadline = entry.get("filing_deadline")
    if isinstance(deadline, str) and is_iso_date(deadline) and deadline < today.isoformat():
        return False
    recorded = (entry.get("case_sha256"), entry.get("practice_sha256"),
                entry.get("code_set_sha256"), entry.get("tool_version"))
    if recorded != (case_sha, practice_sha, code_set_sha, tool_version):
        return False
    if entry.get("templates_sha256") != templates_sha:  # the clinic's wording changed
        return False
    # auto chose a kind from this very case file before; an explicit kind must match the letter
    if entry.get("requested_kind" if kind == AUTO else "kind") != kind:
        return False
    output, recorded = entry.get("output"), entry.get("output_sha256")
    if not isinstance(output, str) or not isinstance(recorded, str):
        return False
    if tuple(entry.get("suffixes") or (".pdf",)) != suffixes:  # other formats asked for
        return False
    try:
        return all(path is not None for path in recorded_files(out_dir, entry))
    except (OSError, ValueError):
        return False


def recorded_files(out_dir: Path, entry: dict) -> list[Path | None]:
    """Every file of the letter an entry names (first format first); None for a file that no
    longer holds the bytes recorded. Raises as :func:`recorded_letter` does."""
    suffixes = entry.get("suffixes") or [".pdf"]
    hashes = [entry.get("output_sha256"), *(entry.get("extra_sha256") or [])]
    out: list[Path | None] = []
    for suffix, digest in zip(suffixes, hashes, strict=False):
        path = inside(out_dir, with_suffix(entry["output"], suffix))
        out.append(path if regular_entry(path) and sha256_file(path) == digest else None)
    return out


def recorded_letter(out_dir: Path, entry: dict) -> Path | None:
    """The letter a manifest entry names, if the file there still holds the bytes recorded.

    None for anything else (somebody else's file, an edited letter). Raises ValueError for
    a name outside the folder and OSError when the file cannot be read.
    """
    path = inside(out_dir, entry["output"])
    return path if regular_entry(path) and sha256_file(path) == entry.get("output_sha256") else None


def write_manifest(out_dir: Path, case_files: list[str], results: dict[str, CaseResult],
                   previous: dict[str, dict], withdrawn: set[str], requested_kind: str,
                   tool_version: str, templates_sha: str | None = None) -> None:
    """Record this run's letters; an earlier letter that still stands keeps its entry."""
    cases: dict[str, dict] = {}
    for case_file in case_files:
        result = results[case_file]
        earlier = previous.get(case_file)
        if result.status == WRITTEN:
            cases[case_file] = manifest_entry(result, requested_kind, tool_version,
                                              templates_sha)
        elif result.status == UP_TO_DATE and earlier:
            cases[case_file] = {**earlier, "output": result.output}
        elif earlier and case_file not in withdrawn:
            cases[case_file] = earlier  # failed or not run: the earlier letter stands
    payload = {"format": MANIFEST_FORMAT, "tool_version": tool_version,
               "cases": cases}
    write_atomic(out_dir / MANIFEST_NAME,
                 json.dumps(payload, indent=1, sort_keys=True).encode("utf-8"))
