"""Rendering a clinic's own templates safely: confined to their folder, bounded in time, memory
and output, and every failure reported with the template's name and line.

A clinic's templates (``--templates FOLDER``) come from outside the project: Jinja's sandbox
stops them reaching Python internals, but not a loop that never ends, a recursion, or
``{{ "x" * 10**10 }}``. So they render in a forked child process with an address-space and
CPU-time limit, a wall-clock timeout and a cap on what they may produce; the parent reads the
markup back or one line saying what went wrong. The shipped templates are the project's own
and render in-process (no fork per letter); both paths report any exception, not only
Jinja's, as a :class:`~coverage.errors.TemplateError` naming the template and line.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

from coverage.errors import TemplateError

MAX_OUTPUT_CHARS = 2_000_000  # a letter's markup is ~30 KB
MAX_SECONDS = 20  # wall clock for one letter's template (a letter takes well under 1 s)
MAX_CPU_SECONDS = 15
MAX_EXTRA_MEMORY = 1 << 30  # address space the child may add to what the parent had


def template_location(exc: BaseException, folders: list[Path]) -> tuple[str, int | None]:
    """(template file, line) of the innermost template frame in a traceback."""
    found: tuple[str, int | None] = ("", None)
    roots = [str(f.resolve()) for f in folders]
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2") or any(filename.startswith(r) for r in roots):
            found = (Path(filename).name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def describe(exc: BaseException, template_name: str, folders: list[Path]) -> str:
    """One line for staff and the clinic's template author: where, and what kind of failure."""
    name, line = template_location(exc, folders)
    lineno = getattr(exc, "lineno", None) or line
    where = f"template {name or template_name}" + (f", line {lineno}" if lineno else "")
    if isinstance(exc, _TooLarge):
        what = str(exc)
    elif isinstance(exc, RecursionError):
        what = "recursion too deep (a macro that calls itself without end?)"
    elif isinstance(exc, MemoryError):
        what = "used too much memory"
    else:
        message = str(exc).splitlines()[0] if str(exc) else ""
        what = f"{type(exc).__name__}: {message[:200]}" if message else type(exc).__name__
    return f"{where}: {what}"


def stream(template, context: object) -> str:
    """The template's output, refused past MAX_OUTPUT_CHARS (counted as it is produced)."""
    parts: list[str] = []
    size = 0
    for chunk in template.generate(c=context):
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise _TooLarge(f"output larger than {MAX_OUTPUT_CHARS:,} characters (a loop "
                            "without end?)")
        parts.append(chunk)
    return "".join(parts)


class _TooLarge(Exception):
    pass


def render_confined(env, template_name: str, context: object, folders: list[Path]) -> str:
    """Render in a forked child with limits; the markup, or TemplateError naming the line."""
    if not hasattr(os, "fork"):  # Windows: the sandbox and the output cap only
        return render_here(env, template_name, context, folders)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(env, template_name, context, folders, write_end)
    os.close(write_end)
    try:
        payload = _read_with_timeout(read_end, pid)
    finally:
        os.close(read_end)
        _reap(pid)
    try:
        result = json.loads(payload.decode("utf-8"))
    except ValueError:
        raise TemplateError(f"template {template_name}: stopped (it ran out of time or memory, "
                            f"limits {MAX_SECONDS} s and {MAX_EXTRA_MEMORY >> 20} MB)") from None
    if "error" in result:
        raise TemplateError(result["error"])
    return result["markup"]


def render_here(env, template_name: str, context: object, folders: list[Path]) -> str:
    """Render in this process (the shipped templates), any failure as a TemplateError."""
    try:
        return stream(env.get_template(template_name), context)
    except TemplateError:
        raise
    except Exception as exc:
        raise TemplateError(describe(exc, template_name, folders)) from None


def _child(env, template_name, context, folders, fd: int) -> None:
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
        _limit_resources()
        try:
            out = {"markup": stream(env.get_template(template_name), context)}
        except Exception as exc:  # any exception a template can raise
            out = {"error": describe(exc, template_name, folders)}
        data = json.dumps(out).encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def _limit_resources() -> None:
    try:
        import resource
    except ImportError:
        return
    resource.setrlimit(resource.RLIMIT_CPU, (MAX_CPU_SECONDS, MAX_CPU_SECONDS + 1))
    try:
        with open("/proc/self/statm") as handle:
            used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    limit = used + MAX_EXTRA_MEMORY
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    sys.setrecursionlimit(min(sys.getrecursionlimit(), 2000))


def _read_with_timeout(fd: int, pid: int) -> bytes:
    deadline = time.monotonic() + MAX_SECONDS
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            return b""
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > 4 * MAX_OUTPUT_CHARS + 1024:  # JSON of at most MAX_OUTPUT_CHARS characters
            os.kill(pid, signal.SIGKILL)
            return b""
        chunks.append(chunk)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
