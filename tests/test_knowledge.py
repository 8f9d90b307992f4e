"""Checks on the knowledge base data (coverage/knowledge/*.yaml).

These tests guard the facts a physician signs: only printable citations, only confirmed
identifiers, evidence at its true strength, ICD-10-CM families that match coding.md, and an
agent vocabulary that maps brands and generics to the right class.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from coverage.knowledge import Citation, KnowledgeBase, load_knowledge

CONDITIONS = {"crps-1", "crps-2", "phn", "pdpn", "peripheral-neuropathy-other", "fibromyalgia"}
CRPS = {"crps-1", "crps-2"}

# README "Status at a glance": not printable, so never stored.
UNPRINTABLE = {"E8", "E9", "E11", "E17", "E18", "E22", "E23", "E24", "E25", "R4"}
PRINTABLE_CLINICAL = {
    "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E10", "E12", "E13", "E14", "E15", "E16",
    "E19", "E20", "E21", "E26", "E27",
}  # fmt: skip
PRINTABLE_LEGAL = {"R1", "R2", "R3", "R5", "R6"}

ROLES = {
    "E1": "guideline",
    **dict.fromkeys(["E2", "E3", "E4", "E5", "E6", "E7", "E10", "E12"], "supports"),
    **dict.fromkeys(["E13", "E14", "E15", "E16", "E20", "E21", "E26"], "standard-care"),
    "E19": "yardstick",
    "E27": "counter",
}

# Fields the reference marks unconfirmed, identifiers nobody could match, names of unprintable
# works, and unverified statements: none may appear in any stored text.
FORBIDDEN_TEXT = [
    "29870458",  # E1 PMID (unconfirmed)
    "19783371",  # E4 PMID (unconfirmed)
    "147(1-3)",  # E4 volume/issue (unconfirmed)
    "107-115",  # E4 pages (unconfirmed)
    "304-311",  # E3 pages (unconfirmed)
    "7838584",  # E6 PMID (unconfirmed)
    "10781923",  # E7 PMID (unconfirmed)
    "98(1)",  # E14 issue (unconfirmed)
    "23(Suppl",  # E16 volume (bracketed in evidence.md)
    "PMC8601938",  # link to E12 not confirmed
    "NBK564230",  # not identified
    "32036431",  # not identified
    "Mahoney",  # E27 first author: recalled, not seen
    "Noppers",  # E8
    "Pickering",  # E9
    "Connolly",  # E11
    "Tsai",  # E24
    "CADTH",  # E25
    "press-announcements",  # R2 press release: nobody opened it
    "cyclobenzaprine",  # EULAR drug-level ratings: unverified
    "milnacipran",  # EULAR drug-level ratings / FDA FM approvals: unverified
    "pregnan",  # contraindication: unverified
    "StatPearls",  # not in evidence.md
]

DURABLE = re.compile(r"long[- ]term|durable|sustained|intermediate|permanent", re.IGNORECASE)
NEGATED_DURABLE = "no evidence of intermediate- or long-term relief"
LASTING = re.compile(r"lasting (\w+ )?(benefit|relief)", re.IGNORECASE)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _printed_text(kb: KnowledgeBase) -> list[str]:
    """Every string a letter could print (therapy-class agent lists are vocabulary, not text)."""
    texts: list[str] = []
    for part in (kb.citations, kb.legal, kb.conditions, kb.denial_codes):
        for model in part.values():
            texts.extend(_strings(model.model_dump()))
    return texts


def _condition_texts(kb: KnowledgeBase, key: str) -> list[str]:
    condition = kb.conditions[key]
    texts = [condition.guideline_statement, *(c.text for c in condition.caveats)]
    texts += [use.statement for use in condition.evidence]
    if condition.standard_classes_statement:
        texts.append(condition.standard_classes_statement)
    return texts


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.;])\s+", text) if s]


# --- loading and identity ----------------------------------------------------------------------


def test_loads_with_every_part(kb: KnowledgeBase) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", kb.version)
    assert set(kb.conditions) == CONDITIONS
    assert kb.citations and kb.legal and kb.therapy_classes and kb.denial_codes


def test_exactly_the_printable_sources_are_stored(kb: KnowledgeBase) -> None:
    assert set(kb.citations) == PRINTABLE_CLINICAL
    assert set(kb.legal) == PRINTABLE_LEGAL


def test_no_unprintable_source_is_stored(kb: KnowledgeBase) -> None:
    stored = set(kb.citations) | set(kb.legal)
    assert not stored & UNPRINTABLE
    referenced = {c for cond in kb.conditions.values() for c in cond.standard_classes_citations}
    referenced |= {use.citation for cond in kb.conditions.values() for use in cond.evidence}
    assert not referenced & UNPRINTABLE


@pytest.mark.parametrize("forbidden", FORBIDDEN_TEXT)
def test_no_unconfirmed_field_or_unverified_statement_in_text(
    kb: KnowledgeBase, forbidden: str
) -> None:
    hits = [t for t in _printed_text(kb) if forbidden.lower() in t.lower()]
    assert not hits, f"{forbidden!r} found in: {hits}"


# --- citations ---------------------------------------------------------------------------------


def test_every_citation_has_pmid_or_doi(kb: KnowledgeBase) -> None:
    for citation in kb.citations.values():
        assert citation.pmid or citation.doi, citation.id


def test_citation_without_identifier_is_refused() -> None:
    with pytest.raises(ValueError, match="PMID or DOI"):
        Citation(
            id="E99", authors=None, title="t", source="s", kind="k", finding="f",
            conditions=[], role="supports",
        )  # fmt: skip


def test_e1_is_cited_by_doi_only(kb: KnowledgeBase) -> None:
    e1 = kb.citations["E1"]
    assert e1.pmid is None
    assert e1.doi == "10.1097/AAP.0000000000000808"
    assert e1.role == "guideline"


@pytest.mark.parametrize(
    ("cid", "pmid"),
    [("E4", None), ("E6", None), ("E7", None), ("E14", None), ("E16", None), ("E19", None),
     ("E21", None), ("E26", None), ("E3", "19604642"), ("E27", "22659759")],
)  # fmt: skip
def test_pmids_only_where_confirmed(kb: KnowledgeBase, cid: str, pmid: str | None) -> None:
    assert kb.citations[cid].pmid == pmid


def test_partially_confirmed_fields(kb: KnowledgeBase) -> None:
    assert kb.citations["E3"].source == "Pain. 2009 Oct;145(3)"
    assert kb.citations["E6"].authors == "Eide PK, et al."
    assert kb.citations["E27"].authors is None
    assert "98:31-43" in kb.citations["E14"].source


def test_author_lists_stop_at_three(kb: KnowledgeBase) -> None:
    for citation in kb.citations.values():
        if citation.authors is None:
            continue
        parts = citation.authors.split(", ")
        names = [n for n in parts if n != "et al."]
        assert 1 <= len(names) <= 3, citation.id
        assert "et al." not in parts[:-1], citation.id  # "et al." only at the end
        for name in names:  # "Surname INITIALS", e.g. "van Hilten JJ"
            assert re.fullmatch(r"[A-Za-z' -]+ [A-Z]{1,3}", name), f"{citation.id}: {name}"


def test_roles(kb: KnowledgeBase) -> None:
    assert {cid: c.role for cid, c in kb.citations.items()} == ROLES


def test_citation_conditions_are_known(kb: KnowledgeBase) -> None:
    for citation in kb.citations.values():
        assert citation.conditions, citation.id
        assert set(citation.conditions) <= CONDITIONS, citation.id


def test_findings_keep_their_limits(kb: KnowledgeBase) -> None:
    e3 = kb.citations["E3"].finding.lower()
    assert "week 12" in e3 and "no functional improvement" in e3
    e5 = kb.citations["E5"].finding.lower()
    assert "small" in e5 and "2 weeks" in e5
    e27 = kb.citations["E27"].finding.lower()
    assert "no better than placebo" in e27 and "intravenous ketamine was not tested" in e27
    assert "hours" in kb.citations["E2"].finding.lower()


# --- legal sources -----------------------------------------------------------------------------


def test_legal_identifiers(kb: KnowledgeBase) -> None:
    assert kb.legal["R1"].identifier.startswith("https://dailymed.nlm.nih.gov/")
    r2 = kb.legal["R2"]
    assert r2.identifier.startswith("https://nctr-crs.fda.gov/fdalabel/")
    assert "March 2019" in r2.citation and "March 2019" in r2.says
    assert "64 FR 37673" in kb.legal["R3"].citation
    buckman = "Buckman Co. v. Plaintiffs' Legal Committee, 531 U.S. 341, 350-351 (2001)"
    assert kb.legal["R5"].citation == buckman
    assert "50.4.2" in kb.legal["R6"].identifier and "50.4.2" in kb.legal["R6"].citation
    # L33394 is one contractor's LCD with a later number: it must not print
    assert "L33394" not in kb.legal["R6"].citation
    for rid in ("R1", "R2", "R3", "R5"):
        assert kb.legal[rid].identifier in kb.legal[rid].citation, rid


def test_buckman_is_not_described_as_a_drug_case(kb: KnowledgeBase) -> None:
    says = kb.legal["R5"].says.lower()
    assert "generally accepted" in says
    assert "drug" not in says


def test_esketamine_approval_is_not_called_an_initial_approval(kb: KnowledgeBase) -> None:
    for text in _printed_text(kb):
        assert not re.search(r"initial[^.]*2019", text, re.IGNORECASE), text


# --- conditions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "key"),
    [
        # CRPS I: G90.50-G90.59
        *[(c, "crps-1") for c in ["G90.50", "G90.511", "G90.512", "G90.513", "G90.519",
                                  "G90.521", "G90.522", "G90.523", "G90.529", "G90.59"]],
        # CRPS II: causalgia, upper and lower limb
        *[(c, "crps-2") for c in ["G56.40", "G56.41", "G56.42", "G56.43",
                                  "G57.70", "G57.71", "G57.72", "G57.73"]],
        *[(c, "phn") for c in ["B02.21", "B02.22", "B02.23", "B02.29"]],
        ("B02.24", None),  # postherpetic myelitis is not neuralgia
        *[(c, "pdpn") for c in ["E11.40", "E11.41", "E11.42", "E11.49",
                                "E10.42", "E08.42", "E09.42", "E13.42"]],
        # autonomic neuropathy, amyotrophy and postherpetic myelitis are not painful neuropathy
        ("E11.43", None), ("E11.44", None),
        *[(c, "peripheral-neuropathy-other") for c in ["G62.0", "G62.1", "G62.2", "G62.81",
                                                       "G62.82", "G62.89", "G62.9", "G60.0",
                                                       "G60.3", "G60.8", "G60.9", "G63"]],
        ("M79.7", "fibromyalgia"),
        # supporting chronic-pain codes and unrelated codes are not conditions
        ("G89.29", None), ("G89.4", None), ("G89.0", None), ("G89.21", None),
        ("E11.9", None), ("B02.9", None), ("G90.9", None), ("M79.60", None), ("G56.00", None),
    ],
)  # fmt: skip
def test_condition_for_code(kb: KnowledgeBase, code: str, key: str | None) -> None:
    condition = kb.condition_for_code(code)
    assert (condition.key if condition else None) == key


def test_prefixes_do_not_overlap(kb: KnowledgeBase) -> None:
    owned = [(p, c.key) for c in kb.conditions.values() for p in c.icd10_prefixes]
    for prefix, key in owned:
        for other, other_key in owned:
            if key != other_key:
                assert not other.startswith(prefix), f"{prefix} ({key}) covers {other}"


def test_prefixes_are_real_codes_and_all_their_leaves_map_back(kb: KnowledgeBase) -> None:
    icd = pytest.importorskip("simple_icd_10_cm")
    for condition in kb.conditions.values():
        for prefix in condition.icd10_prefixes:
            assert icd.is_valid_item(prefix), prefix
            leaves = (
                [prefix]
                if icd.is_leaf(prefix)
                else [d for d in icd.get_descendants(prefix) if icd.is_leaf(d)]
            )
            assert leaves, prefix
            for leaf in leaves:
                found = kb.condition_for_code(icd.add_dot(leaf))
                assert found is not None and found.key == condition.key, leaf


def test_only_crps_is_moderate(kb: KnowledgeBase) -> None:
    for condition in kb.conditions.values():
        expected = "moderate" if condition.key in CRPS else "weak"
        assert condition.guideline_grade == expected, condition.key


def test_guideline_statements_use_the_permitted_wording(kb: KnowledgeBase) -> None:
    for condition in kb.conditions.values():
        statement = condition.guideline_statement
        if condition.key in CRPS:
            assert (
                "moderate evidence of short-to-intermediate-term pain relief (up to 12 weeks)"
                in statement
            )
        else:
            # "what a letter may say" (ketamine-protocol.md section 2), once
            assert "limited (weak) evidence of short-term relief" in statement, condition.key
            assert NEGATED_DURABLE in statement, condition.key
            assert "moderate" not in statement, condition.key


def test_no_durable_benefit_claimed_outside_crps(kb: KnowledgeBase) -> None:
    for key in CONDITIONS - CRPS:
        for text in _condition_texts(kb, key):
            rest = text.replace(NEGATED_DURABLE, "")
            assert not DURABLE.search(rest), f"{key}: {text}"
            for sentence in _sentences(text):
                if LASTING.search(sentence):
                    assert re.search(r"\b(no|not)\b", sentence), f"{key}: {sentence}"


def test_every_condition_cites_the_guideline_and_its_own_evidence(kb: KnowledgeBase) -> None:
    for condition in kb.conditions.values():
        cited = [use.citation for use in condition.evidence]
        assert cited, condition.key
        assert cited[0] == "E1", condition.key
        for cid in cited:
            citation = kb.citations[cid]
            assert citation.role in {"guideline", "supports"}, f"{condition.key}: {cid}"
            assert condition.key in citation.conditions, f"{condition.key}: {cid}"


def test_standard_care_citations(kb: KnowledgeBase) -> None:
    expected = {"phn": {"E13"}, "pdpn": {"E14"}, "peripheral-neuropathy-other": {"E13"},
                "fibromyalgia": {"E15"}}  # fmt: skip
    for condition in kb.conditions.values():
        cited = set(condition.standard_classes_citations)
        if condition.standard_classes_statement is None:
            assert not cited, condition.key
            continue
        assert cited, condition.key
        assert expected.get(condition.key, set()) <= cited, condition.key
        for cid in cited:
            assert kb.citations[cid].role == "standard-care", f"{condition.key}: {cid}"
            assert condition.key in kb.citations[cid].conditions, f"{condition.key}: {cid}"


def test_crps_e3_is_labelled_as_type_1(kb: KnowledgeBase) -> None:
    use = next(u for u in kb.conditions["crps-2"].evidence if u.citation == "E3")
    assert "type 1" in use.statement


def test_crps_trial_regimens_are_the_reference_figures(kb: KnowledgeBase) -> None:
    """E3: 4.2 days continuous, about 22 mg/h per 70 kg; E4: 4 h a day for 10 days, at most
    0.35 mg/kg/h and 25 mg/h (100 mg per session) (evidence.md E3, E4)."""
    for key in CRPS:
        condition = kb.conditions[key]
        regimens = {r.citation: r for r in condition.trial_regimens}
        assert set(regimens) == {"E3", "E4"}, key
        assert "4.2 days" in regimens["E3"].text and regimens["E3"].rate_mg_per_h == 22
        e4 = regimens["E4"]
        assert "10 days" in e4.text and "4-hour" in e4.text and "0.35 mg/kg/h" in e4.text
        assert (e4.rate_mg_per_h, e4.session_mg) == (25, 100)
        caveats = " ".join(c.text for c in condition.caveats)
        assert "not that this regimen does" not in caveats, key
        # the time limit and the missing functional gain are stated with the trial itself
        e3 = next(u.statement for u in condition.evidence if u.citation == "E3")
        assert "week 12" in e3 and "function did not improve" in e3, key
    assert all(not c.trial_regimens for k, c in kb.conditions.items() if k not in CRPS)


def test_the_grade_is_stated_once(kb: KnowledgeBase) -> None:
    """The guideline's rating lives in guideline_statement only: no caveat repeats it."""
    for condition in kb.conditions.values():
        for caveat in condition.caveats:
            for phrase in ("limited (weak", "weak or no", "short-term relief",
                           "moderate evidence of short", "no lasting benefit"):
                assert phrase not in caveat.text, (condition.key, phrase)


def test_standard_classes(kb: KnowledgeBase) -> None:
    conds = kb.conditions
    assert set(conds["phn"].standard_classes) == {"gabapentinoid", "snri", "tca"}
    assert set(conds["peripheral-neuropathy-other"].standard_classes) == {
        "gabapentinoid", "snri", "tca"}  # fmt: skip
    assert set(conds["pdpn"].standard_classes) == {
        "tca", "snri", "gabapentinoid", "sodium-channel-blocker"}  # fmt: skip
    assert conds["fibromyalgia"].standard_classes[0] == "exercise"


def test_pdpn_never_recommends_opioids(kb: KnowledgeBase) -> None:
    pdpn = kb.conditions["pdpn"]
    assert not {"tramadol-tapentadol", "strong-opioid"} & set(pdpn.standard_classes)
    statement = pdpn.standard_classes_statement or ""
    assert "not using opioids, including tramadol and tapentadol" in statement
    for text in _condition_texts(kb, "pdpn"):
        for sentence in _sentences(text):
            if re.search(r"tramadol|tapentadol|opioid", sentence, re.IGNORECASE):
                assert re.search(r"\bnot\b", sentence), sentence


def test_no_other_route_or_product_is_cited_in_an_iv_request(kb: KnowledgeBase) -> None:
    """E27 (topical cream) is evidence about another route: an IV letter never cites it."""
    for condition in kb.conditions.values():
        cited = [u.citation for u in condition.evidence]
        cited += [c for caveat in condition.caveats for c in caveat.citations]
        assert "E27" not in cited, condition.key
        texts = " ".join([u.statement for u in condition.evidence]
                         + [c.text for c in condition.caveats]).lower()
        for word in ("topical", "cream", "oral ketamine", "nasal"):
            assert word not in texts, (condition.key, word)


def test_recommended_classes_follow_the_guidelines(kb: KnowledgeBase) -> None:
    groups = {k: [set(g.classes) for g in c.recommended_classes]
              for k, c in kb.conditions.items()}
    for key in ("phn", "peripheral-neuropathy-other"):  # NeuPSIG first line (E13)
        assert groups[key] == [{"gabapentinoid"}, {"snri"}, {"tca"}]
    assert groups["pdpn"] == [{"tca"}, {"snri"}, {"gabapentinoid"}, {"sodium-channel-blocker"}]
    assert groups["crps-2"] == []  # E28 covers CRPS type I only
    crps = kb.conditions["crps-1"].recommended_classes
    assert all("E28" in g.basis and "first line" not in g.basis for g in crps)
    assert {"free-radical-scavenger"} in groups["crps-1"]
    assert any("exercise" in g for g in groups["fibromyalgia"])


def test_caveats_cite_their_sources(kb: KnowledgeBase) -> None:
    for condition in kb.conditions.values():
        for caveat in condition.caveats:
            assert "PMID" not in caveat.text, "cite through `citations`, not inline"
            if "guideline" in caveat.text:
                assert "E1" in caveat.citations, f"{condition.key}: {caveat.text}"


def test_criteria_never_cite_unprintable_sources(kb: KnowledgeBase) -> None:
    crps = kb.conditions["crps-1"].diagnostic_criteria or ""
    assert "Budapest" in crps
    fm = kb.conditions["fibromyalgia"].diagnostic_criteria or ""
    assert "2016 revision" in fm
    for condition in kb.conditions.values():
        text = condition.diagnostic_criteria or ""
        assert not re.search(r"\bE\d+\b|Harden|Wolfe|Pain\. 2010|Semin Arthritis", text)


# --- therapy classes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "key"),
    [
        ("Lyrica", "gabapentinoid"),
        ("LYRICA", "gabapentinoid"),
        ("gabapentin", "gabapentinoid"),
        ("  Gabapentin   Enacarbil ", "gabapentinoid"),
        ("Horizant", "gabapentinoid"),
        ("Cymbalta", "snri"),
        ("Savella", "snri"),
        ("nortriptyline", "tca"),
        ("Amitriptyline", "tca"),
        ("Oxcarbazepine", "sodium-channel-blocker"),
        ("Lidoderm", "topical-lidocaine"),
        ("lidocaine 5% patch", "topical-lidocaine"),
        ("Qutenza", "topical-capsaicin"),
        ("Ultram", "tramadol-tapentadol"),
        ("Nucynta", "tramadol-tapentadol"),
        ("OxyContin", "strong-opioid"),
        ("Celebrex", "nsaid"),
        ("Medrol Dose Pack", "corticosteroid"),
        ("zoledronic acid", "bisphosphonate"),
        ("Botox", "botulinum-toxin"),
        ("Ketamine cream", "topical-ketamine"),
        ("Stellate ganglion block", "sympathetic-block"),
        ("Dorsal root ganglion stimulation", "spinal-cord-stimulation"),
        ("Graded motor imagery", "physical-therapy"),
        ("Aerobic exercise", "exercise"),
        ("CBT", "psychological-therapy"),
        ("lidocaine", None),
        ("ketamine", None),
        ("xyzzy", None),
    ],
)
def test_class_of_agent(kb: KnowledgeBase, agent: str, key: str | None) -> None:
    cls = kb.class_of_agent(agent)
    assert (cls.key if cls else None) == key


def test_every_standard_class_exists_and_has_agents(kb: KnowledgeBase) -> None:
    for condition in kb.conditions.values():
        for key in condition.standard_classes:
            assert kb.therapy_classes[key].agents, key


def test_duplicate_agent_is_refused(kb: KnowledgeBase) -> None:
    data = kb.model_dump()
    data["therapy_classes"]["snri"]["agents"].append("lyrica")
    with pytest.raises(ValueError, match="lyrica"):
        KnowledgeBase.model_validate(data)


# --- denial codes ------------------------------------------------------------------------------


def test_denial_codes(kb: KnowledgeBase) -> None:
    categories = {
        "not_medically_necessary", "experimental", "off_label", "no_prior_authorization",
        "frequency_limit", "missing_information",
    }  # fmt: skip
    for code in kb.denial_codes.values():
        assert code.category in categories, code.carc
    assert {"50", "55", "56", "188", "197", "198", "15", "16"} <= set(kb.denial_codes)
    assert not {"11", "167", "96", "29"} & set(kb.denial_codes)
    assert kb.denial_codes["50"].category == "not_medically_necessary"
    assert kb.denial_codes["55"].category == "experimental"
    assert kb.denial_codes["188"].category == "off_label"
    assert kb.denial_codes["197"].category == "no_prior_authorization"
