"""Random mutations of every example case (issue 16, "done when"): `check` and `letter` end
with exit 0 or 2, never a traceback; exit 2 leaves no file; the input is never changed.

In-process through the pipeline for speed (the CLI's commands are thin over it), plus a few
mutations through the CLI itself. FUZZ_EXAMPLES=2000 runs a longer search."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage import pipeline
from coverage.errors import LetterError
from coverage.loading import read_data

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*.yaml") if p.name != "practice.yaml")
TODAY = date(2026, 11, 30)

HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\u202eevil", "a\nb", "\x00", "FILL-IN", "YYYY-MM-DD",
                     "oral", "no IV", "9" * 5000, "x" * 30_000, "{{ 7 * 7 }}", "<p>",
                     "2026-02-30", "0123", "1e400", "NaN", "-0", "🙂" * 5]),
)
VALUES = st.one_of(
    HOSTILE_TEXT,
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(data: Any, here: tuple = ()) -> list[tuple]:
    out = [here]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*here, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _paths(value, (*here, index))
    return out


def _mutate(data: Any, path: tuple, how: str, value: Any) -> Any:
    if not path:
        return value if how == "replace" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "duplicate" and isinstance(parent, list):
        parent.insert(last, parent[last])
    else:
        parent[last] = value
    return data


@st.composite
def mutated_cases(draw) -> tuple[str, str, bytes]:
    """(example name, suffix, bytes of a mutated case file)."""
    example = draw(st.sampled_from(EXAMPLES))
    text = example.read_text(encoding="utf-8")
    if draw(st.booleans()):  # structured: one value changed, deleted or repeated
        data = read_data(example)
        path = draw(st.sampled_from(_paths(data)))
        how = draw(st.sampled_from(["replace", "replace", "delete", "duplicate"]))
        data = _mutate(data, path, how, draw(VALUES))
        suffix = draw(st.sampled_from([".yaml", ".json"]))
        if suffix == ".json":
            body = json.dumps(data, default=str, ensure_ascii=False)
        else:
            body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return example.name, suffix, body.encode("utf-8", "surrogatepass")
    raw = bytearray(text.encode("utf-8"))  # textual: bytes flipped, cut or inserted
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        how = draw(st.sampled_from(["flip", "cut", "insert"]))
        if how == "flip" and raw:
            raw[at] = draw(st.integers(0, 255))
        elif how == "cut":
            del raw[at:at + draw(st.integers(1, 200))]
        else:
            raw[at:at] = draw(st.sampled_from([b"&a [*a, *a]", b"\t", b": :", b"!!python/x ",
                                               b"\xff\xfe", b"\n  - ", b"{", b"%YAML 1.1\n"]))
    return example.name, ".yaml", bytes(raw)


def letter_exit(case: Path, out: Path) -> int:
    """What `check` then `letter` would exit with, through the pipeline."""
    try:
        inputs = pipeline.load_inputs(case)
        kind = pipeline.choose_kind(inputs, None)
        pipeline.review(inputs, TODAY, kind)
        letter = pipeline.make_letter(inputs, TODAY, kind)
        pipeline.record(pipeline.outputs_for(letter, {"pdf": out}), inputs,
                        command=kind.value, kind=kind)
    except LetterError as exc:
        return exc.exit_code
    return 0


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_cases())
def test_any_mutation_exits_0_or_2_and_loses_nothing(mutation):
    name, suffix, body = mutation
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copy(ROOT / "examples" / "practice.yaml", root / "practice.yaml")
        case = root / f"case{suffix}"
        case.write_bytes(body)
        out = root / "letter.pdf"
        code = letter_exit(case, out)  # an exception other than LetterError fails the test
        assert code in (0, 2), (name, code)
        assert case.read_bytes() == body
        if code == 2:
            assert not out.exists()
            assert sorted(p.name for p in root.iterdir()) == ["case" + suffix, "practice.yaml"]
        else:
            assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("weight_kg:", "weight_kg: 99999999999999999999999999999999999 #"),
    lambda t: t + "\nextra: &a [1, 2]\nmore: [*a, *a, *a]\n",
    lambda t: t.replace("route: intravenous infusion", "route: IV, then nasal at home"),
    lambda t: t[: len(t) // 2],
    lambda t: t.replace("case_id:", "case_id: \u202e"),
])
def test_mutations_through_the_cli(tmp_path, practice_into, run_cli, edit):
    practice_into(tmp_path)
    case = tmp_path / "case.yaml"
    body = edit((ROOT / "examples" / "crps-1.yaml").read_text(encoding="utf-8"))
    case.write_text(body, encoding="utf-8")
    for args in (("check", case), ("letter", case, "-o", tmp_path / "out.pdf")):
        result = run_cli(*args, "--today", "2026-11-30")
        assert result.code in (0, 2), result.output
        assert "Traceback" not in result.output
        if result.code == 2:
            assert not (tmp_path / "out.pdf").exists()
    assert case.read_text(encoding="utf-8") == body
