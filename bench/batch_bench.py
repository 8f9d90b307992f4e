"""Benchmark of ``ketamine-letters batch``: throughput, memory per worker, cost over reportlab.

Generates N distinct case files from examples/crps-1.yaml (names, IDs, dates, scores, weight
and the number of prior therapies vary), runs :func:`coverage.batch.run_batch` with two workers
and prints total seconds, letters per second, the median time a worker spent on one letter
and the peak RSS of each worker, for each N.
Then, in this one process, it compares the whole ``make_letter`` per letter with plain
reportlab laying out the same flowables (``build_flowables`` + ``layout``), as the median of
interleaved runs.

    /work/venv/bin/python bench/batch_bench.py                      # N = 100 and 1000
    /work/venv/bin/python bench/batch_bench.py --sizes 100 1000 5000 --jobs 2

Targets on a 2-core machine: 1,000 letters in under 20 s with two workers; peak memory per
worker under 300 MB and flat as N grows. The audit log goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TODAY = date(2026, 11, 20)
GIVEN = ["Maria", "James", "Linh", "Olga", "Ahmed", "Chloé", "Nikos", "Aiyana", "Tomás", "Yuki",
         "Grace", "Dmitri", "Amara", "Søren", "Priya", "Mateo"]
FAMILY = ["Alvarez", "Nguyễn", "Okonkwo", "Petrov", "Schmidt", "O'Brien", "Kowalski", "Haddad",
          "Lindqvist", "Tanaka", "Moreau", "Papadopoulos", "Castillo", "Reyes", "Brennan"]


def make_cases(folder: Path, count: int, seed: int = 2026) -> None:
    """``count`` distinct case files (YAML) plus the practice profile, in ``folder``."""
    import copy

    from coverage.loading import read_data
    from coverage.yaml_files import dump_roundtrip

    base = read_data(ROOT / "examples" / "crps-1.yaml")
    practice = (ROOT / "examples" / "practice.yaml").read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "practice.yaml").write_text(practice, encoding="utf-8")
    rng = random.Random(seed)
    for index in range(count):
        case = copy.deepcopy(base)
        case["case_id"] = f"BENCH-{index:06d}"
        case["prescriber"] = rng.choice(["dr-chen", "dr-okafor"])
        patient = case["patient"]
        patient["name"] = {"given": rng.choice(GIVEN), "family": rng.choice(FAMILY)}
        patient["date_of_birth"] = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 18000))
        patient["weight_kg"] = rng.randrange(48, 120)
        patient["member_id"] = f"M{rng.randrange(10**9, 10**10)}"
        shift = timedelta(days=rng.randrange(0, 60))
        for score in case["pain"]["scores"]:
            score["date"] = score["date"] - shift
            score["nrs"] = rng.randrange(6, 10)
        for measure in case["pain"]["measures"]:
            measure["date"] = measure["date"] - shift
        case["prior_therapies"] = case["prior_therapies"][: rng.randrange(5, 9)]
        case["letter_date"] = TODAY - timedelta(days=rng.randrange(0, 10))
        sub = folder / f"batch-{index // 500:02d}"  # a few sub-folders, as real queues have
        sub.mkdir(exist_ok=True)
        text = dump_roundtrip(case)
        (sub / f"case-{index:06d}.yaml").write_text(text, encoding="utf-8")


def run_size(count: int, jobs: int, work: Path) -> dict:
    from coverage.batch import run_batch

    cases = work / f"cases-{count}"
    out = work / f"letters-{count}"
    started = time.perf_counter()
    make_cases(cases, count)
    generated = time.perf_counter() - started
    summary = run_batch(cases, out, jobs=jobs, today=TODAY, practice=cases / "practice.yaml")
    counts = summary.counts
    pages = [r.pages for r in summary.results if r.pages]
    worker_ms = [1000 * r.seconds for r in summary.results if r.status == "written"]
    return {
        "n": count,
        "generated_s": generated,
        "seconds": summary.seconds,
        "written": counts["written"],
        "other": {k: v for k, v in counts.items() if v and k != "written"},
        "rate": summary.letters_per_second,
        "rss_mb": sorted(kb / 1024 for kb in summary.worker_peak_rss_kb.values()),
        "pages": statistics.median(pages) if pages else 0,
        "worker_ms": statistics.median(worker_ms) if worker_ms else 0.0,
    }


def layout_ratio(cases: Path, sample: int = 12, rounds: int = 5) -> dict:
    """Median per-letter times, in this one process, of the pipeline and of plain reportlab.

    Plain reportlab is ``build_flowables`` + ``layout`` of the very blocks ``make_letter``
    made, with nothing carried over between letters. The pipeline is timed both ways: with
    one shared Typesetter, as every batch worker runs, and with none, as a one-off
    ``letter`` command runs.
    """
    from coverage.pipeline import RenderStates, load_inputs, make_letter
    from coverage.render_pdf import SignaturePlacement, build_flowables, layout

    files = sorted(cases.rglob("case-*.yaml"))[:sample]
    inputs = [load_inputs(path) for path in files]
    captured = [(list(d.blocks), d.furniture, d.signature)
                for d in (make_letter(item, TODAY).document for item in inputs)]
    shared = RenderStates()
    for item in inputs:  # a worker that has already made a letter or two
        make_letter(item, TODAY, states=shared)
    times: dict[str, list[float]] = {"load": [], "batch": [], "single": [], "plain": []}
    for _ in range(rounds):
        for path, item, (blocks, furniture, signature) in zip(files, inputs, captured,
                                                              strict=True):
            t0 = time.perf_counter()
            load_inputs(path)
            t1 = time.perf_counter()
            make_letter(item, TODAY, states=shared)
            t2 = time.perf_counter()
            make_letter(item, TODAY)
            t3 = time.perf_counter()
            story = build_flowables(blocks, furniture, signature, SignaturePlacement())
            layout(story, furniture)
            t4 = time.perf_counter()
            for name, seconds in (("load", t1 - t0), ("batch", t2 - t1), ("single", t3 - t2),
                                  ("plain", t4 - t3)):
                times[name].append(seconds)
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        "load_ms": 1000 * median["load"],
        "batch_ms": 1000 * median["batch"],
        "single_ms": 1000 * median["single"],
        "layout_ms": 1000 * median["plain"],
        "batch_ratio": median["batch"] / median["plain"],
        "single_ratio": median["single"] / median["plain"],
    }


def _spin(seconds: float) -> int:
    end = time.perf_counter() + seconds
    loops = 0
    while time.perf_counter() < end:
        for _ in range(10_000):
            pass
        loops += 1
    return loops


def cpu_check(seconds: float = 8.0) -> tuple[int, int]:
    """Loops done by one busy process, and by two at once, in ``seconds``."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        pool.submit(_spin, 0.1).result()
        one = pool.submit(_spin, seconds).result()
        two = sum(pool.map(_spin, [seconds, seconds]))
    return one, two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep the cases and letters in this folder")
    parser.add_argument("--cpu-check", action="store_true",
                        help="first measure how two busy processes scale on this machine")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="batch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KETAMINE_LETTERS_AUDIT_LOG", str(work / "audit.sqlite3"))
    print(f"cpus: {os.cpu_count()}  workers: {args.jobs}  folder: {work}")
    if args.cpu_check:
        one, two = cpu_check()
        print(f"cpu check (pure-Python loop, 8 s): 2 processes give {two / one:.2f}x the "
              "throughput of 1")
    print(f"{'N':>6} {'seconds':>8} {'letters/s':>10} {'pages':>6} {'ms/letter':>10} "
          f"{'peak RSS per worker (MB)':>26}  other statuses")
    for count in args.sizes:
        row = run_size(count, args.jobs, work)
        rss = ", ".join(f"{mb:.0f}" for mb in row["rss_mb"])
        print(f"{row['n']:>6} {row['seconds']:>8.1f} {row['rate']:>10.1f} {row['pages']:>6g} "
              f"{row['worker_ms']:>10.1f} {rss:>26}  {row['other'] or '-'}", flush=True)
        if row["written"] != count:
            print(f"  warning: only {row['written']} of {count} letters written")
    main_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the main process: {main_rss:.0f} MB")
    ratio = layout_ratio(work / f"cases-{args.sizes[0]}")
    print(
        "per letter, one process (medians of interleaved runs): "
        f"load_inputs {ratio['load_ms']:.1f} ms; plain reportlab (build_flowables + layout) "
        f"{ratio['layout_ms']:.1f} ms;\n"
        f"  make_letter as a batch worker runs it (shared Typesetter) {ratio['batch_ms']:.1f} ms"
        f" = {ratio['batch_ratio']:.2f} x plain reportlab;\n"
        f"  make_letter as one `letter` command runs it {ratio['single_ms']:.1f} ms"
        f" = {ratio['single_ratio']:.2f} x plain reportlab  (target <= 1.1)"
    )
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
