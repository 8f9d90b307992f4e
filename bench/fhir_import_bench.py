"""Benchmark of ``ketamine-letters import fhir`` on a large bundle.

Builds a Bundle of about ``--mb`` megabytes from a Synthea bundle of the test corpus: its
Patient once, and every other entry copied again and again under new ids (encounters, claims,
observations, medications...), so the importer reads as many resources of every kind as a
long real record would. Then, in a fresh process, runs the import and prints the wall time and
the peak resident memory of that process.

    /tmp/venv-fhir/bin/python bench/fhir_import_bench.py            # 50 MB
    /tmp/venv-fhir/bin/python bench/fhir_import_bench.py --mb 10

Target: a 50 MB bundle imports in seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "tests/data/fhir/Werner_Funk_88980c97-df54-464c-9fd9-ba079f2f1d98.json"


def build(target_mb: float, path: Path) -> int:
    """Write a bundle of about ``target_mb`` MB; return its number of entries."""
    bundle = json.loads(SOURCE.read_text(encoding="utf-8"))
    patient = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    others = [json.dumps(e) for e in bundle["entry"] if e not in patient]
    size, copy, parts = len(json.dumps(patient)), 0, [json.dumps(e) for e in patient]
    while size < target_mb * 1_000_000:
        copy += 1
        for text in others:
            entry = json.loads(text)
            entry["resource"]["id"] = f"{entry['resource'].get('id', 'x')}-{copy}"
            entry["fullUrl"] = f"{entry.get('fullUrl', 'urn:x')}-{copy}"
            line = json.dumps(entry)
            parts.append(line)
            size += len(line)
    path.write_text('{"resourceType": "Bundle", "type": "transaction", "entry": ['
                    + ",".join(parts) + "]}", encoding="utf-8")
    return len(parts)


def run_import(bundle: Path, output: Path) -> None:
    """In this (child) process: import once, print seconds and peak RSS."""
    sys.path.insert(0, str(REPO))
    from coverage.codes import load_code_set
    from coverage.fhir.case_file import import_fhir

    code_set = load_code_set()
    start = time.perf_counter()
    summary = import_fhir([bundle], output, None, code_set, date.today())
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb),
                      "entries": summary.entries_read}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_import(Path(args.child[0]), Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder) / "big.json"
        entries = build(args.mb, bundle)
        mb = bundle.stat().st_size / 1_000_000
        result = subprocess.run([sys.executable, __file__, "--child", str(bundle),
                                 str(Path(folder) / "case.yaml")],
                                capture_output=True, text=True, check=True)
        figures = json.loads(result.stdout)
        print(f"bundle: {mb:.1f} MB, {entries} entries")
        print(f"import: {figures['seconds']} s, peak RSS {figures['peak_rss_mb']} MB "
              f"({figures['entries']} resources read)")


if __name__ == "__main__":
    main()
