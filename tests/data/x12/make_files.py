"""How the ketamine and bad-input 835 files here were made (run from this folder).

Kept so the files can be checked and remade; the tests read the files, not this script.
Envelope counts (SE, GE, IEA) are computed, so the good files are well formed.
"""

from __future__ import annotations

from pathlib import Path

ISA = ("ISA*00*          *00*          *ZZ*CASCADEHP      *ZZ*RIVERSIDEPAIN  *270115*0930*^*"
       "00501*000000417*0*T*:")


def claim(control, status, billed, paid, ref, family, given, member, lines, cas=(), moa=()):
    segs = [f"CLP*{control}*{status}*{billed}*{paid}**12*{ref}",
            *[f"CAS*{c}" for c in cas],
            f"NM1*QC*1*{family}*{given}****MI*{member}"]
    if moa:
        segs.append("MOA***" + "*".join(moa))
    for code, l_billed, l_paid, day, adjustments, remarks in lines:
        segs += [f"SVC*HC:{code}*{l_billed}*{l_paid}**1", f"DTM*472*{day}"]
        segs += [f"CAS*{a}" for a in adjustments]
        segs += [f"LQ*HE*{r}" for r in remarks]
    return segs


def transaction(claims, production="20270115", payment="20270118", version="005010X221A1"):
    body = [f"BPR*I*0*C*NON************{payment}", "TRN*1*0012345*1999999999",
            f"DTM*405*{production}", "N1*PR*CASCADE HEALTH PLAN", "N3*PO BOX 4410",
            "N4*SEATTLE*WA*98194", "N1*PE*RIVERSIDE PAIN AND INFUSION CENTER*XX*1234567893",
            "LX*1"]
    for c in claims:
        body += c
    st = ["ST*835*0001", *body]
    return version, [*st, f"SE*{len(st) + 1}*0001"]


def interchange(transactions, term="~", elem="*", comp=":"):
    version = transactions[0][0]
    segs = [ISA, f"GS*HP*CASCADEHP*RIVERSIDEPAIN*20270115*0930*417*X*{version}"]
    for _, t in transactions:
        segs += t
    segs += [f"GE*{len(transactions)}*417", "IEA*1*000000417"]
    text = term.join(segs) + term
    if elem != "*" or comp != ":":
        text = text.replace("*", "\0").replace(":", comp).replace("\0", elem)
    return text


INFUSION = [("96365", "850.00", "0", "20261207", ["CO*50*850.00"], ["N386"]),
            ("J3490", "120.00", "0", "20261207", ["CO*50*120.00"], [])]
CLAIMS = [
    # crps-1 by its case id: not medically necessary
    claim("RPC-2026-0412", "4", "970.00", "0", "CHP2701150001", "ALVAREZ", "MARIA",
          "XJH884512307", INFUSION),
    # frequency-limit appeal case by its case id: frequency
    claim("RPC-2026-0412-A7", "4", "850.00", "0", "CHP2701150002", "ALVAREZ", "MARIA",
          "XJH884512307", [("96365", "850.00", "0", "20270104", ["CO*151*850.00"], ["N435"])]),
    # pdpn by an account number listed in claim_numbers: no authorization
    claim("ACCT-0463-01", "4", "970.00", "0", "CHP2701150003", "OKAFOR", "DANIEL",
          "PNW448120935", [("96365", "850.00", "0", "20261209", ["CO*197*850.00"], []),
                           ("J3490", "120.00", "0", "20261209", ["CO*197*120.00"], [])]),
    # phn by member id and service dates: benefit exclusion, a person decides
    claim("PX-99120", "4", "850.00", "0", "CHP2701150004", "WHITFIELD", "SAMUEL",
          "WSC90184477", [("96365", "850.00", "0", "20261210", ["CO*96*850.00"], ["N130"])]),
    # fibromyalgia by case id: diagnosis not covered, a person decides
    claim("RPC-2026-0478", "4", "850.00", "0", "CHP2701150005", "BRANDT", "HELGA",
          "SUM2208871430", [("96365", "850.00", "0", "20261208", ["CO*167*850.00"], [])]),
    # peripheral neuropathy by case id: patient responsibility
    claim("RPC-2026-0470", "1", "850.00", "0", "CHP2701150006", "NAKAMURA", "KENJI",
          "CHP3390271846", [("96365", "850.00", "0", "20261215", ["PR*204*850.00"], [])]),
    # an infusion claim no case knows
    claim("ZZ-000001", "4", "850.00", "0", "CHP2701150007", "DOE", "JANE", "ZZZ000000001",
          [("96365", "850.00", "0", "20261201", ["CO*50*850.00"], [])]),
    # the same member id as two cases, dates inside both: several matches
    claim("UNLISTED-1", "4", "850.00", "0", "CHP2701150008", "ALVAREZ", "MARIA",
          "XJH884512307", [("96366", "300.00", "0", "20261210", ["CO*50*300.00"], [])]),
    # crps-2: an office visit denied (not an infusion line): skipped
    claim("RPC-2026-0437", "4", "180.00", "0", "CHP2701150009", "LINDQVIST", "ERIK",
          "BLU7730419852", [("99213", "180.00", "0", "20261207", ["CO*50*180.00"], [])]),
    # crps-2: an infusion paid with routine adjustments only: skipped
    claim("RPC-2026-0437", "1", "850.00", "600.00", "CHP2701150010", "LINDQVIST", "ERIK",
          "BLU7730419852",
          [("96365", "850.00", "600.00", "20261207", ["CO*45*100.00", "PR*2*150.00"], [])]),
]
# an unmatched infusion claim needing a corrected claim (CO-16 with its remark code)
CORRECTED = claim("ZZ-000002", "4", "120.00", "0", "CHP2701150011", "ROE", "RICHARD",
                  "ZZZ000000002", [("J3490", "120.00", "0", "20261201", ["CO*16*120.00"],
                                    ["N350", "M119"])])


def main() -> None:
    good = interchange([transaction(CLAIMS)])
    Path("ketamine-denials.835").write_text(good)
    Path("ketamine-corrected-claim.835").write_text(interchange([transaction([CORRECTED])]))
    # other legal delimiters: | between elements, > in composites, newline ends segments
    Path("ketamine-denials-other-delimiters.835").write_text(
        interchange([transaction(CLAIMS)], term="\n", elem="|", comp=">"))
    Path("bad-not-x12.835").write_text("Remittance summary for December\nNo EDI here.\n")
    Path("bad-not-835.835").write_text(good.replace("ST*835*", "ST*837*"))
    Path("bad-wrong-version.835").write_text(good.replace("005010X221A1", "004010X091A1"))
    Path("bad-iea-count.835").write_text(good.replace("IEA*1*", "IEA*2*"))
    Path("bad-se-count.835").write_text(good.replace("SE*", "SE*9", 1))
    Path("bad-truncated.835").write_text(good[: good.index("CLP*RPC-2026-0478") + 20])
    Path("bad-no-iea.835").write_text(good[: good.index("IEA*")])


if __name__ == "__main__":
    main()
