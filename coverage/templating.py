"""Templates own the words: a strict Jinja environment, and template output -> document blocks.

A letter template renders to a small, closed XML vocabulary::

    <letter>
      <address><line>..</line></address>       <fields><field label="..">..</field></fields>
      <section title="..">                      <p>text with <b>bold</b> and <i>italic</i></p>
      <ul><li>..</li></ul>                      <table widths="3,2,5"><tr head="1"><td>..</td></tr>
      <quote>..</quote>   <signature/>           ..</table>
      <refs><ref n="1">..</ref></refs>
    </letter>

which :func:`parse_blocks` turns into :mod:`coverage.document` blocks. Jinja runs with
autoescape and StrictUndefined, so a name like ``O'Brien & <Sons>`` arrives here as escaped
XML, comes out of the parser as the literal text, and a typo in a template fails loudly.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

from coverage import document as doc
from coverage.compose import us_date
from coverage.errors import TemplateError

_SPACE = re.compile(r"\s+")


def _runs(element: ET.Element, bold: bool = False, italic: bool = False) -> list[doc.Inline]:
    """The mixed content of an element as runs, styles inherited from the enclosing tags."""
    out: list[doc.Inline] = []
    if element.text:
        out.append(doc.Run(element.text, bold, italic))
    for child in element:
        if child.tag == "br":
            out.append(doc.LineBreak())
        elif child.tag == "b":
            out += _runs(child, True, italic)
        elif child.tag == "i":
            out += _runs(child, bold, True)
        else:
            raise TemplateError(f"template: <{child.tag}> is not allowed inside text")
        if child.tail:
            out.append(doc.Run(child.tail, bold, italic))
    return out


def _inline(element: ET.Element) -> doc.Text:
    """Inline text with white space folded as HTML does: runs of it become one space, and
    none is left at either end."""
    parts = [
        doc.Run(_SPACE.sub(" ", p.text), p.bold, p.italic) if isinstance(p, doc.Run) else p
        for p in _runs(element)
    ]
    while parts and isinstance(parts[0], doc.Run) and not parts[0].text.strip():
        parts.pop(0)
    while parts and isinstance(parts[-1], doc.Run) and not parts[-1].text.strip():
        parts.pop()
    if parts and isinstance(parts[0], doc.Run):
        parts[0] = doc.Run(parts[0].text.lstrip(), parts[0].bold, parts[0].italic)
    if parts and isinstance(parts[-1], doc.Run):
        parts[-1] = doc.Run(parts[-1].text.rstrip(), parts[-1].bold, parts[-1].italic)
    merged: list[doc.Inline] = []
    for part in parts:
        if isinstance(part, doc.Run):
            if not part.text:
                continue
            last = merged[-1] if merged else None
            if isinstance(last, doc.Run) and (last.bold, last.italic) == (part.bold, part.italic):
                merged[-1] = doc.Run(last.text + part.text, part.bold, part.italic)
                continue
        merged.append(part)
    return tuple(merged)



def _blocks(parent: ET.Element) -> list[doc.Block]:
    blocks: list[doc.Block] = []
    for el in parent:
        tag = el.tag
        if tag == "section":
            blocks.append(doc.Heading(el.get("title", "")))
            blocks.extend(_blocks(el))
        elif tag == "p":
            blocks.append(doc.Paragraph(_inline(el), el.get("style", "body")))
        elif tag == "quote":
            blocks.append(doc.Paragraph(_inline(el), "quote"))
        elif tag == "ul":
            blocks.append(doc.Bullets(tuple(_inline(li) for li in el.iter("li"))))
        elif tag == "table":
            rows = tuple(tuple(_inline(td) for td in tr) for tr in el.iter("tr"))
            head = sum(1 for tr in el.iter("tr") if tr.get("head"))
            widths = tuple(float(w) for w in el.get("widths", "").split(",") if w)
            blocks.append(doc.Table(rows, widths, head))
        elif tag == "fields":
            blocks.append(doc.Fields(tuple((f.get("label", ""), _inline(f)) for f in el)))
        elif tag == "address":
            blocks.append(doc.Address(tuple(_inline(line) for line in el)))
        elif tag == "signature":
            blocks.append(doc.Signature())
        elif tag == "refs":
            blocks.append(doc.References(tuple((r.get("n", ""), _inline(r)) for r in el)))
        else:
            raise TemplateError(f"template: <{tag}> is not a document block")
    return blocks


def parse_blocks(markup: str) -> list[doc.Block]:
    """Template output -> blocks; anything outside the vocabulary is an error."""
    if "<!DOCTYPE" in markup or "<!ENTITY" in markup:
        raise TemplateError("template produced a DOCTYPE or ENTITY declaration: not allowed")
    try:
        root = ET.fromstring(markup)
    except ET.ParseError as exc:
        raise TemplateError(f"template produced malformed markup: {exc}") from None
    return _blocks(root)


def templates_folder() -> Path:
    """The shipped templates: installed as coverage/templates, or ../templates in a checkout."""
    installed = Path(__file__).parent / "templates"
    return installed if installed.is_dir() else Path(__file__).parent.parent / "templates"


@cache
def template_environment(override: Path | None = None):
    """A strict Jinja environment: autoescape, StrictUndefined, no computing in templates.

    The shipped templates run in a plain environment. With ``override`` (a clinic's own
    template folder, searched first) everything renders in a SandboxedEnvironment, because
    those templates come from outside the project.
    """
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    loaders = [FileSystemLoader(str(templates_folder()))]
    environment_class = Environment
    if override is not None:
        loaders.insert(0, _confined_loader(override))
        environment_class = SandboxedEnvironment
    env = environment_class(
        loader=ChoiceLoader(loaders),
        # the shipped templates do not change while a process runs (no stat per letter); a
        # clinic's own may be edited while a long-lived process (a batch, the web) runs
        auto_reload=override is not None,
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["usdate"] = us_date
    return env


def _confined_loader(folder: Path):
    """A loader for a clinic's folder that refuses a file resolving outside it (a link to
    /etc/passwd is not a template)."""
    from jinja2 import FileSystemLoader

    root = Path(folder).resolve()

    class ConfinedLoader(FileSystemLoader):
        def get_source(self, environment, template):
            source, filename, uptodate = super().get_source(environment, template)
            if not Path(filename).resolve().is_relative_to(root):
                raise TemplateError(f"template {template}: resolves outside the templates "
                                    f"folder {folder}; copy the file into the folder instead")
            return source, filename, uptodate

    return ConfinedLoader(str(folder))


def render_blocks(template_name: str, context: object, override: Path | None = None
                  ) -> list[doc.Block]:
    """Render a letter template with ``context`` and parse it into blocks.

    A clinic's templates (``override``) render confined (:mod:`coverage.template_sandbox`):
    bounded in time, memory and output. Any failure names the template and line.
    """
    from coverage.template_sandbox import render_confined, render_here

    folders = [templates_folder()]
    if override is not None:
        override = Path(override)
        if not override.is_dir():
            raise TemplateError(f"--templates {override}: "
                                f"{'is not a folder' if override.exists() else 'not found'}; "
                                "give the folder holding the clinic's templates")
        folders.insert(0, override)
        markup = render_confined(template_environment(override), template_name, context,
                                 folders)
    else:
        markup = render_here(template_environment(None), template_name, context, folders)
    return parse_blocks(markup)
