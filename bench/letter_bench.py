"""Single-process benchmark: letters per second, peak memory, pipeline overhead, --help time.

Run from the repository root after `pip install .`. Each letter is made from its own case
file (distinct names, IDs and weights; five prior therapies), so loading counts too:

    python bench/letter_bench.py            # 200 letters
    python bench/letter_bench.py -n 500

Prints medians; the machine's speed drifts, so pipeline and baseline runs are interleaved.
Throughput is measured twice: each letter alone, as the `letter` command makes it, and with
one shared Typesetter, as a batch makes them. The baseline of the ratio is plain reportlab
laying out the very same flowables (build_flowables + layout), each letter alone, so the
ratio shows what load/review/compose/templates add on top of layout.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coverage import render_docx, render_pdf  # noqa: E402
from coverage.kinds import LetterKind  # noqa: E402
from coverage.pipeline import (  # noqa: E402
    Inputs,
    RenderStates,
    build_document,
    compose,
    load_inputs,
    make_letter,
)
from coverage.pipeline import review as review_inputs  # noqa: E402
from coverage.renderers import FORMATS  # noqa: E402
from coverage.yaml_files import dump_roundtrip  # noqa: E402

TODAY = date(2026, 11, 25)
PDF = FORMATS["pdf"]
GIVEN = ["Maria", "James", "Nguyễn Thị", "Aisha", "Robert", "Li", "Sofía", "Olga"]
FAMILY = ["Alvarez", "O'Brien", "Đoàn", "Okafor", "Schmidt", "Chen", "Kowalski", "Haddad"]


def distinct_case(base: Inputs, i: int) -> Inputs:
    """A distinct case per letter (name, IDs, weight, five prior therapies)."""
    case = base.case
    name = case.patient.name.model_copy(
        update={"given": GIVEN[i % len(GIVEN)], "family": FAMILY[(i // 8) % len(FAMILY)]}
    )
    patient = case.patient.model_copy(
        update={"name": name, "member_id": f"M{100000 + i}", "weight_kg": 55 + i % 40}
    )
    trimmed = case.model_copy(
        update={
            "case_id": f"BENCH-{i:05d}",
            "patient": patient,
            "prior_therapies": case.prior_therapies[1:6],
            "enclosures": case.enclosures[:2],
        }
    )
    return replace(base, case=trimmed)


def baseline_seconds(inputs: Inputs) -> float:
    """Plain reportlab: the same blocks and page furniture -> flowables -> layout, timed alone."""
    result = review_inputs(inputs, TODAY)
    context = compose(inputs, result, LetterKind.LMN, TODAY)
    document = build_document(inputs, context, LetterKind.LMN, TODAY)
    start = time.perf_counter()
    story = render_pdf.build_flowables(list(document.blocks), document.furniture,
                                       document.signature, render_pdf.SignaturePlacement())
    render_pdf.layout(story, document.furniture)
    return time.perf_counter() - start


def help_seconds(runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "cli.py"), "--help"], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="letters to render (default 200)")
    args = parser.parse_args()

    base = load_inputs(ROOT / "examples" / "crps-1.yaml")
    cases = [distinct_case(base, i) for i in range(args.n)]
    folder = Path(tempfile.mkdtemp(prefix="letter-bench-"))
    shutil.copy(ROOT / "examples" / "practice.yaml", folder / "practice.yaml")
    shutil.copy(ROOT / "examples" / "signature-dr-chen.png", folder / "signature-dr-chen.png")
    files = []
    for inputs in cases:  # real case files, so that loading is part of the pipeline's time
        path = folder / f"{inputs.case.case_id}.yaml"
        data = inputs.case.model_dump(mode="json", exclude_none=True)
        path.write_text(dump_roundtrip(data), encoding="utf-8")
        files.append(path)
    warm = make_letter(load_inputs(files[0]), TODAY)

    start = time.perf_counter()
    pages = []
    for path in files:  # case file -> PDF bytes: load, review, compose, templates, layout
        pages.append(make_letter(load_inputs(path), TODAY).pages)
    total = time.perf_counter() - start

    shared = RenderStates()  # as `batch --jobs 1` and each batch worker run
    start = time.perf_counter()
    for path in files:
        make_letter(load_inputs(path), TODAY, states=shared)
    total_shared = time.perf_counter() - start

    # the Word renderer on the very documents the PDFs were made from, in this same run
    documents = [make_letter(load_inputs(path), TODAY).document for path in files[:50]]
    docx_state = render_docx.new_state()
    render_docx.render(documents[0], docx_state)  # the fonts are compressed once per process
    docx_ms, pdf_ms = [], []
    for document in documents:
        t0 = time.perf_counter()
        render_docx.render(document, docx_state)
        t1 = time.perf_counter()
        render_pdf.render(document, shared.get(PDF))
        docx_ms.append((t1 - t0) * 1000)
        pdf_ms.append((time.perf_counter() - t1) * 1000)

    pipeline, plain = [], []
    pairs = list(zip(files, cases, strict=True))[: min(args.n, 100)]
    for index, (path, inputs) in enumerate(pairs):
        # interleaved, alternating which goes first, so drift and warm caches hit both alike
        if index % 2:
            plain.append(baseline_seconds(inputs))
        t0 = time.perf_counter()
        make_letter(load_inputs(path), TODAY)
        pipeline.append(time.perf_counter() - t0)
        if not index % 2:
            plain.append(baseline_seconds(inputs))
    shutil.rmtree(folder)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"letters:                 {args.n} in one process "
          f"({statistics.median(pages):g} pages each, median; warm-up letter {warm.pages} pages)")
    print(f"throughput:              {args.n / total:.1f} letters/second, each letter alone "
          "(as `letter` runs)")
    print(f"                         {args.n / total_shared:.1f} letters/second with one shared "
          "Typesetter (as a batch runs)")
    print(f"per letter (median):     pipeline (case file -> PDF) "
          f"{statistics.median(pipeline) * 1000:.1f} ms, plain reportlab layout of the same "
          f"flowables {statistics.median(plain) * 1000:.1f} ms")
    print(f"pipeline / layout ratio: {statistics.median(pipeline) / statistics.median(plain):.3f}"
          "  (target <= 1.1)")
    print(f"render only (median):    PDF {statistics.median(pdf_ms):.1f} ms, DOCX "
          f"{statistics.median(docx_ms):.1f} ms per letter (same documents, shared state)")
    print(f"peak memory:             {peak_mb:.0f} MB (max RSS of this process)")
    print(f"`--help` (median of 7):  {help_seconds():.3f} s  (target < 0.3 s)")


if __name__ == "__main__":
    main()
