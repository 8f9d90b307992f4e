"""One batch run: plan each case, make the letters, settle them; ``run_batch`` drives it.

Planning (hashes, the manifest, practice profiles and their audit logs) happens in this
process; letters are made by :mod:`~coverage.batch.worker`, in :mod:`~coverage.batch.pool` or
here for one job. Every letter is audited as its chunk's results arrive, before anyone is told.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

from coverage.batch.discover import check_arguments, find_case_files, locked
from coverage.batch.manifest import read_manifest, up_to_date, write_manifest
from coverage.batch.naming import staged_name
from coverage.batch.place import place_letters
from coverage.batch.pool import work_in_pool
from coverage.batch.report import BatchSummary, write_reports
from coverage.batch.results import FAILED, NOT_RUN, UP_TO_DATE, WRITTEN, CaseResult
from coverage.batch.signals import signals_held
from coverage.batch.worker import Task, display_paths, named_code_set, warm, work_one
from coverage.errors import BatchError, InputError, LetterError
from coverage.files import make_private_dir, sha256_file
from coverage.kinds import AUTO

STAGING_NAME = ".staging"

OnResult = Callable[[CaseResult, int, int], None]


def run_batch(
    cases_dir: Path,
    out_dir: Path,
    *,
    kind: str = AUTO,
    jobs: int | None = None,
    force: bool = False,
    practice: Path | None = None,
    today: date,
    on_result: OnResult | None = None,
    formats: tuple[str, ...] = ("pdf",),
    templates: Path | None = None,
) -> BatchSummary:
    """Write a letter for every case file under ``cases_dir`` into ``out_dir``.

    ``kind``: ``auto`` (an appeal when the case has a ``denial:`` section, else a letter of
    medical necessity), ``lmn`` or ``appeal``. ``jobs``: worker processes (default: one per
    CPU; 1 runs in this process). ``force``: render every letter, even those up to date.
    ``practice``: one profile for all cases (default: practice.yaml beside each case, or one
    folder up). ``today``: the letter date for cases that carry no ``letter_date``.
    ``on_result(result, done, total)`` is called in this process for each case as it finishes.
    ``formats``: the formats to write (``coverage.renderers`` names, the first one's file is
    the report's ``output``; the others sit beside it with their own suffix). ``templates``:
    the clinic's own template folder, as for the ``letter`` command.

    Bad arguments raise :class:`InputError`. Problems with single cases never do: they are
    rows of the report. Ctrl-C (KeyboardInterrupt, also from ``on_result``) stops the run
    cleanly: letters finished so far are kept, the report marks the rest ``not_run`` and the
    summary comes back with ``interrupted`` set (exit code 130).
    """
    from coverage.settings import tool_version

    started = time.perf_counter()
    cases_dir, out_dir = Path(cases_dir), Path(out_dir)
    jobs = check_arguments(cases_dir, out_dir, kind, jobs, practice)
    exclude = (out_dir,) + ((practice,) if practice is not None else ())
    case_files = find_case_files(cases_dir, exclude)
    if not case_files:
        raise InputError.one(
            str(cases_dir), "", "no case files (.yaml, .yml, .json) found in this folder"
        )
    try:
        make_private_dir(out_dir)
    except OSError as exc:
        raise InputError.one(str(out_dir), "", f"cannot be created ({exc.strerror})") from None
    with locked(out_dir):
        run = _Run(cases_dir, out_dir, kind, jobs, force, practice, today, on_result,
                   tool_version(), len(case_files), tuple(formats), templates)
        try:
            run.execute(case_files)
        finally:
            with signals_held():
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
                 tool_version, total, formats, templates=None) -> None:
        from coverage.renderers import FORMATS

        self.formats = formats
        self.templates = str(templates) if templates is not None else None
        self.templates_sha = _folder_digest(templates) if templates is not None else None
        self.suffixes = tuple(FORMATS[name].suffix for name in formats)
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

    def _plan(self, case_file: str, path: Path) -> Task | CaseResult:
        """The task for a case file, or its result when it needs none (up to date, unreadable)."""
        fixed = None if self.kind == AUTO else self.kind
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
        if not self.force and up_to_date(entry, case_sha=case_sha, practice_sha=practice_sha,
                                         code_set_sha=code_set_sha, kind=self.kind,
                                         tool_version=self.tool_version, out_dir=self.out_dir,
                                         today=self.today, suffixes=self.suffixes,
                                         templates_sha=self.templates_sha):
            return CaseResult(
                case_file, UP_TO_DATE, case_id=entry.get("case_id"), kind=entry.get("kind"),
                stem=entry.get("stem"),
                findings=tuple(entry.get("advisory") or ()), output=entry["output"],
                filing_deadline=entry.get("filing_deadline"),
                output_sha256=entry["output_sha256"], pages=entry.get("pages"),
                suffixes=self.suffixes, extra_sha256=tuple(entry.get("extra_sha256") or ()),
                case_sha256=case_sha, practice_sha256=practice_sha, code_set_sha256=code_set_sha,
                letter_date=entry.get("letter_date"),
            )
        return Task(case_file, str(path), str(practice), self._display_practice(practice),
                    case_sha, practice_sha, code_set_sha, self.kind, str(self.staging),
                    self.today, self.formats, self.templates)

    def _code_set_digest(self, practice: Path) -> str | None:
        """SHA-256 of the ICD-10-CM release the profile names (None: the bundled one).

        A clinic that drops a newer release in place of the old file gets its letters made
        again; the bundled release changes only with the tool's version, already compared.
        A profile that cannot be read, or names a missing file, fails in the worker, with
        its message, as before.
        """
        if practice not in self._code_set_hashes:
            digest = None
            with contextlib.suppress(LetterError, OSError):
                named = named_code_set(self._practice_model(practice), practice)
                digest = sha256_file(named) if named is not None else None
            self._code_set_hashes[practice] = digest
        return self._code_set_hashes[practice]

    def _practice_model(self, path: Path):
        """The practice profile at ``path``, read once per run (LetterError if unusable)."""
        if path not in self._practice_models:
            from coverage.loading import load_practice

            self._practice_models[path] = load_practice(path)
        return self._practice_models[path]

    def _preflight(self, tasks: list[Task]) -> list[Task]:
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
            lines = display_paths(error.lines(), task)
            self.accept([CaseResult(
                task.case_file, FAILED, kind=None if task.kind == AUTO else task.kind,
                findings=(f"{task.case_file}: its practice profile (or the audit log it "
                          "names) cannot be used:", *lines),
                case_sha256=task.case_sha256, practice_sha256=task.practice_sha256,
            )])
        return ready

    # ---- results

    def _settle(self, results: list[CaseResult]) -> list[CaseResult]:
        """Record results (and audit their letters) before anyone is told about them."""
        with signals_held(defer=True):
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

    def accept(self, results: list[CaseResult]) -> None:
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

    def accept_late(self, results: list[CaseResult]) -> None:
        """Results that came in after a Ctrl-C: kept and counted; the console may be gone."""
        late = self._settle_now([r for r in results if r.case_file not in self.results])
        for result in late:  # the console counts what the report counts
            self.done += 1
            if self.on_result is not None:
                with contextlib.suppress(KeyboardInterrupt, OSError):
                    self.on_result(result, self.done, self.total)

    def _audit(self, practice_path: Path, results: list[CaseResult]) -> LetterError | None:
        """Log the letters of one practice in one transaction; the error if that failed."""
        from coverage.audit import destination, new_event, record_many

        try:
            log, key = destination(self._practice_model(practice_path), practice_path)
            record_many(log, [new_event("batch", r.kind, r.case_sha256, digest, None)
                              for r in results
                              for digest in (r.output_sha256, *r.extra_sha256)], key)
        except LetterError as exc:
            return exc
        return None

    def _audit_failed(self, result: CaseResult, practice_path: Path,
                      error: LetterError) -> CaseResult:
        """An unlogged letter is not kept: it is removed and the case reported failed."""
        for suffix in result.suffixes:
            (self.staging / staged_name(result.case_file, result.kind, suffix)).unlink(
                missing_ok=True)
        lines = [line.replace(str(practice_path), self._display_practice(practice_path))
                 for line in error.lines()]
        return replace(result, status=FAILED, output_sha256=None, pages=None, extra_sha256=(),
                       findings=(f"{result.case_file}: letter not kept, the audit log "
                                 "failed:", *lines))

    # ---- the run itself

    def execute(self, case_files: list[tuple[str, Path]]) -> None:
        """Plan every case, then make the letters: here for one job, else in the pool."""
        self._all = [f for f, _ in case_files]
        shutil.rmtree(self.staging, ignore_errors=True)  # left by a run that was killed
        tasks: list[Task] = []
        try:
            for case_file, path in case_files:
                planned = self._plan(case_file, path)
                if isinstance(planned, CaseResult):
                    self.accept([planned])
                else:
                    tasks.append(planned)
            tasks = self._preflight(tasks)
            if not tasks:
                return
            make_private_dir(self.staging)
            self.jobs_used = min(self.jobs, len(tasks))
            practices = tuple(sorted({t.practice_path for t in tasks}))
            if self.jobs_used == 1:
                warm(practices, in_worker=False)
                for task in tasks:
                    self.accept([work_one(task)])
            else:
                work_in_pool(self, tasks, practices, self.jobs_used)
        except KeyboardInterrupt:
            self.interrupted = True

    # ---- settling names, manifest and report

    def finish(self) -> None:
        """Whatever happened: letters in place, manifest and reports written, staging gone."""
        for case_file in self._all:
            if case_file not in self.results:
                fixed = None if self.kind == AUTO else self.kind
                self.results[case_file] = CaseResult(case_file, NOT_RUN, kind=fixed)
        try:
            place_letters(self.results, self._all, manifest=self.manifest,
                          out_dir=self.out_dir, staging=self.staging,
                          requested_kind=self.kind, withdrawn=self.withdrawn)
            write_manifest(self.out_dir, self._all, self.results, self.manifest,
                           self.withdrawn, self.kind, self.tool_version, self.templates_sha)
            write_reports(self.out_dir, [self.results[f].report_row() for f in self._all],
                          tool_version=self.tool_version, kind=self.kind, today=self.today,
                          interrupted=self.interrupted, error=self.error)
        except (OSError, LetterError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            placed = [r.output for f in self._all
                      if (r := self.results[f]).status == WRITTEN and r.output]
            raise BatchError(
                f"{self.out_dir}: the report or manifest could not be written ({reason}); "
                f"letters written by this run and complete: {len(placed)}"
                + (f" ({', '.join(placed)})" if placed else "")
                + "; every other case has no new letter"
            ) from None
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)


def _folder_digest(folder: Path) -> str | None:
    """SHA-256 over a template folder's files (names and bytes): a changed wording makes the
    letters again. None when the folder cannot be read (the letters then fail with why)."""
    import hashlib

    digest = hashlib.sha256()
    try:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
            digest.update(sha256_file(path).encode("ascii"))
    except OSError:
        return None
    return digest.hexdigest()
