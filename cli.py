"""ketamine-letters: letters of medical necessity and appeals for IV ketamine infusion.

The command line only wires the library's stages together, prints results and sets exit
codes: 0 done, 1 a run that failed or found problems, 2 bad input or a blocked letter.
Heavy modules (reportlab, pydantic, the code set) load inside the commands that need them,
so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from coverage.kinds import KIND_CHOICES

app = typer.Typer(
    name="ketamine-letters",
    help=(
        "Prepare letters of medical necessity and appeal letters for intravenous ketamine "
        "infusion in chronic pain, from a case file (YAML or JSON).\n\n"
        "Start with `ketamine-letters new --condition crps -o case.yaml`, fill it in, run "
        "`ketamine-letters check case.yaml`, then "
        "`ketamine-letters letter case.yaml -o letter.pdf`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

CaseArg = Annotated[
    Path, typer.Argument(metavar="CASE_FILE", help="Case file (.yaml, .yml or .json).")
]
PracticeOpt = Annotated[
    Path | None,
    typer.Option(
        "--practice",
        help="Practice profile. Default: practice.yaml beside the case file (or one folder up).",
    ),
]
CodeSetOpt = Annotated[
    Path | None,
    typer.Option(
        "--code-set",
        help="Official ICD-10-CM tabular XML to validate against, e.g. a newer FY release.",
    ),
]
TemplatesOpt = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        help="Folder of the clinic's own templates (same names as the shipped ones), used "
        "first and rendered in a sandbox.",
    ),
]
TodayOpt = Annotated[
    str | None,
    typer.Option(
        "--today",
        help="Date to treat as today (YYYY-MM-DD), for the letter date and deadlines.",
        hidden=True,
    ),
]


def _version(value: bool) -> None:
    if value:
        from coverage.settings import tool_version

        typer.echo(f"ketamine-letters {tool_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Prepare letters of medical necessity and appeal letters for IV ketamine infusion."""


def _err(line: str) -> None:
    typer.echo(line, err=True)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the library's errors into clear lines and exit codes; never a traceback."""
    from coverage.errors import LetterError

    try:
        yield
    except LetterError as exc:
        for line in exc.lines():
            _err(line)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _err("interrupted; nothing half-written was left behind")
        raise typer.Exit(130) from None


def _today(value: str | None) -> date:
    return date.today() if value is None else _date_option("--today", value)


def _date_option(name: str, value: str) -> date:
    from coverage.errors import UsageError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name}: '{value}' is not a date (YYYY-MM-DD)") from None


def _print_findings(review, file: str, as_json: bool, extra: Callable[[], dict] | None = None):
    import json

    if as_json:
        payload = {
            "file": file,
            "ok": review.ok,
            "condition": review.condition.key if review.condition else None,
            "code_set": review.code_set_release,
            "findings": [f.as_dict() for f in review.findings],
        }
        if extra:
            payload.update(extra())
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"{file}")
    typer.echo(f"  code set: {review.code_set_release}")
    if review.condition:
        grade = review.condition.guideline_grade
        typer.echo(f"  condition: {review.condition.name} (evidence: {grade})")
    if extra:
        for key, value in extra().items():
            typer.echo(f"  {key.replace('_', ' ')}: {value}")
    if not review.findings:
        typer.echo("  no findings: ready for a letter")
    for finding in review.blocking + review.advisory:
        typer.echo(f"  {finding.severity:<8}  {finding.code}  {finding.field}: {finding.message}")
    blocked = len(review.blocking)
    verdict = "BLOCKED: no letter can be written" if blocked else "ready: a letter can be written"
    typer.echo(f"  {verdict} ({blocked} blocking, {len(review.advisory)} advisory)")


@app.command(short_help="A commented starter case file to fill in.")
def new(
    condition: Annotated[
        str,
        typer.Option(
            "--condition",
            help="crps, crps-2, phn, pdpn, peripheral-neuropathy or fibromyalgia.",
        ),
    ] = "crps",
    output: Annotated[Path, typer.Option("-o", "--output", help="Case file to create.")] = Path(
        "case.yaml"
    ),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing file.")
    ] = False,
) -> None:
    """Create a commented starter case file to fill in from the medical record.

    Example: ketamine-letters new --condition crps -o case.yaml
    """
    from coverage.errors import OutputError, UsageError
    from coverage.files import write_atomic
    from coverage.starter import STARTER_CONDITIONS, starter_case

    with reported_errors():
        if condition not in STARTER_CONDITIONS:
            raise UsageError(f"--condition: '{condition}' is not one of "
                             f"{', '.join(STARTER_CONDITIONS)}")
        if output.exists() and not overwrite:
            raise OutputError(f"{output}: already exists; choose another name or pass "
                              "--overwrite")
        write_atomic(output, starter_case(condition).encode("utf-8"))
    typer.echo(f"wrote {output}: fill in every field marked FILL-IN, then run "
               f"`ketamine-letters check {output}`")


@app.command(short_help="Readiness review of a case: exit 0 ready, 2 blocked.")
def check(
    case_file: CaseArg,
    practice: PracticeOpt = None,
    code_set: CodeSetOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print findings as JSON.")] = False,
    today: TodayOpt = None,
) -> None:
    """Readiness review: what blocks a letter and what payers commonly deny for.

    Exits 0 when nothing blocks, 2 otherwise. A case with a `denial:` section is also
    reviewed for an appeal (deadline, reason categories).

    Example: ketamine-letters check examples/crps-1.yaml
    """
    from coverage.errors import InputError
    from coverage.pipeline import (
        choose_kind,
        deadline_summary,
        load_inputs,
        review,
        service_summary,
    )

    with reported_errors():
        try:
            inputs = load_inputs(case_file, practice, code_set)
        except InputError as exc:
            if not json_output:
                raise
            import json

            problems = [{"file": p.file, "field": p.field, "message": p.message}
                        for p in exc.problems]
            typer.echo(json.dumps({"file": str(case_file), "ok": False, "errors": problems},
                                  indent=2))
            raise typer.Exit(2) from None
        day = _today(today)
        result = review(inputs, day, choose_kind(inputs, None))
        _print_findings(result, str(case_file), json_output,
                        lambda: service_summary(inputs, day) | deadline_summary(inputs, day))
    raise typer.Exit(0 if result.ok else 2)


OutputOpt = Annotated[
    Path | None,
    typer.Option("-o", "--output",
                 help="File to write; each format gets its own suffix (-o letter.pdf --format "
                 "both writes letter.pdf and letter.docx). Default: next to the case file, "
                 "<case>-<kind>.pdf."),
]


def _format_option() -> object:
    from coverage.renderers import ALIASES, FORMATS, format_help

    return typer.Option("--format", "-f", metavar="|".join([*FORMATS, *ALIASES]),
                        help=format_help())


FormatOpt = Annotated[str, _format_option()]


def _targets(output: Path | None, case_file: Path, kind, formats) -> dict[str, Path]:
    """Where each format goes: -o (or <case>-<kind>) with that format's own suffix, so a file's
    name always says what it is and two formats never share a path."""
    from coverage.pipeline import default_output

    if output is None:
        return {f.name: default_output(case_file, kind, f) for f in formats}
    return {f.name: output.with_suffix(f.suffix) for f in formats}


def _write_letter(command: str, kind_name: str, case_file: Path, output: Path | None, practice,
                  code_set, today, output_format: str, force: bool = False,
                  templates: Path | None = None) -> None:
    from coverage.kinds import LetterKind
    from coverage.pipeline import (
        check_outputs,
        deadline_summary,
        load_inputs,
        make_letter,
        outputs_for,
        record,
    )
    from coverage.renderers import parse_formats

    kind = LetterKind(kind_name)
    with reported_errors():
        formats = parse_formats(output_format)
        inputs = load_inputs(case_file, practice, code_set)
        if kind is LetterKind.APPEAL:  # CO-197 is answered by a retro-authorization request
            kind = LetterKind.for_denial(inputs.case)
        day = _today(today)
        protect = [("templates folder", templates)] if templates else []
        if output is not None:  # the name as typed, before each format's suffix: never an input
            check_outputs([output], inputs, protect)
        letter = make_letter(inputs, day, kind, formats=formats, force=force,
                             templates=templates)
        outputs = outputs_for(letter, _targets(output, case_file, kind, formats))
        record(outputs, inputs, command=command, kind=kind, protect=protect)
        for finding in letter.review.advisory:
            _err(f"  ADVISORY  {finding.code}  {finding.field}: {finding.message}")
        for out in outputs:
            rendered = letter.outputs[out.format.name]
            pages = f"{rendered.pages} pages, " if rendered.pages else ""
            note = {"pdf": "DRAFT - NOT SIGNED", "docx": "editable Word draft, cannot be "
                    "signed"}.get(out.format.name, out.format.description)
            typer.echo(f"wrote {out.path} ({pages}{note}; "
                       f"{len(letter.review.advisory)} advisory finding(s))")
        for key, value in deadline_summary(inputs, day).items():
            typer.echo(f"  {key.replace('_', ' ')}: {value}")


@app.command(short_help="Letter of medical necessity (draft PDF, or Word).")
def letter(
    case_file: CaseArg,
    output: OutputOpt = None,
    output_format: FormatOpt = "pdf",
    practice: PracticeOpt = None,
    code_set: CodeSetOpt = None,
    templates: TemplatesOpt = None,
    today: TodayOpt = None,
) -> None:
    """Write the letter of medical necessity (prior authorization) as a draft.

    The readiness review runs first: a case with BLOCKING findings gets no letter (exit 2).
    --format docx (or both) also writes an editable Word copy: it can be changed before
    printing, but only the PDF can carry the physician's signature.

    Example: ketamine-letters letter examples/crps-1.yaml -o crps-letter.pdf --format both
    """
    _write_letter("letter", "lmn", case_file, output, practice, code_set, today, output_format,
                  templates=templates)


@app.command(short_help="Appeal of a denial (draft PDF, or Word); prints the filing deadline.")
def appeal(
    case_file: CaseArg,
    output: OutputOpt = None,
    output_format: FormatOpt = "pdf",
    practice: PracticeOpt = None,
    code_set: CodeSetOpt = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Write even past the filing deadline (payer granted an "
                     "extension)."),
    ] = False,
    templates: TemplatesOpt = None,
    today: TodayOpt = None,
) -> None:
    """Write an appeal of a denial as a draft; the case file carries a `denial:` section.

    Each reason the insurer gave (or its CARC codes imply) is answered in its own section. A
    denial for a missing authorization (CO-197) gets a request for retroactive authorization.
    The filing deadline is printed here for billing staff; an appeal past its deadline is
    refused (exit 2) unless --force.

    Example: ketamine-letters appeal examples/appeals/experimental.yaml -o appeal.pdf
    """
    _write_letter("appeal", "appeal", case_file, output, practice, code_set, today, output_format,
                  force=force, templates=templates)


def _password(prompt: str, confirm: bool = False) -> bytes:
    """The PKCS#12 password: from the environment, else a hidden prompt; never an argument."""
    import os

    from coverage.errors import UsageError
    from coverage.settings import P12_PASSWORD_ENV

    value = os.environ.get(P12_PASSWORD_ENV)
    if value:
        return value.encode("utf-8")
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():  # `<&-`: no stdin
        raise UsageError(f"no password: set {P12_PASSWORD_ENV} or run this in a terminal to be "
                         "asked")
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm).encode("utf-8")


KindOpt = Annotated[
    str,
    typer.Option(
        "--kind", metavar=KIND_CHOICES,
        help="auto: the answer to the case's denial section (an appeal, or a request for "
             "retroactive authorization for CO-197), else a letter of medical necessity "
             "(lmn). lmn, appeal or retro_authorization: that letter for every case.",
    ),
]


@app.command(
    "demo-identity", short_help="Self-signed test signing identity for a case's prescriber."
)
def demo_identity(
    for_case: Annotated[
        Path, typer.Option("--for-case", help="Case file whose prescriber the identity is for.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="PKCS#12 file to create.")],
    practice: PracticeOpt = None,
    valid_days: Annotated[int, typer.Option("--valid-days", min=1, max=3650)] = 365,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing file.")
    ] = False,
) -> None:
    """Create a self-signed TEST signing identity (PKCS#12) for the case's prescriber.

    For trying the workflow before the practice has real certificates: letters signed with it
    verify as intact but untrusted. The password comes from KETAMINE_LETTERS_P12_PASSWORD or a
    prompt, never from the command line. The file is readable by you only.

    Example: ketamine-letters demo-identity --for-case examples/crps-1.yaml -o dr-chen.p12
    """
    from coverage.files import check_output_target
    from coverage.loading import find_practice
    from coverage.pipeline import load_practice_for
    from coverage.signing import create_demo_identity, save_identity

    with reported_errors():
        physician = load_practice_for(for_case, practice)[1]
        check_output_target(output, [("case file", for_case),
                                     ("practice profile", find_practice(for_case, practice))])
        password = _password("Password for the new identity", confirm=True)
        save_identity(output, create_demo_identity(physician, password, valid_days=valid_days),
                      overwrite=overwrite)
        typer.echo(f"wrote {output}: self-signed test identity for {physician.display_name} "
                   f"(NPI {physician.npi}), valid {valid_days} days")


@app.command(short_help="Physician: final letter from the case, digitally signed.")
def sign(
    case_file: CaseArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Signed PDF to write.")],
    p12: Annotated[
        Path | None,
        typer.Option("--p12", help="Signing identity. Default: the prescriber's `p12` in the "
                     "practice profile."),
    ] = None,
    kind: KindOpt = "auto",
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="pdf",
                          help="Only pdf: a signature cannot be carried by the other formats.")
    ] = "pdf",
    practice: PracticeOpt = None,
    code_set: CodeSetOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Appeals: write past the deadline.")
    ] = False,
    templates: TemplatesOpt = None,
    today: TodayOpt = None,
) -> None:
    """Physician: render the final letter from the case and sign it (PAdES, pyHanko).

    Refuses (exit 2) when the case has BLOCKING findings, the password is wrong, the
    certificate has expired, or the certificate is not the case's prescriber's. The signed
    letter has no DRAFT watermark; its signature box shows name, NPI and signing time.

    Example: ketamine-letters sign examples/crps-1.yaml --p12 dr-chen.p12 -o signed.pdf
    """
    from datetime import UTC, datetime

    from coverage.errors import ReviewBlocked, UsageError
    from coverage.kinds import LetterKind
    from coverage.pipeline import (
        PDF,
        check_outputs,
        choose_kind,
        identity_file,
        load_inputs,
        outputs_for,
        record,
        review,
        sign_letter,
    )
    from coverage.renderers import parse_formats
    from coverage.signing import load_identity_file

    with reported_errors():
        unsignable = [f.name for f in parse_formats(output_format) if not f.signable]
        if unsignable:
            raise UsageError(f"--format {output_format}: a {', '.join(unsignable)} file cannot "
                             "carry a digital signature; only the PDF is signed (write an "
                             "editable copy with `ketamine-letters letter --format docx`)")
        inputs = load_inputs(case_file, practice, code_set)
        chosen = choose_kind(inputs, LetterKind.parse(kind))
        day = _today(today)
        result = review(inputs, day, chosen, force)
        if not result.ok:  # before the password prompt: nothing to sign
            raise ReviewBlocked(inputs.case_file, result.blocking)
        identity_path = identity_file(inputs, p12)
        protect = [("signing identity", identity_path)]
        check_outputs([output], inputs, protect)  # before the password prompt
        now = datetime.now(UTC).replace(microsecond=0)
        identity = load_identity_file(identity_path, _password(f"Password for {identity_path}"),
                                      now=now)
        letter = sign_letter(inputs, day, chosen, identity, now, force=force,
                             source=str(output), templates=templates)
        physician = inputs.physician
        record(outputs_for(letter, {PDF.name: output}), inputs, command="sign", kind=chosen,
               signer=f"{physician.id} NPI {physician.npi}", protect=protect)
        typer.echo(f"wrote {output} ({letter.pages} pages), signed by {identity.described} "
                   f"at {now:%Y-%m-%d %H:%M} UTC")


@app.command(short_help="Who signed a PDF, when, and whether it changed since.")
def verify(
    pdf_file: Annotated[Path, typer.Argument(metavar="PDF_FILE", help="Signed letter (PDF).")],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="Certificate (PEM or DER) to trust as a root; repeatable."),
    ] = None,
) -> None:
    """Anyone: who signed a letter, when, and whether it changed after signing.

    Exits 0 only when the signature is intact and the document unchanged since signing,
    1 otherwise, 2 for a file that is not a PDF. A self-signed identity is reported as such.

    Example: ketamine-letters verify signed.pdf
    """
    from coverage.errors import InputError
    from coverage.files import read_regular
    from coverage.signing import verify_pdf

    with reported_errors():
        try:  # a regular file only: a FIFO or device would never end
            data = read_regular(pdf_file)
            roots = [read_regular(p) for p in trust or []]
        except FileNotFoundError as exc:
            raise InputError.one(str(exc.filename), "", "file not found") from None
        except IsADirectoryError as exc:
            raise InputError.one(str(exc.filename), "", "is a folder, not a file") from None
        except OSError as exc:
            message = f"cannot be read ({exc.strerror})"
            raise InputError.one(str(exc.filename), "", message) from None
        result = verify_pdf(data, str(pdf_file), trust_roots=roots)
        for line in result.lines():
            typer.echo(line)
    raise typer.Exit(0 if result.ok else 1)


@app.command(short_help="List the audit log, or check whether a file was produced here.")
def audit(
    check_file: Annotated[
        Path | None,
        typer.Option("--check", help="Exit 0 if this file's hash is in the log, 1 if not."),
    ] = None,
    practice: Annotated[
        Path | None, typer.Option("--practice", help="Practice profile naming the log.")
    ] = None,
    log: Annotated[Path | None, typer.Option("--log", help="Audit log file to read.")] = None,
    verify_chain: Annotated[
        bool, typer.Option("--verify", help="Walk the keyed chain; exit 1 at a broken link.")
    ] = False,
) -> None:
    """What was produced and signed (time, command, kind, hashes, signer; no patient names).

    The audit key (audit.key beside the practice profile) proves no event was changed,
    inserted or removed since: --verify walks the chain, --check trusts only events it vouches.

    Example: ketamine-letters audit --check signed.pdf --practice practice.yaml
    """
    from coverage import audit as audit_log
    from coverage import audit_verify
    from coverage.errors import InputError
    from coverage.files import read_regular, sha256_file
    from coverage.loading import load_practice

    with reported_errors():
        profile = load_practice(practice) if practice else None
        path = log or audit_log.log_location(profile, str(practice) if practice else None)
        key = audit_verify.find_key(practice)
        if verify_chain:
            if key is None:
                raise InputError.one(str(practice or path), "", "no audit key to verify with: "
                                     "pass --practice (the key is audit.key beside it)")
            report = audit_verify.verify_chain(path, key)
            for line in audit_verify.chain_lines(path, report):
                typer.echo(line)
            raise typer.Exit(0 if report.ok else 1)
        if check_file is not None:
            try:
                data = read_regular(check_file)
                digest = sha256_file(check_file)
            except OSError:
                raise InputError.one(str(check_file), "", "cannot be read") from None
            lines, code = audit_verify.check_file_lines(path, str(check_file), data, digest,
                                                        key)
            for line in lines:
                typer.echo(line)
            raise typer.Exit(code)
        if log is not None and not path.exists():  # a mistyped --log is not an empty log
            raise InputError.one(str(path), "", "no audit log here; check the path (the "
                                 "default log is the practice profile's audit_log)")
        events = audit_log.events(path)
        typer.echo(f"audit log: {path} ({len(events)} events; lmn = letter of medical "
                   "necessity; hashes are SHA-256, first 12 digits)")
        typer.echo(f"{'time (UTC)':<25}  {'command':<7} {'kind':<6} {'case file':<12}  "
                   f"{'output':<12}  signer")
        for e in events:
            typer.echo(f"{e.time:<25}  {e.command:<7} {e.kind:<6} {e.case_sha256[:12]}  "
                       f"{e.output_sha256[:12]}  {e.signer or '-'}")


@app.command(short_help="A folder of cases -> letters, a report and a summary.")
def batch(
    cases: Annotated[Path, typer.Argument(
        metavar="CASES_FOLDER", help="Folder of case files (sub-folders are searched too).")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", metavar="LETTERS_FOLDER",
        help="Folder for the letters and the report (created if need be).")],
    kind: KindOpt = "auto",
    output_format: FormatOpt = "pdf",
    templates: TemplatesOpt = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", metavar="N",
                     help="Letters made at once, at most one per core. Default: every core."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rewrite letters that are already up to date.")
    ] = False,
    practice: Annotated[
        Path | None,
        typer.Option("--practice", help="Practice profile for every case. Default: the "
                     "practice.yaml beside each case (or one folder up)."),
    ] = None,
    today: TodayOpt = None,
) -> None:
    """Billing staff: one letter per case file in a folder, with progress and a report.

    Writes <case_id>-lmn.pdf (letter of medical necessity) or <case_id>-appeal.pdf for each
    case, plus report.csv and report.json: each case's status, appeal filing deadline,
    findings, letter file and its SHA-256. Status "blocked": the case was read, but the
    review refuses an honest letter until the record is fixed; "failed": the case file could
    not be used (typo, wrong type, unknown prescriber) or the letter could not be saved.

    One broken case never stops the others; running it again skips letters already up to
    date; Ctrl-C leaves no half-written file. Exit 0 when every letter was written or up to
    date, 1 when some were blocked or failed, 2 for bad arguments.

    --format both (or docx, txt, a list) writes each letter in those formats too, beside
    the first: <case_id>-lmn.pdf and <case_id>-lmn.docx.

    Example: ketamine-letters batch examples/ -o letters/ --format both
    """
    from coverage.batch import run_batch
    from coverage.kinds import LetterKind
    from coverage.renderers import parse_formats

    with reported_errors(), _hangup_and_kill_stop_like_ctrl_c():
        LetterKind.parse(kind)
        options = {"kind": kind, "jobs": jobs, "force": force, "practice": practice,
                   "today": _today(today), "templates": templates,
                   "formats": tuple(f.name for f in parse_formats(output_format))}
        if sys.stderr.isatty():
            summary = _batch_with_progress_bar(run_batch, cases, output, options)
        else:
            from coverage.batch import result_line

            def plain(result, done: int, total: int) -> None:
                with contextlib.suppress(OSError):  # the terminal may be gone
                    _err(result_line(result, done, total))

            summary = run_batch(cases, output, on_result=plain, **options)
    with contextlib.suppress(OSError):
        for line in summary.summary_lines():
            typer.echo(line)
    raise typer.Exit(summary.exit_code)


@contextmanager
def _hangup_and_kill_stop_like_ctrl_c():
    """SIGTERM (kill) and SIGHUP (terminal closed) end a batch the way Ctrl-C does.

    Finished letters are kept and the report is written, instead of the process dying with
    its letters still in the staging folder.
    """
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {number: signal.signal(number, stop) for number in wanted}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _batch_with_progress_bar(run_batch, cases, output, options: dict):
    """A rich progress bar on a terminal: done / total, letters per second, time left."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("[bold]letters"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn())
    counts: dict[str, int] = {}
    summary = None
    try:
        with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
            task = progress.add_task("batch", total=None, status="")

            def update(result, done: int, total: int) -> None:
                counts[result.status] = counts.get(result.status, 0) + 1
                status = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(counts.items()))
                with contextlib.suppress(OSError):  # the terminal may be gone (hang-up)
                    progress.update(task, total=total, completed=done, status=status)

            summary = run_batch(cases, output, on_result=update, **options)
    except OSError:
        if summary is None:
            raise
    return summary  # the run is done and reported even when the terminal is not there


import_app = typer.Typer(
    help="Bring records from other systems into case files: a patient's FHIR record from the "
    "EHR, denials from remittances (X12 835).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(import_app, name="import", short_help="Bring outside records into case files.")


@import_app.command("fhir", short_help="FHIR R4 Bundle or NDJSON -> a commented case file.")
def import_fhir(
    sources: Annotated[list[Path], typer.Argument(
        metavar="BUNDLE", help="A FHIR R4 Bundle (.json), or bulk-export NDJSON file(s).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Case file to create.")],
    practice: PracticeOpt = None,
    code_set: CodeSetOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing file.")]
    = False,
    today: TodayOpt = None,
) -> None:
    """Import one patient's FHIR R4 record into a case file; FILL-IN marks what FHIR cannot say.

    Example: ketamine-letters import fhir patient-bundle.json -o case.yaml
    """
    from coverage.errors import OutputError
    from coverage.fhir.command import run_import

    with reported_errors():
        if output.exists() and not overwrite:
            raise OutputError(f"{output}: already exists; choose another name or pass "
                              "--overwrite")
        for line in run_import(sources, output, practice, code_set, _today(today)):
            typer.echo(line)


@import_app.command("835", short_help="Remittances (X12 835) -> denial sections + worklist.")
def import_835(
    files: Annotated[list[Path], typer.Argument(metavar="REMIT.835...", help="835 files.")],
    cases: Annotated[Path, typer.Option("--cases", metavar="CASES_FOLDER",
                                        help="Folder of case files to match claims to.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Worklist CSV (and .json "
                                         "beside it).")] = Path("worklist.csv"),
    received: Annotated[str | None, typer.Option(
        "--received", help="Date the remittance was received (YYYY-MM-DD); default: its date."
    )] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would change; "
                                          "write nothing.")] = False,
    today: TodayOpt = None,
) -> None:
    """Billing staff: denied ketamine claims from remittances become denial sections.

    Matched, denied claims get their case's denial: section (then `batch` writes the
    appeals); everything else that needs a person is in the worklist. Exit 0 done, 1 some
    files could not be read, 2 bad arguments or no file could be read.

    Example: ketamine-letters import 835 remit.835 --cases cases/ -o worklist.csv
    """
    from coverage.remittance.run import import_835 as run_import
    from coverage.remittance.worklist import write_worklist

    with reported_errors():
        received_on = _date_option("--received", received) if received else None
        summary = run_import(files, cases, received=received_on, dry_run=dry_run,
                             today=_today(today))
        for problem in summary.problems:
            _err(str(problem))
        if dry_run:
            for row in summary.rows:
                typer.echo(f"{row.claim}: {row.action} {row.case_file} {row.note}".rstrip())
        else:
            write_worklist(output, summary.rows)
    for line in summary.summary_lines():
        typer.echo(line)
    raise typer.Exit(summary.exit_code)


export_app = typer.Typer(
    help="Send a case to other systems: a Da Vinci PAS prior-authorization request (FHIR).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(export_app, name="export", short_help="Export a case for other systems (PAS).")


@export_app.command("pas", short_help="Case + letter -> Da Vinci PAS request bundle (FHIR).")
def export_pas(
    case_file: CaseArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Request bundle to write "
                                         "(.json).")],
    letter_pdf: Annotated[Path | None, typer.Option(
        "--letter", metavar="SIGNED_PDF", help="The letter to attach: the physician's signed "
        "PDF. Default: the unsigned draft, rendered from the case.")] = None,
    practice: PracticeOpt = None,
    code_set: CodeSetOpt = None,
    today: TodayOpt = None,
) -> None:
    """A Da Vinci PAS (STU 2.0.1) prior-authorization request bundle from a case and its letter.

    The case is reviewed first, as for `letter`: a case with BLOCKING findings is refused
    (exit 2). The Claim carries the letter's billing lines and diagnoses; the letter is
    attached as a PDF. It is an export: submitting it needs the payer's PAS endpoint.

    Example: ketamine-letters export pas case.yaml --letter signed.pdf -o request.json
    """
    from coverage.fhir.export import run_export

    with reported_errors():
        for line in run_export(case_file, output, letter_pdf, practice, code_set,
                               _today(today)):
            typer.echo(line)


users_app = typer.Typer(
    help="Accounts for the web workspace: billing staff and physicians (who sign).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(users_app, name="users", short_help="Accounts for the web workspace.")
FolderOpt = Annotated[Path, typer.Option("--folder", help="The workspace folder `serve` is "
                                         "given (practice.yaml, cases/).")]


@users_app.command("add", short_help="Add an account (password asked twice).")
def users_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name, e.g. achen.")],
    role: Annotated[str, typer.Option("--role", metavar="billing|physician",
                                      help="billing: cases and drafts; physician: signs.")],
    physician_id: Annotated[str | None, typer.Option(
        "--physician-id", help="The physician's id in the practice profile.")] = None,
    folder: FolderOpt = Path("."),
) -> None:
    """Add an account; the password comes from KETAMINE_LETTERS_USER_PASSWORD or a prompt.

    Example: ketamine-letters users add achen --role physician --physician-id dr-chen
    """
    from coverage.accounts import command

    with reported_errors():
        typer.echo(command.add(folder, name, role, physician_id))


@users_app.command("list", short_help="The accounts, their roles and physicians.")
def users_list(folder: FolderOpt = Path(".")) -> None:
    """List the accounts (never their passwords)."""
    from coverage.accounts import command

    with reported_errors():
        for line in command.listing(folder):
            typer.echo(line)


@users_app.command("disable", short_help="Disable an account and end its sessions.")
def users_disable(name: Annotated[str, typer.Argument(metavar="NAME")],
                  folder: FolderOpt = Path(".")) -> None:
    """Disable an account: it can no longer sign in, and its open sessions end."""
    from coverage.accounts import command

    with reported_errors():
        typer.echo(command.disable(folder, name))


@users_app.command("passwd", short_help="Set a new password (and re-enable the account).")
def users_passwd(name: Annotated[str, typer.Argument(metavar="NAME")],
                 folder: FolderOpt = Path(".")) -> None:
    """Set a new password; every earlier session of the account ends."""
    from coverage.accounts import command

    with reported_errors():
        typer.echo(command.passwd(folder, name))


@app.command(short_help="Web workspace: on this computer, or for the office over TLS.")
def serve(
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="The workspace folder "
                                           "(practice.yaml, cases/).")] = Path("."),
    port: Annotated[int, typer.Option("--port", min=1024, max=65535,
                                      help="Port to listen on.")] = 8750,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but "
                                      "127.0.0.1 is office mode (needs --cert, --key, "
                                      "--server-name and an account).")] = "127.0.0.1",
    cert: Annotated[Path | None, typer.Option("--cert", help="TLS certificate (PEM).")] = None,
    key: Annotated[Path | None, typer.Option("--key", help="TLS private key (PEM).")] = None,
    server_name: Annotated[list[str] | None, typer.Option(
        "--server-name", help="A name staff use for this server (Host check); repeatable.")
    ] = None,
    idle_minutes: Annotated[int, typer.Option("--idle-minutes", min=1, max=720,
                                              help="Sign out after this long idle.")] = 15,
) -> None:
    """Open the case folder in the browser: worklist, case form with live review, letters,
    and (with accounts) the physicians' review queue and signing.

    On 127.0.0.1 it prints a link with a one-time token (billing only; it never signs);
    accounts sign in at /sign-in. Stop with Ctrl-C.

    Example: ketamine-letters serve clinic/
    """
    from coverage.web.server import serve as run_server

    with reported_errors():
        run_server(folder, port, host=host, idle_minutes=idle_minutes, cert=cert, key=key,
                   server_names=server_name)


@app.command(short_help="JSON Schema of the case file, for editors.")
def schema() -> None:
    """Print the JSON Schema of the case file, for editors that validate YAML/JSON.

    Example: ketamine-letters schema > case.schema.json
    """
    import json

    from coverage.case import SCHEMA_VERSION, Case

    schema = Case.model_json_schema()
    schema["$comment"] = f"ketamine-letters case file, schema version {SCHEMA_VERSION}"
    typer.echo(json.dumps(schema, indent=2))


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # e.g. `ketamine-letters schema | head`
        sys.stderr.close()
        sys.exit(1)


if __name__ == "__main__":
    main()
