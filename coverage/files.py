"""Reading inputs and writing outputs safely: regular files only, atomically, privately.

Letters, reports and identities hold patient data: they are created readable by the owner only
(mode 0600; folders the tool creates 0700, whatever the umask) and appear under their final name
only when complete, so an interrupted run never leaves a half-written file behind. An input is
read only when it is a regular file (a FIFO or a device would hang or never end), and an output
never replaces anything but a regular file (:func:`check_output_target`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from coverage.errors import OutputError

PRIVATE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700


class NotRegularFile(OSError):
    """An input that is a FIFO, device, socket or folder: reading it could hang or never end."""


def make_private_dir(folder: Path) -> None:
    """Create ``folder`` (and missing parents) owner-only, whatever the umask; an existing
    folder is left as it is."""
    folder = Path(folder)
    missing: list[Path] = []
    level = folder
    while not level.is_dir():
        missing.append(level)
        if level.parent == level:
            break
        level = level.parent
    for level in reversed(missing):
        try:
            level.mkdir(mode=PRIVATE_FOLDER_MODE)
        except FileExistsError:
            if not level.is_dir():
                raise
            continue
        os.chmod(level, PRIVATE_FOLDER_MODE)


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """Open (creating 0600 whatever the umask) a file such as a lock; never through a link."""
    fd = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_MODE)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(0, "not a regular file", str(path))
        if stat.S_IMODE(info.st_mode) != PRIVATE_MODE and info.st_uid == os.getuid():
            os.fchmod(fd, PRIVATE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file (a link to one is fine), else
    :class:`NotRegularFile`; opened non-blocking, so a FIFO cannot hang the open either.
    ``limit``: read at most this many bytes plus one (the caller tells a file too large)."""
    with _open_regular(path) as handle:
        return handle.read() if limit is None else handle.read(limit + 1)


def _open_regular(path: Path):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(21, "Is a directory", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(0, "not a regular file (a pipe, device or socket)", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (links and hard links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def check_output_target(path: Path, inputs: Iterable[tuple[str, Path]] = ()) -> None:
    """Refuse an output path that would destroy something: one of the command's ``inputs``
    (what, path), or anything but a regular file or a new name (a folder, device, FIFO,
    socket, or a link to one). Nothing is written here; OutputError (exit 2) says why."""
    path = Path(path)
    target = _resolved(path)
    for what, source in inputs:
        if source is None:
            continue
        if same_file(path, source) or target == _resolved(source):
            raise OutputError(f"{path}: is the {what} this command uses; choose another name "
                              "for the output (nothing was written)")
        if Path(source).is_dir() and target.is_relative_to(_resolved(source)):
            raise OutputError(f"{path}: is inside the {what} this command reads; write the "
                              "output elsewhere (nothing was written)")
    try:
        info = os.stat(path)  # follows a link: what would be replaced is what it points to
    except FileNotFoundError:
        return  # a new name (or a dangling link, which the rename replaces)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{path}: is a folder; give a file name, e.g. {path / 'letter.pdf'}")
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"{path}: is not a regular file (a device, pipe or socket); choose a "
                          "new file name (nothing was written)")


def _resolved(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def write_atomic(path: Path, data: bytes, mode: int = PRIVATE_MODE) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name, e.g. {path / 'letter.pdf'}")
    tmp = stage(path, data, mode)
    try:
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot be written ({exc.strerror})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def stage(path: Path, data: bytes, mode: int = PRIVATE_MODE) -> Path:
    """Write ``data`` completely (synced) to a hidden temporary file beside ``path``; the
    caller renames it into place (or deletes it). A full disk or a file-size limit is an
    OutputError, and leaves nothing behind."""
    path = Path(path)
    try:
        make_private_dir(path.parent)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror})") from None
    tmp = Path(name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a regular file (NotRegularFile for a FIFO or device: it could hang)."""
    digest = hashlib.sha256()
    with _open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def csv_bytes(columns: tuple[str, ...], rows: list[dict]) -> bytes:
    """A CSV report: lists joined by ' | ', and no cell a spreadsheet could run as a formula
    (a leading =, +, -, @, tab or carriage return gets a quote mark)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_safe_cell(row.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8")


def _safe_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = " | ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
