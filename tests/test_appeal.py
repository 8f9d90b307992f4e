"""Appeals: deadlines, reasons from remittance codes, one rebuttal per reason, literal quotes."""

from __future__ import annotations

import copy
import unicodedata
from datetime import date
from pathlib import Path

import pytest
import yaml

from coverage.case import AppealLevel, Denial, DenialReason, PlanType
from coverage.deadlines import add_months, filing_deadline

ROOT = Path(__file__).resolve().parents[1]
APPEALS = ROOT / "examples" / "appeals"
TODAY = date(2026, 11, 23)


def denial(**changes) -> Denial:
    fields = dict(denial_date=date(2026, 10, 30), received_date=date(2026, 11, 3),
                  reference="R-1", service_denied="IV ketamine")
    fields.update(changes)
    return Denial(**fields)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 10, 31), 4, date(2027, 2, 28)),  # month end, common year
        (date(2027, 10, 31), 4, date(2028, 2, 29)),  # month end, leap year
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 1, 15), 4, date(2026, 5, 15)),
        (date(2026, 11, 3), 4, date(2027, 3, 3)),
        (date(2026, 12, 31), 2, date(2027, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_erisa_first_level_is_180_days_from_receipt() -> None:
    got = filing_deadline(denial(), PlanType.erisa_group, "Any", {})
    assert got.due == date(2027, 5, 2)
    assert "180 days" in got.basis


def test_erisa_180_days_across_february_of_a_leap_year() -> None:
    got = filing_deadline(denial(received_date=date(2027, 12, 31), denial_date=date(2027, 12, 20)),
                          PlanType.erisa_group, "Any", {})
    assert got.due == date(2028, 6, 28)  # 2028 has 29 February


def test_commercial_plan_says_the_erisa_window_is_assumed() -> None:
    got = filing_deadline(denial(), PlanType.commercial, "Any", {})
    assert got.due == date(2027, 5, 2) and "assumed" in got.basis


def test_medicare_levels_and_presumed_receipt() -> None:
    late = denial(denial_date=date(2026, 10, 1), received_date=date(2026, 10, 20))
    first = filing_deadline(late, PlanType.medicare, "Medicare", {})
    assert first.due == date(2027, 2, 3)  # 120 days from presumed receipt on 6 October
    second = filing_deadline(late.model_copy(update={"level": AppealLevel.second_internal}),
                             PlanType.medicare, "Medicare", {})
    assert second.due == date(2027, 4, 4)  # 180 days from presumed receipt on 6 Oct


def test_external_review_is_four_calendar_months() -> None:
    got = filing_deadline(denial(received_date=date(2026, 10, 31), denial_date=date(2026, 10, 28),
                                 level=AppealLevel.external_review),
                          PlanType.erisa_group, "Any", {})
    assert got.due == date(2027, 2, 28)


def test_notice_and_practice_override_win() -> None:
    assert filing_deadline(denial(deadline=date(2027, 1, 2)), PlanType.medicaid, "X", {}).due == \
        date(2027, 1, 2)
    got = filing_deadline(denial(), PlanType.erisa_group, "Cascade Health Plan",
                          {"cascade health plan": 60})
    assert got.due == date(2027, 1, 2) and "practice profile" in got.basis


def test_medicare_advantage_and_medicaid_are_not_guessed() -> None:
    for plan in (PlanType.medicare_advantage, PlanType.medicaid):
        got = filing_deadline(denial(), plan, "X", {})
        assert got.due is None and "denial notice" in got.basis


def test_carc_codes_set_the_reasons() -> None:
    from coverage.knowledge import load_knowledge
    from coverage.review.appeal import denial_reasons

    kb = load_knowledge()
    reasons, unknown = denial_reasons(denial(carc_codes=["CO-50", "55", "CO188", "PR-999"]), kb)
    assert reasons == [DenialReason.not_medically_necessary, DenialReason.experimental,
                       DenialReason.off_label]
    assert unknown == ["PR-999"]
    both, _ = denial_reasons(denial(reasons=["step_therapy"], carc_codes=["CO-197"]), kb)
    assert both == [DenialReason.step_therapy, DenialReason.no_prior_authorization]


# --- letters -------------------------------------------------------------------------------

HEADINGS = {
    "not-medically-necessary": "Response: the treatment is medically necessary",
    "experimental": "Response: the plan's definition of experimental or investigational, applied",
    "off-label": "Response: off-label use of an FDA-approved drug",
    "step-therapy": "Response: the required prior therapies were tried",
    "missing-information": "Response: the information requested is enclosed",
    "frequency-limit": "Response: the interval is set by the documented duration of relief",
}


def _text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return unicodedata.normalize("NFC", " ".join(text.split()))


@pytest.fixture(scope="module")
def appeal_texts() -> dict[str, str]:
    from coverage.pipeline import load_inputs, make_letter

    return {
        path.stem: _text(make_letter(load_inputs(path), TODAY, "appeal").pdf)
        for path in sorted(APPEALS.glob("*.yaml")) if not path.name.startswith("blocked-")
    }


@pytest.mark.parametrize("name", sorted(HEADINGS))
def test_each_reason_gets_its_rebuttal(appeal_texts: dict[str, str], name: str) -> None:
    text = appeal_texts[name]
    assert HEADINGS[name] in text
    others = [h for n, h in HEADINGS.items() if n != name and h in text]
    assert not others, f"{name} also answers {others}"


def test_every_category_has_an_example(appeal_texts: dict[str, str]) -> None:
    assert set(HEADINGS) <= set(appeal_texts)
    assert "external-review-urgent" in appeal_texts


def test_denial_text_is_quoted_literally(appeal_texts: dict[str, str]) -> None:
    raw = yaml.safe_load((APPEALS / "experimental.yaml").read_text())["denial"]["reason_text"]
    assert "&" in raw and "<" in raw and "'" in raw
    assert " ".join(raw.split()) in appeal_texts["experimental"]
    assert "&amp;" not in appeal_texts["experimental"]


def test_external_urgent_appeal_asks_for_independent_and_expedited_review(
    appeal_texts: dict[str, str],
) -> None:
    text = appeal_texts["external-review-urgent"]
    assert "independent reviewer" in text
    assert "expedited review" in text
    assert "(503) 555-0150" in text
    # peer-to-peer and the plan's documents are asked of the plan, not of an independent reviewer
    assert "peer-to-peer" not in text and "free of charge" not in text


def test_frequency_appeal_shows_the_documented_response(appeal_texts: dict[str, str]) -> None:
    text = appeal_texts["frequency-limit"]
    assert "pain fell from 8/10 to 4/10, a 50% reduction" in text


def test_policy_criteria_are_answered(appeal_texts: dict[str, str]) -> None:
    text = appeal_texts["not-medically-necessary"]
    assert "Failure of at least two classes of oral neuropathic pain medication" in text


@pytest.fixture()
def late_case(tmp_path: Path) -> Path:
    case = yaml.safe_load((APPEALS / "experimental.yaml").read_text())
    case = copy.deepcopy(case)
    case["letter_date"] = "2027-06-01"  # received 2026-11-03: the 180 days ran out 2027-05-02
    (tmp_path / "practice.yaml").write_text((ROOT / "examples" / "practice.yaml").read_text())
    path = tmp_path / "late.yaml"
    path.write_text(yaml.safe_dump(case, sort_keys=False))
    return path


def test_past_deadline_appeal_is_refused(late_case: Path, run_cli) -> None:
    out = late_case.parent / "late.pdf"
    result = run_cli("appeal", str(late_case), "-o", str(out), "--today", "2027-06-01",
                     cwd=late_case.parent)
    assert result.returncode == 2
    assert "APPEAL_PAST_DEADLINE" in result.stderr and "2027-05-02" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    check = run_cli("check", str(late_case), "--today", "2027-06-01", cwd=late_case.parent)
    assert check.returncode == 2 and "filing deadline: 2027-05-02" in check.stdout


def test_force_writes_past_deadline_with_the_finding(late_case: Path, run_cli) -> None:
    out = late_case.parent / "late.pdf"
    result = run_cli("appeal", str(late_case), "-o", str(out), "--force", "--today",
                     "2027-06-01", cwd=late_case.parent)
    assert result.returncode == 0, result.stderr
    assert out.exists()
    assert "APPEAL_PAST_DEADLINE" in result.stderr  # still listed, as advisory


def test_appeal_without_denial_is_blocked(tmp_path: Path, run_cli) -> None:
    (tmp_path / "practice.yaml").write_text((ROOT / "examples" / "practice.yaml").read_text())
    case = tmp_path / "c.yaml"
    case.write_text((ROOT / "examples" / "crps-1.yaml").read_text())
    result = run_cli("appeal", str(case), "-o", str(tmp_path / "a.pdf"), cwd=tmp_path)
    assert result.returncode == 2 and "NO_DENIAL" in result.stderr


def test_unknown_reason_is_blocked(tmp_path: Path, run_cli) -> None:
    case = yaml.safe_load((APPEALS / "experimental.yaml").read_text())
    case["denial"]["carc_codes"] = ["CO-999"]
    case["denial"].pop("reasons", None)
    (tmp_path / "practice.yaml").write_text((ROOT / "examples" / "practice.yaml").read_text())
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(case, sort_keys=False))
    result = run_cli("check", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "REASON_UNKNOWN" in result.stdout


def test_a_pinned_letter_date_does_not_hide_a_deadline_passed_since(tmp_path: Path, run_cli):
    """The examples pin letter_date 2026-11-23; filed on 2027-09-01 the appeal is late."""
    (tmp_path / "practice.yaml").write_text((ROOT / "examples" / "practice.yaml").read_text())
    case = tmp_path / "exp.yaml"
    case.write_text((APPEALS / "experimental.yaml").read_text())
    late = run_cli("appeal", case, "-o", tmp_path / "a.pdf", "--today", "2027-09-01")
    assert late.code == 2 and not (tmp_path / "a.pdf").exists()
    assert "today, 2027-09-01, is 122 days late" in late.stderr
    on_time = run_cli("check", case, "--today", "2026-11-30")
    assert "2027-05-02 (153 days left" in on_time.stdout  # counted from today, not the letter
