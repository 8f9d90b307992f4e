"""The ICD-10-CM code set: official descriptions, billable leaves, and a clinic's newer release."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from coverage.codes import load_code_set

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def codes():
    return load_code_set()


@pytest.mark.parametrize(
    ("code", "billable", "description"),
    [
        ("G90.521", True, "Complex regional pain syndrome I of right lower limb"),
        ("G90.5", False, "Complex regional pain syndrome I (CRPS I)"),
        ("G56.41", True, "Causalgia of right upper limb"),
        ("B02.29", True, "Other postherpetic nervous system involvement"),
        ("E11.42", True, "Type 2 diabetes mellitus with diabetic polyneuropathy"),
        ("M79.7", True, "Fibromyalgia"),
        ("G89.29", True, "Other chronic pain"),
        ("S82.101A", True, None),  # valid only with its 7th character
        ("S82.101", False, None),
    ],
)
def test_lookup(codes, code: str, billable: bool, description: str | None) -> None:
    entry = codes.lookup(code)
    assert entry is not None
    assert entry.billable is billable
    if description:
        assert entry.description == description


def test_unknown_codes(codes) -> None:
    assert codes.lookup("G90.599") is None
    assert codes.lookup("Z99.99") is None
    assert codes.lookup("S82.101Z") is None  # Z is not a 7th character of that code


def test_release_is_named(codes) -> None:
    assert codes.release.startswith("ICD-10-CM FY2026")


def _newer_release(folder: Path) -> Path:
    """A stand-in for next year's official file: same format, version 2027, one code renamed."""
    official = Path(load_code_set().source).read_text(encoding="utf-8")
    newer = official.replace("<version>2026</version>", "<version>2027</version>", 1)
    newer = newer.replace("<desc>Fibromyalgia</desc>", "<desc>Fibromyalgia (FY2027 test)</desc>")
    path = folder / "icd10cm-tabular-2027.xml"
    path.write_text(newer, encoding="utf-8")
    return path


def test_clinic_can_point_at_a_newer_release(tmp_path: Path, run_cli) -> None:
    from coverage.pipeline import load_inputs, make_letter

    xml = _newer_release(tmp_path)
    for name in ("fibromyalgia.yaml", "practice.yaml"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    env = dict(os.environ, KETAMINE_LETTERS_AUDIT_LOG=str(tmp_path / "audit.sqlite3"))
    check = run_cli("check", "fibromyalgia.yaml", "--code-set", xml, cwd=tmp_path, env=env)
    assert "ICD-10-CM FY2027" in check.stdout, check.stdout + check.stderr
    inputs = load_inputs(tmp_path / "fibromyalgia.yaml", code_set=xml)
    from datetime import date

    from pypdf import PdfReader

    letter = make_letter(inputs, date(2026, 11, 25))
    import io

    reader = PdfReader(io.BytesIO(letter.pdf))
    assert "FY2027" in reader.metadata["/Keywords"]
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Fibromyalgia (FY2027 test)" in " ".join(text.split())


def test_a_file_that_is_not_a_tabular_list_is_refused(tmp_path: Path) -> None:
    from coverage.errors import InputError

    bogus = tmp_path / "codes.xml"
    bogus.write_text("<ICD10CM.tabular><version>2027</version></ICD10CM.tabular>")
    with pytest.raises(InputError, match="too few codes"):
        load_code_set(bogus)
    broken = tmp_path / "broken.xml"
    broken.write_text("<ICD10CM.tabular><diag>")
    with pytest.raises(InputError, match="not an ICD-10-CM tabular XML"):
        load_code_set(broken)
