"""Round-trip YAML for case files (ruamel.yaml, YAML 1.2): comments and quoting survive.

MINIMAL STUB for the import-835 branch: the real module is being written in main with this
same API (``load_roundtrip``, ``dump_roundtrip``, ``write_case_file``); at merge the real one
is kept.
"""

from __future__ import annotations

import io
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from coverage.errors import InputError
from coverage.files import write_atomic


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def load_roundtrip(text: str, source: str) -> CommentedMap:
    """Parse a case file keeping its comments, order and quoting; errors name ``source``."""
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise InputError.one(source, where, "is not valid YAML") from None
    if not isinstance(data, CommentedMap):
        raise InputError.one(source, "", "is not a YAML mapping of case fields")
    return data


def dump_roundtrip(data) -> str:
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    return buffer.getvalue()


def write_case_file(path: Path, data) -> None:
    """Write atomically, readable by the owner only (0600)."""
    write_atomic(Path(path), dump_roundtrip(data).encode("utf-8"))
