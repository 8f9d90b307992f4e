"""The document model (a few kinds of block) and template -> blocks.

Templates own the words. A template renders to a small, closed XML vocabulary::

    <letter>
      <address><line>..</line></address>       <fields><field label="..">..</field></fields>
      <section title="..">                      <p>text with <b>bold</b> and <i>italic</i></p>
      <ul><li>..</li></ul>                      <table widths="3,2,5"><tr head="1"><td>..</td></tr>
      <quote>..</quote>   <signature/>           ..</table>
      <refs><ref n="1">..</ref></refs>
    </letter>

Jinja runs with autoescape and StrictUndefined, so a name like ``O'Brien & <Sons>`` arrives
here as escaped text and comes out literally, and a typo in a template fails loudly. The
renderer maps blocks to reportlab; the same blocks could feed DOCX or plain text later.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from coverage.compose import us_date
from coverage.errors import LetterError


class TemplateError(LetterError):
    """A template failed or produced something outside the document vocabulary."""

    exit_code = 2


@dataclass(frozen=True)
class Paragraph:
    markup: str  # reportlab inline markup: escaped text with <b>, <i>, <br/>
    style: str = "body"


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]
    header_rows: int


@dataclass(frozen=True)
class Fields:
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Address:
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Signature:
    pass


@dataclass(frozen=True)
class References:
    items: tuple[tuple[str, str], ...]


Block = Paragraph | Heading | Bullets | Table | Fields | Address | Signature | References

_INLINE = {"b", "i", "br"}


def _inline(element: ET.Element) -> str:
    """Serialise an element's mixed content as reportlab paragraph markup."""
    out = [escape(element.text or "")]
    for child in element:
        if child.tag not in _INLINE:
            raise TemplateError(f"template: <{child.tag}> is not allowed inside text")
        if child.tag == "br":
            out.append("<br/>")
        else:
            out.append(f"<{child.tag}>{_inline(child)}</{child.tag}>")
        out.append(escape(child.tail or ""))
    return " ".join("".join(out).split())


def _text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _blocks(parent: ET.Element) -> list[Block]:
    blocks: list[Block] = []
    for el in parent:
        tag = el.tag
        if tag == "section":
            blocks.append(Heading(el.get("title", "")))
            blocks.extend(_blocks(el))
        elif tag == "p":
            blocks.append(Paragraph(_inline(el), el.get("style", "body")))
        elif tag == "quote":
            blocks.append(Paragraph(_inline(el), "quote"))
        elif tag == "ul":
            blocks.append(Bullets(tuple(_inline(li) for li in el.iter("li"))))
        elif tag == "table":
            rows = tuple(tuple(_inline(td) for td in tr) for tr in el.iter("tr"))
            head = sum(1 for tr in el.iter("tr") if tr.get("head"))
            widths = tuple(float(w) for w in el.get("widths", "").split(",") if w)
            blocks.append(Table(rows, widths, head))
        elif tag == "fields":
            blocks.append(Fields(tuple((f.get("label", ""), _inline(f)) for f in el)))
        elif tag == "address":
            blocks.append(Address(tuple(_inline(line) for line in el)))
        elif tag == "signature":
            blocks.append(Signature())
        elif tag == "refs":
            blocks.append(References(tuple((r.get("n", ""), _inline(r)) for r in el)))
        else:
            raise TemplateError(f"template: <{tag}> is not a document block")
    return blocks


def parse_blocks(markup: str) -> list[Block]:
    """Template output -> blocks; anything outside the vocabulary is an error."""
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
        loaders.insert(0, FileSystemLoader(str(override)))
        environment_class = SandboxedEnvironment
    env = environment_class(
        loader=ChoiceLoader(loaders),
        auto_reload=False,  # templates do not change while a process runs: no stat per letter
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["usdate"] = us_date
    return env


def render_blocks(template_name: str, context: object, override: Path | None = None) -> list[Block]:
    """Render a letter template with ``context`` and parse it into blocks."""
    from jinja2 import TemplateError as JinjaError

    env = template_environment(override)
    try:
        markup = env.get_template(template_name).render(c=context)
    except JinjaError as exc:
        where = f" ({override})" if override else ""
        raise TemplateError(f"template {template_name}{where}: {exc}") from None
    return parse_blocks(markup)
