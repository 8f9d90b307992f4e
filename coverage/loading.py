"""Files -> models, with errors that name the file and the field path.

YAML is read by :mod:`coverage.yaml_files` (YAML 1.2, with the guards billing staff need:
duplicate keys refused, ``member_id: 0123`` kept as text, no tags, no alias bombs). JSON is read
with the standard library. True/false fields take only true and false: YAML 1.2 reads ``yes``,
``no``, ``on`` and ``off`` as text, which pydantic would quietly turn into booleans (and 1/0).
"""

from __future__ import annotations

import unicodedata
from difflib import get_close_matches
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from coverage.case import Case
from coverage.errors import InputError, Problem
from coverage.practice import Physician, Practice
from coverage.settings import PRACTICE_NAMES
from coverage.starter import DATE_PLACEHOLDER, PLACEHOLDER
from coverage.yaml_files import load_yaml

M = TypeVar("M", bound=BaseModel)


def _nfc(data: Any) -> Any:
    """Unicode NFC everywhere: a decomposed 'ễ' would print with its marks misplaced."""
    if isinstance(data, str):
        return unicodedata.normalize("NFC", data)
    if isinstance(data, dict):
        return {_nfc(k): _nfc(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_nfc(v) for v in data]
    return data


def read_data(path: Path) -> Any:
    """Parse a YAML or JSON file into plain data; syntax errors name the line.

    Only a regular file is read (a FIFO or device would hang), within the limits of
    :mod:`coverage.input_limits`.
    """
    from coverage.files import NotRegularFile, read_regular
    from coverage.input_limits import MAX_FILE_BYTES, check_shape, check_size, load_json

    name = str(path)
    try:
        raw = read_regular(Path(path), limit=MAX_FILE_BYTES)
        check_size(raw, name)
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as text mode
    except FileNotFoundError:
        raise InputError.one(name, "", "file not found") from None
    except IsADirectoryError:
        raise InputError.one(name, "", "is a folder, not a file") from None
    except NotRegularFile:
        raise InputError.one(name, "", "is not a regular file (a pipe, device or socket); "
                             "give a case file") from None
    except UnicodeDecodeError:
        raise InputError.one(name, "", "is not UTF-8 text (save it as UTF-8)") from None
    except OSError as exc:
        raise InputError.one(name, "", f"cannot be read ({exc.strerror})") from None
    if Path(path).suffix.lower() == ".json":
        data = load_json(text, name)
        check_shape(data, name)
        return _nfc(data)
    data = load_yaml(text, name)
    check_shape(data, name)
    return data


def field_path(loc: tuple[Any, ...]) -> str:
    """('prior_therapies', 2, 'end_date') -> 'prior_therapies[2].end_date'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


FIELD_FORMS = {
    "code": "an ICD-10-CM code such as G90.521 (letter, digits, a dot)",
    "ndc": "the 11-digit NDC in 5-4-2 form, e.g. 00409-2051-05",
    "case_id": "letters, digits and . _ - only (no spaces), e.g. RPC-2026-0412",
    "id": "letters, digits and . _ - only (no spaces), e.g. dr-chen",
    "member_id": "letters, digits and . _ / - only (no spaces), up to 40 characters",
    "group_number": "letters, digits and . _ / - only (no spaces), up to 40 characters",
    "reference": "letters, digits and . _ / - only (no spaces), up to 40 characters",
    "prior_authorization_number": "letters, digits and . _ / - only (no spaces)",
    "state": "the two-letter state code in capitals, e.g. OR",
    "postal_code": "a 5-digit ZIP code or ZIP+4, e.g. 97201 (in quotes)",
    "phone": "a phone number such as (503) 555-0142",
    "fax": "a fax number such as (503) 555-0143",
    "payer_fax": "a fax number such as (800) 555-0199",
    "payer_id": "letters, digits and . _ - only (no spaces), e.g. cascade-health",
    "claim_number": "letters, digits and . _ / - only (no spaces), up to 40 characters",
    "authorization_reference": "letters, digits and . _ / - only (no spaces)",
    "direct_phone": "a phone number such as (503) 555-0150",
    "tax_id": "an EIN such as 93-1234567",
    "carc_codes": "a claim adjustment reason code such as CO-50 or 50",
    "rarc_codes": "a remark code such as N386",
}


def _friendly(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; `ketamine-letters schema` lists the fields)"
    if kind.startswith("date") or kind.startswith("datetime"):
        return "not a valid date; write it as YYYY-MM-DD (e.g. 2026-03-14)"
    if kind == "enum":
        return f"must be one of: {ctx.get('expected', '')}".replace("'", "")
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return "must be a whole number"
    if kind in {"float_parsing", "float_type"}:
        return "must be a number"
    if kind in {"bool_parsing", "bool_type"}:
        return "must be true or false"
    if kind in {"string_type"}:
        return "must be text (put it in quotes)"
    if kind in {"list_type"}:
        return "must be a list (one '- item' per line)"
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return "must be a section with fields, not a single value"
    if kind == "string_pattern_mismatch":
        field = next((str(p) for p in reversed(error["loc"]) if isinstance(p, str)), "")
        hint = FIELD_FORMS.get(field)
        if hint:
            return f"should be {hint}"
        return "has a form this field does not accept; see `ketamine-letters schema`"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s)"
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} item(s)"
    if kind.startswith("greater_than") or kind.startswith("less_than"):
        return error["msg"].replace("Input should be", "must be")
    message = error["msg"]
    return message.removeprefix("Value error, ")


def problems_from(file: str, exc: ValidationError) -> list[Problem]:
    """Unknown fields first, each with the missing field it probably misspells."""
    errors = exc.errors()
    missing: dict[tuple, list[str]] = {}
    for e in errors:
        if e["type"] == "missing" and e["loc"] and isinstance(e["loc"][-1], str):
            missing.setdefault(tuple(e["loc"][:-1]), []).append(e["loc"][-1])
    problems = []
    for e in sorted(errors, key=lambda e: e["type"] != "extra_forbidden"):
        message = _friendly(e)
        if e["type"] == "extra_forbidden" and e["loc"] and isinstance(e["loc"][-1], str):
            near = get_close_matches(e["loc"][-1], missing.get(tuple(e["loc"][:-1]), []), n=1)
            if near:
                message = f"unknown field; did you mean '{near[0]}'?"
        problems.append(Problem(file, field_path(e["loc"]), message))
    return problems


TRUE_FALSE = "must be true or false (written so: not yes/no, on/off, 1/0 or in quotes)"


def parse_model(model: type[M], data: Any, file: str) -> M:
    """Validate plain data as ``model``; every problem names the file and the field."""
    if data is None:
        raise InputError.one(file, "", "is empty; it needs fields (key: value), one a line")
    if not isinstance(data, dict):
        raise InputError.one(file, "", "must hold a mapping of fields (key: value) at the top")
    problems: list[Problem] = []
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems = problems_from(file, exc)
    named = {p.field for p in problems}
    for loc in _text_for_true_false(_true_false_fields(model), data):
        if field_path(loc) not in named:
            problems.append(Problem(file, field_path(loc), TRUE_FALSE))
    if problems:
        raise InputError(problems)
    return parsed


@cache
def _true_false_fields(model: type[BaseModel]) -> dict[str, Any]:
    """{field: True} for true/false fields, {field: {...}} for sections (or lists) holding some."""
    tree = {}
    for name, field in model.model_fields.items():
        found = _true_false_in(field.annotation)
        if found:
            tree[name] = found
    return tree


def _true_false_in(annotation: Any) -> Any:
    if annotation is bool:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _true_false_fields(annotation) or None
    for arg in get_args(annotation):  # X | None, list[X]
        found = _true_false_in(arg)
        if found:
            return found
    return None


def _text_for_true_false(tree: Any, data: Any, loc: tuple = ()) -> list[tuple]:
    """Where a true/false field holds text or a number; pydantic would read 'yes', 'on', 'y' and
    1 as true."""
    if tree is True:
        return [loc] if isinstance(data, str | int | float) and not isinstance(data, bool) else []
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _text_for_true_false(tree, v, (*loc, i))]
    if not isinstance(data, dict):
        return []
    return [p for name, sub in tree.items() if name in data
            for p in _text_for_true_false(sub, data[name], (*loc, name))]


def _placeholders(data: Any, path: str = "") -> list[str]:
    """Field paths still holding a starter placeholder (FILL-IN or YYYY-MM-DD)."""
    if isinstance(data, str):
        return [path] if PLACEHOLDER in data or DATE_PLACEHOLDER in data else []
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _placeholders(v, f"{path}.{k}" if path else k)]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _placeholders(v, f"{path}[{i}]")]
    return []


def unfilled_fields(data: Any) -> list[str]:
    """Field paths still holding a placeholder: what ``check`` names, for other modules."""
    return _placeholders(data)


def load_case(path: Path) -> Case:
    """Read and validate one case file; starter placeholders left in are named."""
    return case_from_data(read_data(path), str(path))


def case_from_data(data: Any, file: str) -> Case:
    """Validate case data read from a file (or posted by the web form) as ``load_case`` does."""
    unfilled = _placeholders(data)
    if unfilled:
        raise InputError(
            [Problem(file, field, "still a placeholder; fill it in from the record")
             for field in unfilled]
        )
    case = parse_model(Case, data, file)
    _refuse_unprintable(case, file)
    return case


def _refuse_unprintable(model: BaseModel, file: str) -> None:
    """A character the letter font cannot draw is an input error naming its field."""
    from coverage.fonts import unprintable_fields

    problems = unprintable_fields(model, file)
    if problems:
        raise InputError(problems)


def load_practice(path: Path) -> Practice:
    """Read and validate a practice profile; relative paths in it are kept as written.

    A clinic's profile rarely changes while letters are made, so within one process it is
    parsed once per version of the file (path, size and modification time).
    """
    try:
        stat = Path(path).stat()
    except OSError:
        read_data(path)  # names the problem (not found, a folder, unreadable)
        raise
    return _load_practice_version(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=16)
def _load_practice_version(path: str, size: int, mtime_ns: int) -> Practice:
    practice = parse_model(Practice, read_data(Path(path)), path)
    _refuse_unprintable(practice, path)
    return practice


def find_practice(case_path: Path, explicit: Path | None) -> Path:
    """The practice profile to use: the one given, else practice.yaml beside the case."""
    if explicit is not None:
        return explicit
    for folder in (case_path.parent, case_path.parent.parent):
        for name in PRACTICE_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    raise InputError.one(
        str(case_path),
        "",
        "no practice profile found: put practice.yaml beside the case or pass --practice FILE",
    )


def resolve_prescriber(case: Case, practice: Practice, case_file: str) -> Physician:
    physician = practice.physician(case.prescriber)
    if physician is None:
        known = ", ".join(p.id for p in practice.physicians)
        raise InputError.one(
            case_file, "prescriber", f"'{case.prescriber}' is not in the practice profile ({known})"
        )
    return physician


def resolve_payer(case: Case, practice: Practice, case_file: str) -> Case:
    """The case with its payer's name filled in from the practice profile (``payer_id``).

    A payer id the profile lacks is an input error naming the case file and the field, so a
    letter never goes to an address typed for another payer."""
    payer_id = case.coverage.payer_id
    if payer_id is None:
        return case
    payer = practice.payers.get(payer_id)
    if payer is None:
        known = ", ".join(sorted(practice.payers)) or "none: add a payers: section"
        raise InputError.one(
            case_file, "coverage.payer_id",
            f"'{payer_id}' is not among the practice profile's payers ({known})",
        )
    if case.coverage.payer_name:
        return case
    coverage = case.coverage.model_copy(update={"payer_name": payer.name})
    return case.model_copy(update={"coverage": coverage})
