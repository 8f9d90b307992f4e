"""Reading a FHIR R4 export: one Bundle (JSON) or bulk-export NDJSON, into R4B models.

Only the resources the importer maps are validated (a 50 MB bundle is mostly encounters,
claims and lab results it never reads), but every entry's type must be an R4 type, so R5
content is refused rather than half-read. Each kept resource is validated by the R4B model
of ``fhir.resources`` (the default R5 models reject R4 data). Errors name the file and the
entry, never a value from the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from coverage.errors import InputError, Problem
from coverage.fhir.terms import FhirTerms, load_terms

BUNDLE_TYPES = ("collection", "transaction", "searchset", "batch", "document")
MAPPED_TYPES = frozenset({
    "Patient", "Coverage", "Condition", "MedicationRequest", "MedicationStatement",
    "MedicationDispense", "Medication", "Procedure", "Observation", "Practitioner",
    "PractitionerRole", "Organization",
})
PAYER_FALLBACK_TYPES = frozenset({"Claim", "ExplanationOfBenefit"})


@dataclass
class Record:
    """One patient's resources as the importer sees them, references resolvable."""

    source: str
    kind: str
    resources: dict[str, list[Any]] = field(default_factory=dict)
    by_reference: dict[str, Any] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    entries_read: int = 0
    elsewhere: set[str] = field(default_factory=set)  # references of entries not mapped

    def of_type(self, resource_type: str) -> list[Any]:
        return self.resources.get(resource_type, [])

    @property
    def patient(self) -> Any:
        return self.resources["Patient"][0]

    def resolve(self, reference: Any, within: Any = None) -> Any | None:
        """The resource a Reference points at: contained (#id), urn:uuid:, Type/id or a URL."""
        target = getattr(reference, "reference", None)
        if not target:
            return None
        if target.startswith("#") and within is not None:
            for contained in getattr(within, "contained", None) or []:
                if getattr(contained, "id", None) == target[1:]:
                    return contained
            return None
        found = self.by_reference.get(target)
        if found is None and "/" in target and not target.startswith("urn:"):
            found = self.by_reference.get("/".join(target.rstrip("/").split("/")[-2:]))
        return found


def label(resource: Any) -> str:
    """'Condition/abc': the name a comment gives a resource (type and id, no content)."""
    return f"{resource.get_resource_type()}/{resource.id or '(no id)'}"


def _problem(file: str, where: str, message: str) -> InputError:
    return InputError([Problem(file, where, message)])


def _wanted(raw: dict, terms: FhirTerms) -> bool:
    """Whether a raw resource is one the importer maps (observations filtered by code)."""
    kind = raw.get("resourceType")
    if kind in PAYER_FALLBACK_TYPES:
        return True
    if kind not in MAPPED_TYPES:
        return False
    if kind != "Observation":
        return True
    code = raw.get("code") or {}
    codes = {c.get("code") for c in code.get("coding") or [] if isinstance(c, dict)}
    loinc = terms.loinc
    known = set(loinc.pain_0_10) | set(loinc.blood_pressure_panel) | {loinc.body_weight}
    known |= {m.code for m in loinc.measures}
    if codes & known:
        return True
    text = " ".join([str(code.get("text") or "")] + [
        str(c.get("display") or "") for c in code.get("coding") or [] if isinstance(c, dict)
    ])
    return terms.measure_for(None, text) is not None


def _check_type(file: str, where: str, raw: Any) -> str:
    if not isinstance(raw, dict) or not isinstance(raw.get("resourceType"), str):
        raise _problem(file, where, "is not a FHIR resource (no resourceType)")
    kind = raw["resourceType"]
    try:
        get_fhir_model_class(kind)
    except (ValueError, KeyError):
        raise _problem(file, where, f"resource type '{kind}' is not FHIR R4; this tool reads "
                       "FHIR R4 (R5 content is not supported: export as R4)") from None
    return kind


def _validate(file: str, where: str, raw: dict) -> Any:
    kind = raw["resourceType"]
    try:
        return get_fhir_model_class(kind).model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"] if p != kind)
        reason = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        hint = " (R5 content? export as FHIR R4)" if first["type"] == "extra_forbidden" else ""
        raise _problem(file, f"{where} ({kind}) {path}".strip(),
                       f"not valid FHIR R4: {reason}{hint}") from None


def _bundle_entries(file: str, data: Any) -> tuple[str, Iterator[tuple[str, dict, str | None]]]:
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else None
        what = f"a {found}" if isinstance(found, str) else "not a FHIR resource"
        raise _problem(file, "resourceType", f"is {what}, not a Bundle: export the patient's "
                       "record as a Bundle (or bulk-export NDJSON)")
    if data.get("type") not in BUNDLE_TYPES:
        raise _problem(file, "type", f"a Bundle of type '{data.get('type')}' cannot be "
                       f"imported; expected one of: {', '.join(BUNDLE_TYPES)}")
    _validate(file, "Bundle", {k: v for k, v in data.items() if k != "entry"})
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise _problem(file, "entry", "must be a list of entries")

    def walk() -> Iterator[tuple[str, dict, str | None]]:
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or "resource" not in entry:
                continue  # e.g. a transaction-response entry with no resource
            yield f"entry[{index}]", entry["resource"], entry.get("fullUrl")

    return f"FHIR R4 Bundle ({data['type']})", walk()


def _ndjson_entries(path: Path) -> Iterator[tuple[str, dict, str | None]]:
    """Stream one NDJSON file line by line: a bulk export is too big to hold as text."""
    name = path.name
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line), None
            except json.JSONDecodeError as exc:
                raise _problem(name, f"line {number}", f"not valid JSON: {exc.msg}") from None


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise _problem(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise _problem(str(path), "", "is a folder, not a file") from None
    except UnicodeDecodeError:
        raise _problem(str(path), "", "is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _problem(str(path), f"line {exc.lineno}, column {exc.colno}",
                       f"not valid JSON: {exc.msg}") from None


def read_record(paths: Iterable[Path]) -> Record:
    """Read a Bundle (.json) or NDJSON files (.ndjson) into a :class:`Record`."""
    paths = [Path(p) for p in paths]
    terms = load_terms()
    if len(paths) == 1 and paths[0].suffix.lower() != ".ndjson":
        file = str(paths[0])
        kind, entries = _bundle_entries(file, _read_json(paths[0]))
        sources: list[tuple[str, Iterator]] = [(file, entries)]
        source = paths[0].name
    else:
        for p in paths:
            if p.suffix.lower() != ".ndjson":
                raise _problem(str(p), "", "give one Bundle (.json) or NDJSON files (.ndjson)")
            if not p.is_file():
                raise _problem(str(p), "", "file not found")
        kind = "FHIR R4 bulk export (NDJSON)"
        sources = [(str(p), _ndjson_entries(p)) for p in paths]
        source = ", ".join(p.name for p in paths)
    record = Record(source=source, kind=kind)
    payer_raw: list[tuple[str, str, dict, str | None]] = []
    for file, entries in sources:
        for where, raw, full_url in entries:
            record.entries_read += 1
            resource_type = _check_type(file, where, raw)
            if not _wanted(raw, terms):
                record.elsewhere.update(_names(resource_type, raw, full_url))
                continue
            if resource_type in PAYER_FALLBACK_TYPES:
                record.elsewhere.update(_names(resource_type, raw, full_url))
                payer_raw.append((file, where, raw, full_url))  # validated only if needed
                continue
            _keep(record, _validate(file, where, raw), full_url)
    _one_patient(record, sources[0][0] if len(sources) == 1 else source)
    if not record.of_type("Coverage") and payer_raw:
        latest = max(payer_raw, key=lambda item: (str(item[2].get("created") or ""),
                                                  item[2]["resourceType"] != "Claim"))
        _keep(record, _validate(latest[0], latest[1], latest[2]), latest[3])
    _collect_unresolved(record)
    return record


def _names(resource_type: str, raw: dict, full_url: str | None) -> set[str]:
    names = {full_url} if full_url else set()
    if isinstance(raw.get("id"), str):
        names.add(f"{resource_type}/{raw['id']}")
    return names


def _keep(record: Record, resource: Any, full_url: str | None) -> None:
    resource_type = resource.get_resource_type()
    record.resources.setdefault(resource_type, []).append(resource)
    if resource.id:
        record.by_reference[f"{resource_type}/{resource.id}"] = resource
    if full_url:
        record.by_reference[full_url] = resource


def _one_patient(record: Record, file: str) -> None:
    count = len(record.of_type("Patient"))
    if count == 0:
        raise _problem(file, "", "holds no Patient resource: export one patient's record")
    if count > 1:
        raise _problem(file, "", f"holds {count} Patient resources: a case is one patient; "
                       "export one patient's record")


def _references(node: Any) -> Iterator[Any]:
    """Every Reference inside a model (a field named 'reference' holding text)."""
    if isinstance(node, list):
        for item in node:
            yield from _references(item)
        return
    fields = getattr(type(node), "model_fields", None)
    if not fields:
        return
    if "reference" in fields and isinstance(getattr(node, "reference", None), str):
        yield node
    for name in fields:
        if name in ("contained", "fhir_comments") or name.endswith("__ext"):
            continue
        value = getattr(node, name, None)
        if isinstance(value, list | tuple) or hasattr(type(value), "model_fields"):
            yield from _references(value)


def _collect_unresolved(record: Record) -> None:
    """References that resolve nowhere: listed for staff, never a reason to refuse."""
    seen: set[str] = set()
    for resources in record.resources.values():
        for resource in resources:
            for ref in _references(resource):
                target = ref.reference
                if target in seen or target in record.elsewhere:
                    continue
                if record.resolve(ref, within=resource) is None:
                    seen.add(target)
                    record.unresolved.append(f"{label(resource)} -> {target}")
