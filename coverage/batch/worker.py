"""What runs in a worker process: warm the caches once, then load, review and render cases.

Every function a worker runs is at module level, so the pool can send it by name. This is the
one module of the batch that calls the letter pipeline (``coverage.pipeline``); heavy imports
are made inside the functions, so reportlab loads in the workers, not in the parent's planning.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from coverage.batch.naming import SAFE_STEM, safe_stem, staged_name
from coverage.batch.results import BLOCKED, FAILED, WRITTEN, CaseResult
from coverage.batch.signals import STOP_SIGNALS
from coverage.errors import InputError, LetterError, ReviewBlocked
from coverage.files import sha256_bytes, sha256_file, write_atomic
from coverage.kinds import AUTO

if TYPE_CHECKING:  # reportlab loads in the workers, not in the parent's planning
    from coverage.pipeline import RenderStates


@dataclass(frozen=True)
class Task:
    """One case to make a letter for, as planned in the parent; sent to a worker."""

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
    formats: tuple[str, ...] = ("pdf",)  # coverage.renderers names, first one first
    templates: str | None = None  # the clinic's own template folder


def warm(practice_paths: tuple[str, ...], in_worker: bool = True) -> None:
    """Worker initializer: load the heavy, per-process data once, not per case."""
    if in_worker:
        die_with_parent()
        # Ctrl-C, a closed terminal or a kill of the process group reach the workers too: the
        # parent decides what stops, and when (it lets running chunks finish)
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
    from coverage import compose, render_pdf  # noqa: F401  (imports are part of the warm-up)
    from coverage.codes import load_code_set
    from coverage.fonts import register_fonts
    from coverage.kinds import LetterKind
    from coverage.knowledge import load_knowledge
    from coverage.loading import load_practice
    from coverage.pipeline import code_set_path
    from coverage.templating import template_environment

    register_fonts()
    _worker_states()
    load_knowledge()
    env = template_environment(None)
    for template in (kind.template for kind in LetterKind):
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


def die_with_parent() -> None:
    """Linux: the kernel kills this worker when the batch process dies, even by SIGKILL
    (which the batch cannot catch to stop its pool): no worker is left behind."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import multiprocessing

    spawner = multiprocessing.parent_process()
    parent = spawner.pid if spawner is not None else os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _load(task: Task):
    """The letter's inputs; the practice profile is parsed once per worker (loading caches)."""
    from coverage.loading import load_case, load_practice
    from coverage.pipeline import assemble_inputs

    practice = load_practice(Path(task.practice_path))
    return assemble_inputs(load_case(Path(task.path)), task.path, practice, task.practice_path)


def display_paths(lines: list[str], task: Task) -> tuple[str, ...]:
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
def _worker_states() -> RenderStates:
    """The worker's renderer states (the PDF Typesetter): its letters share the layout of
    their common paragraphs. Held for the life of the worker like the code set; each bounds
    its own size."""
    from coverage.pipeline import RenderStates

    return RenderStates()


def work_one(task: Task) -> CaseResult:
    """Load, review and render one case; write the letter into the staging folder."""
    from coverage.kinds import LetterKind
    from coverage.pipeline import choose_kind, filing_deadline, make_letter
    from coverage.renderers import FORMATS

    started = time.perf_counter()
    base = CaseResult(task.case_file, FAILED, kind=None if task.kind == AUTO else task.kind,
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
                    findings=display_paths(exc.lines(), task))
    except Exception as exc:  # a bug must not stop the other cases
        return done(findings=_internal(exc, task))
    case = inputs.case
    kind = choose_kind(inputs, task.kind).value
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
        if LetterKind(kind).answers_denial:
            base = replace(base, filing_deadline=filing_deadline(inputs))
        formats = [FORMATS[name] for name in task.formats]
        templates = Path(task.templates) if task.templates else None
        letter = make_letter(inputs, task.today, LetterKind(kind), formats=formats,
                             states=_worker_states(), templates=templates)
    except ReviewBlocked as exc:
        return done(status=BLOCKED, findings=tuple(_finding_line(f) for f in exc.findings))
    except LetterError as exc:
        return done(findings=display_paths(exc.lines(), task))
    except Exception as exc:
        return done(findings=_internal(exc, task))
    hashes = []
    try:
        for fmt in formats:
            data = letter.outputs[fmt.name].data
            write_atomic(Path(task.staged) / staged_name(task.case_file, kind, fmt.suffix), data)
            hashes.append(sha256_bytes(data))
    except (OSError, LetterError) as exc:  # a full disk, a file-size limit
        for fmt in formats:
            (Path(task.staged) / staged_name(task.case_file, kind, fmt.suffix)).unlink(
                missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) else str(exc).rsplit("(", 1)[-1][:-1]
        return done(findings=(f"{task.case_file}: letter not written ({reason})",))
    return done(status=WRITTEN, output_sha256=hashes[0], extra_sha256=tuple(hashes[1:]),
                suffixes=tuple(f.suffix for f in formats),
                pages=letter.outputs[formats[0].name].pages,
                findings=tuple(_finding_line(f) for f in letter.review.advisory))


def _case_id_if_readable(path: str) -> str | None:
    """The case_id of a case file that fails validation, so staff can find the case."""
    from coverage.loading import read_data

    try:
        data = read_data(Path(path))
    except LetterError:
        return None
    case_id = data.get("case_id") if isinstance(data, dict) else None
    return case_id if isinstance(case_id, str) and SAFE_STEM.match(case_id) else None


def _finding_line(finding) -> str:
    """The report names the rule and the field, never a value of the case (it outlives us)."""
    return finding.summary


def _internal(exc: Exception, task: Task) -> tuple[str, ...]:
    kind = type(exc).__name__
    detail = f": {exc}" if isinstance(exc, ImportError | NotImplementedError) else ""
    return (f"{task.case_file}: internal error ({kind}{detail}); please report it",)


def work_chunk(tasks: list[Task]) -> list[CaseResult]:
    """What a pool worker runs: a few cases, so results travel back in small batches."""
    return [work_one(task) for task in tasks]


def named_code_set(practice, practice_path: Path) -> Path | None:
    """The ICD-10-CM file a practice profile names (None: the bundled release).

    Here so that the batch reaches the letter pipeline from one module only.
    """
    from coverage.pipeline import code_set_path

    return code_set_path(practice, practice_path, None)
