"""The 835 reader on files nobody here wrote, on our own ketamine files, and on bad input."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from coverage.remittance.actions import load_actions
from coverage.remittance.parse import Claim, FileCounts, walk
from coverage.remittance.run import read_file
from coverage.remittance.segments import SegmentError

X12 = Path(__file__).parent / "data" / "x12"


def _read(name: str) -> tuple[list[Claim], FileCounts]:
    items = list(walk(X12 / name))
    return [i for i in items if isinstance(i, Claim)], items[-1]


# (file, claims, service lines, adjustment triplets, remark codes): counted by reading each file
PUBLIC = [
    ("lfh-cob-contractural-adjustment.835", 1, 1, 2, 0),   # OA-23, OA-94
    ("lfh-demo.835", 2, 0, 2, 1),                         # CO-45 twice, MOA MA02
    ("lfh-managed-care.835", 2, 2, 5, 0),                 # CO-A2 x2, PR-1 x2, CO-45
    ("lfh-medicare-part-a.835", 2, 0, 2, 1),
    ("lfh-secondary-payment.835", 2, 2, 5, 0),            # OA-23 x2, PR-1 + PR-2 in one CAS, CO-42
    ("lfh-tertiary-payment.835", 1, 1, 1, 0),             # OA-23
    ("pyx12-835_mult_loops.835", 1, 3, 3, 3),             # CO-16, OA-A7 x2, LQ N14 x3
]


@pytest.mark.parametrize(("name", "claims", "lines", "adjustments", "remarks"), PUBLIC)
def test_public_files_parse_with_exact_counts(name, claims, lines, adjustments, remarks):
    found, counts = _read(name)
    assert (counts.transactions, counts.claims, counts.service_lines, counts.adjustments,
            counts.remarks) == (1, claims, lines, adjustments, remarks)
    assert len(found) == claims


@pytest.mark.parametrize("name", [p[0] for p in PUBLIC])
def test_public_files_hold_no_ketamine_denial(name):
    counts, kept, skipped = read_file(X12 / name, load_actions())
    assert kept == [] and skipped == counts.claims


def test_public_details_read_right():
    claims, _ = _read("lfh-secondary-payment.835")
    second = claims[1]
    assert second.patient_control == "0001000053" and second.payer_claim_number == "05630626430"
    assert [(a.code, a.amount) for a in second.lines[1].adjustments] == [
        ("PR-1", Decimal("150.00")), ("PR-2", Decimal("70.00")), ("CO-42", Decimal("85.00"))]
    assert str(second.date_from) == "2005-01-06" and second.member_id == "456789123"
    (mult,), _ = _read("pyx12-835_mult_loops.835")
    assert mult.lines[0].code == "T1005" and mult.lines[0].remarks == ["N14"]
    assert mult.lines[0].adjustments[0].code == "CO-16"
    assert str(mult.remittance_date) == "2013-09-01"  # DTM*405 wins over BPR16
    demo, _ = _read("lfh-demo.835")
    assert demo[1].remarks == ["MA02"] and demo[0].header.payer.startswith("INSURANCE COMPANY")


def test_ketamine_file_reads_every_part():
    claims, counts = _read("ketamine-denials.835")
    assert (counts.claims, counts.service_lines, counts.adjustments, counts.remarks) == (
        10, 12, 13, 3)
    first = claims[0]
    assert first.patient_control == "RPC-2026-0412" and first.status == "4"
    assert first.payer_claim_number == "CHP2701150001" and first.member_id == "XJH884512307"
    assert [line.code for line in first.lines] == ["96365", "J3490"]
    assert first.lines[0].remarks == ["N386"] and first.lines[0].adjustments[0].code == "CO-50"
    assert first.header.payee_npi == "1234567893"
    assert first.header.payer == "CASCADE HEALTH PLAN"
    assert str(first.header.payment_date) == "2027-01-18"
    assert str(first.remittance_date) == "2027-01-15"


def test_other_legal_delimiters_read_the_same():
    plain, _ = _read("ketamine-denials.835")
    other, _ = _read("ketamine-denials-other-delimiters.835")
    assert other == plain


@pytest.mark.parametrize(("name", "position", "words"), [
    ("bad-not-x12.835", "segment 1", "does not start with an ISA"),
    ("bad-not-835.835", "segment 3 (ST)", "not an 835"),
    ("bad-wrong-version.835", "segment 2 (GS)", "004010X091A1"),
    ("bad-iea-count.835", "segment 74 (IEA)", "IEA counts 2 groups"),
    ("bad-se-count.835", "segment 72 (SE)", "SE counts 970 segments"),
    ("bad-truncated.835", "segment 41 (CLP)", "ends in the middle of a segment"),
    ("bad-no-iea.835", "segment 73 (GE)", "no IEA"),
])
def test_bad_input_names_the_segment(name, position, words):
    with pytest.raises(SegmentError) as caught:
        list(walk(X12 / name))
    assert caught.value.where == position
    assert words in str(caught.value)
    assert "ALVAREZ" not in str(caught.value)  # never patient data
