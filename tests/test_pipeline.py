"""The one pipeline: kinds, formats, recording, the schema version and the folder layout."""

from __future__ import annotations

import io
import os
import shutil
import stat
import sys
import types
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from coverage import pipeline, renderers
from coverage.audit import events
from coverage.case import SCHEMA_VERSION
from coverage.document import Heading
from coverage.errors import AuditError, InputError, UsageError
from coverage.kinds import LetterKind
from coverage.renderers import Format, Rendered, parse_formats
from coverage.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
TODAY = date(2026, 11, 30)


def copy_case(folder: Path, name: str = "crps-1.yaml") -> Path:
    shutil.copy(EXAMPLES / "practice.yaml", folder / "practice.yaml")
    return Path(shutil.copy(EXAMPLES / name, folder / name))


# --------------------------------------------------------------------------- kinds


def test_a_kind_carries_its_template_title_and_rule() -> None:
    lmn = pipeline.load_inputs(EXAMPLES / "crps-1.yaml")
    appeal = pipeline.load_inputs(EXAMPLES / "appeals" / "experimental.yaml")
    assert LetterKind.for_case(lmn.case) is LetterKind.LMN
    assert LetterKind.for_case(appeal.case) is LetterKind.APPEAL
    assert pipeline.choose_kind(appeal, None) is LetterKind.APPEAL
    assert pipeline.choose_kind(appeal, "lmn") is LetterKind.LMN
    assert LetterKind.APPEAL.template == "appeal.xml.j2"
    assert (REPO / "templates" / LetterKind.LMN.template).is_file()
    assert LetterKind.LMN.title == "Letter of medical necessity"
    assert LetterKind.parse("auto") is None and LetterKind.parse(" Appeal ") is LetterKind.APPEAL
    with pytest.raises(UsageError, match="--kind: 'retro' is not one of auto, lmn, appeal"):
        LetterKind.parse("retro")


# --------------------------------------------------------------------------- formats


def test_formats_parse_from_names_aliases_and_lists() -> None:
    assert [f.name for f in parse_formats("pdf")] == ["pdf"]
    assert [f.name for f in parse_formats("both")] == ["pdf", "docx"]
    assert [f.name for f in parse_formats("txt,pdf")] == ["pdf", "txt"]
    assert [f.name for f in parse_formats("all")] == list(renderers.FORMATS)
    with pytest.raises(UsageError, match="'odt' is not one of pdf, docx, txt"):
        parse_formats("pdf,odt")


def test_one_document_feeds_every_format_with_the_same_words() -> None:
    inputs = pipeline.load_inputs(EXAMPLES / "crps-1.yaml")
    letter = pipeline.make_letter(inputs, TODAY, formats=parse_formats("pdf,txt"))
    assert set(letter.outputs) == {"pdf", "txt"}
    text = letter.outputs["txt"].data.decode("utf-8")
    pdf_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(letter.pdf)).pages)
    for phrase in ("Maria Alvarez", "G90.521", "Ketamine hydrochloride injection is FDA"):
        assert phrase in text and phrase in " ".join(pdf_text.split())


def test_a_new_renderer_needs_only_its_module_and_one_registration(monkeypatch) -> None:
    """What a newcomer writes for a fourth format: a module and one line in FORMATS."""
    module = types.ModuleType("coverage_test_shout")
    module.new_state = lambda: None
    module.render = lambda document, state: Rendered(
        "\n".join(b.text.upper() for b in document.blocks if isinstance(b, Heading)).encode())
    monkeypatch.setitem(sys.modules, "coverage_test_shout", module)
    shout = Format("shout", ".shout", "text/plain", "coverage_test_shout", False, "headings")
    monkeypatch.setitem(renderers.FORMATS, "shout", shout)
    inputs = pipeline.load_inputs(EXAMPLES / "crps-1.yaml")
    letter = pipeline.make_letter(inputs, TODAY, formats=parse_formats("shout"))
    headings = [b.text for b in letter.document.blocks if isinstance(b, Heading)]
    assert letter.outputs["shout"].data.decode().splitlines() == [h.upper() for h in headings]
    assert len(headings) > 5


# --------------------------------------------------------------------------- record


def test_each_output_is_written_private_and_audited_once(tmp_path, audit_log) -> None:
    case = copy_case(tmp_path)
    inputs = pipeline.load_inputs(case)
    letter = pipeline.make_letter(inputs, TODAY, formats=parse_formats("pdf,txt"))
    paths = {"pdf": tmp_path / "a.pdf", "txt": tmp_path / "a.txt"}
    pipeline.record(pipeline.outputs_for(letter, paths), inputs, command="lmn",
                    kind=LetterKind.LMN)
    for path in paths.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    recorded = events(audit_log)
    assert [(e.command, e.kind) for e in recorded] == [("lmn", "lmn"), ("lmn", "lmn")]
    from coverage.files import sha256_file

    assert {e.output_sha256 for e in recorded} == {sha256_file(p) for p in paths.values()}


def test_an_output_the_audit_log_cannot_record_is_not_left_behind(tmp_path, audit_log):
    """A damaged log stops the command before anything is replaced: the old files stay."""
    case = copy_case(tmp_path)
    inputs = pipeline.load_inputs(case)
    letter = pipeline.make_letter(inputs, TODAY, formats=parse_formats("pdf,txt"))
    audit_log.parent.mkdir(parents=True, exist_ok=True)
    audit_log.write_bytes(b"this is not a database" * 100)
    paths = {"pdf": tmp_path / "a.pdf", "txt": tmp_path / "a.txt"}
    paths["pdf"].write_bytes(b"yesterday's letter")
    with pytest.raises(AuditError, match="damaged"):
        pipeline.record(pipeline.outputs_for(letter, paths), inputs, command="lmn",
                        kind=LetterKind.LMN)
    assert paths["pdf"].read_bytes() == b"yesterday's letter"
    assert not paths["txt"].exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_letter_writes_every_format_asked_for(tmp_path, run_cli, audit_log) -> None:
    case = copy_case(tmp_path)
    result = run_cli("letter", case, "-o", tmp_path / "out.pdf", "--format", "pdf,txt")
    assert result.code == 0, result.output
    assert (tmp_path / "out.pdf").read_bytes().startswith(b"%PDF")
    assert "Maria Alvarez" in (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert f"wrote {tmp_path / 'out.txt'}" in result.stdout
    assert len(events(audit_log)) == 2


def test_an_unknown_format_is_a_clear_usage_error(tmp_path, run_cli) -> None:
    case = copy_case(tmp_path)
    result = run_cli("letter", case, "--format", "odt")
    assert result.code == 2
    assert "--format: 'odt' is not one of" in result.stderr and "Traceback" not in result.output
    assert not list(tmp_path.glob("*-lmn*"))


def test_only_a_pdf_can_be_signed(tmp_path, run_cli) -> None:
    case = copy_case(tmp_path)
    result = run_cli("sign", case, "-o", tmp_path / "s.docx", "--format", "docx")
    assert result.code == 2
    assert "cannot carry a digital signature; only the PDF is signed" in result.stderr
    assert not (tmp_path / "s.docx").exists()


# --------------------------------------------------------------------------- schema version


def test_a_case_without_a_schema_version_is_read_as_the_current_one() -> None:
    assert "schema_version" not in (EXAMPLES / "crps-1.yaml").read_text()
    assert pipeline.load_inputs(EXAMPLES / "crps-1.yaml").case.schema_version == SCHEMA_VERSION


def test_a_case_from_a_newer_tool_is_refused_by_name(tmp_path) -> None:
    case = copy_case(tmp_path)
    case.write_text(f"schema_version: {SCHEMA_VERSION + 1}\n" + case.read_text())
    with pytest.raises(InputError) as caught:
        pipeline.load_inputs(case)
    line = caught.value.lines()[0]
    assert "schema_version" in line and "update ketamine-letters" in line


# --------------------------------------------------------------------------- folder layout


def test_the_workspace_layout_and_its_private_state_folder(tmp_path) -> None:
    (tmp_path / "cases").mkdir()
    shutil.copy(EXAMPLES / "practice.yaml", tmp_path / "practice.yaml")
    workspace = Workspace.around(tmp_path / "cases")
    assert workspace == Workspace.around(tmp_path) == Workspace(tmp_path)
    assert workspace.letters == tmp_path / "letters"
    assert workspace.withdrawn == tmp_path / "letters" / "withdrawn"
    assert workspace.practice == tmp_path / "practice.yaml"
    old = os.umask(0)
    try:
        folder = workspace.state_folder("imports")
    finally:
        os.umask(old)
    assert folder == tmp_path / ".ketamine-letters" / "imports"
    for level in (tmp_path / ".ketamine-letters", folder):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700
    assert Workspace.around(tmp_path / "letters") is None


def test_each_format_gets_its_own_suffix_whatever_the_output_name(tmp_path, run_cli) -> None:
    case = copy_case(tmp_path)
    result = run_cli("letter", case, "-o", tmp_path / "w.docx", "--format", "both")
    assert result.code == 0, result.output
    assert (tmp_path / "w.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "w.docx").read_bytes().startswith(b"PK")
    result = run_cli("letter", case, "-o", tmp_path / "only.pdf", "--format", "docx")
    assert result.code == 0 and (tmp_path / "only.docx").exists()
    assert not (tmp_path / "only.pdf").exists()


def test_the_audit_log_names_the_command_and_the_kind(tmp_path, run_cli, audit_log) -> None:
    case = copy_case(tmp_path)
    assert run_cli("letter", case, "-o", tmp_path / "l.pdf").code == 0
    assert [(e.command, e.kind) for e in events(audit_log)] == [("letter", "lmn")]


def test_audit_with_a_mistyped_log_path_says_so(tmp_path, run_cli) -> None:
    result = run_cli("audit", "--log", tmp_path / "nowhere" / "audit.sqlite3")
    assert result.code == 2 and "no audit log here" in result.stderr
    assert not (tmp_path / "nowhere").exists()


EXAMPLE_CASES = sorted(p for p in EXAMPLES.rglob("*.yaml") if p.name != "practice.yaml")


@pytest.mark.parametrize("path", EXAMPLE_CASES, ids=lambda p: p.relative_to(EXAMPLES).as_posix())
def test_examples_follow_the_naming_convention(path: Path) -> None:
    """blocked-*.yaml shows a refusal; every other example produces its letter."""
    inputs = pipeline.load_inputs(path)
    kind = pipeline.choose_kind(inputs, None)
    result = pipeline.review(inputs, TODAY, kind)
    if path.name.startswith("blocked-"):
        assert not result.ok
    else:
        assert result.ok, [f.code for f in result.blocking]
        assert pipeline.make_letter(inputs, TODAY, kind).pdf.startswith(b"%PDF")


def test_every_example_letter_is_pinned_by_the_golden_test() -> None:
    import json

    golden = json.loads((REPO / "tests" / "data" / "golden-letters.json").read_text())
    pinned = {key.rsplit(":", 1)[0] for key in golden["letters"]}
    letters = {p.relative_to(REPO).as_posix() for p in EXAMPLE_CASES
               if not p.name.startswith("blocked-")}
    assert pinned == letters
