"""`verify` never misleads (issue 16): anything beyond the signed revision is a change unless
PAdES allows it (named), a damaged signature is broken, an encrypted PDF says so."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from coverage import pipeline
from coverage.signing import create_demo_identity, load_identity, verify_pdf

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, object]:
    inputs = pipeline.load_inputs(ROOT / "examples" / "crps-1.yaml")
    p12 = create_demo_identity(inputs.physician, b"pw")
    now = datetime.now(UTC).replace(microsecond=0)
    identity = load_identity(p12, b"pw", source="id.p12", now=now)
    from coverage.signing import sign_pdf

    letter = pipeline.make_letter(inputs, date(2026, 11, 20), signed_lines=("Signed",))
    pdf = sign_pdf(letter.pdf, identity, page=letter.signature_page, box=letter.signature_box,
                   when=now, reason="approves")
    return pdf, identity


def _verdict(data: bytes):
    return verify_pdf(data, "letter.pdf")


def test_the_signed_letter_verifies(signed):
    result = _verdict(signed[0])
    assert result.ok and result.lines()[0].endswith("intact and unchanged since signing")


def test_white_space_after_the_signed_revision_is_no_change(signed):
    assert _verdict(signed[0] + b"\n\r\n").ok


def test_bytes_appended_without_an_update_are_a_change(signed):
    result = _verdict(signed[0] + b"\n% one more line\n")
    assert not result.ok and "CHANGED AFTER SIGNING" in result.lines()[0]
    assert any("appended after the signed revision" in p for p in result.problems)


def test_an_update_that_changes_the_document_properties_is_a_change(signed):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed[0]))
    writer.set_info(generic.DictionaryObject(
        {generic.NameObject("/Title"): generic.TextStringObject("Another letter")}))
    out = io.BytesIO()
    writer.write(out)
    result = _verdict(out.getvalue())
    assert not result.ok
    assert any("document properties" in p for p in result.problems)
    assert result.allowed_updates == ()


def test_an_update_that_changes_a_page_is_a_change(signed):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed[0]))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    result = _verdict(out.getvalue())
    assert not result.ok and "CHANGED AFTER SIGNING" in result.lines()[0]


def test_a_further_signature_is_allowed_and_named(signed):
    pdf, identity = signed
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(field_name="Countersignature", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    out = signers.sign_pdf(writer, meta, signer=identity.signer,
                           new_field_spec=fields.SigFieldSpec("Countersignature"))
    result = _verdict(out.getvalue())
    assert result.ok, result.lines()
    assert any("further signature" in u for u in result.allowed_updates)
    assert any("allowed after signing" in line for line in result.lines())


def test_a_damaged_signature_is_a_broken_signature(signed):
    pdf = signed[0]
    start = pdf.find(b"/Contents <") + len(b"/Contents <")
    for offset in (40, 400, 1200):
        at = start + offset
        flipped = b"0" if pdf[at:at + 1] != b"0" else b"1"
        result = _verdict(pdf[:at] + flipped + pdf[at + 1:])
        assert not result.ok
        assert "SIGNATURE BROKEN" in result.lines()[0], result.lines()


def test_an_encrypted_pdf_says_it_is_encrypted(signed, tmp_path, run_cli):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(signed[0])))
    writer.encrypt("user", "owner")
    path = tmp_path / "encrypted.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    result = run_cli("verify", path)
    assert result.code == 1 and "ENCRYPTED PDF" in result.stdout
    assert "Traceback" not in result.output


def test_a_fifo_or_device_given_to_verify_does_not_hang(tmp_path, run_cli):
    import os

    fifo = tmp_path / "letter.pdf"
    os.mkfifo(fifo)
    for target in (fifo, Path("/dev/zero")):
        result = run_cli("verify", target)
        assert result.code == 2 and "not a regular file" in result.stderr


def test_long_term_validation_data_is_allowed_and_named(signed):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import add_validation_info
    from pyhanko_certvalidator import ValidationContext

    embedded = PdfFileReader(io.BytesIO(signed[0])).embedded_signatures[0]
    context = ValidationContext(trust_roots=[embedded.signer_cert], allow_fetching=False)
    updated = add_validation_info(embedded, context, in_place=False).getvalue()
    assert len(updated) > len(signed[0])
    result = _verdict(updated)
    assert result.ok, result.lines()
    assert any("document security store" in u for u in result.allowed_updates)
