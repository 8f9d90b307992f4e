"""TEMPORARY shim: the pipeline moved to :mod:`coverage.pipeline`; removed in this change."""

from coverage.kinds import LetterKind
from coverage.pipeline import (  # noqa: F401
    Inputs,
    Letter,
    assemble_inputs,
    code_set_path,
    load_inputs,
    load_practice_for,
    page_furniture,
    review,
    signature_text,
)

LETTER_KINDS = {k.value: k.template for k in LetterKind}


def make_letter(inputs, today, kind="lmn", signed_lines=(), force=False, templates=None,
                typesetter=None):
    from coverage import pipeline

    states = pipeline.RenderStates({"pdf": typesetter}) if typesetter is not None else None
    return pipeline.make_letter(inputs, today, kind, signed_lines=signed_lines, force=force,
                                templates=templates, states=states)
