"""What a case file (or practice profile) may cost to read: bounded size, depth, lengths, digits.

A full case file is about 10 KB, 4 levels deep, with lists of a few dozen items; these limits
are a hundred times that, so no honest file meets them, while a hostile or broken one gets one
clear message (file, field, limit) instead of minutes of work, gigabytes of memory or a crash.
The FHIR bundles and 835 files the importers read have their own, larger limits (``fhir``,
``remittance``). YAML's own guards (aliases, tags, nesting while parsing) are in
:mod:`coverage.yaml_files.reading`.
"""

from __future__ import annotations

import json
from typing import Any

from coverage.errors import InputError

MAX_FILE_BYTES = 1_000_000  # a case file is ~10 KB
MAX_DEPTH = 100  # nesting levels (sections in sections, lists in lists); a case file has 4
MAX_LIST_ITEMS = 1_000  # items in one list; a case has a few dozen pain scores at most
MAX_TEXT_CHARS = 20_000  # characters in one value; a clinical note is a few hundred
MAX_INT_DIGITS = 30  # digits in a whole number (Python refuses past 4,300; nothing needs 30)


def check_size(data: bytes, file: str) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise InputError.one(file, "", f"is larger than {MAX_FILE_BYTES:,} bytes; a case file "
                             "is a few kilobytes (is this the right file?)")


def check_shape(data: Any, file: str) -> None:
    """Depth, list lengths and text lengths, walked without recursion (a deep file cannot
    exhaust the stack here)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError.one(file, _short(where), f"sections nested more than {MAX_DEPTH} "
                                 "deep")
        if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            raise InputError.one(file, _short(where), f"text longer than {MAX_TEXT_CHARS:,} "
                                 "characters")
        if isinstance(value, int) and not isinstance(value, bool) and (
                len(str(abs(value))) > MAX_INT_DIGITS):
            raise InputError.one(file, _short(where), f"a number longer than {MAX_INT_DIGITS} "
                                 "digits")
        if isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                raise InputError.one(file, _short(where), f"a list of more than "
                                     f"{MAX_LIST_ITEMS:,} items")
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((item, f"{where}.{key}" if where else str(key), depth + 1)
                         for key, item in value.items())


def _short(where: str) -> str:
    return where if len(where) <= 80 else where[:77] + "..."


def load_json(text: str, file: str) -> Any:
    """JSON with the guards YAML has: duplicate keys refused, whole numbers bounded, no NaN or
    Infinity, nesting bounded (the stack is never exhausted)."""

    def pairs(items: list[tuple[str, Any]]) -> dict:
        out: dict = {}
        for key, value in items:
            if key in out:
                raise _JsonRefused(f"key '{key[:40]}' appears twice")
            out[key] = value
        return out

    def whole(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise _JsonRefused(f"a number longer than {MAX_INT_DIGITS} digits")
        return int(digits)

    def constant(name: str) -> Any:
        raise _JsonRefused(f"'{name}' is not a number")

    _check_json_depth(text, file)
    try:
        return json.loads(text, object_pairs_hook=pairs, parse_int=whole,
                          parse_constant=constant)
    except _JsonRefused as exc:
        raise InputError.one(file, "", f"not accepted: {exc}") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise InputError.one(file, where, f"not valid JSON: {exc.msg}") from None
    except (RecursionError, ValueError):
        raise InputError.one(file, "", "not valid JSON (nested too deeply or too long)") from None


class _JsonRefused(ValueError):
    pass


def _check_json_depth(text: str, file: str) -> None:
    """Bracket depth outside strings, before the parser recurses into it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                raise InputError.one(file, "", f"sections nested more than {MAX_DEPTH} deep")
        elif char in "]}":
            depth -= 1
