"""An 835 file -> its claims, walking the 835 loops and checking the envelope.

Loops read (005010X221A1): the header (BPR payment, DTM*405 production date, N1*PR payer,
N1*PE payee with its NPI), then per claim CLP (patient control number, status, billed, paid,
payer claim control number), CAS (group code and up to six reason/amount/quantity triplets),
NM1*QC / NM1*IL (patient, member id), MOA remark codes, DTM*232/233 (claim service dates),
and per service line SVC, DTM*472 or 150/151, CAS and LQ*HE (remark codes). Segments the tool
does not use are skipped. The envelope is checked as it closes: SE counts its segments, GE its
transactions, IEA its groups, and control numbers pair up. Claims are yielded one at a time;
the caller keeps only those it needs, and must treat the file as bad if the generator raises
(the envelope is only known to be whole at its end).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from coverage.remittance.segments import SegmentError, delimiters_of, segments

SUPPORTED_VERSION = "005010X221"


@dataclass(slots=True)
class Adjustment:
    group: str
    carc: str
    amount: Decimal
    quantity: Decimal | None = None

    @property
    def code(self) -> str:
        return f"{self.group}-{self.carc}"


@dataclass(slots=True)
class ServiceLine:
    qualifier: str
    code: str
    modifiers: list[str]
    billed: Decimal
    paid: Decimal
    date_from: date | None = None
    date_to: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Header:
    """What the transaction (one ST..SE) says once for all its claims."""

    payer: str = ""
    payee_npi: str = ""
    production_date: date | None = None
    payment_date: date | None = None


@dataclass(slots=True)
class Claim:
    position: int  # segment number of the CLP, for messages
    patient_control: str
    status: str
    billed: Decimal
    paid: Decimal
    payer_claim_number: str
    header: Header
    patient_given: str = ""
    patient_family: str = ""
    member_id: str = ""
    subscriber_id: str = ""
    date_from: date | None = None
    date_to: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    lines: list[ServiceLine] = field(default_factory=list)

    @property
    def remittance_date(self) -> date | None:
        """The date of the remittance: its production date, else the payment date."""
        return self.header.production_date or self.header.payment_date


@dataclass(slots=True)
class FileCounts:
    transactions: int = 0
    claims: int = 0
    service_lines: int = 0
    adjustments: int = 0  # reason/amount triplets, claim and line level
    remarks: int = 0


def _date(text: str) -> date | None:
    """CCYYMMDD; an impossible date (some senders' test files have them) reads as unknown."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


class _Walker:
    """The state of the walk through one file; ``walk`` drives it segment by segment."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.counts = FileCounts()
        self.isa: list[str] | None = None
        self.gs: list[str] | None = None
        self.st: list[str] | None = None
        self.groups = self.transactions_in_group = self.segments_in_transaction = 0
        self.header = Header()
        self.claim: Claim | None = None
        self.line: ServiceLine | None = None
        self.position = 0
        self.sid = ""

    def fail(self, message: str) -> SegmentError:
        return SegmentError(self.position, self.sid, message)

    def element(self, seg: list[str], index: int, required: bool = False) -> str:
        value = seg[index].strip() if index < len(seg) else ""
        if required and not value:
            raise self.fail(f"element {self.sid}{index:02d} is missing")
        return value

    def amount(self, seg: list[str], index: int, required: bool = True) -> Decimal | None:
        text = self.element(seg, index, required)
        if not text:
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            raise self.fail(f"element {self.sid}{index:02d} is not an amount") from None

    def close_claim(self) -> Claim | None:
        done, self.claim, self.line = self.claim, None, None
        return done

    # -- envelope -----------------------------------------------------------------------
    def on_isa(self, seg: list[str]) -> None:
        if self.isa is not None:
            raise self.fail("a new interchange (ISA) starts before the last one ended (IEA)")
        self.isa, self.groups = seg, 0

    def on_gs(self, seg: list[str]) -> None:
        if self.isa is None or self.gs is not None:
            raise self.fail("functional group (GS) outside an interchange or inside another")
        version = self.element(seg, 8)
        if self.element(seg, 1) != "HP" or not version.startswith(SUPPORTED_VERSION):
            raise self.fail(f"not a 5010 835 remittance (GS01 {self.element(seg, 1) or '-'}, "
                            f"version {version or '-'}; this tool reads {SUPPORTED_VERSION})")
        self.gs, self.transactions_in_group = seg, 0
        self.groups += 1

    def on_st(self, seg: list[str]) -> None:
        if self.gs is None or self.st is not None:
            raise self.fail("transaction (ST) outside a functional group or inside another")
        if self.element(seg, 1) != "835":
            raise self.fail(f"not an 835 remittance (transaction set {self.element(seg, 1)})")
        self.st, self.segments_in_transaction = seg, 1
        self.transactions_in_group += 1
        self.counts.transactions += 1
        self.header = Header()

    def on_se(self, seg: list[str]) -> None:
        if self.st is None:
            raise self.fail("SE without ST")
        if self.element(seg, 1) != str(self.segments_in_transaction):
            raise self.fail(f"SE counts {self.element(seg, 1) or '-'} segments; the "
                            f"transaction has {self.segments_in_transaction}")
        if self.element(seg, 2) != self.element(self.st, 2):
            raise self.fail("SE02 does not match the ST control number")
        self.st = None

    def on_ge(self, seg: list[str]) -> None:
        if self.gs is None or self.st is not None:
            raise self.fail("GE without GS, or before the transaction ended (SE)")
        if self.element(seg, 1) != str(self.transactions_in_group):
            raise self.fail(f"GE counts {self.element(seg, 1) or '-'} transactions; the "
                            f"group has {self.transactions_in_group}")
        if self.element(seg, 2) != self.element(self.gs, 6):
            raise self.fail("GE02 does not match the GS control number")
        self.gs = None

    def on_iea(self, seg: list[str]) -> None:
        if self.isa is None or self.gs is not None:
            raise self.fail("IEA without ISA, or before the group ended (GE)")
        if self.element(seg, 1) != str(self.groups):
            raise self.fail(f"IEA counts {self.element(seg, 1) or '-'} groups; the "
                            f"interchange has {self.groups}")
        if self.element(seg, 2) != self.element(self.isa, 13):
            raise self.fail("IEA02 does not match the ISA control number")
        self.isa = None

    # -- content ------------------------------------------------------------------------
    def on_clp(self, seg: list[str]) -> None:
        self.claim = Claim(
            position=self.position,
            patient_control=self.element(seg, 1, required=True),
            status=self.element(seg, 2),
            billed=self.amount(seg, 3),
            paid=self.amount(seg, 4),
            payer_claim_number=self.element(seg, 7),
            header=self.header,
        )
        self.counts.claims += 1

    def on_cas(self, seg: list[str]) -> None:
        if self.claim is None:
            raise self.fail("CAS outside a claim")
        group = self.element(seg, 1, required=True)
        target = self.line.adjustments if self.line else self.claim.adjustments
        for start in range(2, 20, 3):  # up to six reason/amount/quantity triplets
            carc = self.element(seg, start)
            if not carc:
                continue
            target.append(Adjustment(group, carc, self.amount(seg, start + 1),
                                     self.amount(seg, start + 2, required=False)))
            self.counts.adjustments += 1

    def on_svc(self, seg: list[str]) -> None:
        if self.claim is None:
            raise self.fail("SVC outside a claim")
        parts = self.element(seg, 1, required=True).split(self.component)
        self.line = ServiceLine(parts[0], parts[1] if len(parts) > 1 else "", parts[2:],
                                self.amount(seg, 2), self.amount(seg, 3))
        self.claim.lines.append(self.line)
        self.counts.service_lines += 1

    def on_dtm(self, seg: list[str]) -> None:
        qualifier, value = self.element(seg, 1), _date(self.element(seg, 2))
        if self.claim is None:
            if qualifier == "405":
                self.header.production_date = value
        elif self.line is not None:
            if qualifier in ("472", "150"):
                self.line.date_from = value
            if qualifier in ("472", "151"):
                self.line.date_to = value
        elif qualifier == "232":
            self.claim.date_from = value
        elif qualifier == "233":
            self.claim.date_to = value

    def on_nm1(self, seg: list[str]) -> None:
        if self.claim is None:
            return
        if self.element(seg, 1) == "QC":
            self.claim.patient_family = self.element(seg, 3)
            self.claim.patient_given = self.element(seg, 4)
            self.claim.member_id = self.element(seg, 9)
        elif self.element(seg, 1) == "IL":
            self.claim.subscriber_id = self.element(seg, 9)

    def on_remarks(self, codes: list[str]) -> None:
        target = self.line.remarks if self.line else self.claim.remarks if self.claim else None
        if target is not None:
            target.extend(c for c in codes if c)
            self.counts.remarks += sum(1 for c in codes if c)


def walk(path: Path) -> Iterator[Claim | FileCounts]:
    """Every claim of the file in order, then its counts; raises SegmentError on bad input."""
    walker = _Walker(delimiters_of(path).component)
    seen_isa = False
    for position, seg in segments(path):
        walker.position, sid = position, seg[0].strip()
        walker.sid = sid
        if walker.st is not None:
            walker.segments_in_transaction += 1
        if sid in ("CLP", "LX", "PLB", "SE") and walker.claim is not None:
            done = walker.close_claim()
            if done is not None:
                yield done
        if sid == "ISA":
            walker.on_isa(seg)
            seen_isa = True
        elif walker.isa is None:
            raise walker.fail("segment after the interchange ended (IEA)")
        elif sid in ("GS", "ST", "SE", "GE", "IEA"):
            getattr(walker, f"on_{sid.lower()}")(seg)
        elif walker.st is None:
            raise walker.fail("segment outside a transaction (ST..SE)")
        elif sid == "BPR":
            walker.header.payment_date = _date(walker.element(seg, 16))
        elif sid == "N1" and walker.claim is None:
            if walker.element(seg, 1) == "PR":
                walker.header.payer = walker.element(seg, 2)
            elif walker.element(seg, 1) == "PE" and walker.element(seg, 3) == "XX":
                walker.header.payee_npi = walker.element(seg, 4)
        elif sid in ("CLP", "CAS", "SVC", "DTM", "NM1"):
            getattr(walker, f"on_{sid.lower()}")(seg)
        elif sid == "LQ" and walker.element(seg, 1) == "HE":
            walker.on_remarks([walker.element(seg, 2)])
        elif sid == "MOA":
            walker.on_remarks([walker.element(seg, i) for i in range(3, 8)])
    if walker.isa is not None or not seen_isa:
        raise SegmentError(walker.position, walker.sid,
                           "the file ends before the interchange does (no IEA): truncated?")
    yield walker.counts
