"""Reading case files for validation: plain data from YAML 1.2, fast, with the guards.

Both readers (this one and ``roundtrip``) read a number or a date only when it is unambiguous,
and keep the text as written otherwise (most such fields are identifiers; pydantic still reads
the text where a number is expected): ``0123``, ``0o17``, ``0x1F``, ``1_000``, ``1e3``, ``+5``,
``.inf`` and ``2026-02-30`` stay text, as do ``yes``/``no``/``on``/``off``/``y``/``n`` and
``1:30`` (YAML 1.2). Refused, each as an InputError naming the file and the line: duplicate
keys, tags (``!!python/object`` and any other), aliases expanding past
:data:`MAX_EXPANDED_VALUES` values, a ``%YAML 1.1`` line.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from types import SimpleNamespace
from typing import Any

from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.main import CParser  # None when ruamel.yaml.clib is not installed
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.parser import Parser
from ruamel.yaml.reader import Reader, ReaderError
from ruamel.yaml.resolver import BaseResolver, Resolver
from ruamel.yaml.scanner import Scanner
from ruamel.yaml.tag import Tag
from ruamel.yaml.util import create_timestamp, timestamp_regexp

from coverage.errors import InputError

MAX_EXPANDED_VALUES = 10_000
"""Aliases (``*name``) may repeat a section, but no document may expand past this many values
(a full case file has about 300): a 1 KB "billion laughs" file would otherwise become billions."""

MAX_DEPTH = 100  # nesting levels; a case file has 4
MAX_INT_DIGITS = 30  # a longer run of digits stays text (see coverage.input_limits)
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
        # past MAX_INT_DIGITS it stays text (Python refuses over 4,300 digits; pydantic then
        # says "must be a whole number" where one is expected)
        return int(value) if len(value) <= MAX_INT_DIGITS and _PLAIN_INT.match(value) else value
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
