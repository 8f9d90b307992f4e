"""Uploads that become case files: a FHIR record (``import fhir``) and remittances
(``import 835``), through the importers' own libraries.

An upload is written owner-only into the state folder under its own (sanitised) name, so the
importers record the name staff know, and removed afterwards. Uploads are capped in size.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from coverage.accounts.store import Role
from coverage.errors import InputError, LetterError, OutputError
from coverage.web.app import Context, context
from coverage.web.routes_worklist import CONDITION_NAMES
from coverage.web.security import require_csrf, require_role
from coverage.web.store import NEW_NAME

router = APIRouter(dependencies=[Depends(require_role(Role.billing))])  # billing staff
Ctx = Annotated[Context, Depends(context)]
MAX_UPLOAD = 50 * 1024 * 1024  # a FHIR bundle of a long record is a few MB; 835s are smaller
UPLOADS = ("web", "uploads")


def _keep(ctx: Context, upload: UploadFile, folder: Path) -> Path:
    """The upload, written under its own name (made safe) in a private folder; size-capped."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload.filename or "upload").name)
    name = name.lstrip(".") or "upload"
    target = folder / name
    written = 0
    with target.open("wb") as out:
        target.chmod(0o600)
        while chunk := upload.file.read(1024 * 1024):
            written += len(chunk)
            if written > MAX_UPLOAD:
                raise InputError.one(name, "", f"is larger than {MAX_UPLOAD // 2**20} MB; "
                                     "import it with the command instead")
            out.write(chunk)
    return target


def _scratch(ctx: Context) -> Path:
    return Path(tempfile.mkdtemp(dir=ctx.ws.state_folder(*UPLOADS)))


@router.post("/cases/import-fhir", dependencies=[Depends(require_csrf)])
def import_fhir(request: Request, ctx: Ctx, record: UploadFile,
                case_id: Annotated[str, Form()] = "") -> Response:
    """A FHIR R4 Bundle or NDJSON -> ``cases/<case_id>.yaml``, as ``import fhir`` writes it."""
    from coverage.fhir.command import run_import

    scratch = _scratch(ctx)
    try:
        name = case_id.strip()
        if not NEW_NAME.match(name):
            raise InputError.one("import", "case_id", "letters, digits and . _ - only (no "
                                 "spaces), e.g. RPC-2026-0412")
        output = ctx.ws.cases / f"{name}.yaml"
        if output.exists():
            raise OutputError(f"cases/{output.name} already exists; choose another case id")
        source = _keep(ctx, record, scratch)
        run_import([source], output, ctx.ws.practice, None, ctx.today())
    except LetterError as exc:
        return ctx.page(request, "new_case.html", status_code=400, conditions=CONDITION_NAMES,
                        problems=exc.lines(), fhir_case_id=case_id)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return RedirectResponse(f"/case/{quote(output.name)}", status_code=303)


@router.post("/remittances", dependencies=[Depends(require_csrf)])
def import_remittances(request: Request, ctx: Ctx, remits: list[UploadFile]) -> Response:
    """Remittances (X12 835) -> denial sections in the matching cases, and their worklist."""
    from coverage.remittance.run import import_835

    scratch = _scratch(ctx)
    try:
        sources = [_keep(ctx, upload, scratch) for upload in remits if upload.filename]
        if not sources:
            raise InputError.one("import", "remits", "choose one or more 835 files")
        summary = import_835(sources, ctx.ws.cases, today=ctx.today())
    except LetterError as exc:
        return ctx.page(request, "new_case.html", status_code=400, conditions=CONDITION_NAMES,
                        problems=exc.lines())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return ctx.page(request, "remittances.html", summary=summary,
                    problems=[str(p).replace(str(scratch) + "/", "") for p in summary.problems])
