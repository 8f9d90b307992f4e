"""The project's one YAML module: case files read and written as YAML 1.2 with ruamel.yaml.

:func:`load_yaml` gives plain data for validation, fast (the C parser of ``ruamel.yaml.clib``
and a direct walk over the node tree). :func:`load_roundtrip` gives a ``CommentedMap`` for
editors and importers; :func:`dump_roundtrip` and :func:`write_case_file` write it back with its
comments, key order, quoting, flow style, indentation and line wrapping as they were.

Both read a number or a date only when it is unambiguous, and keep the text as written otherwise
(most such fields are identifiers; pydantic still reads the text where a number is expected):
``0123``, ``0o17``, ``0x1F``, ``1_000``, ``1e3``, ``+5``, ``.inf`` and ``2026-02-30`` stay text,
as do ``yes``/``no``/``on``/``off``/``y``/``n`` and ``1:30`` (YAML 1.2). Refused, each as an
InputError naming the file and the line: duplicate keys, tags (``!!python/object`` and any
other), aliases expanding past :data:`MAX_EXPANDED_VALUES` values, a ``%YAML 1.1`` line.
"""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.emitter import RoundTripEmitter
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import MappingEndEvent
from ruamel.yaml.main import CParser  # None when ruamel.yaml.clib is not installed
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.parser import Parser
from ruamel.yaml.reader import Reader, ReaderError
from ruamel.yaml.representer import RepresenterError, RoundTripRepresenter
from ruamel.yaml.resolver import BaseResolver, Resolver
from ruamel.yaml.scanner import Scanner
from ruamel.yaml.tag import Tag
from ruamel.yaml.util import create_timestamp, timestamp_regexp

from coverage.errors import InputError
from coverage.files import PRIVATE_MODE, write_atomic

MAX_EXPANDED_VALUES = 10_000
"""Aliases (``*name``) may repeat a section, but no document may expand past this many values
(a full case file has about 300): a 1 KB "billion laughs" file would otherwise become billions."""

MAX_DEPTH = 100  # nesting levels; a case file has 4
_C_NESTING_LIMIT = 1_000  # libyaml recurses without a limit and crashes near 10,000 levels

_Y = "tag:yaml.org,2002:"
_TAGS: dict[str, Tag] = {}


def _tag(name: str) -> Tag:
    return _TAGS.setdefault(name, Tag(suffix=_Y + name))


_STR, _INT, _FLOAT, _BOOL, _NULL, _TIME, _SEQ, _MAP, _MERGE, _VALUE = map(_tag, (
    "str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge", "value"
))  # fmt: skip
_IMPLICIT = {  # ruamel's own YAML 1.2 rules (the table of its Resolver), compiled once
    first: tuple((_tag(tag.removeprefix(_Y)), re.compile(rx.pattern, rx.flags)) for tag, rx in on)
    for first, on in Resolver.yaml_implicit_resolvers.items()
}
_RESOLVED: dict[str, Tag] = {}  # short scalars already resolved: keys repeat in every file
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_PLAIN_FLOAT = re.compile(r"-?(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+)\Z")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_OTHER_VERSION = re.compile(r"^%YAML(?![ \t]+1\.2[ \t]*(?:#.*)?$)", re.M)


class _Refused(Exception):
    """A guard's refusal and where (a mark); becomes an InputError naming the line."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message, self.mark = message, mark


class _Resolver12(BaseResolver):
    """YAML 1.2 tags for both readers and the writer, whatever a ``%YAML`` line says.

    ruamel's rules, precompiled, one shared Tag per tag: identity then tells a tag resolved
    here from one written in the file.
    """

    processing_version = (1, 2)

    def __init__(self, version: Any = None, loader: Any = None, loadumper: Any = None) -> None:
        BaseResolver.__init__(self, loadumper if loadumper is not None else loader)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Tag:
        if kind is not ScalarNode:
            return _SEQ if kind is SequenceNode else _MAP
        if not implicit[0]:
            return _STR
        tag = _RESOLVED.get(value)
        if tag is None:
            tag = next((t for t, rx in _IMPLICIT.get(value[:1], ()) if rx.match(value)), _STR)
            if len(_RESOLVED) < 2048 and len(value) < 40:
                _RESOLVED[value] = tag
        return tag


class _PureComposer(Reader, Scanner, Parser, Composer, _Resolver12):
    """The node tree without ruamel.yaml.clib (15 times slower), or for a deeply nested file."""

    comment_handling = None
    max_depth = MAX_DEPTH

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text, loader=self)
        Scanner.__init__(self, loader=self)
        Parser.__init__(self, loader=self)
        Composer.__init__(self, loader=self)
        _Resolver12.__init__(self, loadumper=self)


if CParser is not None:

    class _CComposer(CParser, _Resolver12):  # type: ignore[misc, valid-type]
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _Resolver12.__init__(self, loadumper=self)


def _timestamp(value: str) -> Any:
    """A date (or date and time) YAML 1.2 resolves; one that does not exist stays text."""
    try:
        match = _DATE.match(value)
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        return create_timestamp(**timestamp_regexp.match(value).groupdict())
    except (ValueError, AttributeError):
        return value


def _scalar(node: Node) -> Any:
    tag, value = node.ctag, node.value
    if tag is _STR:  # NFC: a decomposed 'ễ' would print with its marks misplaced
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if tag is _INT:
        return int(value) if _PLAIN_INT.match(value) else value
    if tag is _FLOAT:
        return float(value) if _PLAIN_FLOAT.match(value) else value
    if tag is _TIME:
        return _timestamp(value)
    if tag is _BOOL:
        return value[0] in "tT"
    if tag is _NULL:
        return None
    if tag is _MERGE or tag is _VALUE:
        return value  # '<<' or '=' written as a value
    raise _refused_tag(node)


def _refused_tag(node: Node) -> _Refused:
    tag = str(node.tag).replace(_Y, "!!")
    tag = tag if len(tag) <= 40 else tag[:37] + "..."
    return _Refused(f"tags such as '{tag}' are not allowed; write the value plainly or in quotes",
                    node.start_mark)


def _check_tree(root: Node) -> None:
    """Refuse tags, and aliases expanding past MAX_EXPANDED_VALUES; linear in distinct nodes."""
    sizes: dict[int, int] = {}
    implicit = {id(tag) for tag in _TAGS.values()}

    def size(node: Node) -> int:
        if id(node.ctag) not in implicit:
            raise _refused_tag(node)
        if node.__class__ is ScalarNode:
            return 1
        known = sizes.get(id(node))
        if known is not None and known < 0:
            raise _Refused("an alias (*name) is used inside the section it names", node.start_mark)
        if known is not None:
            return known
        sizes[id(node)] = -1
        pairs = node.__class__ is MappingNode
        total = 1 + sum(map(size, [n for kv in node.value for n in kv] if pairs else node.value))
        if total > MAX_EXPANDED_VALUES:
            raise _Refused(f"aliases (*name) would expand this file to more than "
                           f"{MAX_EXPANDED_VALUES:,} values; write the sections out instead",
                           node.start_mark)
        sizes[id(node)] = total
        return total

    size(root)


class _Builder:
    """Plain data from a node tree; the first alias of a section runs the expansion check."""

    def __init__(self, root: Node) -> None:
        self.root, self.seen, self.checked = root, set(), False

    def build(self, node: Node) -> Any:
        kind = node.__class__
        if kind is ScalarNode:
            return _scalar(node)
        if id(node) not in self.seen:
            self.seen.add(id(node))
        elif not self.checked:
            _check_tree(self.root)
            self.checked = True
        if kind is SequenceNode and node.ctag is _SEQ:
            return [self.build(item) for item in node.value]
        if kind is MappingNode and node.ctag is _MAP:
            return self.mapping(node)
        raise _refused_tag(node)

    def mapping(self, node: Node) -> dict:
        out: dict = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.ctag is _MERGE:
                if merges:
                    raise _Refused("'<<' appears twice in one section", key_node.start_mark)
                merges.append(value_node)
                continue
            key = self.build(key_node) if key_node.__class__ is ScalarNode else []
            if not isinstance(key, str | int | float) and key is not None:
                raise _Refused("a key must be a plain name", key_node.start_mark)
            if key in out:
                raise _duplicate(node, key_node, key)
            out[key] = self.build(value_node)
        for source in merges:  # `<<: *defaults` fills in the keys not written
            for section in source.value if source.__class__ is SequenceNode else [source]:
                if section.__class__ is not MappingNode:
                    raise _Refused("'<<' must be followed by a section or a list of sections",
                                   section.start_mark)
                for key, value in self.build(section).items():
                    out.setdefault(key, value)
        return out


def _duplicate(node: Node, key_node: Node, key: Any) -> _Refused:
    first = next(k for k, _ in node.value if k.value == key_node.value)
    where = f" (first on line {first.start_mark.line + 1})" if first is not key_node else ""
    return _Refused(f"key '{key}' appears twice{where}", key_node.start_mark)


def load_yaml(text: str, source: str) -> Any:
    """Plain data (dict, list, str, int, float, bool, None, date) for validation."""
    try:
        _refuse_other_versions(text)
        # a level of nesting takes a line or one of these characters: a safe bound for libyaml
        nesting = sum(text.count(c) for c in "[{-?\n")
        fast = CParser is not None and nesting <= _C_NESTING_LIMIT
        composer = _CComposer(text) if fast else _PureComposer(text)
        try:
            root = composer.get_single_node()
        finally:
            composer.dispose()
        return None if root is None else _Builder(root).build(root)
    except (YAMLError, _Refused, RecursionError) as exc:
        raise _input_error(source, text, exc) from None


def _refuse_other_versions(text: str) -> None:
    """A `%YAML 1.1` line asks for rules this tool does not apply (yes/no as true/false)."""
    found = _OTHER_VERSION.search(text) if "%YAML" in text else None
    if found:
        raise _Refused("this tool reads YAML 1.2 only; remove the %YAML line",
                       SimpleNamespace(line=text.count("\n", 0, found.start()), column=0))


def _input_error(source: str, text: str, exc: BaseException) -> InputError:
    """What went wrong and where, from ruamel's marks; never the values themselves."""
    mark = getattr(exc, "mark", None) or getattr(exc, "problem_mark", None)
    mark = mark or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    if isinstance(exc, _Refused):
        return InputError.one(source, where, exc.message)
    if isinstance(exc, RecursionError):
        return InputError.one(source, "", "not valid YAML: sections nested too deeply")
    if isinstance(exc, ReaderError):
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else "?"
        return InputError.one(source, f"line {line}",
                              f"not valid YAML: a character that is not allowed ({exc.reason})")
    if not isinstance(exc, MarkedYAMLError):
        return InputError.one(source, "", f"not valid YAML ({type(exc).__name__})")
    problem = exc.problem or exc.context or "syntax error"
    if problem.startswith("maximum depth"):
        return InputError.one(source, where, f"sections nested more than {MAX_DEPTH} deep")
    if problem.startswith("but found another document"):
        return InputError.one(source, where, "holds a second document (after a '---' line)")
    if "mapping values are not allowed" in problem:
        problem += " (text with a colon in it must be in quotes)"
    lines = text.split("\n")
    at = lines[mark.line][mark.column:mark.column + 1] if mark and mark.line < len(lines) else ""
    if at == "\t" or "tab character" in problem:
        problem += " (indent with spaces, not tabs)"
    opened = exc.context_mark
    if exc.problem and exc.context and opened and mark and opened.line != mark.line:
        # the parser notices a missing } or ] only where the next line starts
        problem += f" ({exc.context} that starts on line {opened.line + 1})"
    return InputError.one(source, where, f"not valid YAML: {problem}")


# --- round trip ----------------------------------------------------------------------------


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
