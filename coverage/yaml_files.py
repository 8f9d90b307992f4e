"""Round-trip YAML (ruamel, YAML 1.2) for reading and writing case files.

MINIMAL STUB written on the import-fhir branch so the FHIR importer can write case files with
comments. The real module is being written in main with this same API; at merge, main's
module is kept and this one dropped.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from coverage.errors import InputError
from coverage.files import write_atomic


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_roundtrip(text: str, source: str) -> CommentedMap:
    """Parse YAML keeping comments and key order; errors name ``source``."""
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        raise InputError.one(source, "", f"not valid YAML: {exc}") from None
    if not isinstance(data, CommentedMap):
        raise InputError.one(source, "", "must hold a mapping of fields (key: value) at the top")
    return data


def dump_roundtrip(data: Any) -> str:
    """YAML text of ``data``, comments included."""
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def write_case_file(path: Path, data: Any) -> None:
    """Write a case file atomically, readable by its owner only (it holds patient data)."""
    write_atomic(Path(path), dump_roundtrip(data).encode("utf-8"))
