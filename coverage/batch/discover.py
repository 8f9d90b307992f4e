"""Before a run: the case files to read, the arguments, the cores to use, the folder's lock."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from coverage.errors import InputError
from coverage.kinds import AUTO, LetterKind
from coverage.settings import CASE_SUFFIXES, PRACTICE_NAMES

KINDS = (AUTO, *LetterKind)  # what --kind takes: the kinds of coverage.kinds, or auto
LOCK_NAME = ".batch.lock"


def find_case_files(cases_dir: Path, exclude: tuple[Path, ...] = ()) -> list[tuple[str, Path]]:
    """(relative POSIX path, path) of every case file under ``cases_dir``, sorted."""
    excluded = {_resolved(p) for p in exclude}
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(cases_dir, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and _resolved(here / d) not in excluded
        )
        for name in files:
            path = here / name
            if name.startswith(".") or name.lower() in PRACTICE_NAMES:
                continue
            if path.suffix.lower() not in CASE_SUFFIXES or _resolved(path) in excluded:
                continue
            if not path.is_file() and not path.is_symlink():
                continue  # a FIFO or device; a broken link or a loop fails alone, named
            found.append((path.relative_to(cases_dir).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return found


def _resolved(path: Path) -> Path | None:
    """The real path, or None for a link loop (which then matches nothing excluded)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def check_arguments(cases_dir: Path, out_dir: Path, kind: str, jobs: int | None,
                    practice: Path | None) -> int:
    """Refuse a bad argument before anything is made; the number of workers to use."""
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
def locked(out_dir: Path) -> Iterator[None]:
    """One batch at a time per output folder (the manifest is rewritten at the end)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    from coverage.files import open_private

    try:  # 0600 whatever the umask; never through a link planted under the lock's name
        handle = os.fdopen(open_private(out_dir / LOCK_NAME), "a")
    except OSError as exc:
        raise InputError.one(str(out_dir / LOCK_NAME), "",
                             f"cannot be used as the lock ({exc.strerror})") from None
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
