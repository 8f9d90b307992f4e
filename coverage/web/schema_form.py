"""The case form, derived from the pydantic models of ``coverage.case`` (one source of truth).

Every section, table and field the page shows comes from :class:`~coverage.case.Case` and its
``Field(description=...)``: a field added to the schema appears on the form without a template
change, so the form cannot drift from the schema. This module only describes the form; turning
posted values back into case data is :mod:`coverage.web.form_data`.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from coverage.case import Case

LONG_TEXT = 200  # text allowed longer than this is a multi-line box
NOT_ON_FORM = frozenset({"schema_version", "imported_from"})  # kept in the file as they are
LABELS = {  # where the field name alone would read badly
    "nrs": "Pain (NRS 0-10)",
    "ndc": "NDC",
    "dose_mg_per_kg": "Dose (mg/kg)",
    "weight_kg": "Weight (kg)",
    "carc_codes": "CARC codes",
    "rarc_codes": "RARC codes",
    "intracranial_intraocular_pressure": "Intracranial / intraocular pressure",
    "place_of_service": "Place of service",
    "code": "ICD-10-CM code",
}


@dataclass(frozen=True)
class Widget:
    """One input: ``kind`` is text, textarea, date, integer, number, select, boolean, lines or
    choices (several of an enum)."""

    name: str
    label: str
    kind: str
    required: bool
    description: str
    choices: tuple[str, ...] = ()
    default: str = ""  # what an empty input means (the schema's default), shown on selects


@dataclass(frozen=True)
class Section:
    """A sub-model: a fieldset of its own fields."""

    name: str
    label: str
    required: bool
    description: str
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Table:
    """A list of sub-models: rows that can be added and removed."""

    name: str
    label: str
    required: bool
    description: str
    columns: tuple[Node, ...]


Node = Widget | Section | Table


def humanize(name: str) -> str:
    """``member_id`` -> ``Member ID``; the labels above where that would read badly."""
    return LABELS.get(name) or re.sub(r"\bid\b", "ID", name.replace("_", " ").capitalize())


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """(bare type, metadata): ``Annotated`` and ``X | None`` taken off."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        elif origin in (Union, types.UnionType):
            inner = [a for a in get_args(annotation) if a is not type(None)]
            if len(inner) != 1:
                return annotation, metadata
            annotation = inner[0]
        else:
            return annotation, metadata


def _max_length(metadata: list[Any]) -> int | None:
    lengths = [getattr(item, "max_length", None) for item in metadata]
    return next((n for n in lengths if isinstance(n, int)), None)


def _node(name: str, info: FieldInfo) -> Node:
    bare, metadata = _unwrap(info.annotation)
    metadata = [*info.metadata, *metadata]
    label, required = humanize(name), info.is_required()
    description = info.description or ""
    if get_origin(bare) is list:
        item, _ = _unwrap(get_args(bare)[0])
        if isinstance(item, type) and issubclass(item, BaseModel):
            return Table(name, label, required, description, model_nodes(item))
        if isinstance(item, type) and issubclass(item, Enum):
            return Widget(name, label, "choices", required, description,
                          tuple(m.value for m in item))
        return Widget(name, label, "lines", required, description or "one a line")
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        return Section(name, label, required, description, model_nodes(bare))
    default = info.default
    if isinstance(bare, type) and issubclass(bare, Enum):
        return Widget(name, label, "select", required, description,
                      tuple(m.value for m in bare),
                      default.value.replace("_", " ") if isinstance(default, Enum) else "")
    if bare is bool:
        return Widget(name, label, "boolean", required, description,
                      default=("yes" if default else "no") if isinstance(default, bool) else "")
    if bare is date:
        return Widget(name, label, "date", required, description)
    if bare is int:
        return Widget(name, label, "integer", required, description)
    if bare in (float, Decimal):
        return Widget(name, label, "number", required, description)
    long = (_max_length(metadata) or 0) > LONG_TEXT
    return Widget(name, label, "textarea" if long else "text", required, description)


@cache
def model_nodes(model: type[BaseModel]) -> tuple[Node, ...]:
    """The form nodes of a model's fields, in the schema's order."""
    return tuple(_node(name, info) for name, info in model.model_fields.items()
                 if not (model is Case and name in NOT_ON_FORM))


def case_form() -> tuple[Node, ...]:
    """The whole case form: top-level fields first, then one section per sub-model."""
    nodes = model_nodes(Case)
    return (tuple(n for n in nodes if isinstance(n, Widget))
            + tuple(n for n in nodes if not isinstance(n, Widget)))


def field_id(path: str) -> str:
    """An HTML id for a field path: ``diagnoses[0].code`` -> ``f-diagnoses-0-code``."""
    cleaned = path.replace("[", "-").replace("]", "").replace(".", "-")
    return "f-" + cleaned


def all_paths(nodes: tuple[Node, ...], data: Any, prefix: str = "") -> list[str]:
    """Every field, section and table path the form shows for ``data`` (message slots)."""
    data = data if isinstance(data, dict) else {}
    paths: list[str] = []
    for node in nodes:
        path = f"{prefix}.{node.name}" if prefix else node.name
        paths.append(path)
        if isinstance(node, Section):
            paths.extend(all_paths(node.children, data.get(node.name), path))
        elif isinstance(node, Table):
            rows = data.get(node.name)
            for index, row in enumerate(rows if isinstance(rows, list) else []):
                paths.extend(all_paths(node.columns, row, f"{path}[{index}]"))
    return paths
