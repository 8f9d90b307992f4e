"""ketamine-letters: letters of medical necessity and appeals for IV ketamine infusion.

The command line only wires the library's stages together, prints results and sets exit
codes: 0 done, 1 a run that failed or found problems, 2 bad input or a blocked letter.
Heavy modules (reportlab, pydantic, the code set) load inside the commands that need them,
so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

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

CaseArg = Annotated[Path, typer.Argument(help="Case file (.yaml, .yml or .json).")]
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
TodayOpt = Annotated[
    str | None,
    typer.Option(
        "--today",
        help="Date to treat as today (YYYY-MM-DD), for the letter date and deadlines.",
        hidden=True,
    ),
]


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
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        _err(f"--today: '{value}' is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None


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


@app.command()
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
    from coverage.letters import load_inputs, review

    with reported_errors():
        inputs = load_inputs(case_file, practice, code_set)
        kind = "appeal" if inputs.case.denial is not None else "lmn"
        result = review(inputs, _today(today), kind)
        extra = None
        if kind == "appeal":
            from coverage.appeal import deadline_summary

            def extra() -> dict:
                return deadline_summary(inputs, inputs.letter_date(_today(today)))

        _print_findings(result, str(case_file), json_output, extra)
    raise typer.Exit(0 if result.ok else 2)


def _write_letter(kind: str, case_file: Path, output: Path | None, practice, code_set, today,
                  force: bool = False) -> None:
    from coverage.audit import record_event
    from coverage.files import sha256_bytes, sha256_file, write_atomic
    from coverage.letters import load_inputs, make_letter

    with reported_errors():
        inputs = load_inputs(case_file, practice, code_set)
        letter = make_letter(inputs, _today(today), kind, force=force)
        target = output or case_file.with_name(f"{case_file.stem}-{kind}.pdf")
        write_atomic(target, letter.pdf)
        record_event(inputs.practice, inputs.practice_file, command=kind, kind=kind,
                     case_hash=sha256_file(case_file), output_hash=sha256_bytes(letter.pdf),
                     signer=None)
        for finding in letter.review.advisory:
            _err(f"  ADVISORY  {finding.code}  {finding.field}: {finding.message}")
        typer.echo(f"wrote {target} ({letter.pages} pages, DRAFT - NOT SIGNED; "
                   f"{len(letter.review.advisory)} advisory finding(s))")
        if kind == "appeal":
            from coverage.appeal import deadline_summary

            for key, value in deadline_summary(inputs, inputs.letter_date(_today(today))).items():
                typer.echo(f"  {key.replace('_', ' ')}: {value}")


OutputOpt = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="PDF to write. Default: next to the case file."),
]


@app.command()
def letter(
    case_file: CaseArg,
    output: OutputOpt = None,
    practice: PracticeOpt = None,
    code_set: CodeSetOpt = None,
    today: TodayOpt = None,
) -> None:
    """Write the letter of medical necessity (prior authorization) as a draft PDF.

    The readiness review runs first: a case with BLOCKING findings gets no letter (exit 2).

    Example: ketamine-letters letter examples/crps-1.yaml -o crps-letter.pdf
    """
    _write_letter("lmn", case_file, output, practice, code_set, today)


@app.command()
def appeal(
    case_file: CaseArg,
    output: OutputOpt = None,
    practice: PracticeOpt = None,
    code_set: CodeSetOpt = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Write even past the filing deadline (payer granted an "
                     "extension)."),
    ] = False,
    today: TodayOpt = None,
) -> None:
    """Write an appeal of a denial as a draft PDF; the case file carries a `denial:` section.

    Each reason the insurer gave (or its CARC codes imply) is answered in its own section.
    The filing deadline is printed here for billing staff; an appeal past its deadline is
    refused (exit 2) unless --force.

    Example: ketamine-letters appeal examples/appeals/experimental.yaml -o appeal.pdf
    """
    _write_letter("appeal", case_file, output, practice, code_set, today, force=force)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the case file, for editors that validate YAML/JSON.

    Example: ketamine-letters schema > case.schema.json
    """
    import json

    from coverage.case import Case

    typer.echo(json.dumps(Case.model_json_schema(), indent=2))


@app.command()
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
    from coverage.files import write_atomic
    from coverage.starter import STARTER_CONDITIONS, starter_case

    if condition not in STARTER_CONDITIONS:
        _err(f"--condition: '{condition}' is not one of {', '.join(STARTER_CONDITIONS)}")
        raise typer.Exit(2)
    if output.exists() and not overwrite:
        _err(f"{output}: already exists; choose another name or pass --overwrite")
        raise typer.Exit(2)
    write_atomic(output, starter_case(condition).encode("utf-8"))
    typer.echo(f"wrote {output}: fill in every field marked FILL-IN, then run "
               f"`ketamine-letters check {output}`")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # e.g. `ketamine-letters schema | head`
        sys.stderr.close()
        sys.exit(1)


if __name__ == "__main__":
    main()
