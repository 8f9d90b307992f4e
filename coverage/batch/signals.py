"""Ctrl-C, kill and hang-up: which signals stop a batch, and holding them off for a moment.

A module of its own because both sides need it: the parent holds the signals while workers
start and while results commit, and each worker ignores them (the parent decides what stops).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))  # Ctrl-C, kill, hang-up


@contextlib.contextmanager
def signals_held(defer: bool = False) -> Iterator[None]:
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
    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, before in previous.items():
            if before is not None:
                signal.signal(number, before)
    if arrived:
        raise KeyboardInterrupt
