"""Batches: every case file under a folder -> one letter each, a report and a manifest.

``run_batch`` is the library half of ``ketamine-letters batch``; the CLI only draws progress,
prints :meth:`BatchSummary.summary_lines` and exits with :attr:`BatchSummary.exit_code`.

How a run goes:

1. Scan the folder (recursively; ``.yaml``/``.yml``/``.json``; hidden files and folders, the
   practice profiles ``practice.yaml|yml|json``, the ``--practice`` file and the output folder
   are left out), sorted by relative path.
2. In this process, for each case file: find its practice profile, hash both files and compare
   with the manifest (``<out>/.manifest.json``). A case whose letter is up to date (same case
   hash, practice hash, hash of the ICD-10-CM file the profile names if any, tool version and
   letter kind; the output file still there with the hash the manifest recorded; and, for a
   case without ``letter_date``, made today) is not rendered again unless ``force``.
3. The rest go to worker processes in small chunks, with a bounded number of chunks in flight
   so memory stays flat for thousands of cases. Each worker warms the heavy caches once (code
   set, knowledge base, fonts, templates, and a Typesetter that lays out the paragraphs
   its letters share once), loads and reviews each case, renders the letter
   and writes it atomically into a staging folder ``<out>/.staging``; it sends back only a
   small :class:`CaseResult`. ``jobs=1`` runs the same code in this process.
4. Every letter written is recorded in the audit log (command ``batch``) as its chunk's
   results arrive, one transaction per chunk, before anyone is told about it.
5. At the end (also after Ctrl-C) the file names are settled: ``<case_id>-<kind>.pdf``, or,
   when several case files share a case_id (compared without regard to case, for file systems
   that ignore it), ``<case_id>-<kind>-<hash>.pdf`` for each of them, ``<hash>`` being the
   first 10 hex digits of the SHA-256 of the case file's relative path. Staged letters move
   into place by rename, the manifest and ``report.csv`` / ``report.json`` are written
   atomically, and the staging folder is removed: an interrupted run leaves no partial file.
   An earlier letter whose case file is now blocked (same kind), or was changed and can no
   longer be used, moves to ``<out>/withdrawn/``: out of the pile to send, still kept.

Names come from the case_id only (the model allows letters, digits, ``.``, ``_``, ``-``), or
from the member ID with anything else replaced by ``_`` should the case_id ever fail that
check; never from free text. Every output path is checked to resolve inside the output folder.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import json
import os
import re
import shutil
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from coverage.errors import BatchError, InputError, LetterError, ReviewBlocked
from coverage.files import sha256_bytes, sha256_file, write_atomic

if TYPE_CHECKING:  # reportlab loads in the workers, not in the parent's planning
    from coverage.render_pdf import Typesetter

KINDS = ("auto", "lmn", "appeal")
CASE_SUFFIXES = (".yaml", ".yml", ".json")
PRACTICE_NAMES = frozenset({"practice.yaml", "practice.yml", "practice.json"})

MANIFEST_NAME = ".manifest.json"
MANIFEST_FORMAT = 1
REPORT_CSV = "report.csv"
REPORT_JSON = "report.json"
STAGING_NAME = ".staging"
WITHDRAWN_NAME = "withdrawn"  # earlier letters whose case now makes none
_KIND_WORDS = {"lmn": "a letter of medical necessity", "appeal": "an appeal"}
LOCK_NAME = ".batch.lock"

# statuses, in the order the summary lists them
WRITTEN = "written"
UP_TO_DATE = "up_to_date"
BLOCKED = "blocked"
FAILED = "failed"
NOT_RUN = "not_run"
STATUSES = (WRITTEN, UP_TO_DATE, BLOCKED, FAILED, NOT_RUN)
STATUS_LABELS = {
    WRITTEN: "written",
    UP_TO_DATE: "up to date (skipped)",
    BLOCKED: "blocked",
    FAILED: "failed",
    NOT_RUN: "not run",
}

REPORT_COLUMNS = (
    "case_file", "case_id", "kind", "status", "filing_deadline", "findings", "output",
    "output_sha256", "pages", "note",
)
SUFFIX_DIGITS = 10
_SAFE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MAX_CHUNK = 8
_POOL_BROKEN = "a worker process stopped unexpectedly (out of memory?)"
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                      if hasattr(signal, name))  # Ctrl-C, kill, hang-up
_CHUNKS_IN_FLIGHT_PER_JOB = 2  # one running, one waiting: Ctrl-C stops soon

OnResult = Callable[["CaseResult", int, int], None]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CaseResult:
    """What happened to one case file; small enough to send between processes.

    ``findings``: the advisory findings of a letter written (or up to date) and the blocking
    findings of a blocked case, each ``CODE field: message``; the error lines for a failed
    one. ``filing_deadline``: for an appeal, the date it must be filed by (ISO), or why no
    date could be computed.
    ``output`` is the letter's file name inside the output folder; while a run is still going
    (in ``on_result``) it is None, because names are settled at the end.
    """

    case_file: str
    status: str
    case_id: str | None = None
    kind: str | None = None
    findings: tuple[str, ...] = ()
    filing_deadline: str | None = None
    output: str | None = None
    output_sha256: str | None = None
    pages: int | None = None
    note: str = ""
    case_sha256: str | None = None
    practice_sha256: str | None = None
    code_set_sha256: str | None = None  # a release the practice profile names; None: bundled
    letter_date: str | None = None
    dated_by_run: bool = False  # the case has no letter_date: the letter carries the run's date
    case_unusable: bool = False  # failed because the case file itself cannot be used
    stem: str | None = None  # the safe file-name stem (the case_id, as a rule)
    seconds: float = 0.0
    worker_pid: int | None = None
    worker_peak_rss_kb: int | None = None

    def report_row(self) -> dict:
        """The row of report.json (report.csv holds the same, findings joined by ' | ')."""
        return {
            "case_file": self.case_file,
            "case_id": self.case_id,
            "kind": self.kind,
            "status": self.status,
            "filing_deadline": self.filing_deadline,
            "findings": list(self.findings),
            "output": self.output,
            "output_sha256": self.output_sha256,
            "pages": self.pages,
            "note": self.note,
        }


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
                       if r.status in (WRITTEN, UP_TO_DATE) and r.kind == "appeal"
                       and _is_iso_date(r.filing_deadline))
        if dated:
            lines.append(f"  earliest appeal filing deadline: {dated[0][0]} ({dated[0][1]})")
            lines.append("  every appeal's deadline is in the report's filing_deadline column")
        if self.withdrawn:
            lines.append(
                f"  {self.withdrawn} earlier letter(s) no longer stand: moved to "
                f"{self.out_dir / WITHDRAWN_NAME}; do not send them (see the note column)"
            )
        if self.interrupted:
            lines.append(
                f"  interrupted: {counts[NOT_RUN]} case file(s) not run; run the same command "
                "again to finish (letters already written are skipped)"
            )
        if self.error:
            lines.append(f"  stopped early: {self.error}")
        if counts[BLOCKED] or counts[FAILED]:
            lines.append("  blocked and failed cases list their problems in the report")
        lines.append(f"  report: {self.report_csv} and {self.report_json}")
        return lines


def _is_iso_date(text: str | None) -> bool:
    try:
        date.fromisoformat(text or "")
    except ValueError:
        return False
    return True


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


# --------------------------------------------------------------------------- names


def safe_stem(case_id: str | None, member_id: str | None = None) -> str:
    """The file-name stem of a case's letter: its case_id, else its member ID made safe."""
    if case_id and _SAFE_STEM.match(case_id):
        return case_id
    if member_id:
        candidate = re.sub(r"[^A-Za-z0-9._-]", "_", member_id).lstrip("._-")[:64]
        if candidate and _SAFE_STEM.match(candidate):
            return candidate
    raise ValueError("neither the case_id nor the member ID makes a safe file name")


def path_digest(case_file: str, digits: int = SUFFIX_DIGITS) -> str:
    """A short, stable hash of a case file's relative path (POSIX form)."""
    return hashlib.sha256(case_file.encode("utf-8")).hexdigest()[:digits]


def letter_name(stem: str, kind: str, suffix: str | None = None) -> str:
    """``<stem>-<kind>.pdf``; ``<stem>-<kind>-<suffix>.pdf`` keeps colliding case_ids apart."""
    if not _SAFE_STEM.match(stem) or kind not in ("lmn", "appeal"):
        raise ValueError(f"unsafe letter name from stem {stem!r} and kind {kind!r}")
    if suffix is not None and not re.fullmatch(r"[0-9a-f]{4,64}", suffix):
        raise ValueError("unsafe suffix")
    return f"{stem}-{kind}-{suffix}.pdf" if suffix else f"{stem}-{kind}.pdf"


def inside(folder: Path, name: str) -> Path:
    """``folder / name``, refusing anything that would not be a plain file directly in folder."""
    base = folder.resolve()
    target = (base / name).resolve()
    if target.parent != base or Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"{name!r} would land outside the output folder")
    return target


def assign_names(results: list[CaseResult]) -> dict[str, tuple[str, str]]:
    """Final letter names: case file -> (name, note). Deterministic for a set of case files.

    Every case whose case_id and kind are known takes part (blocked ones too, so a name does
    not move when a blocked twin is fixed); names are compared without regard to case.
    """
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    stems: dict[str, str] = {}
    for result in results:
        if result.kind not in ("lmn", "appeal"):
            continue
        try:
            stem = safe_stem(result.stem or result.case_id)
        except ValueError:
            continue
        stems[result.case_file] = stem
        groups[letter_name(stem, result.kind).lower()].append(result)
    names: dict[str, tuple[str, str]] = {}
    for members in groups.values():
        if len(members) == 1:
            only = members[0]
            names[only.case_file] = (letter_name(stems[only.case_file], only.kind), "")
            continue
        files = sorted(m.case_file for m in members)
        for member in members:
            others = [f for f in files if f != member.case_file]
            note = (
                f"case_id shared with {len(others)} other case file(s) ({', '.join(others)}); "
                "file name carries a hash of the case file path"
            )
            name = letter_name(stems[member.case_file], member.kind,
                               path_digest(member.case_file))
            names[member.case_file] = (name, note)
    kinds = {r.case_file: r.kind for r in results}
    taken: dict[str, str] = {}
    for case_file in sorted(names):
        name, note = names[case_file]
        digits = SUFFIX_DIGITS
        while name.lower() in taken:  # two path hashes clash (or a case_id ends like one)
            digits += 6
            name = letter_name(stems[case_file], kinds[case_file], path_digest(case_file, digits))
        taken[name.lower()] = case_file
        names[case_file] = (name, note)
    return names


# --------------------------------------------------------------------------- scanning


def find_case_files(cases_dir: Path, exclude: tuple[Path, ...] = ()) -> list[tuple[str, Path]]:
    """(relative POSIX path, path) of every case file under ``cases_dir``, sorted."""
    excluded = {p.resolve() for p in exclude}
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(cases_dir, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (here / d).resolve() not in excluded
        )
        for name in files:
            path = here / name
            if name.startswith(".") or name.lower() in PRACTICE_NAMES:
                continue
            if path.suffix.lower() not in CASE_SUFFIXES or path.resolve() in excluded:
                continue
            if not path.is_file():
                continue
            found.append((path.relative_to(cases_dir).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return found


# --------------------------------------------------------------------------- manifest


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


def _manifest_entry(result: CaseResult, requested_kind: str, tool_version: str) -> dict:
    return {
        "case_sha256": result.case_sha256,
        "practice_sha256": result.practice_sha256,
        "code_set_sha256": result.code_set_sha256,
        "tool_version": tool_version,
        "requested_kind": requested_kind,
        "kind": result.kind,
        "case_id": result.case_id,
        "stem": result.stem,
        "output": result.output,
        "output_sha256": result.output_sha256,
        "pages": result.pages,
        "letter_date": result.letter_date,
        "dated_by_run": result.dated_by_run,
        "advisory": list(result.findings),
        "filing_deadline": result.filing_deadline,
        "written_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }


def _up_to_date(entry: dict | None, *, case_sha: str, practice_sha: str,
                code_set_sha: str | None, kind: str, tool_version: str, out_dir: Path,
                today: date) -> bool:
    if not entry:
        return False
    # a letter dated by the run that made it is made again, dated again, on a later day: a
    # letter sent today carries today's date, and appeal deadlines are checked against it
    if entry.get("dated_by_run", True) and entry.get("letter_date") != today.isoformat():
        return False
    recorded = (entry.get("case_sha256"), entry.get("practice_sha256"),
                entry.get("code_set_sha256"), entry.get("tool_version"))
    if recorded != (case_sha, practice_sha, code_set_sha, tool_version):
        return False
    # auto chose a kind from this very case file before; an explicit kind must match the letter
    if entry.get("requested_kind" if kind == "auto" else "kind") != kind:
        return False
    output, recorded = entry.get("output"), entry.get("output_sha256")
    if not isinstance(output, str) or not isinstance(recorded, str):
        return False
    try:
        return _recorded_letter(out_dir, entry) is not None
    except (OSError, ValueError):
        return False


def _recorded_letter(out_dir: Path, entry: dict) -> Path | None:
    """The letter a manifest entry names, if the file there still holds the bytes recorded.

    None for anything else (somebody else's file, an edited letter). Raises ValueError for
    a name outside the folder and OSError when the file cannot be read.
    """
    path = inside(out_dir, entry["output"])
    return path if path.is_file() and sha256_file(path) == entry.get("output_sha256") else None


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class _Task:
    case_file: str  # relative, for the report
    path: str  # as found
    practice_path: str
    practice_display: str
    case_sha256: str
    practice_sha256: str
    code_set_sha256: str | None
    kind: str
    staged: str  # folder
    today: date


def _warm(practice_paths: tuple[str, ...], in_worker: bool = True) -> None:
    """Worker initializer: load the heavy, per-process data once, not per case."""
    if in_worker:
        # Ctrl-C, a closed terminal or a kill of the process group reach the workers too: the
        # parent decides what stops, and when (it lets running chunks finish)
        for number in _STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
    from coverage import compose, render_pdf  # noqa: F401  (imports are part of the warm-up)
    from coverage.codes import load_code_set
    from coverage.fonts import register_fonts
    from coverage.knowledge import load_knowledge
    from coverage.letters import LETTER_KINDS, code_set_path
    from coverage.loading import load_practice
    from coverage.templating import template_environment

    register_fonts()
    _worker_typesetter()
    load_knowledge()
    env = template_environment(None)
    for template in LETTER_KINDS.values():
        with contextlib.suppress(Exception):  # a template still being written fails per case
            env.get_template(template)
    warmed = False
    for path in practice_paths:
        with contextlib.suppress(Exception):  # a bad profile fails per case, with its message
            practice = load_practice(Path(path))
            load_code_set(code_set_path(practice, Path(path), None))
            warmed = True
    if not warmed:
        with contextlib.suppress(Exception):
            load_code_set(None)


def _load(task: _Task):
    """The letter's inputs; the practice profile is parsed once per worker (loading caches)."""
    from coverage.letters import assemble_inputs
    from coverage.loading import load_case, load_practice

    practice = load_practice(Path(task.practice_path))
    return assemble_inputs(load_case(Path(task.path)), task.path, practice, task.practice_path)


def _display(lines: list[str], task: _Task) -> tuple[str, ...]:
    """Error lines naming files by their relative path (never patient data)."""
    out = []
    for line in lines:
        line = line.replace(task.path, task.case_file)
        out.append(line.replace(task.practice_path, task.practice_display))
    return tuple(out)


def _peak_rss_kb() -> int | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes


@functools.cache
def _worker_typesetter() -> Typesetter:
    """The worker's one Typesetter: its letters share the layout of their common paragraphs.

    Held for the life of the worker process like the code set; it bounds its own size.
    """
    from coverage.render_pdf import Typesetter

    return Typesetter()


def _work_one(task: _Task) -> CaseResult:
    """Load, review and render one case; write the letter into the staging folder."""
    from coverage.letters import make_letter

    started = time.perf_counter()
    base = CaseResult(task.case_file, FAILED, kind=None if task.kind == "auto" else task.kind,
                      case_sha256=task.case_sha256, practice_sha256=task.practice_sha256,
                      code_set_sha256=task.code_set_sha256,
                      worker_pid=os.getpid())

    def done(**changes) -> CaseResult:
        return replace(base, seconds=time.perf_counter() - started,
                       worker_peak_rss_kb=_peak_rss_kb(), **changes)

    try:
        inputs = _load(task)
    except LetterError as exc:
        own_fault = isinstance(exc, InputError) and any(p.file == task.path for p in exc.problems)
        return done(case_id=_case_id_if_readable(task.path), case_unusable=own_fault,
                    findings=_display(exc.lines(), task))
    except Exception as exc:  # a bug must not stop the other cases
        return done(findings=_internal(exc, task))
    case = inputs.case
    kind = task.kind
    if kind == "auto":
        kind = "appeal" if case.denial is not None else "lmn"
    base = replace(base, case_id=case.case_id, kind=kind,
                   letter_date=inputs.letter_date(task.today).isoformat(),
                   dated_by_run=case.letter_date is None)
    try:
        base = replace(base, stem=safe_stem(case.case_id, case.patient.member_id))
    except ValueError:
        return done(findings=(f"{task.case_file}: case_id: no safe file name can be made from "
                              "it (letters, digits, '.', '_', '-')",))
    try:
        if sha256_file(Path(task.path)) != task.case_sha256:
            return done(findings=(f"{task.case_file}: changed while the batch ran; run it again",))
        if kind == "appeal":
            base = replace(base, filing_deadline=_filing_deadline(inputs))
        letter = make_letter(inputs, task.today, kind, typesetter=_worker_typesetter())
    except ReviewBlocked as exc:
        return done(status=BLOCKED, findings=tuple(_finding_line(f) for f in exc.findings))
    except LetterError as exc:
        return done(findings=_display(exc.lines(), task))
    except Exception as exc:
        return done(findings=_internal(exc, task))
    staged = Path(task.staged) / _staged_name(task.case_file, kind)
    try:
        write_atomic(staged, letter.pdf)
    except OSError as exc:
        return done(findings=(f"{task.case_file}: letter could not be written ({exc.strerror})",))
    return done(status=WRITTEN, output_sha256=sha256_bytes(letter.pdf), pages=letter.pages,
                findings=tuple(_finding_line(f) for f in letter.review.advisory))


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/<stem>-2.pdf`` and on, so no earlier copy is lost."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate


def _case_id_if_readable(path: str) -> str | None:
    """The case_id of a case file that fails validation, so staff can find the case."""
    from coverage.loading import read_data

    try:
        data = read_data(Path(path))
    except LetterError:
        return None
    case_id = data.get("case_id") if isinstance(data, dict) else None
    return case_id if isinstance(case_id, str) and _SAFE_STEM.match(case_id) else None


def _finding_line(finding) -> str:
    return f"{finding.code} {finding.field}: {finding.message}"


def _filing_deadline(inputs) -> str | None:
    """An appeal's filing date (ISO), or the reason there is none; None without a denial."""
    if inputs.case.denial is None:
        return None
    from coverage.appeal import appeal_deadline

    deadline = appeal_deadline(inputs.case, inputs.practice)
    return deadline.due.isoformat() if deadline.due else deadline.basis


def _internal(exc: Exception, task: _Task) -> tuple[str, ...]:
    kind = type(exc).__name__
    detail = f": {exc}" if isinstance(exc, ImportError | NotImplementedError) else ""
    return (f"{task.case_file}: internal error ({kind}{detail}); please report it",)


@contextlib.contextmanager
def _signals_held(defer: bool = False) -> Iterator[None]:
    """Ctrl-C, kill and hang-up wait until a step that must not be cut is done.

    ``defer``: a signal that arrives is acted on (KeyboardInterrupt) once the step is done;
    for committing a chunk's audit events and storing its results (a letter logged is a
    letter kept). Otherwise the signal is ignored: while worker processes start (an ignored
    signal stays ignored in the processes started then, so a Ctrl-C during their imports
    cannot kill them, nor multiprocessing's resource tracker, which dies of a hang-up), and
    while letters are put in place and the report written, when the run is ending anyway.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal handling
        return
    arrived: list[int] = []
    handler = (lambda number, frame: arrived.append(number)) if defer else signal.SIG_IGN
    previous = {number: signal.signal(number, handler) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, before in previous.items():
            if before is not None:
                signal.signal(number, before)
    if arrived:
        raise KeyboardInterrupt


def _work_chunk(tasks: list[_Task]) -> list[CaseResult]:
    return [_work_one(task) for task in tasks]


def _staged_name(case_file: str, kind: str) -> str:
    return f"{path_digest(case_file, 32)}-{kind}.pdf"


# --------------------------------------------------------------------------- the run


def _check_arguments(cases_dir: Path, out_dir: Path, kind: str, jobs: int | None,
                     practice: Path | None) -> int:
    if kind not in KINDS:
        raise InputError.one("--kind", "", f"'{kind}' is not one of {', '.join(KINDS)}")
    if jobs is not None and jobs < 1:
        raise InputError.one("--jobs", "", "must be 1 or more")
    if not cases_dir.exists():
        raise InputError.one(str(cases_dir), "", "folder not found")
    if not cases_dir.is_dir():
        raise InputError.one(str(cases_dir), "", "is a file; give the folder of case files")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError.one(str(out_dir), "", "is a file; the output must be a folder")
    if out_dir.resolve() == cases_dir.resolve():
        raise InputError.one(str(out_dir), "", "is the case folder; write letters elsewhere")
    if practice is not None:
        from coverage.loading import load_practice

        if not practice.is_file():
            raise InputError.one(str(practice), "", "practice profile not found")
        load_practice(practice)  # a broken profile is a bad argument, not 1000 failed cases
    # laying out letters is pure CPU work: more workers than cores only slows the run
    return min(jobs or usable_cores(), usable_cores())


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask; a container's CPU quota is not
    seen, so --jobs is the way to ask for fewer)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """One batch at a time per output folder (the manifest is rewritten at the end)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    try:
        handle = open(out_dir / LOCK_NAME, "a")  # noqa: SIM115
    except OSError as exc:
        raise InputError.one(str(out_dir), "", f"cannot be written ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError.one(
                str(out_dir), "", "another batch is writing to this folder; wait for it to end"
            ) from None
        yield
    finally:
        handle.close()


def run_batch(
    cases_dir: Path,
    out_dir: Path,
    *,
    kind: str = "auto",
    jobs: int | None = None,
    force: bool = False,
    practice: Path | None = None,
    today: date,
    on_result: OnResult | None = None,
) -> BatchSummary:
    """Write a letter for every case file under ``cases_dir`` into ``out_dir``.

    ``kind``: ``auto`` (an appeal when the case has a ``denial:`` section, else a letter of
    medical necessity), ``lmn`` or ``appeal``. ``jobs``: worker processes (default: one per
    CPU; 1 runs in this process). ``force``: render every letter, even those up to date.
    ``practice``: one profile for all cases (default: practice.yaml beside each case, or one
    folder up). ``today``: the letter date for cases that carry no ``letter_date``.
    ``on_result(result, done, total)`` is called in this process for each case as it finishes.

    Bad arguments raise :class:`InputError`. Problems with single cases never do: they are
    rows of the report. Ctrl-C (KeyboardInterrupt, also from ``on_result``) stops the run
    cleanly: letters finished so far are kept, the report marks the rest ``not_run`` and the
    summary comes back with ``interrupted`` set (exit code 130).
    """
    from coverage.audit import TOOL_VERSION

    started = time.perf_counter()
    cases_dir, out_dir = Path(cases_dir), Path(out_dir)
    jobs = _check_arguments(cases_dir, out_dir, kind, jobs, practice)
    exclude = (out_dir,) + ((practice,) if practice is not None else ())
    case_files = find_case_files(cases_dir, exclude)
    if not case_files:
        raise InputError.one(
            str(cases_dir), "", "no case files (.yaml, .yml, .json) found in this folder"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError.one(str(out_dir), "", f"cannot be created ({exc.strerror})") from None
    with _locked(out_dir):
        run = _Run(cases_dir, out_dir, kind, jobs, force, practice, today, on_result,
                   TOOL_VERSION, len(case_files))
        try:
            run.execute(case_files)
        finally:
            with _signals_held():
                run.finish()
    return BatchSummary(
        results=[run.results[f] for f, _ in case_files],
        cases_dir=cases_dir,
        out_dir=out_dir,
        kind=kind,
        jobs=run.jobs_used,
        seconds=time.perf_counter() - started,
        interrupted=run.interrupted,
        error=run.error,
        worker_peak_rss_kb=run.peak_rss,
    )


class _Run:
    """The state of one batch run; ``finish`` settles it whatever happened."""

    def __init__(self, cases_dir, out_dir, kind, jobs, force, practice, today, on_result,
                 tool_version, total) -> None:
        self.cases_dir = cases_dir
        self.out_dir = out_dir
        self.kind = kind
        self.jobs = jobs
        self.jobs_used = 0
        self.force = force
        self.practice = practice
        self.today = today
        self.on_result = on_result
        self.tool_version = tool_version
        self.total = total
        self.done = 0
        self.results: dict[str, CaseResult] = {}
        self.manifest = read_manifest(out_dir)
        self.staging = out_dir / STAGING_NAME
        self.interrupted = False
        self.error: str | None = None
        self.peak_rss: dict[int, int] = {}
        self._practice_hashes: dict[Path, str] = {}
        self.withdrawn: set[str] = set()  # case files whose earlier letter was withdrawn
        self._code_set_hashes: dict[Path, str | None] = {}
        self._practice_models: dict[Path, object] = {}
        self._practice_of: dict[str, Path] = {}
        self._all: list[str] = []

    # ---- planning, in this process

    def _practice_for(self, path: Path) -> Path:
        from coverage.loading import find_practice

        return find_practice(path, self.practice)

    def _display_practice(self, practice: Path) -> str:
        try:
            return practice.resolve().relative_to(self.cases_dir.resolve()).as_posix()
        except ValueError:
            return str(practice)

    def _plan(self, case_file: str, path: Path) -> _Task | CaseResult:
        fixed = None if self.kind == "auto" else self.kind
        try:
            practice = self._practice_for(path)
            self._practice_of[case_file] = practice
            if practice not in self._practice_hashes:
                self._practice_hashes[practice] = sha256_file(practice)
            practice_sha = self._practice_hashes[practice]
            code_set_sha = self._code_set_digest(practice)
            case_sha = sha256_file(path)
        except InputError as exc:
            lines = tuple(line.replace(str(path), case_file) for line in exc.lines())
            return CaseResult(case_file, FAILED, kind=fixed, findings=lines)
        except OSError as exc:
            return CaseResult(case_file, FAILED, kind=fixed,
                              findings=(f"{case_file}: cannot be read ({exc.strerror})",))
        entry = self.manifest.get(case_file)
        if not self.force and _up_to_date(entry, case_sha=case_sha, practice_sha=practice_sha,
                                          code_set_sha=code_set_sha, kind=self.kind,
                                          tool_version=self.tool_version, out_dir=self.out_dir,
                                          today=self.today):
            return CaseResult(
                case_file, UP_TO_DATE, case_id=entry.get("case_id"), kind=entry.get("kind"),
                stem=entry.get("stem"),
                findings=tuple(entry.get("advisory") or ()), output=entry["output"],
                filing_deadline=entry.get("filing_deadline"),
                output_sha256=entry["output_sha256"], pages=entry.get("pages"),
                case_sha256=case_sha, practice_sha256=practice_sha, code_set_sha256=code_set_sha,
                letter_date=entry.get("letter_date"),
            )
        return _Task(case_file, str(path), str(practice), self._display_practice(practice),
                     case_sha, practice_sha, code_set_sha, self.kind, str(self.staging),
                     self.today)

    def _code_set_digest(self, practice: Path) -> str | None:
        """SHA-256 of the ICD-10-CM release the profile names (None: the bundled one).

        A clinic that drops a newer release in place of the old file gets its letters made
        again; the bundled release changes only with the tool's version, already compared.
        A profile that cannot be read, or names a missing file, fails in the worker, with
        its message, as before.
        """
        if practice not in self._code_set_hashes:
            from coverage.letters import code_set_path

            digest = None
            with contextlib.suppress(LetterError, OSError):
                named = code_set_path(self._practice_model(practice), practice, None)
                digest = sha256_file(named) if named is not None else None
            self._code_set_hashes[practice] = digest
        return self._code_set_hashes[practice]

    def _practice_model(self, path: Path):
        """The practice profile at ``path``, read once per run (LetterError if unusable)."""
        if path not in self._practice_models:
            from coverage.loading import load_practice

            self._practice_models[path] = load_practice(path)
        return self._practice_models[path]

    def _preflight(self, tasks: list[_Task]) -> list[_Task]:
        """Check each practice profile and its audit log once, before any letter is made.

        A profile that cannot be used (or whose audit log cannot be opened) fails its cases
        here, with its message, rather than in every worker. When that leaves nothing to do
        the error is raised instead, said once, as for a bad ``--practice``.
        """
        from coverage.audit import check_log, log_location

        problems: dict[str, LetterError] = {}
        for practice in sorted({t.practice_path for t in tasks}):
            try:
                check_log(log_location(self._practice_model(Path(practice)), practice))
            except LetterError as exc:
                problems[practice] = exc
        if not problems:
            return tasks
        if len(problems) == 1 and all(t.practice_path in problems for t in tasks):
            error = next(iter(problems.values()))
            self.error = "nothing was made: " + error.lines()[0]
            raise error
        ready = []
        for task in tasks:
            error = problems.get(task.practice_path)
            if error is None:
                ready.append(task)
                continue
            lines = _display(error.lines(), task)
            self._accept([CaseResult(
                task.case_file, FAILED, kind=None if task.kind == "auto" else task.kind,
                findings=(f"{task.case_file}: its practice profile (or the audit log it "
                          "names) cannot be used:", *lines),
                case_sha256=task.case_sha256, practice_sha256=task.practice_sha256,
            )])
        return ready

    # ---- results

    def _settle(self, results: list[CaseResult]) -> list[CaseResult]:
        """Record results (and audit their letters) before anyone is told about them."""
        with _signals_held(defer=True):
            settled = self._settle_now(results)
        return settled

    def _settle_now(self, results: list[CaseResult]) -> list[CaseResult]:
        written: dict[Path, list[int]] = defaultdict(list)
        for index, result in enumerate(results):
            if result.status == WRITTEN:
                written[self._practice_of[result.case_file]].append(index)
        settled = list(results)
        for practice_path, indexes in written.items():
            failure = self._audit(practice_path, [results[i] for i in indexes])
            for i in indexes if failure else ():
                settled[i] = self._audit_failed(results[i], practice_path, failure)
        for result in settled:
            if result.worker_pid is not None and result.worker_peak_rss_kb is not None:
                self.peak_rss[result.worker_pid] = max(
                    self.peak_rss.get(result.worker_pid, 0), result.worker_peak_rss_kb
                )
            self.results[result.case_file] = result
        return settled

    def _accept(self, results: list[CaseResult]) -> None:
        """Settle a batch of results, then report them (a Ctrl-C in on_result loses none)."""
        stop: KeyboardInterrupt | None = None
        for result in self._settle(results):
            self.done += 1
            if self.on_result is not None:
                try:
                    self.on_result(result, self.done, self.total)
                except KeyboardInterrupt as exc:  # tell the rest of the chunk, then stop
                    stop = stop or exc
        if stop is not None:
            raise stop

    def _audit(self, practice_path: Path, results: list[CaseResult]) -> LetterError | None:
        """Log the letters of one practice in one transaction; the error if that failed."""
        from coverage.audit import log_location, new_event, record_many

        try:
            log = log_location(self._practice_model(practice_path), str(practice_path))
            record_many(log, [new_event("batch", r.kind, r.case_sha256, r.output_sha256, None)
                              for r in results])
        except LetterError as exc:
            return exc
        return None

    def _audit_failed(self, result: CaseResult, practice_path: Path,
                      error: LetterError) -> CaseResult:
        """An unlogged letter is not kept: it is removed and the case reported failed."""
        (self.staging / _staged_name(result.case_file, result.kind)).unlink(missing_ok=True)
        lines = [line.replace(str(practice_path), self._display_practice(practice_path))
                 for line in error.lines()]
        return replace(result, status=FAILED, output_sha256=None, pages=None,
                       findings=(f"{result.case_file}: letter not kept, the audit log "
                                 "failed:", *lines))

    # ---- the run itself

    def execute(self, case_files: list[tuple[str, Path]]) -> None:
        self._all = [f for f, _ in case_files]
        shutil.rmtree(self.staging, ignore_errors=True)  # left by a run that was killed
        tasks: list[_Task] = []
        try:
            for case_file, path in case_files:
                planned = self._plan(case_file, path)
                if isinstance(planned, CaseResult):
                    self._accept([planned])
                else:
                    tasks.append(planned)
            tasks = self._preflight(tasks)
            if not tasks:
                return
            self.staging.mkdir(exist_ok=True)
            self.jobs_used = min(self.jobs, len(tasks))
            practices = tuple(sorted({t.practice_path for t in tasks}))
            if self.jobs_used == 1:
                _warm(practices, in_worker=False)
                for task in tasks:
                    self._accept([_work_one(task)])
            else:
                self._in_pool(tasks, practices)
        except KeyboardInterrupt:
            self.interrupted = True

    def _in_pool(self, tasks: list[_Task], practices: tuple[str, ...]) -> None:
        import multiprocessing

        jobs = self.jobs_used
        size = max(1, min(_MAX_CHUNK, len(tasks) // (jobs * 4) or 1))
        chunks = iter([tasks[i:i + size] for i in range(0, len(tasks), size)])
        in_flight: dict[Future, list[_Task]] = {}
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent (rich)
        with _signals_held():  # its queues start multiprocessing's resource tracker
            executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=_warm,
                                           initargs=(practices,))

        def submit(chunk: list[_Task]) -> None:
            if self.error == _POOL_BROKEN:
                return  # what was never sent to the broken pool stays not_run
            try:
                in_flight[executor.submit(_work_chunk, chunk)] = chunk
            except BrokenProcessPool:
                self.error = _POOL_BROKEN

        try:
            with _signals_held():  # the first submits start the workers
                for chunk in chunks:
                    submit(chunk)
                    if len(in_flight) >= jobs * _CHUNKS_IN_FLIGHT_PER_JOB:
                        break
            while in_flight:
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    chunk = in_flight.pop(future)
                    following = next(chunks, None)
                    if following is not None:
                        submit(following)
                    self._accept(self._chunk_results(future, chunk))
        except KeyboardInterrupt:
            self.interrupted = True
            # chunks already running finish (workers ignore SIGINT); keep what they wrote.
            # A second Ctrl-C must not cut this short: workers would outlive the run and
            # write into a staging folder already removed.
            with _signals_held():
                for future in in_flight:
                    future.cancel()
                executor.shutdown(wait=True, cancel_futures=True)
                for future, chunk in in_flight.items():
                    if future.done() and not future.cancelled():
                        late = self._settle_now([r for r in self._chunk_results(future, chunk)
                                                 if r.case_file not in self.results])
                        for result in late:  # the console counts what the report counts
                            self.done += 1
                            if self.on_result is not None:
                                with contextlib.suppress(KeyboardInterrupt, OSError):
                                    self.on_result(result, self.done, self.total)
        finally:
            with _signals_held():
                executor.shutdown(wait=True, cancel_futures=True)

    def _chunk_results(self, future: Future, chunk: list[_Task]) -> list[CaseResult]:
        try:
            return future.result()
        except BrokenProcessPool:
            self.error = _POOL_BROKEN
        except Exception as exc:  # pickling trouble and the like: the chunk fails, not the run
            self.error = f"a worker failed ({type(exc).__name__})"
        return [
            CaseResult(t.case_file, FAILED, kind=None if t.kind == "auto" else t.kind,
                       findings=(f"{t.case_file}: not processed; {self.error}",))
            for t in chunk
        ]

    # ---- settling names, manifest and report

    def finish(self) -> None:
        for case_file in self._all:
            if case_file not in self.results:
                fixed = None if self.kind == "auto" else self.kind
                self.results[case_file] = CaseResult(case_file, NOT_RUN, kind=fixed)
        try:
            self._place_letters()
            self._write_manifest()
            self._write_reports()
        except OSError as exc:
            raise BatchError(
                f"{self.out_dir}: the report or manifest could not be written ({exc.strerror}); "
                "letters already in the folder are complete"
            ) from None
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)

    def _place_letters(self) -> None:
        ordered = [self.results[f] for f in self._all]
        names = assign_names(ordered)
        targets = {
            names[r.case_file][0].lower()
            for r in ordered if r.status in (WRITTEN, UP_TO_DATE) and r.case_file in names
        }
        moves: list[tuple[CaseResult, Path]] = []
        for result in ordered:
            if result.status not in (WRITTEN, UP_TO_DATE):
                continue
            name, note = names.get(result.case_file, (None, ""))
            if name is None:
                self.results[result.case_file] = replace(
                    result, status=FAILED, output=None, output_sha256=None,
                    findings=(f"{result.case_file}: no safe file name for this case",),
                )
                continue
            self.results[result.case_file] = replace(result, output=name, note=note)
            staged = self.staging / _staged_name(result.case_file, result.kind)
            if result.status == UP_TO_DATE:
                if result.output == name:
                    continue
                # an up-to-date letter whose name changes: park it, then move it like the rest
                self.staging.mkdir(exist_ok=True)
                try:
                    os.replace(inside(self.out_dir, result.output), staged)
                except (OSError, ValueError):
                    self.results[result.case_file] = replace(
                        result, status=FAILED, output=None, output_sha256=None, pages=None,
                        findings=(f"{result.case_file}: its letter vanished during the run; "
                                  "run again",),
                    )
                    continue
            moves.append((self.results[result.case_file], staged))
        # letters this tool wrote earlier under a name no case uses now
        for case_file, entry in self.manifest.items():
            old = entry.get("output")
            current = self.results.get(case_file)
            if not isinstance(old, str) or old.lower() in targets or current is None:
                continue
            if current.status not in (WRITTEN, UP_TO_DATE) or current.output == old:
                continue
            if entry.get("kind") == current.kind:  # the same letter under its new name
                with contextlib.suppress(OSError, ValueError):
                    path = _recorded_letter(self.out_dir, entry)
                    if path is not None:
                        path.unlink()
            elif self.kind == "auto":  # the case now calls for the other kind of letter
                self._withdraw(case_file, entry, f"this case now calls for "
                                                 f"{_KIND_WORDS[current.kind]}")
            # asked for the other kind by name: both letters stand; the old one stays put
        self._withdraw_stale_letters(targets)
        for result, staged in moves:
            try:
                os.replace(staged, inside(self.out_dir, result.output))
            except (OSError, ValueError) as exc:
                reason = getattr(exc, "strerror", None) or "unsafe name"
                self.results[result.case_file] = replace(
                    result, status=FAILED, output=None, output_sha256=None, pages=None,
                    findings=(f"{result.case_file}: letter could not be put in place "
                              f"({reason})",),
                )

    def _withdraw_stale_letters(self, targets: set[str]) -> None:
        """Move an earlier letter whose case now makes none into ``withdrawn/``.

        So that nobody faxes it, while the practice keeps its copy (it may have been sent).
        That is a case now blocked for the same kind of letter, or one whose case file was
        changed and can no longer be read or validated. Other failures (a full disk, a lost
        worker) leave the earlier letter where it is. Only a file with the hash this tool
        recorded is moved; the report's note says where it went.
        """
        for case_file, entry in self.manifest.items():
            result = self.results.get(case_file)
            old = entry.get("output")
            if result is None or not isinstance(old, str) or old.lower() in targets:
                continue
            if result.kind is not None:
                same_kind = result.kind == entry.get("kind")
            else:  # failed before the kind was known: compare what was asked for
                same_kind = self.kind == entry.get("requested_kind")
            changed = result.case_sha256 not in (None, entry.get("case_sha256"))
            stale = result.status == BLOCKED or (
                result.status == FAILED and result.case_unusable and changed)
            if not (same_kind and stale):
                continue
            self._withdraw(case_file, entry, "this case makes no letter now")

    def _withdraw(self, case_file: str, entry: dict, why: str) -> None:
        """Move the letter ``entry`` recorded into ``withdrawn/``; the note says what happened."""
        old = entry["output"]
        result = self.results[case_file]
        try:
            path = _recorded_letter(self.out_dir, entry)
            if path is None:
                return  # not the bytes this tool wrote: somebody else's file
            target = _free_name(self.out_dir / WITHDRAWN_NAME, old)
            target.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(path, target)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            note = (f"earlier letter {old} could not be moved to {WITHDRAWN_NAME}/ ({reason}); "
                    f"{why}: do not send it")
        else:
            note = (f"earlier letter moved to {WITHDRAWN_NAME}/{target.name}: {why}; "
                    "do not send it")
            self.withdrawn.add(case_file)
        self.results[case_file] = replace(result, note="; ".join(filter(None, (result.note, note))))

    def _write_manifest(self) -> None:
        cases: dict[str, dict] = {}
        for case_file in self._all:
            result = self.results[case_file]
            previous = self.manifest.get(case_file)
            if result.status == WRITTEN:
                cases[case_file] = _manifest_entry(result, self.kind, self.tool_version)
            elif result.status == UP_TO_DATE and previous:
                cases[case_file] = {**previous, "output": result.output}
            elif previous and case_file not in self.withdrawn:
                cases[case_file] = previous  # failed or not run: the earlier letter stands
        payload = {"format": MANIFEST_FORMAT, "tool_version": self.tool_version,
                   "cases": cases}
        write_atomic(self.out_dir / MANIFEST_NAME,
                     json.dumps(payload, indent=1, sort_keys=True).encode("utf-8"))

    def _write_reports(self) -> None:
        rows = [self.results[f].report_row() for f in self._all]
        counts = dict.fromkeys(STATUSES, 0)
        for row in rows:
            counts[row["status"]] += 1
        report = {
            "tool_version": self.tool_version,
            "kind": self.kind,
            "letter_date_default": self.today.isoformat(),
            "interrupted": self.interrupted,
            "error": self.error,
            "counts": counts,
            "cases": rows,
        }
        write_atomic(self.out_dir / REPORT_JSON,
                     json.dumps(report, indent=1).encode("utf-8"))
        write_atomic(self.out_dir / REPORT_CSV, report_csv_bytes(rows))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = " | ".join(str(v) for v in value)
    text = str(value)
    # a spreadsheet must not read a cell as a formula
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv_bytes(rows: list[dict]) -> bytes:
    """report.csv: the rows of report.json, findings joined by ' | '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in REPORT_COLUMNS])
    return buffer.getvalue().encode("utf-8")


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
        item["pages"] = int(item["pages"]) if item["pages"] else None
        for column in ("case_id", "kind", "filing_deadline", "output", "output_sha256"):
            item[column] = item[column] or None
        out.append(item)
    return out


__all__ = [
    "BLOCKED", "FAILED", "KINDS", "NOT_RUN", "STATUSES", "STATUS_LABELS", "UP_TO_DATE",
    "WRITTEN", "BatchError", "BatchSummary", "CaseResult", "assign_names", "find_case_files",
    "inside", "letter_name", "path_digest", "read_manifest", "read_report_csv", "result_line",
    "run_batch", "safe_stem",
]
