"""How long `ketamine-letters check` takes, with and without the prebuilt code-set index.

Run from the repository root after `pip install .`:

    python bench/check_bench.py          # 7 runs of each
    python bench/check_bench.py -n 15

Each run is a fresh process, as staff start it. "cold" has an empty cache folder, so the
ICD-10-CM tabular is parsed (and the index written); "indexed" reads the index. Prints
medians; the machine's speed drifts, so the two are interleaved.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK = [sys.executable, str(ROOT / "cli.py"), "check", str(ROOT / "examples" / "crps-1.yaml")]


def timed(cache: Path) -> float:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    start = time.perf_counter()
    subprocess.run(CHECK, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="runs of each")
    runs = parser.parse_args().n
    cold, indexed = [], []
    with tempfile.TemporaryDirectory() as folder:
        warm = Path(folder) / "warm"
        timed(warm)  # builds the index once
        for i in range(runs):
            empty = Path(folder) / f"cold-{i}"
            cold.append(timed(empty))
            shutil.rmtree(empty, ignore_errors=True)
            indexed.append(timed(warm))
    print(f"check, cold (tabular parsed):  median {statistics.median(cold) * 1000:.0f} ms")
    print(f"check, with the code-set index: median {statistics.median(indexed) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
