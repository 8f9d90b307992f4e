"""Posted form values -> case data, and case data merged into the file staff wrote.

Field names on the page are the case file's field paths (``patient.name.given``,
``diagnoses[0].code``), so a finding's ``field`` names the input it concerns. Values are typed
by the schema (:mod:`coverage.web.schema_form`); a value that does not parse (``12x`` in a
number) is kept as text so that validation names it rather than the page dropping it.

Saving edits the round-trip mapping (:mod:`coverage.yaml_files`): a value that did not change
keeps its original spelling, quoting and comments; fields the form does not show
(``schema_version``, ``imported_from``) are left as they were.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Any

from coverage.web.schema_form import Node, Section, Table, Widget, case_form

_ROW = re.compile(r"^\[(\d{1,3})\]")


class Posted:
    """The form's values by name (a name may be posted more than once: choices)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in items:
            self.values.setdefault(name, []).append(value)

    def get(self, name: str) -> str:
        found = self.values.get(name)
        return found[-1] if found else ""

    def get_all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def row_indices(self, table_path: str) -> list[int]:
        """The row numbers posted for a table, in order (gaps are closed by the caller)."""
        start = len(table_path)
        found = {int(m[1]) for name in self.values if name.startswith(table_path + "[")
                 for m in [_ROW.match(name[start:])] if m}
        return sorted(found)


def _scalar(widget: Widget, raw: str) -> Any:
    """A typed value, or None for an empty input; what does not parse stays text."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n")).strip()  # as the loader
    if not text:
        return None
    if widget.kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            return text
    if widget.kind == "integer":
        return int(text) if re.fullmatch(r"[+-]?\d{1,9}", text) else text
    if widget.kind == "number":
        if re.fullmatch(r"[+-]?\d{1,9}", text):
            return int(text)
        try:
            return float(text) if re.fullmatch(r"[+-]?\d*\.\d+|[+-]?\d+\.\d*", text) else text
        except ValueError:
            return text
    if widget.kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


def _widget_value(widget: Widget, path: str, posted: Posted) -> Any:
    if widget.kind == "choices":
        return [v for v in posted.get_all(path) if v] or None
    if widget.kind == "lines":
        lines = [unicodedata.normalize("NFC", line).strip()
                 for line in posted.get(path).splitlines()]
        return [line for line in lines if line] or None
    return _scalar(widget, posted.get(path))


def _nodes_value(nodes: tuple[Node, ...], prefix: str, posted: Posted) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for node in nodes:
        path = f"{prefix}.{node.name}" if prefix else node.name
        if isinstance(node, Widget):
            value = _widget_value(node, path, posted)
        elif isinstance(node, Section):
            value = _nodes_value(node.children, path, posted)
            if not value and not node.required:
                value = None
        else:
            rows = [_nodes_value(node.columns, f"{path}[{i}]", posted)
                    for i in posted.row_indices(path)]
            value = rows or None
        if value is not None:
            out[node.name] = value
    return out


def case_data(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The case as plain data (what ``load_yaml`` would give) from the posted form."""
    return _nodes_value(case_form(), "", Posted(items))


# --------------------------------------------------------------------------- merge


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value).strip()


def _same(old: Any, new: Any) -> bool:
    """The same value, however the file spelled it: a quoted date ('2026-11-23') or a number
    where text is expected (member_id: 1234567) is kept as written when the form agrees."""
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(old, str | int | float | date) and isinstance(new, str) != isinstance(old, str):
        return _text(old) == _text(new)
    if isinstance(old, int | float) and isinstance(new, int | float):
        return old == new
    if isinstance(old, date) and isinstance(new, date):
        return old == new
    if isinstance(old, str) and isinstance(new, str):
        return old.strip() == new.strip()
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    return False


def _merge_list(old: Any, new: list[Any]) -> Any:
    """A list of values: kept as it was written when unchanged, else replaced in place."""
    if _same(old, new):
        return old
    if isinstance(old, list):
        old.clear()
        old.extend(new)
        return old
    return new


def merge_into(doc: Any, new: dict[str, Any], nodes: tuple[Node, ...] | None = None) -> Any:
    """``new`` (from the form) written over ``doc`` (the round-trip mapping) node by node."""
    nodes = case_form() if nodes is None else nodes
    for node in nodes:
        key = node.name
        if key not in new:
            if key in doc and doc[key] not in (None, "", [], {}):  # `x: null` stays as written
                del doc[key]
            continue
        value, old = new[key], doc.get(key)
        if isinstance(node, Section) and isinstance(old, dict):
            merge_into(old, value, node.children)
        elif isinstance(node, Table) and isinstance(old, list):
            for index, row in enumerate(value):
                if index < len(old) and isinstance(old[index], dict):
                    merge_into(old[index], row, node.columns)
                elif index < len(old):
                    old[index] = row
                else:
                    old.append(row)
            while len(old) > len(value):
                old.pop()
        elif isinstance(value, list) and not isinstance(node, Table):
            doc[key] = _merge_list(old, value)
        elif not _same(old, value):
            doc[key] = value
    return doc


# --------------------------------------------------------------------------- rows

_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d{1,3})\])?")


def _table(data: dict[str, Any], path: str) -> tuple[list[Any], int | None] | None:
    """The list a table path names in ``data`` (created empty when absent), and a row index."""
    steps = [_STEP.fullmatch(part) for part in path.split(".")]
    if not steps or not all(steps):
        return None
    here: Any = data
    for step in steps[:-1]:
        here = here.setdefault(step[1], {}) if isinstance(here, dict) else None
        if not isinstance(here, dict):
            return None
    last = steps[-1]
    rows = here.setdefault(last[1], [])
    if not isinstance(rows, list):
        return None
    return rows, int(last[2]) if last[2] is not None else None


def edit_rows(data: dict[str, Any], action: str) -> dict[str, Any]:
    """``add:pain.scores`` appends an empty row; ``remove:diagnoses[1]`` takes one out."""
    verb, _, path = action.partition(":")
    found = _table(data, path)
    if found is None:
        return data
    rows, index = found
    if verb == "add" and index is None:
        rows.append({})
    elif verb == "remove" and index is not None and index < len(rows):
        rows.pop(index)
    return data
