"""Letters stay byte-identical through refactoring: each example's PDF against its recorded hash.

The hashes in ``tests/data/golden-letters.json`` were recorded before the one-pipeline redesign.
A change of words on purpose updates them (and says so in its commit); any other difference is
a regression. Byte identity depends on reportlab's version, so another version skips with the
reason rather than failing on bytes nobody changed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
import reportlab

from coverage.pipeline import load_inputs, make_letter

REPO = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((REPO / "tests" / "data" / "golden-letters.json").read_text())


@pytest.mark.parametrize("key", sorted(GOLDEN["letters"]))
def test_example_letter_is_byte_identical(key: str) -> None:
    if reportlab.Version != GOLDEN["reportlab"]:
        pytest.skip(f"hashes recorded with reportlab {GOLDEN['reportlab']}, "
                    f"this is {reportlab.Version}")
    case, kind = key.rsplit(":", 1)
    inputs = load_inputs(REPO / case)
    letter = make_letter(inputs, date.fromisoformat(GOLDEN["today"]), kind, force=True)
    assert hashlib.sha256(letter.pdf).hexdigest() == GOLDEN["letters"][key]
