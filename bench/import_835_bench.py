"""Import speed and memory: a generated 50,000-claim 835 through `import 835`.

Usage: python bench/import_835_bench.py [-n CLAIMS] [--runs 3]
Prints the median wall time, then the peak memory of one more, traced run (tracemalloc:
Python allocations, the figure that would grow if the importer held the file). One claim in 100 is a
ketamine infusion denial (CO-50); they match no case, so nothing is written and every run is
the same; the rest are office visits paid with a contractual write-down.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coverage.remittance.run import import_835

ISA = ("ISA*00*          *00*          *ZZ*BENCHPAYER     *ZZ*BENCHPAYEE     *270115*0930*^*"
       "00501*000000001*0*P*:~")


def write_835(path: Path, claims: int) -> None:
    with open(path, "w", encoding="ascii") as out:
        out.write(ISA + "GS*HP*BENCHPAYER*BENCHPAYEE*20270115*0930*1*X*005010X221A1~")
        body = ["ST*835*0001", "BPR*I*0*C*NON************20270118", "TRN*1*1*1999999999",
                "DTM*405*20270115", "N1*PR*BENCH PAYER", "N1*PE*BENCH PAYEE*XX*1234567893",
                "LX*1"]
        count = len(body)
        out.write("~".join(body) + "~")
        for i in range(claims):
            if i % 100 == 0:
                segs = [f"CLP*K{i:07d}*4*850.00*0**12*P{i:09d}", "NM1*QC*1*DOE*JANE****MI*X1",
                        "SVC*HC:96365*850.00*0**1", "DTM*472*20261207", "CAS*CO*50*850.00",
                        "LQ*HE*N386"]
            else:
                segs = [f"CLP*A{i:07d}*1*180.00*120.00**12*P{i:09d}",
                        "NM1*QC*1*ROE*RICHARD****MI*Y2", "SVC*HC:99213*180.00*120.00**1",
                        "DTM*472*20261207", "CAS*CO*45*60.00"]
            count += len(segs)
            out.write("~".join(segs) + "~")
        out.write(f"SE*{count + 1}*0001~GE*1*1~IEA*1*000000001~")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--claims", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        remit, cases = folder / "bench.835", folder / "cases"
        cases.mkdir()
        write_835(remit, args.claims)
        times = []
        for _ in range(args.runs):  # timed without tracemalloc, which slows Python ~2x
            started = time.perf_counter()
            summary = import_835([remit], cases, dry_run=True, today=date(2027, 1, 20))
            times.append(time.perf_counter() - started)
        tracemalloc.start()
        import_835([remit], cases, dry_run=True, today=date(2027, 1, 20))
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        size = remit.stat().st_size / 2**20
        claims = sum(c.claims for c in summary.files.values())
        sys.stdout.write(
            f"{claims} claims ({size:.1f} MB), {len(summary.rows)} worklist rows\n"
            f"import: median {statistics.median(times):.2f} s over {args.runs} runs "
            f"({', '.join(f'{t:.2f}' for t in times)})\n"
            f"peak Python memory (one more run, traced): {peak:.1f} MB\n")


if __name__ == "__main__":
    main()
