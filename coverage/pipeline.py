"""The one pipeline: case -> review -> compose -> document -> render -> sign -> record.

Every front end (the CLI's commands, the batch workers, the web workspace) goes through these
functions, so choosing the letter kind, reviewing, writing and recording happen in one place
and a rule or a fix lands once. A letter is a pure function of the case, the practice profile,
the knowledge base, the code-set release and the letter date: the same inputs give the same
bytes in every format.

Stages, in order (no stage reaches back into an earlier one):

- :func:`load_inputs` reads the case and its practice profile (``loading``) and the code set
  (the load stage lives in ``inputs``; its names are re-exported here);
- :func:`review` runs the readiness rules for the letter kind (``review``);
- :func:`make_letter` composes the context (``compose``), renders the templates into the
  neutral :class:`~coverage.document.Document` (``templating``) with its page furniture, and
  renders it in each format asked for (``renderers``);
- :func:`sign_letter` signs the PDF (``signing``);
- :func:`record` checks every output path, then writes each output atomically (0600) with
  one audit event per output (nothing is replaced unless the audit log records it);
  :func:`record_export` does the same for an output that is not a letter (a PAS bundle).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from coverage.document import Document, Furniture, SignatureText
from coverage.errors import InputError, ReviewBlocked, SigningError
from coverage.inputs import (  # the load stage; re-exported: front ends import the pipeline
    Inputs,
    assemble_inputs,
    code_set_path,
    load_inputs,
    load_practice_for,
)
from coverage.kinds import LetterKind
from coverage.renderers import FORMATS, Format, Rendered
from coverage.review import Review, review_case
from coverage.settings import relative_to_profile

if TYPE_CHECKING:  # heavy modules load only when a letter is made
    from coverage.compose import LetterContext
    from coverage.signing import Identity

PDF = FORMATS["pdf"]
__all__ = [  # the load stage's names, re-exported, and this module's own public names
    "PDF", "Inputs", "Letter", "Output", "RenderStates", "assemble_inputs", "build_document",
    "check_outputs", "choose_kind", "code_set_path", "compose", "deadline_summary",
    "default_output", "filing_deadline", "identity_file", "load_inputs", "load_practice_for",
    "make_letter", "outputs_for", "page_furniture", "protected_paths", "record",
    "record_export", "review", "service_summary", "sign_letter", "signature_text",
]
AUDIT_HEAD_LABEL = "audit chain head"  # in a signed letter's keywords: the log as it was


# --------------------------------------------------------------------------- review


def choose_kind(inputs: Inputs, requested: LetterKind | str | None) -> LetterKind:
    """The kind asked for, or (None / 'auto') the one the case calls for."""
    if requested is None or requested == "auto":
        return LetterKind.for_case(inputs.case)
    return LetterKind(requested)


def review(inputs: Inputs, today: date, kind: LetterKind | str = LetterKind.LMN,
           force: bool = False) -> Review:
    """The readiness review for one letter kind (``force``: an appeal past its deadline)."""
    letter_date = inputs.letter_date(today)
    result = review_case(inputs.case, inputs.practice, inputs.kb, inputs.codes, letter_date,
                         today)
    kind = LetterKind(kind)
    if kind.answers_denial:
        from coverage.review.appeal import review_appeal

        result = review_appeal(inputs.case, inputs.practice, inputs.kb, result, letter_date,
                               force, today, kind)
    else:
        from coverage.review.appeal_elements import review_lmn_routing

        result = review_lmn_routing(inputs.case, inputs.practice, result)
    return result


def service_summary(inputs: Inputs, today: date) -> dict[str, str]:
    """The dates of service and the ICD-10-CM release they fall in, for staff."""
    from coverage.review.coding import service_summary as summary

    return {"dates_of_service": summary(inputs.case, inputs.letter_date(today))}


def deadline_summary(inputs: Inputs, today: date) -> dict[str, str]:
    """An appeal's level, filing deadline and decision time, for staff; empty for an LMN."""
    from coverage.review.appeal import deadline_summary as summary
    from coverage.review.appeal import filing_day

    return summary(inputs.case, inputs.practice, filing_day(inputs.letter_date(today), today))


def filing_deadline(inputs: Inputs) -> str | None:
    """An appeal's filing date (ISO), or why none could be computed; None without a denial.
    What the batch report and the web worklist show beside each appeal."""
    if inputs.case.denial is None:
        return None
    from coverage.review.appeal import appeal_deadline

    deadline = appeal_deadline(inputs.case, inputs.practice)
    return deadline.due.isoformat() if deadline.due else deadline.basis


# --------------------------------------------------------------------------- compose, render


@dataclass
class RenderStates:
    """What each renderer shares between the letters one process makes (a batch worker's
    PDF Typesetter); created on first use, so an unused format costs nothing."""

    states: dict[str, object] = field(default_factory=dict)

    def get(self, fmt: Format) -> object | None:
        if fmt.name not in self.states:
            self.states[fmt.name] = fmt.renderer().new_state()
        return self.states[fmt.name]


@dataclass(frozen=True)
class Letter:
    """One letter: its review, its context, its document and one rendering per format."""

    kind: LetterKind
    review: Review
    context: LetterContext
    document: Document
    outputs: dict[str, Rendered]

    @property
    def pdf(self) -> bytes:
        return self.outputs[PDF.name].data

    @property
    def pages(self) -> int | None:
        first = self.outputs.get(PDF.name) or next(iter(self.outputs.values()))
        return first.pages

    @property
    def signature_page(self) -> int:
        spot = self.outputs[PDF.name].signature
        return spot.page if spot else -1

    @property
    def signature_box(self) -> tuple[float, float, float, float]:
        spot = self.outputs[PDF.name].signature
        return spot.box if spot else (0, 0, 0, 0)


def compose(inputs: Inputs, result: Review, kind: LetterKind, letter_date: date
            ) -> LetterContext:
    """Every fact the letter will say, precomputed and typed."""
    from coverage.compose import compose_appeal, compose_letter
    from coverage.routing import recipient_for

    context = compose_letter(inputs.case, inputs.practice, inputs.physician, inputs.kb,
                             inputs.codes, result, letter_date, kind)
    context = replace(context, kind=kind,
                                  recipient=recipient_for(inputs.case, inputs.practice, kind))
    if kind.answers_denial:
        context = compose_appeal(inputs.case, inputs.practice, inputs.kb, context, kind)
    return context


def build_document(inputs: Inputs, context: LetterContext, kind: LetterKind, letter_date: date,
                   signed_lines: tuple[str, ...] = (), templates: Path | None = None,
                   audit_head: str = "") -> Document:
    """The template's words as blocks, with the page furniture and signature around them."""
    from coverage.templating import render_blocks

    blocks = render_blocks(kind.template, context, templates)
    return Document(
        tuple(blocks),
        page_furniture(inputs, kind, context.header, signed=bool(signed_lines),
                       letter_date=letter_date, audit_head=audit_head),
        signature_text(inputs, signed_lines),
    )


def make_letter(
    inputs: Inputs,
    today: date,
    kind: LetterKind | str = LetterKind.LMN,
    *,
    formats: Sequence[Format] = (PDF,),
    signed_lines: tuple[str, ...] = (),
    force: bool = False,
    templates: Path | None = None,
    states: RenderStates | None = None,
    audit_head: str = "",
) -> Letter:
    """Review, compose and render one letter in each format; refuses when the review blocks.

    A batch passes one ``states`` to all its letters, so the paragraphs they share are laid
    out once.
    """
    kind = LetterKind(kind)
    result = review(inputs, today, kind, force)
    if not result.ok:
        raise ReviewBlocked(inputs.case_file, result.blocking)
    letter_date = inputs.letter_date(today)
    context = compose(inputs, result, kind, letter_date)
    document = build_document(inputs, context, kind, letter_date, signed_lines, templates,
                              audit_head)
    states = states or RenderStates()
    outputs = {f.name: f.renderer().render(document, states.get(f)) for f in formats}
    return Letter(kind, result, context, document, outputs)


def page_furniture(inputs: Inputs, kind: LetterKind, header: str, signed: bool,
                   letter_date: date | None = None, audit_head: str = "") -> Furniture:
    """Letterhead, page header and footer, document properties: everything around the words."""
    kind = LetterKind(kind)  # a plain "lmn" would make kind.title the str method
    practice = inputs.practice
    address = practice.address
    contact = [f"Phone {practice.phone}"]
    if practice.fax:
        contact.append(f"Fax {practice.fax}")
    if practice.email:
        contact.append(practice.email)
    physician = inputs.physician
    street = ", ".join([*address.lines, f"{address.city}, {address.state} {address.postal_code}"])
    return Furniture(
        letterhead_name=practice.name,
        letterhead_lines=(street, "  ·  ".join(contact)),
        header=header,
        footer=f"{practice.name}  ·  {physician.display_name}  ·  NPI {physician.npi}",
        title=f"{kind.title}: {inputs.case.case_id}",
        author=physician.display_name,
        subject=f"{kind.title}, IV ketamine infusion",
        keywords=(
            f"code set: {inputs.codes.release}; knowledge base: {inputs.kb.version}; "
            f"case: {inputs.case.case_id}"
            + (f"; {AUDIT_HEAD_LABEL}: {audit_head[:32]}" if signed and audit_head else "")
        ),
        draft=not signed,
        created=letter_date,
    )


def signature_text(inputs: Inputs, signed_lines: tuple[str, ...] = ()) -> SignatureText:
    """What the signature block says; the signed lines and image only on signed letters."""
    physician = inputs.physician
    return SignatureText(
        lines=(
            physician.display_name,
            f"{physician.specialty}  ·  NPI {physician.npi}",
            inputs.practice.name,
        ),
        signed_lines=signed_lines,
        image=_signature_image(inputs) if signed_lines else None,
    )


def _signature_image(inputs: Inputs) -> str | None:
    """The prescriber's signature image (practice profile), drawn only on signed letters."""
    image = inputs.physician.signature_image
    if not image:
        return None
    path = relative_to_profile(image, inputs.practice_file)
    if not path.is_file():
        index = inputs.practice.physicians.index(inputs.physician)
        raise InputError.one(inputs.practice_file, f"physicians[{index}].signature_image",
                             f"{path} not found; put the image there or delete the line")
    return str(path)


# --------------------------------------------------------------------------- sign


def identity_file(inputs: Inputs, given: Path | None) -> Path:
    """The signing identity: the one given, else the prescriber's ``p12`` in the profile."""
    if given is not None:
        return given
    physician = inputs.physician
    if not physician.p12:
        raise SigningError(f"no signing identity for {physician.id}: pass --p12 FILE or set "
                           f"p12 for {physician.id} in the practice profile")
    return relative_to_profile(physician.p12, inputs.practice_file)


def sign_letter(inputs: Inputs, today: date, kind: LetterKind, identity: Identity,
                now: datetime, *, force: bool = False, source: str = "",
                templates: Path | None = None) -> Letter:
    """The final letter, rendered without the DRAFT mark and signed by the prescriber.

    Its document keywords record the audit chain's head at signing (``audit --verify``
    shows the head, so a log cut back past this letter shows).

    Refuses a certificate that is not the case's prescriber's before anything is rendered.
    """
    from coverage.audit import chain_head, log_location
    from coverage.signing import check_signer_matches, sign_pdf, signed_lines

    check_signer_matches(identity, inputs.physician)
    head = chain_head(log_location(inputs.practice, inputs.practice_file))
    letter = make_letter(inputs, today, kind, signed_lines=signed_lines(identity, now),
                         force=force, templates=templates, audit_head=head)
    signed = sign_pdf(letter.pdf, identity, page=letter.signature_page,
                      box=letter.signature_box, when=now,
                      reason=f"{inputs.physician.display_name} approves this letter",
                      location=inputs.practice.address.city, source=source)
    pdf = replace(letter.outputs[PDF.name], data=signed)
    return replace(letter, outputs={**letter.outputs, PDF.name: pdf})


# --------------------------------------------------------------------------- record


@dataclass(frozen=True)
class Output:
    """One file to write: where, what, and in which format."""

    path: Path
    data: bytes
    format: Format


def outputs_for(letter: Letter, paths: dict[str, Path]) -> list[Output]:
    """Pair each rendering with the path it goes to."""
    return [Output(paths[name], rendered.data, FORMATS[name])
            for name, rendered in letter.outputs.items()]


def default_output(case_file: Path, kind: LetterKind, fmt: Format) -> Path:
    """``<case>-<kind>.<suffix>`` beside the case file."""
    return case_file.with_name(f"{case_file.stem}-{kind.value}{fmt.suffix}")


def protected_paths(inputs: Inputs, log: Path, extra: Iterable[tuple[str, Path]] = ()
                    ) -> list[tuple[str, Path]]:
    """Every file (or folder) a command reads or keeps, which no output may replace."""
    from coverage.audit import key_location

    practice_file = inputs.practice_file
    paths = [("case file", Path(inputs.case_file)), ("practice profile", Path(practice_file)),
             ("audit log", log)]
    key = key_location(practice_file)
    if key is not None:
        paths.append(("audit key", key))
    for physician in inputs.practice.physicians:
        if physician.p12:
            paths.append(("signing identity", relative_to_profile(physician.p12, practice_file)))
        if physician.signature_image:
            paths.append(("signature image",
                          relative_to_profile(physician.signature_image, practice_file)))
    named_code_set = code_set_path(inputs.practice, Path(practice_file), None)
    if named_code_set is not None:
        paths.append(("code set", named_code_set))
    return [*paths, *extra]


def check_outputs(paths: Iterable[Path], inputs: Inputs,
                  protect: Iterable[tuple[str, Path]] = ()) -> None:
    """OutputError (exit 2) for an output path that would replace an input, the audit log,
    another output of the same command, or anything but a regular file; before any work."""
    from coverage.audit import log_location
    from coverage.files import check_output_target

    protected = protected_paths(inputs, log_location(inputs.practice, inputs.practice_file),
                                protect)
    seen: list[Path] = []
    for path in paths:
        check_output_target(path, [*protected, *(("output", p) for p in seen)])
        seen.append(path)


def record(outputs: Iterable[Output], inputs: Inputs, *, command: str, kind: LetterKind,
           signer: str | None = None, protect: Iterable[tuple[str, Path]] = ()) -> None:
    """Write each output atomically (0600), with one audit event per output.

    Nothing is replaced until it is safe to: every output path is checked first (never one
    of the command's inputs, the audit log or its key, nor anything but a regular file or a
    new name; ``protect`` adds the command's own inputs such as a PKCS#12 file or a
    templates folder), each output is written completely beside its target, the audit
    events are inserted (holding the log's write lock), and only then are the files renamed
    into place and the events committed. A log that cannot record leaves every target as
    it was.
    """
    _write_and_log([(o.path, o.data) for o in outputs], inputs, command, kind.value, signer,
                   protect)


def record_export(path: Path, data: bytes, inputs: Inputs, *, command: str, kind: str) -> None:
    """Write one output that is not a letter (e.g. a PAS request bundle) the way a letter is
    written: checked, atomically, 0600, with its audit event (``kind`` names what it is)."""
    _write_and_log([(Path(path), data)], inputs, command, kind, None, ())


def _write_and_log(files: list[tuple[Path, bytes]], inputs: Inputs, command: str, kind: str,
                   signer: str | None, protect: Iterable[tuple[str, Path]]) -> None:
    import os

    from coverage.audit import appending, destination, new_event
    from coverage.errors import OutputError
    from coverage.files import sha256_bytes, sha256_file, stage

    check_outputs([path for path, _ in files], inputs, protect)
    log, key = destination(inputs.practice, inputs.practice_file)
    case_hash = sha256_file(Path(inputs.case_file))
    events = [new_event(command, kind, case_hash, sha256_bytes(data), signer)
              for _, data in files]
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files:
            staged.append((stage(path, data), path))
        with appending(log, events, key):
            for tmp, path in staged:
                try:
                    os.replace(tmp, path)
                except OSError as exc:
                    raise OutputError(f"{path}: cannot be written ({exc.strerror})") from None
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
