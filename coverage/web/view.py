"""What the case form's templates are given: values as inputs show them, and each notice put
in the message slot of the field it concerns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from coverage.web.readiness import Notice, Readiness
from coverage.web.schema_form import Node, Section, Table, all_paths, case_form, field_id


def shown(value: Any, kind: str) -> str:
    """A value as its input shows it; a date input shows only a real date."""
    if value is None:
        return ""
    if kind == "date":
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def rows_of(data: Any, name: str) -> list[Any]:
    rows = data.get(name) if isinstance(data, dict) else None
    return [r if isinstance(r, dict) else {} for r in rows] if isinstance(rows, list) else []


def section_of(data: Any, name: str) -> dict[str, Any]:
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _slot_for(field: str, slots: list[str]) -> str | None:
    best = None
    for slot in slots:
        if (field == slot or field.startswith(slot + ".") or field.startswith(slot + "[")) and (
                best is None or len(slot) > len(best)):
            best = slot
    return best


@dataclass(frozen=True)
class Placed:
    """Notices by message slot (a field, section or table path); the rest are general."""

    slots: list[str]
    by_slot: dict[str, list[Notice]]
    general: list[Notice]

    def at(self, path: str) -> list[Notice]:
        return self.by_slot.get(path, [])

    def anchor(self, field: str) -> str | None:
        """The HTML id a finding links to: its field's, or the nearest section's."""
        slot = _slot_for(field, self.slots) if field else None
        return field_id(slot) if slot else None


def place(readiness: Readiness, data: Any, nodes: tuple[Node, ...] | None = None) -> Placed:
    slots = all_paths(nodes or case_form(), data)
    by_slot: dict[str, list[Notice]] = {}
    general: list[Notice] = []
    for notice in readiness.notices:
        slot = _slot_for(notice.field, slots) if notice.field else None
        if slot is None:
            general.append(notice)
        else:
            by_slot.setdefault(slot, []).append(notice)
    return Placed(slots, by_slot, general)


def rows_for(text: str, kind: str, width: int = 90) -> int:
    """A text box tall enough for what it holds (about ``width`` characters a line), 2-10."""
    lines = sum(1 + len(line) // width for line in text.split("\n"))
    return max(2 if kind == "lines" else 3, min(10, lines))


def node_kind(node: Node) -> str:
    return {Section: "section", Table: "table"}.get(type(node), "widget")


TEMPLATE_HELPERS = {"shown": shown, "rows_of": rows_of, "section_of": section_of,
                    "field_id": field_id, "node_kind": node_kind, "rows_for": rows_for}
