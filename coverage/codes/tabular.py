"""ICD-10-CM lookups against an official tabular release, with its instructional notes.

The code set is read from the official CMS tabular XML (``icd10cm-tabular-*.xml``). By default
that is the FY2026 file shipped in the simple-icd-10-cm package; a clinic can point the tool at
a newer release (``icd10cm_tabular`` in the practice profile, or ``--code-set``). Parsing takes
about a third of a second, so it happens only when a command needs codes, once per process.
The Excludes1, "use additional code" and "code first" notes are kept as written in the same
pass, per chapter, section and code, so the coding rules come from the file, not from a list.
"""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from coverage.codes.index_cache import read_index, write_index
from coverage.errors import InputError

_BUNDLED_PACKAGE = "simple_icd_10_cm"
EXCLUDES1 = "excludes1"
USE_ADDITIONAL = "useAdditionalCode"
CODE_FIRST = "codeFirst"
NOTE_KINDS = (EXCLUDES1, USE_ADDITIONAL, CODE_FIRST)
NOTE_LABELS = {EXCLUDES1: "Excludes1", USE_ADDITIONAL: "Use additional code",
               CODE_FIRST: "Code first"}


@dataclass(frozen=True)
class TabularNote:
    """One instructional note as the tabular prints it, with the node it sits under."""

    owner: str  # a code ("G89.2"), a section ("G60-G65") or a chapter ("chapter 6")
    kind: str
    text: str


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
    notes: dict[str, tuple[TabularNote, ...]] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)
    fiscal_year: int | None = None
    update_month: str | None = None  # "April" for the April 1 update; None for October

    def lineage(self, code: str) -> list[str]:
        """The code's own entry, then each node above it up to its chapter.

        A code with a 7th character belongs to its 6-character entry. Empty for an unknown code.
        """
        node = code if code in self.entries else None
        if node is None and self._with_seventh(code) is not None:
            bare = code.replace(".", "")[:6].rstrip("X")
            node = bare[:3] + "." + bare[3:] if len(bare) > 3 else bare
        chain: list[str] = []
        while node is not None and node not in chain:  # a section may share its code's name
            chain.append(node)
            node = self.parents.get(node)
        return chain

    def notes_for(self, code: str, kind: str) -> list[TabularNote]:
        """Notes of one kind that apply to a code: its own and those of every node above it."""
        return [n for node in self.lineage(code) for n in self.notes.get(node, ())
                if n.kind == kind]

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
    """An official ICD-10-CM tabular XML file's codes and notes (once per process per file).

    Read from the prebuilt index when there is a good one (:mod:`.index_cache`), otherwise
    parsed, and the index saved for the next process.
    """
    path = Path(path) if path is not None else bundled_tabular()
    tables = read_index(path)
    if tables is None:
        tables = _parse_tabular(path)
        write_index(path, tables)
    try:
        return _code_set_from(path, tables)
    except (KeyError, TypeError, ValueError):  # an index of another shape: parse afresh
        return _code_set_from(path, _parse_tabular(path))


def _code_set_from(path: Path, tables: dict) -> CodeSet:
    version, month = tables["version"], tables["update_month"]
    return CodeSet(
        _release_label(version, path), str(path), dict(tables["entries"]),
        dict(tables["seventh"]),
        {owner: tuple(TabularNote(*note) for note in found)
         for owner, found in tables["notes"].items()},
        dict(tables["parents"]),
        int(version) if version and version.isdigit() else None,
        month,
    )


def _parse_tabular(path: Path) -> dict:
    """The tables of a tabular XML file, in plain types (what the index saves)."""
    entries: dict[str, tuple[str, bool]] = {}
    seventh: dict[str, dict[str, str]] = {}
    notes: dict[str, list[TabularNote]] = {}
    parents: dict[str, str] = {}
    stack: list[list] = []  # [name, desc, has_child_diag]
    version: str | None = None
    extension_owner: str | None = None
    chapter: str | None = None
    section: str | None = None
    pending: list[str] = []  # note texts of the instruction being read
    try:
        for event, element in ET.iterparse(path, events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == "diag":
                    stack.append([None, None, False])
                elif tag == "sevenChrDef" and stack:
                    extension_owner = stack[-1][0]
                elif tag == "section":
                    section = element.get("id")
                    if section and chapter:
                        parents.setdefault(section, chapter)
                elif tag == "chapter":
                    chapter, section = None, None
                elif tag in NOTE_KINDS:
                    pending = []
                continue
            if tag == "version" and version is None:
                version = (element.text or "").strip()
            elif tag == "name" and stack and stack[-1][0] is None:
                name = (element.text or "").strip()
                stack[-1][0] = name
                parent = stack[-2][0] if len(stack) > 1 else section
                if parent and parent != name:
                    parents[name] = parent
            elif tag == "name" and not stack and section is None and chapter is None:
                chapter = f"chapter {(element.text or '').strip()}"
            elif tag == "desc" and stack and stack[-1][1] is None:
                stack[-1][1] = (element.text or "").strip()
            elif tag == "note":
                pending.append((element.text or "").strip())
            elif tag in NOTE_KINDS:
                owner = stack[-1][0] if stack else (section or chapter)
                if owner:
                    notes.setdefault(owner, []).extend(
                        TabularNote(owner, tag, text) for text in pending if text
                    )
                pending = []
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
            elif tag == "section":
                section = None
    except FileNotFoundError:
        raise InputError.one(str(path), "", "ICD-10-CM tabular file not found") from None
    except ET.ParseError as exc:
        raise InputError.one(str(path), "", f"not an ICD-10-CM tabular XML file ({exc})") from None
    if len(entries) < 1000:
        raise InputError.one(str(path), "", "holds too few codes to be an ICD-10-CM tabular list")
    month = re.search(r"(January|April|July|October)-\d{1,2}-(\d{4})", path.name)
    return {
        "version": version, "entries": entries, "seventh": seventh, "parents": parents,
        "notes": {owner: [(n.owner, n.kind, n.text) for n in found]
                  for owner, found in notes.items()},
        "update_month": month.group(1) if month and month.group(1) != "October" else None,
    }

