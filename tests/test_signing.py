"""Signing and verifying letters: identities, signer checks, PAdES signatures, tampering."""

from __future__ import annotations

import io
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

from coverage import signing
from coverage.errors import NotAPdf, SigningError
from coverage.practice import Physician

NOW = datetime(2026, 11, 25, 14, 3, 27, tzinfo=UTC)
PASSWORD = b"correct horse battery staple"
BOX = (72.0, 120.0, 331.2, 187.6)
MARKER = b"Requested: six ketamine infusions"


def physician(given: str, family: str, credentials: str, npi: str) -> Physician:
    return Physician(
        id="dr-" + "".join(c for c in family.lower() if c.isascii() and c.isalnum()),
        name={"given": given, "family": family},
        credentials=credentials,
        specialty="Pain Medicine",
        npi=npi,
    )


@pytest.fixture(scope="session")
def chen() -> Physician:
    return physician("Elena", "Chen", "MD", "1234567893")


@pytest.fixture(scope="session")
def okafor() -> Physician:
    return physician("Daniel", "Okafor", "DO", "1398999619")


@pytest.fixture(scope="session")
def chen_p12(chen) -> bytes:
    return signing.create_demo_identity(chen, PASSWORD, not_before=NOW - timedelta(days=30))


@pytest.fixture(scope="session")
def chen_identity(chen_p12) -> signing.Identity:
    return signing.load_identity(chen_p12, PASSWORD, source="chen.p12", now=NOW)


@pytest.fixture(scope="session")
def letter_pdf() -> bytes:
    """A two-page letter-like PDF from reportlab, signature box on the second page.

    Uncompressed so tests can find and alter a known phrase inside the signed bytes.
    """
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pageCompression=0, invariant=1)
    canvas.setFont("Helvetica", 11)
    canvas.drawString(72, 700, "Re: letter of medical necessity, IV ketamine infusion")
    canvas.drawString(72, 680, MARKER.decode())
    canvas.showPage()
    canvas.drawString(72, 700, "Sincerely,")
    x1, y1, x2, y2 = BOX
    canvas.rect(x1, y1, x2 - x1, y2 - y1)
    canvas.drawString(x1 + 4, y2 - 14, "Digitally signed by Elena Chen, MD")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@pytest.fixture(scope="session")
def signed_pdf(letter_pdf, chen_identity) -> bytes:
    return signing.sign_pdf(
        letter_pdf,
        chen_identity,
        page=1,
        box=BOX,
        when=NOW,
        reason="Letter of medical necessity",
        location="Portland, OR",
    )


# --- identities ---------------------------------------------------------------------------


def test_demo_identity_round_trips(chen_p12, chen_identity):
    assert chen_identity.common_name == "Elena Chen, MD"
    assert chen_identity.npi == "1234567893"
    assert chen_identity.self_signed
    assert chen_identity.source == "chen.p12"
    assert chen_identity.not_before == NOW - timedelta(days=30)
    assert chen_identity.not_after == NOW - timedelta(days=30) + timedelta(days=365)
    # a standard PKCS#12 that other tools can open with the same password
    key, cert, _ = pkcs12.load_key_and_certificates(chen_p12, PASSWORD)
    assert key is not None and cert is not None
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert not usage.key_cert_sign
    serial = cert.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    assert [a.value for a in serial] == ["NPI-1234567893"]


def test_demo_identity_needs_a_password(chen):
    with pytest.raises(SigningError, match="password"):
        signing.create_demo_identity(chen, b"")


def test_wrong_password_is_named(chen_p12):
    with pytest.raises(SigningError, match=r"^chen\.p12: wrong password"):
        signing.load_identity(chen_p12, b"not it", source="chen.p12", now=NOW)


def test_not_a_pkcs12_file():
    with pytest.raises(SigningError, match=r"^notes\.txt: not a PKCS#12"):
        signing.load_identity(b"just some text\n" * 20, PASSWORD, source="notes.txt", now=NOW)


def test_expired_identity_names_the_date(chen):
    p12 = signing.create_demo_identity(
        chen, PASSWORD, valid_days=30, not_before=datetime(2026, 1, 10, tzinfo=UTC)
    )
    with pytest.raises(SigningError) as caught:
        signing.load_identity(p12, PASSWORD, source="old.p12", now=NOW)
    message = str(caught.value)
    assert "expired on 2026-02-09" in message
    assert "valid 2026-01-10 to 2026-02-09" in message
    assert "old.p12" in message


def test_identity_not_yet_valid(chen):
    p12 = signing.create_demo_identity(chen, PASSWORD, not_before=NOW + timedelta(days=2))
    with pytest.raises(SigningError, match="not valid until 2026-11-27"):
        signing.load_identity(p12, PASSWORD, source="future.p12", now=NOW)


def test_load_identity_file_reports_missing_file(tmp_path):
    with pytest.raises(SigningError, match="cannot read signing identity"):
        signing.load_identity_file(tmp_path / "absent.p12", PASSWORD, now=NOW)


def test_save_identity_is_private_and_does_not_clobber(tmp_path, chen_p12):
    path = tmp_path / "keys" / "chen.p12"
    signing.save_identity(path, chen_p12)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = signing.load_identity_file(path, PASSWORD, now=NOW)
    assert loaded.source == str(path) and loaded.npi == "1234567893"
    with pytest.raises(SigningError, match="already exists"):
        signing.save_identity(path, b"other")
    assert path.read_bytes() == chen_p12


# --- signer checks and signature text ------------------------------------------------------


def test_signer_matches_the_prescriber(chen_identity, chen):
    signing.check_signer_matches(chen_identity, chen)  # no exception
    spaced = physician("elena", "CHEN", " MD", "1234567893")
    signing.check_signer_matches(chen_identity, spaced)


def test_wrong_signer_names_both(okafor, chen):
    p12 = signing.create_demo_identity(okafor, PASSWORD, not_before=NOW - timedelta(days=1))
    identity = signing.load_identity(p12, PASSWORD, source="okafor.p12", now=NOW)
    with pytest.raises(SigningError) as caught:
        signing.check_signer_matches(identity, chen)
    assert str(caught.value) == (
        "okafor.p12: certificate is for 'Daniel Okafor, DO' (NPI 1398999619) but the case's "
        "prescriber is 'Elena Chen, MD' (NPI 1234567893); differs: name, NPI"
    )


def test_same_name_different_npi_is_refused(chen_identity):
    namesake = physician("Elena", "Chen", "MD", "1245319599")
    with pytest.raises(SigningError, match=r"differs: NPI$"):
        signing.check_signer_matches(chen_identity, namesake)


def test_signed_lines_name_npi_and_time(chen_identity, chen):
    lines = signing.signed_lines(chen_identity, NOW)
    assert lines[0] == "Digitally signed by Elena Chen, MD"
    assert "NPI 1234567893" in lines[1]
    assert "2026-11-25 14:03 UTC" in lines[1]
    assert any("PDF reader can check it" in line for line in lines)
    assert all(len(line) <= 60 for line in lines)
    assert signing.signed_lines(chen, NOW) == lines
    # the time is shown in UTC whatever zone the caller used
    eastern = NOW.astimezone(ZoneInfo("America/New_York"))
    assert signing.signed_lines(chen, eastern) == lines


def test_signed_lines_long_name_wraps():
    long = physician("Maria Guadalupe", "Hernández-Villanueva", "MD, MPH, PhD", "1234567893")
    lines = signing.signed_lines(long, NOW)
    name = "Maria Guadalupe Hernández-Villanueva, MD, MPH, PhD"
    assert lines[:2] == ("Digitally signed by", name)
    assert all(len(line) <= 60 for line in lines)
    longer = physician(
        "Anna Maria Guadalupe Concepción", "Hernández-Villanueva", "MD, MPH", "1234567893"
    )
    lines = signing.signed_lines(longer, NOW)
    assert all(len(line) <= 60 for line in lines)
    assert " ".join(lines[1:3]) == ("Anna Maria Guadalupe Concepción Hernández-Villanueva, MD, MPH")


def test_vietnamese_name_survives_certificate_and_signature(letter_pdf):
    doctor = physician("Thị Minh Khai", "Nguyễn", "MD", "1245319599")
    p12 = signing.create_demo_identity(doctor, PASSWORD, not_before=NOW - timedelta(days=1))
    identity = signing.load_identity(p12, PASSWORD, source="nguyen.p12", now=NOW)
    assert identity.common_name == "Thị Minh Khai Nguyễn, MD"
    signing.check_signer_matches(identity, doctor)
    signed = signing.sign_pdf(letter_pdf, identity, page=1, box=BOX, when=NOW, reason="r")
    result = signing.verify_pdf(signed, "letter.pdf")
    assert result.ok and result.signer == "Thị Minh Khai Nguyễn, MD"
    assert signing.signed_lines(identity, NOW)[0] == "Digitally signed by Thị Minh Khai Nguyễn, MD"


def test_naive_time_is_a_programming_error(chen):
    with pytest.raises(ValueError, match="timezone-aware"):
        signing.signed_lines(chen, datetime(2026, 11, 25, 14, 3))


# --- signing -------------------------------------------------------------------------------


def test_sign_then_verify_ok(signed_pdf):
    result = signing.verify_pdf(signed_pdf, "letter.pdf")
    assert result.ok
    assert result.signed and result.intact
    assert result.covers_whole_file and not result.modified_after_signing
    assert result.signer == "Elena Chen, MD"
    assert result.npi == "1234567893"
    assert result.signing_time == NOW
    assert result.field_name == "PhysicianSignature"
    assert not result.trusted
    assert result.trust_note == "self-signed; not from a trusted authority"
    assert result.problems == ()
    lines = result.lines()
    assert lines[0] == "letter.pdf: signature OK: intact and unchanged since signing"
    assert "  signed at: 2026-11-25 14:03:27 UTC" in lines


def test_signature_is_an_incremental_update_with_a_blank_field_at_the_box(letter_pdf, signed_pdf):
    assert signed_pdf.startswith(letter_pdf)  # the unsigned letter's bytes are untouched
    reader = PdfReader(io.BytesIO(signed_pdf))
    assert "/Annots" not in reader.pages[0]
    (annot,) = [a.get_object() for a in reader.pages[1]["/Annots"]]
    assert annot["/FT"] == "/Sig" and annot["/T"] == "PhysicianSignature"
    assert [float(v) for v in annot["/Rect"]] == pytest.approx(BOX)
    appearance = annot["/AP"]["/N"].get_object()
    assert appearance.get_data().strip() == b""  # no pyHanko stamp text or border
    sig = annot["/V"].get_object()
    assert sig["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig["/Reason"] == "Letter of medical necessity"
    assert sig["/Location"] == "Portland, OR"
    assert sig["/M"].startswith("D:20261125140327")


def test_signing_time_ignores_sub_seconds(letter_pdf, chen_identity):
    when = NOW.replace(microsecond=654321)
    signed = signing.sign_pdf(
        letter_pdf, chen_identity, page=0, box=BOX, when=when, reason="r", location=None
    )
    assert signing.verify_pdf(signed, "x.pdf").signing_time == NOW


def test_verify_trusts_a_given_root(signed_pdf, chen_identity):
    root = chen_identity.certificate.public_bytes(serialization.Encoding.PEM)
    result = signing.verify_pdf(signed_pdf, "letter.pdf", trust_roots=[root])
    assert result.ok and result.trusted
    assert result.trust_note.startswith("trusted")


def test_refuses_to_sign_twice(signed_pdf, chen_identity):
    with pytest.raises(SigningError, match="already signed"):
        signing.sign_pdf(signed_pdf, chen_identity, page=1, box=BOX, when=NOW, reason="r")


def test_refuses_identity_expired_at_signing_time(letter_pdf, chen_identity):
    later = chen_identity.not_after + timedelta(minutes=1)
    with pytest.raises(SigningError, match="expired on"):
        signing.sign_pdf(letter_pdf, chen_identity, page=1, box=BOX, when=later, reason="r")


def test_sign_rejects_bad_page_and_non_pdf(letter_pdf, chen_identity):
    with pytest.raises(ValueError, match="page 2"):
        signing.sign_pdf(letter_pdf, chen_identity, page=2, box=BOX, when=NOW, reason="r")
    with pytest.raises(NotAPdf):
        signing.sign_pdf(b"not a pdf", chen_identity, page=0, box=BOX, when=NOW, reason="r")


# --- tampering ------------------------------------------------------------------------------


def test_flipped_byte_inside_signed_range_breaks_the_signature(letter_pdf, signed_pdf):
    at = signed_pdf.index(MARKER) + len(b"Requested: ")
    assert at < len(letter_pdf)  # inside the original (signed) part of the file
    tampered = signed_pdf[:at] + b"n" + signed_pdf[at + 1 :]  # "six" -> "nix"
    result = signing.verify_pdf(tampered, "tampered.pdf")
    assert result.signed
    assert not result.intact
    assert not result.ok
    assert result.lines()[0].startswith("tampered.pdf: SIGNATURE BROKEN")


def test_content_added_after_signing_is_reported(signed_pdf):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    extra = generic.StreamObject(stream_data=b"BT /F1 11 Tf 72 660 Td (Approved: 40) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(extra))
    out = io.BytesIO()
    writer.write(out)
    result = signing.verify_pdf(out.getvalue(), "edited.pdf")
    assert result.intact  # the signed revision itself is untouched...
    assert result.modified_after_signing  # ...but the file now shows more than was signed
    assert not result.covers_whole_file
    assert not result.ok
    assert result.lines()[0].startswith("edited.pdf: CHANGED AFTER SIGNING")


def test_not_a_pdf():
    with pytest.raises(NotAPdf, match=r"^notes\.txt: not a PDF"):
        signing.verify_pdf(b"Dear insurer,\n", "notes.txt")


def test_truncated_pdf_is_not_readable(signed_pdf):
    with pytest.raises(NotAPdf, match="not a readable PDF"):
        signing.verify_pdf(signed_pdf[: len(signed_pdf) // 2], "cut.pdf")


def test_unsigned_pdf_is_reported_not_ok(letter_pdf):
    result = signing.verify_pdf(letter_pdf, "draft.pdf")
    assert not result.signed and not result.ok
    assert result.lines()[0] == "draft.pdf: NOT SIGNED"


# --- the real renderer, when it is available ---------------------------------------------------


def test_signs_a_rendered_letter(chen_identity):
    """Optional end-to-end: skipped while the letter pipeline cannot build the example."""
    root = Path(__file__).resolve().parent.parent
    try:
        from coverage.pipeline import load_inputs, make_letter

        inputs = load_inputs(root / "examples/crps-1.yaml", root / "examples/practice.yaml")
        identity_lines = signing.signed_lines(chen_identity, NOW)
        letter = make_letter(inputs, NOW.date(), signed_lines=identity_lines)
    except Exception as exc:  # the pipeline is built by others in parallel
        pytest.skip(f"letter pipeline not usable yet: {exc}")
    signing.check_signer_matches(chen_identity, inputs.physician)
    signed = signing.sign_pdf(
        letter.pdf,
        chen_identity,
        page=letter.signature_page,
        box=letter.signature_box,
        when=NOW,
        reason="Letter of medical necessity",
        location=None,
    )
    result = signing.verify_pdf(signed, "letter.pdf")
    assert result.ok and result.signer == "Elena Chen, MD"
    assert result.signing_time == NOW
