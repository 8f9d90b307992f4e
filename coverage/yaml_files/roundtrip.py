"""Round trip: a case file as an editable mapping, written back with its comments, key order,
quoting, flow style, indentation and line wrapping as they were (the importers and the web
form edit case files staff have commented)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.emitter import RoundTripEmitter
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import MappingEndEvent
from ruamel.yaml.nodes import MappingNode
from ruamel.yaml.representer import RepresenterError, RoundTripRepresenter
from ruamel.yaml.tag import Tag

from coverage.errors import InputError
from coverage.files import PRIVATE_MODE, write_atomic
from coverage.yaml_files.reading import (
    _BOOL,
    _FLOAT,
    _INT,
    _NULL,
    _PLAIN_FLOAT,
    _PLAIN_INT,
    _STR,
    _Y,
    MAX_DEPTH,
    _check_tree,
    _duplicate,
    _input_error,
    _refuse_other_versions,
    _Refused,
    _Resolver12,
    _timestamp,
)


class _KeptText(str):
    """A plain scalar kept as text (0123, 1e3, 2026-02-30): written plain again, not quoted."""

    tag: Tag


class _Verbatim(str):
    """A plain or quoted text over several lines: written back as it was wrapped if unchanged."""

    source: str
    style: str | None
    column: int
    end_column: int


_SPELLED = "_case_file_spelling"  # how a section's nulls and booleans were written: `~`, `True`


class _RoundTripConstructor(RoundTripConstructor):
    def construct_document(self, node: Any) -> Any:
        _check_tree(node)
        return super().construct_document(node)

    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any,
                          value: Any) -> bool:
        if not isinstance(key, str | int | float) and key is not None:
            raise _Refused("a key must be a plain name", key_node.start_mark)
        if key in mapping:
            raise _duplicate(node, key_node, key)
        return True

    def construct_mapping(self, node: Any, maptyp: Any, deep: bool = False) -> Any:
        result = super().construct_mapping(node, maptyp, deep=deep)
        spelled = {k.value: v.value for k, v in node.value
                   if (v.ctag is _NULL or v.ctag is _BOOL) and v.value not in ("", "true", "false")}
        if spelled:  # None and bool cannot carry it; ruamel would write `` and `true`
            setattr(maptyp, _SPELLED, spelled)
        return result

    def construct_number(self, node: Any) -> Any:
        if node.ctag is _INT and _PLAIN_INT.match(node.value):
            return RoundTripConstructor.construct_yaml_int(self, node)
        if node.ctag is _FLOAT and _PLAIN_FLOAT.match(node.value):
            return RoundTripConstructor.construct_yaml_float(self, node)
        return self.construct_kept(node)

    def construct_timestamp(self, node: Any) -> Any:
        if isinstance(_timestamp(node.value), str):
            return self.construct_kept(node)
        return RoundTripConstructor.construct_yaml_timestamp(self, node)

    def construct_kept(self, node: Any) -> _KeptText:
        kept = _KeptText(node.value)
        kept.tag = node.ctag
        return kept

    def construct_text(self, node: Any) -> Any:
        value = RoundTripConstructor.construct_yaml_str(self, node)
        start, end = node.start_mark, node.end_mark
        if node.style not in (None, "'", '"') or start.line == end.line:
            return value
        wrapped = _Verbatim(value)
        wrapped.source = start.buffer[start.pointer:end.pointer]
        wrapped.style, wrapped.column, wrapped.end_column = node.style, start.column, end.column
        return wrapped


for _name, _method in (("int", "construct_number"), ("float", "construct_number"),
                       ("timestamp", "construct_timestamp"), ("str", "construct_text"),
                       ("merge", "construct_kept"), ("value", "construct_kept")):
    _RoundTripConstructor.add_constructor(_Y + _name, getattr(_RoundTripConstructor, _method))


class _RoundTripRepresenter(RoundTripRepresenter):
    def represent_mapping(self, tag: Any, mapping: Any, flow_style: Any = None) -> MappingNode:
        node = super().represent_mapping(tag, mapping, flow_style=flow_style)
        spelled = getattr(mapping, _SPELLED, {})
        for key_node, value_node in node.value if spelled else ():
            was = spelled.get(key_node.value) if isinstance(key_node.value, str) else None
            if was and value_node.tag in (_NULL, _BOOL) and was.lower() in (value_node.value,
                                                                              "~", "null"):
                value_node.value = was  # still the same value: written as it was
        return node


_RoundTripRepresenter.add_representer(_KeptText, lambda r, d: r.represent_scalar(d.tag, d))
_RoundTripRepresenter.add_representer(
    _Verbatim, lambda r, d: r.represent_scalar(_STR, d, style=d.style)
)


class _Emitter(RoundTripEmitter):
    """Flow mappings as the project writes them, ``{ given: A, family: B }``, and wrapped text
    as it was wrapped."""

    flow_map_end = " }"

    def expect_flow_mapping(self, single: Any = False, force_flow_indent: Any = False) -> None:
        super().expect_flow_mapping(single, force_flow_indent)
        if self.flow_context[-1] == "{":
            self.whitespace = False  # a space before the first key

    def expect_first_flow_mapping_key(self) -> None:
        if not isinstance(self.event, MappingEndEvent):
            return super().expect_first_flow_mapping_key()
        self.flow_map_end = "}"  # an empty mapping: {}
        try:
            super().expect_first_flow_mapping_key()
        finally:
            del self.flow_map_end

    def _verbatim(self, text: Any, style: str | None, split: Any) -> bool:
        """Write unchanged wrapped text as it was, when it starts where it started."""
        if not (isinstance(text, _Verbatim) and text.style == style and split
                and not self.flow_level and not getattr(self, "root_context", False)):
            return False
        column = self.column + (0 if self.whitespace else 1)
        lines = [line for line in text.source.split("\n")[1:] if line.strip()]
        indent = min((len(line) - len(line.lstrip(" ")) for line in lines), default=column)
        if column != text.column or indent < (self.indent or 0):  # as deep as ruamel would
            return False
        data = ("" if self.whitespace else " ") + text.source
        self.stream.write(data.encode(self.encoding) if self.encoding else data)
        self.column, self.whitespace, self.indention = text.end_column, False, False
        return True

    def write_plain(self, text: Any, split: Any = True) -> None:
        if not self._verbatim(text, None, split):
            super().write_plain(text, split)

    def write_single_quoted(self, text: Any, split: Any = True) -> None:
        if not self._verbatim(text, "'", split):
            super().write_single_quoted(text, split)

    def write_double_quoted(self, text: Any, split: Any = True) -> None:
        if not self._verbatim(text, '"', split):
            super().write_double_quoted(text, split)


_PROJECT_LAYOUT = (2, 4, 2, "\n")  # mapping indent, sequence indent, dash offset, line break
_LAYOUT = "_case_file_layout"
_KEY_ONLY = re.compile(r"(- +)?[^\s#'\"][^#]*:[ \t]*(#.*)?\Z")


def _guess_layout(text: str) -> tuple[int, int, int, str]:
    """The indentation (and line break) the file uses, so that writing it back keeps them."""
    mapping = offset = parent = None  # parent: column of a `key:` alone on the line before
    for line in text.splitlines():
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        column = len(line) - len(body)
        if parent is not None and body.startswith("-") and column >= parent and offset is None:
            offset = column - parent
        elif parent is not None and column > parent and mapping is None and body[0] != "-":
            mapping = column - parent
        if mapping is not None and offset is not None:
            break
        found = _KEY_ONLY.match(body.rstrip())
        parent = column + len(found[1] or "") if found else None
    offset = _PROJECT_LAYOUT[2] if offset is None else offset
    return (mapping or _PROJECT_LAYOUT[0], offset + 2, offset, "\r\n" if "\r\n" in text else "\n")


def _round_trip_yaml(layout: tuple[int, int, int, str]) -> YAML:
    """A fresh ruamel round-trip instance (they are not thread-safe) with the project's parts."""
    yaml = YAML(typ="rt", pure=True)  # the C parser would drop the comments
    yaml.Resolver, yaml.Constructor = _Resolver12, _RoundTripConstructor
    yaml.Representer, yaml.Emitter = _RoundTripRepresenter, _Emitter
    yaml.preserve_quotes, yaml.max_depth = True, MAX_DEPTH
    yaml.width = 4096  # never re-wrap a long line; wrapped text is kept by _Verbatim
    mapping, sequence, offset, _ = layout  # "\r\n" is put in after: comments keep "\n"
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def load_roundtrip(text: str, source: str) -> CommentedMap:
    """A case file as an editable mapping that :func:`dump_roundtrip` writes back unchanged."""
    layout = _guess_layout(text)
    try:
        _refuse_other_versions(text)
        data = _round_trip_yaml(layout).load(text.replace("\r\n", "\n"))
    except (YAMLError, _Refused, RecursionError) as exc:
        raise _input_error(source, text, exc) from None
    if not isinstance(data, CommentedMap):
        raise InputError.one(source, "", "must hold a mapping of fields (key: value) at the top")
    setattr(data, _LAYOUT, layout)
    return data


def dump_roundtrip(data: Any, source: str = "case data") -> str:
    """YAML 1.2 text for ``data``; a loaded file keeps its comments, quoting and indentation."""
    stream, layout = io.StringIO(), getattr(data, _LAYOUT, _PROJECT_LAYOUT)
    try:
        _round_trip_yaml(layout).dump(data, stream)
    except RepresenterError:
        raise InputError.one(source, "", "cannot be written as YAML: a value is not text, a "
                             "number, true/false, a date, a list or a mapping") from None
    return stream.getvalue().replace("\n", layout[3]) if layout[3] != "\n" else stream.getvalue()


def write_case_file(path: Path, data: Any) -> None:
    """Dump, then write atomically and readable by the owner only (it holds patient data)."""
    write_atomic(Path(path), dump_roundtrip(data, str(path)).encode("utf-8"), mode=PRIVATE_MODE)
