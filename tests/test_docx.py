"""The Word renderer: the editable, never signed draft of a letter.

The DOCX is read back with python-docx and with zipfile + XML (not with the renderer's own
code), and, where LibreOffice is installed, printed to PDF to check what a reader would see.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path
from xml.etree import ElementTree as ET

import docx
import pytest
from docx.text.paragraph import Paragraph as DocxParagraph

from coverage import document as doc
from coverage import render_docx
from coverage.document import (
    CONFIDENTIAL,
    WATERMARK_EDITABLE,
    Document,
    Furniture,
    SignatureText,
    plain,
)
from coverage.renderers import FORMATS

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 30)
NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "v": "urn:schemas-microsoft-com:vml",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
}
W = f"{{{NS['w']}}}"
R = f"{{{NS['r']}}}"
V = f"{{{NS['v']}}}"
VIETNAMESE = "Nguy\u1ec5n Th\u1ecb \u0110o\xe0n"  # Nguyễn Thị Đoàn, composed (NFC)
PAYER = "O'Brien & <Sons>"


def letter_document(path: Path, kind: str) -> Document:
    """The document model of one example letter, exactly as the pipeline makes it."""
    from coverage.pipeline import load_inputs, make_letter

    return make_letter(load_inputs(path), TODAY, kind, force=True).document


def _examples() -> list[tuple[str, Path, str]]:
    cases = sorted(p for p in (ROOT / "examples").glob("*.yaml")
                   if p.name != "practice.yaml" and not p.name.startswith("blocked-"))
    appeals = sorted(p for p in (ROOT / "examples" / "appeals").glob("*.yaml")
                     if not p.name.startswith("blocked-"))
    return ([(f"{p.stem}-lmn", p, "lmn") for p in cases]
            + [(f"{p.stem}-appeal", p, "appeal") for p in appeals])


EXAMPLES = _examples()
NAMES = [name for name, _, _ in EXAMPLES]


@pytest.fixture(scope="module")
def letters() -> dict[str, tuple[Document, bytes]]:
    """Every example letter: its document model and its DOCX (one shared renderer state)."""
    state = render_docx.new_state()
    out = {}
    for name, path, kind in EXAMPLES:
        document = letter_document(path, kind)
        out[name] = (document, render_docx.render(document, state).data)
    return out


def _furniture(**changes) -> Furniture:
    base = dict(letterhead_name="Clinic", letterhead_lines=("1 Main St",), header="HEADER",
                footer="FOOTER", title="Title", author="Dr A", subject="Subject",
                keywords="k", created=date(2026, 11, 2))
    return Furniture(**{**base, **changes})


def _render(blocks, furniture: Furniture | None = None,
            signature: SignatureText | None = None) -> bytes:
    document = Document(tuple(blocks), furniture or _furniture(),
                        signature or SignatureText(("Dr Test, MD",)))
    return render_docx.render(document, None).data


def _part(data: bytes, name: str) -> ET.Element:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return ET.fromstring(package.read(name))


def _body_texts(data: bytes) -> list[str]:
    """Every non-empty paragraph of the body, tables included, in document order."""
    body = docx.Document(io.BytesIO(data)).element.body
    texts = (DocxParagraph(p, None).text for p in body.iter(f"{W}p"))
    return [text for text in texts if text]


def _model_texts(document: Document) -> list[str]:
    """What the body must say, block by block, as the PDF prints it."""
    furniture = document.furniture
    out = [furniture.letterhead_name, *furniture.letterhead_lines]
    for block in document.blocks:
        if isinstance(block, doc.Heading):
            out.append(block.text)
        elif isinstance(block, doc.Paragraph):
            out.append(plain(block.text))
        elif isinstance(block, doc.Bullets):
            out += [plain(item) for item in block.items]
        elif isinstance(block, doc.Table):
            out += [plain(cell) for row in block.rows for cell in row]
        elif isinstance(block, doc.Fields):
            for label, value in block.pairs:
                out += [label, plain(value)]
        elif isinstance(block, doc.Address):
            out += [plain(line) for line in block.lines]
        elif isinstance(block, doc.Signature):
            out += list(document.signature.lines)
        elif isinstance(block, doc.References):
            out += [f"{number}.\t{plain(text)}" for number, text in block.items]
    return [text for text in out if text]


# --- content -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_every_example_says_what_the_document_says_in_order(letters, name) -> None:
    document, data = letters[name]
    assert _body_texts(data) == _model_texts(document)


def test_the_examples_cover_every_block_type(letters) -> None:
    kinds = {type(block) for document, _ in letters.values() for block in document.blocks}
    assert kinds >= {doc.Paragraph, doc.Heading, doc.Bullets, doc.Table, doc.Fields,
                     doc.Address, doc.Signature, doc.References}
    assert any(name.endswith("-appeal") for name in letters)


def test_bold_and_line_breaks_come_through() -> None:
    text = (doc.Run("Plain "), doc.Run("strong", bold=True), doc.LineBreak(),
            doc.Run("slanted", italic=True))
    body = _part(_render([doc.Paragraph(text)]), "word/document.xml")
    paragraph = next(p for p in body.iter(f"{W}p") if "strong" in "".join(p.itertext()))
    runs = paragraph.findall("w:r", NS)
    assert [r.find("w:rPr/w:b", NS) is not None for r in runs] == [False, True, False, False]
    assert runs[2].find("w:br", NS) is not None
    assert runs[3].find("w:rPr/w:i", NS) is not None


def test_bullets_are_a_real_bulleted_list(letters) -> None:
    document, data = letters["crps-1-lmn"]
    items = {plain(i) for b in document.blocks if isinstance(b, doc.Bullets) for i in b.items}
    assert items
    numbering = _part(data, "word/numbering.xml")
    formats = {
        num.get(f"{W}numId"): numbering.find(
            f"w:abstractNum[@w:abstractNumId='{num.find('w:abstractNumId', NS).get(f'{W}val')}']"
            "/w:lvl/w:numFmt", NS).get(f"{W}val")
        for num in numbering.findall("w:num", NS)
    }
    listed = set()
    for paragraph in _part(data, "word/document.xml").iter(f"{W}p"):
        num = paragraph.find("w:pPr/w:numPr/w:numId", NS)
        if num is not None:
            assert formats[num.get(f"{W}val")] == "bullet"
            listed.add("".join(paragraph.itertext()))
    assert listed == items


def test_references_keep_their_numbers(letters) -> None:
    document, data = letters["crps-1-lmn"]
    refs = next(b for b in document.blocks if isinstance(b, doc.References))
    texts = _body_texts(data)
    assert [t.split("\t")[0] for t in texts if "\t" in t] == [f"{n}." for n, _ in refs.items]


# --- tables --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["crps-1-lmn", "step-therapy-appeal"])
def test_tables_are_word_tables_with_repeated_header_rows(letters, name) -> None:
    document, data = letters[name]
    model = [b for b in document.blocks if isinstance(b, doc.Table | doc.Fields)]
    tables = _part(data, "word/document.xml").findall("w:body/w:tbl", NS)
    assert len(tables) == len(model) and any(isinstance(b, doc.Table) for b in model)
    for block, table in zip(model, tables, strict=True):
        rows = table.findall("w:tr", NS)
        cells = [["".join(tc.itertext()) for tc in tr.findall("w:tc", NS)] for tr in rows]
        if isinstance(block, doc.Fields):
            assert cells == [[label, plain(value)] for label, value in block.pairs]
            continue
        assert cells == [[plain(cell) for cell in row] for row in block.rows]
        repeated = [tr.find("w:trPr/w:tblHeader", NS) is not None for tr in rows]
        assert repeated == [i < block.header_rows for i in range(len(rows))]
        borders = table.find("w:tblPr/w:tblBorders", NS)
        assert {b.tag.removeprefix(W): b.get(f"{W}val") for b in borders} == {
            side: "single" for side in ("top", "left", "bottom", "right", "insideH", "insideV")}
        grid = [int(c.get(f"{W}w")) for c in table.findall("w:tblGrid/w:gridCol", NS)]
        total = sum(block.widths)
        assert grid == pytest.approx([sum(grid) * w / total for w in block.widths], abs=2)
        assert sum(grid) == render_docx.CONTENT_WIDTH


# --- page furniture --------------------------------------------------------------------------

def _header_footer(data: bytes) -> tuple[ET.Element, ET.Element]:
    """The header and footer the body's only section uses on every page."""
    section = _part(data, "word/document.xml").findall(".//w:sectPr", NS)
    assert len(section) == 1 and section[0].find("w:titlePg", NS) is None
    rels = {r.get("Id"): r.get("Target")
            for r in _part(data, "word/_rels/document.xml.rels").findall("rel:Relationship", NS)}
    refs = {ref.tag: ref for ref in section[0] if ref.tag.endswith("Reference")}
    assert {ref.get(f"{W}type") for ref in refs.values()} == {"default"}
    return tuple(_part(data, "word/" + rels[refs[f"{W}{kind}Reference"].get(f"{R}id")])
                 for kind in ("header", "footer"))


def test_every_page_has_the_patient_line_page_x_of_y_and_the_confidential_note(letters) -> None:
    document, data = letters["crps-1-lmn"]
    header, footer = _header_footer(data)
    header_text = "".join(header.itertext())
    assert header_text.startswith(document.furniture.header)
    fields = [f.get(f"{W}instr").split()[0] for f in header.iter(f"{W}fldSimple")]
    fields += [t.text.split()[0] for t in header.iter(f"{W}instrText") if t.text.strip()]
    assert fields == ["PAGE", "NUMPAGES"]
    assert "Page" in header_text and " of " in header_text
    footer_text = "".join(footer.itertext())
    assert document.furniture.footer in footer_text and CONFIDENTIAL in footer_text


def test_the_watermark_is_a_vml_text_path_in_the_header_even_when_marked_signed() -> None:
    data = _render([doc.Paragraph((doc.Run("Body"),))], _furniture(draft=False))
    header, _ = _header_footer(data)
    shape = next(header.iter(f"{V}shape"))
    path = shape.find("v:textpath", NS)
    assert path.get("string") == WATERMARK_EDITABLE
    rotation = int(re.search(r"rotation:(-?\d+)", shape.get("style")).group(1))
    assert rotation % 90 != 0  # diagonal
    grey = shape.get("fillcolor").lstrip("#")
    assert len({grey[i:i + 2] for i in (0, 2, 4)}) == 1 and int(grey[:2], 16) >= 0xB0
    assert "z-index:-" in shape.get("style")  # behind the text
    assert WATERMARK_EDITABLE not in "".join(_part(data, "word/document.xml").itertext())


def test_properties_say_editable_draft_and_carry_the_letter_date(letters) -> None:
    document, data = letters["off-label-appeal"]
    furniture = document.furniture
    core = docx.Document(io.BytesIO(data)).core_properties
    assert (core.title, core.author, core.subject, core.keywords) == (
        furniture.title, furniture.author, furniture.subject, furniture.keywords)
    assert "editable" in core.comments.lower() and "not signed" in core.comments.lower()
    assert "signature" in core.comments.lower()
    assert core.created.date() == core.modified.date() == furniture.created
    assert furniture.created != TODAY  # the letter's own date, not the day it was made


def test_the_signature_block_is_never_signed() -> None:
    signature = SignatureText(("Dr Test, MD", "Pain Medicine"), signed_lines=("Signed by X",),
                              image=str(ROOT / "examples" / "signature-dr-chen.png"))
    blocks = [doc.Paragraph((doc.Run("I attest."),)), doc.Signature(), doc.Paragraph(
        (doc.Run("Enclosures"),))]
    data = _render(blocks, signature=signature)
    texts = _body_texts(data)
    assert texts[-4:] == ["I attest.", "Dr Test, MD", "Pain Medicine", "Enclosures"]
    assert not any("Signed by" in t for t in texts)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert not [n for n in package.namelist() if n.startswith("word/media")]
    body = _part(data, "word/document.xml")
    assert body.find(".//w:drawing", NS) is None and body.find(".//w:pict", NS) is None
    line = [p for p in body.iter(f"{W}p") if p.find("w:pPr/w:pBdr/w:bottom", NS) is not None]
    assert line and not "".join(line[-1].itertext())  # a blank line to sign on


# --- text and fonts ------------------------------------------------------------------------

def test_names_print_exactly_in_the_unicode_example(letters) -> None:
    document, data = letters["unicode-names-lmn"]
    assert VIETNAMESE in document.furniture.header
    texts = _body_texts(data)
    assert any(VIETNAMESE in t for t in texts) and any(PAYER in t for t in texts)
    header, _ = _header_footer(data)
    assert VIETNAMESE in "".join(header.itertext())


def test_markup_characters_and_control_characters_print_literally() -> None:
    name = f"{PAYER} Plan"
    furniture = _furniture(header=f"{VIETNAMESE} · {PAYER}", footer=PAYER, title=PAYER)
    blocks = [doc.Heading(PAYER), doc.Paragraph((doc.Run(name),)),
              doc.Table((((doc.Run(PAYER),),),), (1.0,), 1),
              doc.Paragraph((doc.Run("bell\x07 and\x00 nul\x0b"),))]
    data = _render(blocks, furniture)
    texts = _body_texts(data)
    assert texts[2:6] == [PAYER, name, PAYER, "bell and nul"]
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        raw = package.read("word/document.xml").decode()
    assert "O'Brien &amp; &lt;Sons&gt; Plan" in raw
    header, footer = _header_footer(data)
    assert f"{VIETNAMESE} · {PAYER}" in "".join(header.itertext())
    assert PAYER in "".join(footer.itertext())
    assert docx.Document(io.BytesIO(data)).core_properties.title == PAYER


def _font_names(data: bytes) -> set[str]:
    names = set()
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for part in package.namelist():
            if part.endswith(".xml"):
                for fonts in ET.fromstring(package.read(part)).iter(f"{W}rFonts"):
                    names |= {v for k, v in fonts.attrib.items() if "theme" not in k.lower()}
                    assert not any("theme" in k.lower() for k in fonts.attrib), part
    return names


def test_every_run_is_noto_sans(letters) -> None:
    _, data = letters["unicode-names-lmn"]
    assert _font_names(data) == {"Noto Sans"}
    defaults = _part(data, "word/styles.xml").find("w:docDefaults/w:rPrDefault/w:rPr/w:rFonts",
                                                    NS)
    assert {k.removeprefix(W) for k in defaults.attrib} == {"ascii", "hAnsi", "eastAsia", "cs"}


def _embedded(data: bytes) -> dict[str, bytes]:
    """Embedded faces, de-obfuscated by ECMA-376 Part 1 17.8.1 (the key's bytes in reverse)."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.namelist()[0] == "[Content_Types].xml"
        types = ET.fromstring(package.read("[Content_Types].xml"))
        settings = ET.fromstring(package.read("word/settings.xml"))
        assert settings.find("w:embedTrueTypeFonts", NS) is not None
        table = ET.fromstring(package.read("word/fontTable.xml"))
        rels = {r.get("Id"): r for r in ET.fromstring(
            package.read("word/_rels/fontTable.xml.rels")).findall("rel:Relationship", NS)}
        out = {}
        font = table.find("w:font[@w:name='Noto Sans']", NS)
        for embed in font:
            if not embed.tag.startswith(f"{W}embed"):
                continue
            rel = rels[embed.get(f"{R}id")]
            assert rel.get("Type").endswith("/relationships/font")
            name = "word/" + rel.get("Target")
            extension = name.rsplit(".", 1)[1]
            kind = types.find(f"ct:Default[@Extension='{extension}']", NS)
            assert kind.get("ContentType") == (
                "application/vnd.openxmlformats-officedocument.obfuscatedFont")
            key = bytes.fromhex(re.sub(r"[{}-]", "", embed.get(f"{W}fontKey")))[::-1]
            stored = package.read(name)
            head = bytes(b ^ key[i % 16] for i, b in enumerate(stored[:32]))
            out[embed.tag.removeprefix(f"{W}embed")] = head + stored[32:]
    return out


def test_the_noto_sans_faces_are_embedded_obfuscated(letters) -> None:
    _, data = letters["crps-1-lmn"]
    fonts = _embedded(data)
    shipped = ROOT / "coverage" / "fonts"
    assert set(fonts) == {"Regular", "Bold"}  # the letter has no italics: no italic faces
    for face, font in fonts.items():
        assert font.startswith(b"\x00\x01\x00\x00")
        assert font == (shipped / f"NotoSans-{face}.ttf").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        stored = package.read("word/fonts/font1.odttf")
    assert not stored.startswith(b"\x00\x01\x00\x00")  # obfuscated, not plain


def test_italic_text_embeds_the_italic_faces() -> None:
    text = (doc.Run("a", italic=True), doc.Run("b", bold=True, italic=True))
    fonts = _embedded(_render([doc.Paragraph(text)]))
    assert set(fonts) == {"Regular", "Bold", "Italic", "BoldItalic"}
    assert fonts["Italic"] == (ROOT / "coverage/fonts/NotoSans-Italic.ttf").read_bytes()


# --- output ----------------------------------------------------------------------------------

def test_the_same_inputs_give_the_same_bytes(letters) -> None:
    document, data = letters["pdpn-lmn"]
    again = letter_document(ROOT / "examples" / "pdpn.yaml", "lmn")  # made anew
    assert render_docx.render(again, None).data == data  # fresh state, shared state
    assert render_docx.render(document, render_docx.new_state()).data == data
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.testzip() is None
        stamps = {info.date_time for info in package.infolist()}
    assert stamps == {(*document.furniture.created.timetuple()[:3], 0, 0, 0)}


def test_the_registry_serves_this_renderer(letters) -> None:
    document, _ = letters["crps-1-lmn"]
    module = FORMATS["docx"].renderer()
    rendered = module.render(document, module.new_state())
    assert (rendered.pages, rendered.signature) == (None, None)
    assert rendered.data.startswith(b"PK\x03\x04")
    assert not FORMATS["docx"].signable


# --- LibreOffice: what a reader sees -----------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(
    SOFFICE is None, reason="LibreOffice (soffice) is not installed: apt-get install "
    "libreoffice-writer-nogui to print the DOCX and check pages, names and fonts")


@pytest.fixture(scope="module")
def printed(letters, tmp_path_factory) -> dict[str, Path]:
    """Every example DOCX printed to PDF by LibreOffice, in one run with its own profile."""
    folder = tmp_path_factory.mktemp("docx-print")
    for name, (_, data) in letters.items():
        (folder / f"{name}.docx").write_bytes(data)
    profile = folder / "profile"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to",
         "pdf", "--outdir", str(folder), *sorted(str(p) for p in folder.glob("*.docx"))],
        check=True, capture_output=True, timeout=600, env={**os.environ, "HOME": str(folder)})
    return {name: folder / f"{name}.pdf" for name in letters}


def _noto_installed() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    listed = subprocess.run([fc_list, ":family"], capture_output=True, text=True, check=False)
    return "Noto Sans" in listed.stdout.split("\n") or "Noto Sans," in listed.stdout


@needs_soffice
def test_libreoffice_prints_as_many_pages_as_the_pdf_give_or_take_one(letters, printed) -> None:
    from pypdf import PdfReader

    from coverage import render_pdf

    for name, (document, _) in letters.items():
        expected = render_pdf.render(document).pages
        pages = PdfReader(printed[name]).pages
        assert abs(len(pages) - expected) <= 1, (name, len(pages), expected)
        for number, page in enumerate(pages, start=1):  # the PAGE and NUMPAGES fields
            assert f"Page {number} of {len(pages)}" in page.extract_text(), (name, number)


@needs_soffice
def test_libreoffice_prints_the_names_in_the_embedded_noto_sans(printed) -> None:
    from pypdf import PdfReader

    reader = PdfReader(printed["unicode-names-lmn"])
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert VIETNAMESE in text and PAYER in text
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    assert fonts and all(font.startswith("NotoSans") for font in fonts), fonts


@needs_soffice
def test_libreoffice_uses_the_embedded_fonts_when_the_system_has_none(tmp_path) -> None:
    """A letter whose text is only in Noto Sans prints in Noto Sans on a machine without it."""
    from pypdf import PdfReader

    if _noto_installed():
        pytest.skip("Noto Sans is installed here: LibreOffice would find it without the "
                    "embedded copy, so this machine cannot show that the embedding works")
    source = tmp_path / "letter.docx"
    source.write_bytes(_render([doc.Paragraph((doc.Run(VIETNAMESE, bold=True),))]))
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=300, env={**os.environ, "HOME": str(tmp_path)})
    page = PdfReader(tmp_path / "letter.pdf").pages[0]
    fonts = {str(f.get_object()["/BaseFont"]).split("+")[-1]
             for f in page["/Resources"]["/Font"].values()}
    assert fonts == {"NotoSans-Regular", "NotoSans-Bold"}
    assert VIETNAMESE in page.extract_text()
