"""A prebuilt index of a parsed ICD-10-CM tabular, so `check` does not parse 40 MB of XML.

Parsing the tabular with its instructional notes takes about a third of a second; loading the
same tables from this index takes a few tens of milliseconds. The index lives in the user's
cache folder (``$XDG_CACHE_HOME/ketamine-letters/code-sets/``, owner-only), one file per
tabular, named by the tabular's path, size and modification time and by the parser's own source,
so an edited or replaced tabular, or a tool whose parser changed, parses afresh.

The index is written in :mod:`marshal` form, which loads fast and cannot run code, and only
ever read from the owner's own cache folder. Anything wrong with it (missing, damaged,
unreadable, another shape) means the tabular is parsed again; the index is never the only
source of a code.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from functools import cache
from pathlib import Path
from typing import Any

from coverage.files import make_private_dir, write_atomic

CACHE_ENV = "XDG_CACHE_HOME"
INDEX_FORMAT = 1
PARSER_SOURCE = Path(__file__).with_name("tabular.py")  # a changed parser makes a new index


def cache_folder() -> Path:
    base = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache")
    return Path(base) / "ketamine-letters" / "code-sets"


@cache
def _parser_digest() -> str:
    """The parser's own source, hashed once per process: a changed parser makes a new index."""
    return hashlib.sha256(PARSER_SOURCE.read_bytes()).hexdigest()


def index_path(tabular: Path) -> Path | None:
    """Where the index of this tabular lives, or None when the tabular cannot be stat'ed."""
    real = tabular.resolve()
    try:
        facts = real.stat()
    except OSError:
        return None
    key = f"{INDEX_FORMAT}|{_parser_digest()}|{real}|{facts.st_size}|{facts.st_mtime_ns}"
    return cache_folder() / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.marshal"


def read_index(tabular: Path) -> dict[str, Any] | None:
    """The tables saved for this tabular, or None (then the caller parses the XML)."""
    path = index_path(tabular)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_uid != os.getuid():
                return None  # only ever the owner's own index
            tables = marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(tables, dict) or tables.get("format") != INDEX_FORMAT:
        return None
    return tables


def write_index(tabular: Path, tables: dict[str, Any]) -> None:
    """Save the tables for next time; a cache that cannot be written is simply not used."""
    path = index_path(tabular)
    if path is None:
        return
    try:
        make_private_dir(path.parent)
        write_atomic(path, marshal.dumps({**tables, "format": INDEX_FORMAT}))
    except Exception:  # a cache must never fail a command
        return
