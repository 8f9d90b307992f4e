"""The knowledge base: clinical and regulatory facts as data, typed on load.

Every fact a letter states that does not come from the case comes from the YAML files in this
folder, which restate the project's checked reference (see ``SOURCES.md``) in our own words.
Only sources whose identifiers were confirmed are stored here at all, so nothing unconfirmed
can reach a letter. Tests check the data (every clinical citation has a PMID or DOI, every
condition has evidence, every class an agent names exists).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TherapyKind(StrEnum):
    """What sort of therapy a class is; letters group and word them differently."""

    medication = "medication"
    topical = "topical"
    procedure = "procedure"
    physical = "physical"
    psychological = "psychological"


class Citation(_Strict):
    """A clinical source a letter may cite: only confirmed fields are stored."""

    id: str = Field(pattern=r"^E\d+$")
    authors: str | None = Field(
        description="author list as it may print, e.g. 'Cohen SP, Bhatia A, et al.'; "
        "None where the authors were not confirmed"
    )
    title: str
    source: str = Field(description="journal, year, volume, pages: confirmed parts only")
    pmid: str | None = Field(default=None, pattern=r"^\d{6,9}$")
    doi: str | None = Field(default=None, pattern=r"^10\.\d{4,9}/\S+$")
    kind: str = Field(description="study type in plain words, e.g. 'randomised controlled trial'")
    finding: str = Field(description="what it found, in our words, at its true strength")
    conditions: list[str]
    role: Literal["guideline", "supports", "counter", "standard-care", "yardstick"]

    @model_validator(mode="after")
    def _has_identifier(self) -> Citation:
        if not (self.pmid or self.doi):
            raise ValueError(f"{self.id}: a clinical citation needs a confirmed PMID or DOI")
        return self


class LegalSource(_Strict):
    """A regulatory or legal source, printed with its own kind of identifier."""

    id: str = Field(pattern=r"^R\d+$")
    citation: str = Field(description="the full printable citation, identifier included")
    says: str = Field(description="what the letter may say it establishes, in our words")
    identifier: str = Field(description="URL, case citation or manual section, as printed")


class TherapyClass(_Strict):
    """A class of prior therapy; agents map to it so billing staff need not know classes."""

    key: str = Field(pattern=r"^[a-z0-9-]+$")
    label: str
    kind: TherapyKind
    agents: list[str] = Field(default_factory=list, description="lower-case names, brands too")


class EvidenceUse(_Strict):
    """One citation as used in the 'why ketamine' section for one condition."""

    citation: str = Field(pattern=r"^E\d+$")
    statement: str = Field(description="the sentence the letter says, at the source's strength")


class Caveat(_Strict):
    """A limit of the evidence the letter states plainly, with the sources it rests on."""

    text: str
    citations: list[str] = Field(default_factory=list)
    # true: it explains why a series is requested, so it is left out of maintenance letters
    # and of letters for a series already given
    series_request_only: bool = False


class RecommendedGroup(_Strict):
    """Options a guideline names for a condition; any one class tried or explained covers it."""

    label: str = Field(description="how the readiness review names the group")
    classes: list[str] = Field(min_length=1)
    basis: str = Field(description="the guideline and how it ranks the group (review only)")


class GuidelineOption(_Strict):
    """One option of a ranked guideline line, printed only when this patient tried or has
    explained one of its classes (a letter never volunteers an option left unaddressed)."""

    text: str
    classes: list[str] = Field(min_length=1)


class GuidelineLine(_Strict):
    """A lower line of a guideline's ranking ("second line", weak recommendation)."""

    rank: str
    strength: str
    options: list[GuidelineOption] = Field(min_length=1)


class TrialRegimen(_Strict):
    """A controlled trial's exposure, for comparing the requested infusion with it (CRPS)."""

    citation: str = Field(pattern=r"^E\d+$")
    text: str = Field(description="the regimen, in words the letter prints")
    rate_mg_per_h: float | None = Field(default=None, gt=0)
    session_mg: float | None = Field(default=None, gt=0, description="most given per session")


class Condition(_Strict):
    """A condition the tool has evidence for, recognised from ICD-10-CM codes."""

    key: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    short_name: str
    guideline_scope: str = Field(
        description="what the ASRA/AAPM/ASA guideline rates (CRPS; mixed neuropathic pain)"
    )
    icd10_prefixes: list[str] = Field(min_length=1)
    diagnostic_criteria: str | None = None
    guideline_grade: Literal["moderate", "weak"]
    guideline_statement: str
    standard_classes: list[str] = Field(
        min_length=2, description="therapy class keys a payer expects tried first"
    )
    standard_classes_statement: str | None = Field(
        description="printable sentence on the standard first-line therapy, or None where "
        "no guideline statement was confirmed (the letter then only lists what was tried)"
    )
    standard_classes_citations: list[str] = Field(default_factory=list)
    standard_classes_lines: list[GuidelineLine] = Field(
        default_factory=list, description="lower lines, appended to the statement for the "
        "options this patient tried or explained"
    )
    evidence: list[EvidenceUse] = Field(min_length=1)
    caveats: list[Caveat] = Field(default_factory=list)
    recommended_classes: list[RecommendedGroup] = Field(default_factory=list)
    trial_regimens: list[TrialRegimen] = Field(default_factory=list)


class DenialCode(_Strict):
    """A claim adjustment reason code and the appeal category it calls for."""

    carc: str = Field(pattern=r"^\d{1,3}$")
    meaning: str
    category: str
    wording_verified: bool = Field(
        default=False, description="the X12 wording was checked: the meaning may print"
    )


class LongTermDrugCode(_Strict):
    """A Z79.- code for current long-term drug therapy, and the drugs that show it."""

    code: str = Field(pattern=r"^Z79\.[0-9A-Z]{1,3}$")
    label: str
    agents: list[str] = Field(min_length=1)

    def shown_by(self, agent: str) -> bool:
        text = agent.lower()
        return any(re.search(rf"\b{re.escape(a)}\b", text) for a in self.agents)


@cache
def load_long_term_drugs() -> tuple[LongTermDrugCode, ...]:
    """The long-term drug therapy codes the tabular's "use additional code" notes ask for."""
    return tuple(LongTermDrugCode(**row) for row in _read("long_term_drugs.yaml"))


class KnowledgeBase(_Strict):
    """Everything the knowledge files hold, cross-checked on load."""

    _agent_index: dict[str, TherapyClass] = PrivateAttr(default_factory=dict)
    _agent_pattern: re.Pattern = PrivateAttr(default=None)

    version: str
    citations: dict[str, Citation]
    legal: dict[str, LegalSource]
    therapy_classes: dict[str, TherapyClass]
    conditions: dict[str, Condition]
    denial_codes: dict[str, DenialCode]

    @model_validator(mode="after")
    def _references_resolve(self) -> KnowledgeBase:
        for condition in self.conditions.values():
            grouped = [k for group in condition.recommended_classes for k in group.classes]
            grouped += [k for line in condition.standard_classes_lines
                        for option in line.options for k in option.classes]
            for key in condition.standard_classes + grouped:
                if key not in self.therapy_classes:
                    raise ValueError(f"condition {condition.key}: unknown therapy class {key}")
            cited = [use.citation for use in condition.evidence]
            cited += condition.standard_classes_citations
            cited += [cid for caveat in condition.caveats for cid in caveat.citations]
            cited += [regimen.citation for regimen in condition.trial_regimens]
            for cid in cited:
                if cid not in self.citations:
                    raise ValueError(f"condition {condition.key}: unknown citation {cid}")
        seen: dict[str, str] = {}
        for cls in self.therapy_classes.values():
            for agent in cls.agents:
                if agent != agent.lower().strip():
                    raise ValueError(f"therapy class {cls.key}: agent {agent!r} not lower-case")
                if agent in seen:
                    raise ValueError(f"agent {agent!r} is in both {seen[agent]} and {cls.key}")
                seen[agent] = cls.key
        return self

    def model_post_init(self, context: object) -> None:
        # agent -> class, and one pattern that finds the longest known agent inside a phrase
        # such as "physical therapy with graded motor imagery"; built once per process.
        index = {agent: cls for cls in self.therapy_classes.values() for agent in cls.agents}
        names = sorted(index, key=len, reverse=True)
        pattern = "|".join(re.escape(n) for n in names) or "(?!)"
        self._agent_index = index
        self._agent_pattern = re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])")

    def class_of_agent(self, agent: str) -> TherapyClass | None:
        """The therapy class an agent belongs to, matching case-insensitively."""
        wanted = " ".join(agent.lower().split())
        if wanted in self._agent_index:
            return self._agent_index[wanted]
        found = [m.group(0) for m in self._agent_pattern.finditer(wanted)]
        return self._agent_index[max(found, key=len)] if found else None

    def condition_for_code(self, code: str) -> Condition | None:
        """The recognised condition an ICD-10-CM code falls under, if any."""
        for condition in self.conditions.values():
            if any(code.startswith(prefix) for prefix in condition.icd10_prefixes):
                return condition
        return None


def _read(name: str) -> list[dict]:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    from coverage.yaml_files import load_yaml  # the project's one YAML reader

    return load_yaml(text, name)


@cache
def load_knowledge() -> KnowledgeBase:
    """Load and cross-check the shipped knowledge base (once per process)."""
    meta = _read("meta.yaml")
    return KnowledgeBase(
        version=meta["version"],
        citations={c["id"]: c for c in _read("citations.yaml")},
        legal={s["id"]: s for s in _read("legal.yaml")},
        therapy_classes={t["key"]: t for t in _read("therapy_classes.yaml")},
        conditions={c["key"]: c for c in _read("conditions.yaml")},
        denial_codes={d["carc"]: d for d in _read("denial_codes.yaml")},
    )
