"""The ``export pas`` command's steps, kept out of cli.py: load and review the case through the
pipeline, take the letter (the physician's signed PDF, or a draft rendered here), build the
PAS request bundle, validate it with the R4B models, then write and record it.

The R4B models check FHIR R4 structure and types (required elements, cardinality, formats);
they do not check the PAS or US Core profiles (slices, bindings, must-support): a payer's
endpoint or the HL7 validator does that.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from coverage.errors import ExportError, InputError, NotAPdf, ReviewBlocked
from coverage.fhir.pas import IG_VERSION, LetterFile, build_request, service_period
from coverage.kinds import LetterKind
from coverage.pipeline import Inputs, Letter, load_inputs, make_letter, record_export

AUDIT_KIND = "pas-request"


def read_letter(path: Path, inputs: Inputs) -> LetterFile:
    """The PDF given with --letter: a PDF, signed or not; refused when its signature is broken
    or belongs to someone other than the case's prescriber."""
    from coverage.signing.verify import verify_pdf

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError.one(str(path), "--letter", "file not found") from None
    except IsADirectoryError:
        raise InputError.one(str(path), "--letter", "is a folder, not a PDF file") from None
    try:
        verdict = verify_pdf(data, str(path))
    except NotAPdf:
        raise InputError.one(str(path), "--letter", "is not a PDF: attach the letter as a "
                             "PDF (the physician's signed letter)") from None
    if verdict.signed and not verdict.ok:
        what = ("the file was changed after it was signed" if not verdict.intact
                else "content was added after the signature")
        raise InputError.one(str(path), "--letter", f"signature broken: {what}; attach the "
                             "letter as the physician signed it")
    case_id = _letter_case_id(data)
    if case_id is not None and case_id != inputs.case.case_id:
        raise InputError.one(str(path), "--letter", f"is the letter of case {case_id}, not of "
                             f"case {inputs.case.case_id}: attach this case's letter")
    npi = inputs.physician.npi
    if verdict.signed and verdict.npi and verdict.npi != npi:
        raise InputError.one(str(path), "--letter", f"signed by NPI {verdict.npi}, but the "
                             f"case's prescriber has NPI {npi}: attach this case's letter")
    return LetterFile(data, signed=verdict.signed)


def _letter_case_id(data: bytes) -> str | None:
    """The case ID a letter made by this tool names in its PDF keywords; None for another PDF."""
    import io

    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        trailer = PdfFileReader(io.BytesIO(data)).trailer_view
        info = trailer["/Info"].get_object() if "/Info" in trailer else {}
        found = re.search(r"\bcase: ([A-Za-z0-9._-]+)\s*$", str(info.get("/Keywords", "")))
    except (PdfError, KeyError, ValueError, TypeError, AttributeError):  # names no case
        return None
    return found.group(1) if found else None


def validate(bundle: dict[str, Any]) -> str:
    """The bundle through the R4B models; the JSON written is the validated model's."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        model = Bundle.model_validate(bundle)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ExportError(f"the PAS bundle is not valid FHIR R4 at {where}: {first['msg']} "
                          "(a defect in ketamine-letters: nothing was written)") from None
    return model.model_dump_json(indent=2, exclude_none=True) + "\n"


def run_export(case_file: Path, output: Path, letter_path: Path | None,
               practice_path: Path | None, code_set_path: Path | None, today: date,
               now: datetime | None = None) -> list[str]:
    """Export and return the console lines (file names and counts, never patient data)."""
    inputs = load_inputs(case_file, practice_path, code_set_path)
    try:
        letter = make_letter(inputs, today, LetterKind.LMN)
    except ReviewBlocked as blocked:
        raise ReviewBlocked(blocked.file, blocked.findings, "no PAS request written") from None
    attached = (read_letter(letter_path, inputs) if letter_path is not None
                else LetterFile(letter.pdf, signed=False))
    now = now or datetime.now(UTC).replace(microsecond=0)
    bundle = build_request(inputs, letter.context, attached, now)
    text = validate(bundle)
    record_export(output, text.encode("utf-8"), inputs, command="export-pas", kind=AUDIT_KIND)
    return summary(output, inputs, letter, attached, letter_path, bundle)


def summary(output: Path, inputs: Inputs, letter: Letter, attached: LetterFile,
            letter_path: Path | None, bundle: dict[str, Any]) -> list[str]:
    claim = bundle["entry"][0]["resource"]
    codes = ", ".join(f"{i['productOrService']['coding'][0]['code']} x"
                      f"{i['quantity']['value']}" for i in claim["item"])
    lines = [
        f"wrote {output}: Da Vinci PAS {IG_VERSION} request bundle "
        f"({len(bundle['entry'])} resources), validated against the FHIR R4 models "
        "(structure only, not the PAS profiles)",
        f"  Claim items: {codes}; diagnoses: "
        + ", ".join(d["diagnosisCodeableConcept"]["coding"][0]["code"]
                    for d in claim["diagnosis"]),
    ]
    if letter_path is None:
        lines.append("  attached: the UNSIGNED DRAFT letter rendered from the case; payers "
                     "want the physician's signed letter: run `ketamine-letters sign` and "
                     "export again with --letter signed.pdf")
    elif attached.signed:
        lines.append(f"  attached: {letter_path} (signed)")
    else:
        lines.append(f"  attached: {letter_path}, which has NO digital signature; payers want "
                     "the physician's signed letter")
    for finding in letter.review.advisory:
        lines.append(f"  ADVISORY  {finding.code}  {finding.field}: {finding.message}")
    if service_period(inputs) is None:
        lines.append("  no plan.requested_start in the case: the items carry no service "
                     "period; add it if the payer asks for dates")
    if not inputs.case.plan.ndc:
        lines.append("  no plan.ndc in the case: the drug line has no NDC")
    lines.append("  this is an export: submitting it needs the payer's own PAS endpoint; "
                 "without one, fax or upload the signed letter as usual")
    return lines

