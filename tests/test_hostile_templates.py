"""A clinic's templates (issue 16): any failure named with template and line, bounded in time,
memory, recursion and output; the folder must exist; no file from outside it."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest

from coverage import pipeline, template_sandbox
from coverage.errors import TemplateError
from coverage.templating import template_environment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def inputs():
    return pipeline.load_inputs(EXAMPLES / "crps-1.yaml")


def _render(inputs, folder: Path, body: str):
    folder.mkdir(exist_ok=True)
    (folder / "lmn.xml.j2").write_text(body, encoding="utf-8")
    template_environment.cache_clear()
    return pipeline.make_letter(inputs, TODAY, templates=folder)


@pytest.mark.parametrize(("body", "needle"), [
    ("<letter>\n<p>{{ 1 // 0 }}</p></letter>", "line 2: ZeroDivisionError"),
    ("<letter>\n\n<p>{{ c.nothing_here }}</p></letter>", "line 3: UndefinedError"),
    ("<letter><p>{{ c.__class__.__mro__ }}</p></letter>", "SecurityError"),
    ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}<letter>{{ f(0) }}</letter>", "recursion"),
    ("<letter>{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}</letter>",
     "output larger than"),
    ("<letter><p>{{ 'x' * 10000000000 }}</p></letter>", "memory"),
    ("<letter><p>{% if %}</p></letter>", "line 1"),
])
def test_any_failure_is_named_with_template_and_line(inputs, tmp_path, body, needle):
    with pytest.raises(TemplateError) as raised:
        _render(inputs, tmp_path / "t", body)
    assert "lmn.xml.j2" in str(raised.value) and needle in str(raised.value), raised.value


def test_a_loop_without_end_is_stopped_in_time(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(template_sandbox, "MAX_SECONDS", 2)
    body = ("<letter>{% for i in range(100000) %}{% for j in range(100000) %}"
            "{% endfor %}{% endfor %}</letter>")
    started = time.monotonic()
    with pytest.raises(TemplateError, match="ran out of time or memory"):
        _render(inputs, tmp_path / "t", body)
    assert time.monotonic() - started < 10


def test_a_templates_folder_that_does_not_exist_is_an_error(inputs, tmp_path, run_cli):
    with pytest.raises(TemplateError, match="not found"):
        pipeline.make_letter(inputs, TODAY, templates=tmp_path / "missing")
    result = run_cli("letter", EXAMPLES / "crps-1.yaml", "--templates", tmp_path / "missing",
                     "-o", tmp_path / "x.pdf")
    assert result.code == 2 and "not found" in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_a_link_out_of_the_templates_folder_is_refused(inputs, tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "lmn.xml.j2").write_text('<letter><p>{% include "secret.j2" %}</p></letter>')
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0")
    os.symlink(outside, folder / "secret.j2")
    template_environment.cache_clear()
    with pytest.raises(TemplateError, match="outside the templates folder"):
        pipeline.make_letter(inputs, TODAY, templates=folder)


def test_a_clinic_template_that_works_still_makes_the_letter(inputs, tmp_path):
    shipped = (ROOT / "templates" / "lmn.xml.j2").read_text(encoding="utf-8")
    letter = _render(inputs, tmp_path / "t", shipped)
    assert letter.pdf.startswith(b"%PDF")
    template_environment.cache_clear()
    assert letter.pdf == pipeline.make_letter(inputs, TODAY).pdf
