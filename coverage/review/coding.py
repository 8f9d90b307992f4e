"""Coding rules read from the official tabular: Excludes1 pairs, "use additional code", the
release that covers the dates of service, and which codes the infusion's billing lines treat.

Nothing here lists code pairs: every rule applies the notes of the loaded tabular file to every
pair of codes in the case, so a pair the tabular forbids is caught whether or not anyone
thought of it. The one exception the official guidelines allow (section I.A.12.a: two
conditions that are unrelated may both be reported) is recorded per pair in the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from coverage.case import Case
from coverage.codes import CODE_FIRST, EXCLUDES1, USE_ADDITIONAL, CodeSet, TabularNote
from coverage.codes.references import note_references
from coverage.knowledge import Condition, KnowledgeBase, load_long_term_drugs

PAIN_CATEGORY = "G89"  # pain codes the infusion treats along with the condition
CODE_SET_HOW_TO = (
    "download the official ICD-10-CM tabular XML for that release (published by CMS and CDC "
    "with each release, e.g. icd10cm-tabular-2027.xml) and load it with `--code-set FILE` or "
    "`icd10cm_tabular: FILE` in the practice profile"
)


@dataclass(frozen=True)
class ExcludedPair:
    """Two of the case's codes that an Excludes1 note keeps apart, with the notes that say so."""

    first: int  # index in case.diagnoses
    second: int
    notes: tuple[TabularNote, ...]

    def quoted(self) -> str:
        return "; ".join(f'under {n.owner}: "Excludes1: {n.text}"' for n in self.notes)


def excluded_pairs(case: Case, codes: CodeSet) -> list[ExcludedPair]:
    """Every pair of listed codes where one code's Excludes1 notes (its own or an ancestor's)
    name the other."""
    listed = [d.code for d in case.diagnoses]
    found: dict[tuple[int, int], list[TabularNote]] = {}
    for i, code in enumerate(listed):
        for note in codes.notes_for(code, EXCLUDES1):
            for reference in note_references(note.text):
                if reference.matches(code):
                    continue  # a note never excludes the code it sits under
                for j, other in enumerate(listed):
                    if other != code and reference.matches(other):
                        notes = found.setdefault((min(i, j), max(i, j)), [])
                        if note not in notes:
                            notes.append(note)
    return [ExcludedPair(i, j, tuple(notes)) for (i, j), notes in sorted(found.items())]


def _confirmed_unrelated(case: Case, first: str, second: str) -> int | None:
    for index, pair in enumerate(case.unrelated_diagnoses):
        if {first, second} == set(pair.codes):
            return index
    return None


def treated_codes(case: Case, condition: Condition | None, kb: KnowledgeBase) -> list[int]:
    """Indices of the codes the ketamine request treats: the condition's own codes, and pain
    codes (G89.-) unless the physician confirmed them unrelated to a treated code."""
    own = [i for i, d in enumerate(case.diagnoses)
           if condition is not None and kb.condition_for_code(d.code) is condition]
    treated = list(own)
    for i, diagnosis in enumerate(case.diagnoses):
        if i in own or not diagnosis.code.startswith(PAIN_CATEGORY):
            continue
        if not any(_confirmed_unrelated(case, diagnosis.code, case.diagnoses[j].code) is not None
                   for j in own):
            treated.append(i)
    return sorted(treated) or [0]


def review_coding(case: Case, kb: KnowledgeBase, codes: CodeSet, condition: Condition | None,
                  letter_date: date, block, advise) -> None:
    """The tabular's notes applied to this case's codes, and the release for its dates."""
    _review_excludes1(case, codes, block, advise)
    _review_unrelated_records(case, block)
    _review_code_first(case, codes, advise)
    _review_long_term_use(case, codes, advise)
    _review_release(case, codes, letter_date, advise)


def _review_excludes1(case: Case, codes: CodeSet, block, advise) -> None:
    for pair in excluded_pairs(case, codes):
        first, second = case.diagnoses[pair.first].code, case.diagnoses[pair.second].code
        field = f"diagnoses[{pair.second}].code"
        confirmed = _confirmed_unrelated(case, first, second)
        if confirmed is None:
            block(
                "EXCLUDES1_PAIR", field,
                f"{first} and {second} may not be reported together: the official tabular "
                f"({codes.release}) says {pair.quoted()}. Remove the code that does not apply; "
                "only if the physician confirms the two conditions are unrelated (ICD-10-CM "
                "guideline I.A.12.a), record that under unrelated_diagnoses",
            )
        else:
            record = case.unrelated_diagnoses[confirmed]
            advise(
                "EXCLUDES1_UNRELATED", f"unrelated_diagnoses[{confirmed}]",
                f"{first} and {second} fall under an Excludes1 note ({pair.quoted()}); reported "
                f"together because {record.confirmed_by} confirmed on {record.confirmed_on} that "
                "the conditions are unrelated (guideline I.A.12.a). The infusion's billing lines "
                "point only at the condition treated; the record must show the confirmation",
            )


def _review_unrelated_records(case: Case, block) -> None:
    listed = {d.code for d in case.diagnoses}
    for index, pair in enumerate(case.unrelated_diagnoses):
        missing = [c for c in pair.codes if c not in listed]
        if missing or pair.codes[0] == pair.codes[1]:
            block(
                "UNRELATED_PAIR_INVALID", f"unrelated_diagnoses[{index}].codes",
                "a confirmed-unrelated pair names two different codes listed under diagnoses"
                + (f"; {', '.join(missing)} is not listed" if missing else ""),
            )


def _review_code_first(case: Case, codes: CodeSet, advise) -> None:
    """A listed code that a "code first" note names must come before the code it sits under."""
    listed = [d.code for d in case.diagnoses]
    for i, code in enumerate(listed):
        notes = codes.notes_for(code, CODE_FIRST)
        for j in range(i + 1, len(listed)):
            naming = [n for n in notes if listed[j] != code
                      and any(r.matches(listed[j]) for r in note_references(n.text))]
            if naming:
                quoted = "; ".join(f'under {n.owner}: "Code first: {n.text}"' for n in naming)
                advise(
                    "CODE_FIRST_ORDER", f"diagnoses[{j}].code",
                    f"list {listed[j]} before {code}: the official tabular says {quoted}",
                )


def _review_long_term_use(case: Case, codes: CodeSet, advise) -> None:
    """Z79.- codes mean current long-term use: ask for them when a "use additional code" note
    and the current medications call for one, and question them when nothing current shows it."""
    listed = [d.code for d in case.diagnoses]
    current = [m.agent for m in case.current_medications]
    for entry in load_long_term_drugs():
        shown = [agent for agent in current if entry.shown_by(agent)]
        if entry.code in listed:
            if not shown:
                ended = [t.agent for t in case.prior_therapies if entry.shown_by(t.agent)]
                where = (f"; {', '.join(ended)} is recorded only as a prior therapy, which has "
                         "ended" if ended else "")
                advise(
                    "LONG_TERM_USE_NOT_SHOWN", f"diagnoses[{listed.index(entry.code)}].code",
                    f"{entry.code} means current long-term use of {entry.label}, but "
                    f"current_medications does not show it{where}; record the current "
                    "medications, or remove the code",
                )
            continue
        if not shown:
            continue
        for code in listed:
            for note in codes.notes_for(code, USE_ADDITIONAL):
                if any(r.matches(entry.code) for r in note_references(note.text)):
                    advise(
                        "USE_ADDITIONAL_CODE", "diagnoses",
                        f'the official tabular says under {note.owner}: "Use additional code: '
                        f'{note.text}", and the patient currently takes {", ".join(shown)}; '
                        f"add {entry.code}",
                    )
                    break
            else:
                continue
            break


# --------------------------------------------------------------------------- code set by date


def fiscal_year(day: date) -> int:
    """The ICD-10-CM fiscal year of a date of service: October 1 to September 30."""
    return day.year + 1 if day.month >= 10 else day.year


def _april_update(day: date) -> bool:
    return 4 <= day.month <= 9


def release_name(day: date) -> str:
    year = fiscal_year(day)
    if _april_update(day):
        return f"ICD-10-CM FY{year}, April 1, {year} update"
    return f"ICD-10-CM FY{year} (October 1, {year - 1} release)"


def service_dates(case: Case, letter_date: date) -> tuple[date, date]:
    """The dates of service the request covers: those denied, else the requested series."""
    denial = case.denial
    start = (denial.service_from if denial and denial.service_from else None) \
        or case.plan.requested_start or letter_date
    end = denial.service_to if denial and denial.service_to else None
    if end is None:
        end = start + timedelta(days=max(7 * case.plan.weeks - 1, 0))
    return start, max(start, end)


def releases_for(start: date, end: date) -> list[str]:
    """Each release (fiscal year and April update) the dates from start to end fall in."""
    names: list[str] = []
    day = start
    while day <= end:
        name = release_name(day)
        if name not in names:
            names.append(name)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    if release_name(end) not in names:
        names.append(release_name(end))
    return names


def release_covers(codes: CodeSet, day: date) -> bool:
    """Whether the loaded release is the one for a date of service.

    An April update holds the whole fiscal year's codes; the October release lacks the codes
    the April update adds, so it does not cover April to September.
    """
    if codes.fiscal_year != fiscal_year(day):
        return False
    return codes.update_month == "April" or not _april_update(day)


def service_summary(case: Case, letter_date: date) -> str:
    start, end = service_dates(case, letter_date)
    return f"{start} to {end}, {' and '.join(releases_for(start, end))}"


def _review_release(case: Case, codes: CodeSet, letter_date: date, advise) -> None:
    start, end = service_dates(case, letter_date)
    uncovered = [d for d in (start, end) if not release_covers(codes, d)]
    if not uncovered:
        return
    needed = " and ".join(releases_for(start, end))
    field = "denial.service_from" if case.denial and case.denial.service_from else \
        "plan.requested_start"
    advise(
        "CODE_SET_NOT_FOR_DATES", field,
        f"the dates of service ({start} to {end}) fall in {needed} (the ICD-10-CM year runs "
        "October 1 to September 30, with an April 1 update), but the loaded code set is "
        f"{codes.release}, which does not cover them; the codes were checked against it, and a "
        f"code added, deleted or retitled since would not be caught: {CODE_SET_HOW_TO}",
    )
