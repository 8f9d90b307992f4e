"""Coding: ICD-10-CM lookups against an official tabular release, CPT lines from minutes.

The code set is read from the official CMS tabular XML (``icd10cm-tabular-*.xml``). By default
that is the FY2026 file shipped in the simple-icd-10-cm package; a clinic can point the tool at
a newer release (``icd10cm_tabular`` in the practice profile, or ``--code-set``). Parsing takes
about a third of a second, so it happens only when a command needs codes, once per process.
"""

from __future__ import annotations

import importlib.util
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from coverage.errors import InputError

_BUNDLED_PACKAGE = "simple_icd_10_cm"


@dataclass(frozen=True)
class CodeEntry:
    code: str
    description: str
    billable: bool


@dataclass(frozen=True)
class CodeSet:
    """One ICD-10-CM release: code -> (description, leaf?), plus 7th-character rules."""

    release: str
    source: str
    entries: dict[str, tuple[str, bool]]
    seventh: dict[str, dict[str, str]]

    def lookup(self, code: str) -> CodeEntry | None:
        """The entry for a code (with its dot), or None when the release has no such code."""
        found = self.entries.get(code)
        if found is not None:
            description, leaf = found
            # a leaf that needs a 7th character is not billable on its own
            needs_seventh = leaf and self._seventh_rule(code) is not None
            return CodeEntry(code, description, leaf and not needs_seventh)
        return self._with_seventh(code)

    def _seventh_rule(self, code: str) -> dict[str, str] | None:
        probe = code
        while probe:
            if probe in self.seventh:
                return self.seventh[probe]
            if "." not in probe:
                return None
            probe = probe[:-1].rstrip(".")
        return None

    def _with_seventh(self, code: str) -> CodeEntry | None:
        bare = code.replace(".", "")
        if len(bare) != 7:
            return None
        base = bare[:6].rstrip("X")
        base = base[:3] + "." + base[3:] if len(base) > 3 else base
        found = self.entries.get(base)
        rule = self._seventh_rule(base)
        if found is None or rule is None or bare[6] not in rule:
            return None
        description, leaf = found
        if not leaf:
            return None
        return CodeEntry(code, f"{description}, {rule[bare[6]]}", True)


def bundled_tabular() -> Path:
    """The official FY2026 tabular XML shipped inside simple-icd-10-cm.

    Found without importing that package: its import parses the whole code set (~1.7 s).
    """
    spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    folder = Path(spec.origin).parent / "data" if spec and spec.origin else None
    names = sorted(folder.glob("icd10c*-tabular-*.xml")) if folder else []
    if not names:
        raise InputError.one("simple-icd-10-cm", "", "package holds no tabular XML; reinstall")
    return names[-1]


def _release_label(version: str | None, path: Path) -> str:
    month = re.search(r"(January|April|July|October)-\d{1,2}-(\d{4})", path.name)
    update = f", {month.group(1)} {month.group(2)} update" if month else ""
    fiscal = f"FY{version}" if version else "release unknown"
    return f"ICD-10-CM {fiscal}{update} ({path.name})"


@cache
def load_code_set(path: Path | None = None) -> CodeSet:
    """Parse an official ICD-10-CM tabular XML file (once per process per file)."""
    path = Path(path) if path is not None else bundled_tabular()
    entries: dict[str, tuple[str, bool]] = {}
    seventh: dict[str, dict[str, str]] = {}
    stack: list[list] = []  # [name, desc, has_child_diag]
    version: str | None = None
    extension_owner: str | None = None
    try:
        for event, element in ET.iterparse(path, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == "diag":
                    stack.append([None, None, False])
                elif tag == "sevenChrDef" and stack:
                    extension_owner = stack[-1][0]
                continue
            if tag == "version" and version is None:
                version = (element.text or "").strip()
            elif tag == "name" and stack and stack[-1][0] is None:
                stack[-1][0] = (element.text or "").strip()
            elif tag == "desc" and stack and stack[-1][1] is None:
                stack[-1][1] = (element.text or "").strip()
            elif tag == "extension" and extension_owner:
                seventh.setdefault(extension_owner, {})[element.get("char", "")] = (
                    element.text or ""
                ).strip()
            elif tag == "sevenChrDef":
                extension_owner = None
            elif tag == "diag":
                name, desc, has_child = stack.pop()
                if name:
                    entries[name] = (desc or "", not has_child)
                if stack:
                    stack[-1][2] = True
                element.clear()
    except FileNotFoundError:
        raise InputError.one(str(path), "", "ICD-10-CM tabular file not found") from None
    except ET.ParseError as exc:
        raise InputError.one(str(path), "", f"not an ICD-10-CM tabular XML file ({exc})") from None
    if len(entries) < 1000:
        raise InputError.one(str(path), "", "holds too few codes to be an ICD-10-CM tabular list")
    return CodeSet(_release_label(version, path), str(path), entries, seventh)


@dataclass(frozen=True)
class BillingLine:
    code: str
    description: str
    units: int


IV_PUSH = "96374"
INFUSION_FIRST_HOUR = "96365"
INFUSION_EACH_ADDITIONAL_HOUR = "96366"
UNCLASSIFIED_DRUG = "J3490"


def infusion_lines(minutes: int) -> list[BillingLine]:
    """Administration codes for one infusion of ``minutes`` by the CPT time rule.

    15 minutes or less is an IV push (96374); 96365 covers up to 90 minutes; each 96366 unit
    needs more than 30 minutes past the last full hour (91-150 min: 1 unit, 151-210: 2...).
    """
    if minutes <= 15:
        return [BillingLine(IV_PUSH, "IV push, single or initial substance", 1)]
    lines = [BillingLine(INFUSION_FIRST_HOUR, "IV infusion, therapy, initial, up to 1 hour", 1)]
    if minutes > 90:
        extra = math.ceil((minutes - 90) / 60)
        lines.append(
            BillingLine(INFUSION_EACH_ADDITIONAL_HOUR, "IV infusion, each additional hour", extra)
        )
    return lines


def drug_line(dose_mg: float, ndc: str | None) -> BillingLine:
    detail = f"ketamine hydrochloride {dose_mg:g} mg IV"
    if ndc:
        detail += f", NDC {ndc}"
    return BillingLine(UNCLASSIFIED_DRUG, f"Unclassified drug: {detail}", 1)
