"""One YAML library (ruamel.yaml, YAML 1.2) for reading and writing case files.

The validating reader (``load_yaml``, fast, for batches) and the round-trip reader
(``load_roundtrip``, for editors and importers) must agree on every value; the round trip must
give back the file it read, byte for byte; and every guard is an InputError naming the file and
the line, never a traceback and never a value from the file.
"""

from __future__ import annotations

import os
import stat
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from coverage.errors import InputError
from coverage.loading import TRUE_FALSE, load_case, load_practice, read_data
from coverage.starter import STARTER_CONDITIONS, starter_case
from coverage.yaml_files import (
    MAX_EXPANDED_VALUES,
    dump_roundtrip,
    load_roundtrip,
    load_yaml,
    write_case_file,
)
from coverage.yaml_files import reading as yaml_files

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.yaml"))  # case files, appeals and practice.yaml

# written after `k: ` -> the value both readers give
SEMANTICS: list[tuple[str, Any]] = [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("n", "n"),
    ("Yes", "Yes"), ("true", True), ("false", False), ("True", True), ("FALSE", False),
    ("1:30", "1:30"),  # YAML 1.1: sexagesimal 90
    ("0123", "0123"),  # YAML 1.1: octal 83; YAML 1.2: 123; an identifier keeps its zero
    ("00", "00"),
    ("0o17", "0o17"), ("0x1F", "0x1F"),  # octal and hex ints in YAML 1.2: kept as written
    ("1_000", "1_000"),  # a member id 1234_5678 must not become 12345678
    ("1e3", "1e3"), ("12E4567", "12E4567"),  # ... nor 12E4567 infinity
    (".inf", ".inf"), ("+5", "+5"), ("007.5", "007.5"),
    ("0", 0), ("68", 68), ("-3", -3), (".5", 0.5), ("7.4", 7.4), ("1.", 1.0),
    ("2026-11-20", date(2026, 11, 20)),
    ("2026-02-30", "2026-02-30"),  # no such day: text, and validation names the field
    ("2026-11-20 10:30:00", datetime(2026, 11, 20, 10, 30)),
    ("~", None), ("null", None), ("Null", None),
    ("'0123'", "0123"), ('"yes"', "yes"), ("'it''s'", "it's"), ('"a\\tb"', "a\tb"),
    ("plain text, with a comma", "plain text, with a comma"),
    ("seen 2024-05-02, pain 8:10 at night", "seen 2024-05-02, pain 8:10 at night"),
    ("[a, 1, 2026-11-20]", ["a", 1, date(2026, 11, 20)]),
    ("{ given: Maria, family: Alvarez }", {"given": "Maria", "family": "Alvarez"}),
]  # fmt: skip


@pytest.mark.parametrize(("written", "value"), SEMANTICS, ids=[w for w, _ in SEMANTICS])
def test_both_readers_give_the_same_value(written: str, value: Any) -> None:
    text = f"k: {written}\n"
    plain = load_yaml(text, "case.yaml")["k"]
    assert plain == value
    assert type(plain) is type(value)
    edited = load_roundtrip(text, "case.yaml")
    assert edited["k"] == value
    assert edited == {"k": value}
    assert dump_roundtrip(edited) == text


def test_a_folded_block_is_read_alike_and_written_back() -> None:
    text = "note: >-\n  Pain 8/10,\n  worse at night.\nnext: |\n  line one\n  line two\n"
    assert load_yaml(text, "c.yaml") == {
        "note": "Pain 8/10, worse at night.", "next": "line one\nline two\n"
    }
    edited = load_roundtrip(text, "c.yaml")
    assert edited == load_yaml(text, "c.yaml")
    assert dump_roundtrip(edited) == text


def test_text_is_nfc_for_validation() -> None:
    decomposed = "Nguye\u0302\u0303n"
    assert load_yaml(f"family: {decomposed}\n", "c.yaml") == {"family": "Nguyễn"}


def test_the_pure_python_parser_gives_the_same_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """ruamel.yaml.clib's C parser with our YAML 1.2 resolver = ruamel's pure-Python parser."""
    texts = [f"k: {written}\n" for written, _ in SEMANTICS]
    texts += [p.read_text(encoding="utf-8") for p in EXAMPLE_FILES]
    fast = [load_yaml(text, "c.yaml") for text in texts]
    monkeypatch.setattr(yaml_files, "CParser", None)
    assert [load_yaml(text, "c.yaml") for text in texts] == fast


def test_the_c_parser_is_installed() -> None:
    """Without ruamel.yaml.clib every case file takes about 15 times longer to read."""
    assert yaml_files.CParser is not None, "pip install ruamel.yaml.clib (a dependency)"


# --- values that reach validation -----------------------------------------------------------


def _case_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (EXAMPLES / "crps-1.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "case.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("written", ["yes", "no", "on", "off", "y", "n", "'true'", "1", "0"])
def test_a_true_false_field_refuses_anything_but_true_or_false(tmp_path: Path,
                                                             written: str) -> None:
    """YAML 1.2 reads `yes` as text and pydantic would quietly take it (and 1) as true."""
    path = _case_with(tmp_path, "budapest_criteria_met: true",
                      f"budapest_criteria_met: {written}")
    with pytest.raises(InputError) as caught:
        load_case(path)
    assert caught.value.lines() == [
        f"{path}: diagnoses[0].budapest_criteria_met: {TRUE_FALSE}"
    ]


def test_true_false_inside_a_flow_mapping_and_a_list(tmp_path: Path) -> None:
    path = _case_with(tmp_path, "cardiac: { reviewed: true,", "cardiac: { reviewed: on,")
    with pytest.raises(InputError) as caught:
        load_case(path)
    assert [p.field for p in caught.value.problems] == ["safety.cardiac.reviewed"]


@pytest.mark.parametrize("written", ["true", "false", "True"])
def test_a_true_false_field_takes_true_and_false(tmp_path: Path, written: str) -> None:
    path = _case_with(tmp_path, "budapest_criteria_met: true",
                      f"budapest_criteria_met: {written}")
    assert load_case(path).diagnoses[0].budapest_criteria_met is (written.lower() == "true")


def test_an_impossible_unquoted_date_is_named_by_validation(tmp_path: Path) -> None:
    path = _case_with(tmp_path, "letter_date: 2026-11-20", "letter_date: 2026-02-30")
    with pytest.raises(InputError) as caught:
        load_case(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == (str(path), "letter_date")
    assert "not a valid date" in problem.message


def test_identifiers_keep_their_text_and_numbers_still_read(tmp_path: Path) -> None:
    path = _case_with(tmp_path, "member_id: XJH884512307", "member_id: 1234_5678")
    path.write_text(path.read_text(encoding="utf-8").replace("weight_kg: 68", "weight_kg: 68.5e0"),
                    encoding="utf-8")
    case = load_case(path)
    assert case.patient.member_id == "1234_5678"
    assert case.patient.group_number == "0047112"
    assert case.patient.weight_kg == 68.5


def test_an_octal_looking_number_in_a_number_field_is_named(tmp_path: Path) -> None:
    path = _case_with(tmp_path, "weight_kg: 68", "weight_kg: 0o104")
    with pytest.raises(InputError) as caught:
        load_case(path)
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("patient.weight_kg", "must be a number")
    ]


# --- round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_every_example_comes_back_byte_for_byte(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    edited = load_roundtrip(text, str(path))
    assert dump_roundtrip(edited) == text
    assert edited == load_yaml(text, str(path))


@pytest.mark.parametrize("condition", sorted(STARTER_CONDITIONS))
def test_every_starter_comes_back_byte_for_byte(condition: str) -> None:
    text = starter_case(condition)
    assert dump_roundtrip(load_roundtrip(text, "new.yaml")) == text


def test_a_file_saved_on_windows_keeps_its_line_breaks() -> None:
    for path in (EXAMPLES / "crps-1.yaml", EXAMPLES / "appeals" / "step-therapy.yaml"):
        text = path.read_text(encoding="utf-8").replace("\n", "\r\n")
        edited = load_roundtrip(text, str(path))
        assert dump_roundtrip(edited) == text
        assert edited == load_yaml(text, str(path)) == load_yaml(text.replace("\r", ""), "x")


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_changing_one_value_keeps_every_comment_and_every_other_line() -> None:
    text = (EXAMPLES / "crps-1.yaml").read_text(encoding="utf-8")
    edited = load_roundtrip(text, "crps-1.yaml")
    edited["patient"]["weight_kg"] = 70
    edited["patient"]["name"]["family"] = "Álvarez"
    edited["safety"]["cardiac"]["reviewed"] = False
    after = dump_roundtrip(edited)
    assert _changed_lines(text, after) == [
        ("  name: { given: Maria, family: Alvarez }", "  name: { given: Maria, family: Álvarez }"),
        ("  weight_kg: 68", "  weight_kg: 70"),
        (next(line for line in text.splitlines() if "cardiac:" in line),
         next(line for line in after.splitlines() if "cardiac:" in line)),
    ]
    assert "reviewed: false" in next(line for line in after.splitlines() if "cardiac:" in line)
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(line in after.splitlines() for line in comments)


def test_a_starter_keeps_its_comments_when_filled_in_by_a_program() -> None:
    text = starter_case("crps")
    edited = load_roundtrip(text, "new.yaml")
    edited["case_id"] = "RPC-2026-0500"
    edited["patient"]["member_id"] = "0047"  # must come back as text, so quoted
    after = dump_roundtrip(edited)
    assert _changed_lines(text, after) == [
        ("case_id: FILL-IN            # your own reference: letters, digits, . _ -",
         "case_id: RPC-2026-0500      # your own reference: letters, digits, . _ -"),
        ("  member_id: FILL-IN", "  member_id: '0047'"),
    ]
    assert load_yaml(after, "new.yaml")["patient"]["member_id"] == "0047"


def test_a_wrapped_text_is_rewrapped_only_when_it_changes() -> None:
    text = (EXAMPLES / "appeals" / "not-medically-necessary.yaml").read_text(encoding="utf-8")
    edited = load_roundtrip(text, "a.yaml")
    edited["denial"]["reason_text"] = "Not medically necessary."
    after = dump_roundtrip(edited)
    assert "  reason_text: Not medically necessary.\n" in after
    assert load_yaml(after, "a.yaml") == {**load_yaml(text, "a.yaml"), "denial": {
        **load_yaml(text, "a.yaml")["denial"], "reason_text": "Not medically necessary."}}
    unchanged = [line for line in text.splitlines() if "allodynia" in line or "reduced" in line]
    assert unchanged and all(line in after.splitlines() for line in unchanged)


def test_kept_text_and_spelled_nulls_come_back_as_written() -> None:
    text = "a: 0123\nb: 2026-02-30\nc: ~\nd: null\ne:\nf: TRUE\ng: 1e3\n"
    assert dump_roundtrip(load_roundtrip(text, "c.yaml")) == text
    edited = load_roundtrip(text, "c.yaml")
    edited["f"] = False  # a changed boolean is written the usual way
    assert dump_roundtrip(edited) == text.replace("f: TRUE", "f: false")


def test_write_case_file_then_load_case_gives_the_same_model(tmp_path: Path) -> None:
    source = EXAMPLES / "crps-1.yaml"
    expected = load_case(source)
    edited = tmp_path / "edited" / "case.yaml"
    write_case_file(edited, load_roundtrip(source.read_text(encoding="utf-8"), str(source)))
    assert edited.read_text(encoding="utf-8") == source.read_text(encoding="utf-8")
    assert load_case(edited) == expected
    assert stat.S_IMODE(os.stat(edited).st_mode) == 0o600

    imported = tmp_path / "imported.yaml"  # what an importer writes: plain data, no comments
    write_case_file(imported, expected.model_dump(mode="json", exclude_none=True))
    assert stat.S_IMODE(os.stat(imported).st_mode) == 0o600
    assert load_case(imported) == expected
    assert {p.name for p in tmp_path.iterdir()} == {"edited", "imported.yaml"}  # no temp files


def test_write_case_file_refuses_what_yaml_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    with pytest.raises(InputError) as caught:
        write_case_file(path, {"case_id": object()})
    assert caught.value.lines()[0].startswith(f"{path}: cannot be written as YAML")
    assert not path.exists()


# --- guards ---------------------------------------------------------------------------------


def _refusal(tmp_path: Path, text: str, reader: str = "read_data") -> str:
    """The one line an InputError prints for ``text`` in a case file, from either reader."""
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        if reader == "read_data":
            read_data(path)
        else:
            load_roundtrip(text, str(path))
    (line,) = caught.value.lines()
    assert line.startswith(f"{path}: "), line
    assert "Traceback" not in line
    return line.removeprefix(f"{path}: ")


BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)

GUARDS = {
    # id: (text, what the line must say)
    "duplicate-key": ("case_id: X\nprescriber: dr-chen\nprescriber: Alvarez-Secret\n",
                      "line 3, column 1: key 'prescriber' appears twice (first on line 2)"),
    "python-object": ("case_id: !!python/object/apply:os.system ['echo owned']\n",
                      "line 1, column 10: tags such as '!!python/object/apply:os.system' are not "
                      "allowed; write the value plainly or in quotes"),
    "str-tag": ("member_id: !!str 0123\n", "line 1, column 12: tags such as '!!str'"),
    "local-tag": ("patient: !person {name: x}\n", "line 1, column 10: tags such as '!person'"),
    "billion-laughs": (BILLION_LAUGHS, "aliases (*name) would expand this file to more than "
                       f"{MAX_EXPANDED_VALUES:,} values"),
    "alias-loop": ("a: &x [1, *x]\n", "an alias (*name) is used inside the section it names"),
    "unclosed-brace": ("case_id: X\npatient:\n  name: {given: A, family: B\n  sex: female\n",
                       "(while parsing a flow mapping that starts on line 3)"),
    "unclosed-bracket": ("case_id: X\nenclosures: [a, b\nplan: x\n",
                         "(while parsing a flow sequence that starts on line 2)"),
    "tab-indent": ("patient:\n\tsex: female\n", "line 2, column 1: not valid YAML: "),
    "control-character": ("case_id: X\nnote: a\x07b\n", "line 2: not valid YAML: a character"),
    "yaml-1.1": ("%YAML 1.1\n---\ncase_id: X\n",
                 "line 1, column 1: this tool reads YAML 1.2 only; remove the %YAML line"),
    "two-documents": ("case_id: X\n---\ncase_id: Y\n",
                      "line 2, column 1: holds a second document (after a '---' line)"),
    "colon-in-text": ("note: pain: 8/10\n", "(text with a colon in it must be in quotes)"),
    "list-as-key": ("? [a, b]\n: 1\n", "line 1, column 3: a key must be a plain name"),
    "deep-nesting": ("- " * 3000 + "x\n", "sections nested more than 100 deep"),
}


@pytest.mark.parametrize("reader", ["read_data", "load_roundtrip"])
@pytest.mark.parametrize("name", sorted(GUARDS))
def test_each_guard_is_one_line_naming_the_file_and_where(tmp_path: Path, name: str,
                                                          reader: str) -> None:
    text, needle = GUARDS[name]
    started = time.perf_counter()
    line = _refusal(tmp_path, text, reader)
    assert needle in line, line
    assert "Secret" not in line and "owned" not in line  # never a value from the file
    if name == "tab-indent":
        assert line.endswith("(indent with spaces, not tabs)")
    if name == "billion-laughs":
        assert len(text) <= 1024 and time.perf_counter() - started < 1.0


def test_an_unclosed_brace_names_where_it_opened_in_both_readers(tmp_path: Path) -> None:
    text, _ = GUARDS["unclosed-brace"]
    for reader in ("read_data", "load_roundtrip"):
        line = _refusal(tmp_path, text, reader)
        assert line.startswith("line 4, column 6: not valid YAML: ")


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty; it needs fields (key: value), one a line"),
    ("   \n# only a comment\n", "is empty; it needs fields (key: value), one a line"),
    ("- a\n", "must hold a mapping of fields (key: value) at the top"),
])
def test_an_empty_file_or_a_list_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    for load in (load_case, load_practice):
        with pytest.raises(InputError) as caught:
            load(path)
        assert caught.value.lines() == [f"{path}: {message}"]
    with pytest.raises(InputError) as caught:
        load_roundtrip(text, str(path))
    (line,) = caught.value.lines()
    assert line == f"{path}: must hold a mapping of fields (key: value) at the top"


def test_cheap_aliases_and_merge_keys_are_allowed() -> None:
    text = (
        "reviewed: &ok { reviewed: true, concern: false }\n"
        "cardiac: *ok\n"
        "liver:\n  <<: *ok\n  concern: true\n"
    )
    expected = {"reviewed": True, "concern": False}
    data = load_yaml(text, "c.yaml")
    assert data == {"reviewed": expected, "cardiac": expected,
                    "liver": {"reviewed": True, "concern": True}}
    assert load_roundtrip(text, "c.yaml") == data
    assert dump_roundtrip(load_roundtrip(text, "c.yaml")) == text


def test_the_alias_limit_counts_the_expanded_document() -> None:
    items = ", ".join(["x"] * 99)
    allowed = f"a: &a [{items}]\n" + "".join(f"k{i}: *a\n" for i in range(90))
    assert len(load_yaml(allowed, "c.yaml")) == 91  # 91 x 100 values: under the limit
    too_many = allowed + "".join(f"m{i}: *a\n" for i in range(20))
    with pytest.raises(InputError, match="aliases"):
        load_yaml(too_many, "c.yaml")
