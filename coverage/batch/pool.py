"""The worker pool: cases go out in small chunks, a bounded number in flight, results come back.

Bounded so memory stays flat for thousands of cases, and a Ctrl-C stops soon: chunks already
running finish (workers ignore the stop signals) and what they wrote is kept. A pool whose
workers die ends the run with a report: the chunks lost are failed, those never sent not run.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from coverage.batch.results import FAILED, CaseResult
from coverage.batch.signals import signals_held
from coverage.batch.worker import Task, warm, work_chunk
from coverage.kinds import AUTO

MAX_CHUNK = 8
POOL_BROKEN = "a worker process stopped unexpectedly (out of memory?)"
CHUNKS_IN_FLIGHT_PER_JOB = 2  # one running, one waiting: Ctrl-C stops soon


class Receiver(Protocol):
    """The run, as the pool sees it: where results go, and what went wrong."""

    error: str | None
    interrupted: bool

    def accept(self, results: list[CaseResult]) -> None:
        """Settle and report a chunk's results (may raise KeyboardInterrupt)."""

    def accept_late(self, results: list[CaseResult]) -> None:
        """Settle and report, after a Ctrl-C, what a chunk still running brought back."""


def work_in_pool(run: Receiver, tasks: list[Task], practices: tuple[str, ...],
                 jobs: int) -> None:
    """Make the letters of ``tasks`` in ``jobs`` worker processes; results go to ``run``."""
    import multiprocessing

    size = max(1, min(MAX_CHUNK, len(tasks) // (jobs * 4) or 1))
    chunks = iter([tasks[i:i + size] for i in range(0, len(tasks), size)])
    in_flight: dict[Future, list[Task]] = {}
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent (rich)
    with signals_held():  # its queues start multiprocessing's resource tracker
        executor = ProcessPoolExecutor(jobs, mp_context=context, initializer=warm,
                                       initargs=(practices,))

    def submit(chunk: list[Task]) -> None:
        if run.error == POOL_BROKEN:
            return  # what was never sent to the broken pool stays not_run
        try:
            in_flight[executor.submit(work_chunk, chunk)] = chunk
        except BrokenProcessPool:
            run.error = POOL_BROKEN

    try:
        with signals_held():  # the first submits start the workers
            for chunk in chunks:
                submit(chunk)
                if len(in_flight) >= jobs * CHUNKS_IN_FLIGHT_PER_JOB:
                    break
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                chunk = in_flight.pop(future)
                following = next(chunks, None)
                if following is not None:
                    submit(following)
                run.accept(chunk_results(run, future, chunk))
    except KeyboardInterrupt:
        run.interrupted = True
        # chunks already running finish (workers ignore SIGINT); keep what they wrote.
        # A second Ctrl-C must not cut this short: workers would outlive the run and
        # write into a staging folder already removed.
        with signals_held():
            for future in in_flight:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)
            for future, chunk in in_flight.items():
                if future.done() and not future.cancelled():
                    run.accept_late(chunk_results(run, future, chunk))
    finally:
        with signals_held():
            executor.shutdown(wait=True, cancel_futures=True)


def chunk_results(run: Receiver, future: Future, chunk: list[Task]) -> list[CaseResult]:
    """A chunk's results; if its worker failed, each of its cases did (``run.error``: why)."""
    try:
        return future.result()
    except BrokenProcessPool:
        run.error = POOL_BROKEN
    except Exception as exc:  # pickling trouble and the like: the chunk fails, not the run
        run.error = f"a worker failed ({type(exc).__name__})"
    return [
        CaseResult(t.case_file, FAILED, kind=None if t.kind == AUTO else t.kind,
                   findings=(f"{t.case_file}: not processed; {run.error}",))
        for t in chunk
    ]
