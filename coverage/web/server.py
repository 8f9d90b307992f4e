"""``ketamine-letters serve``: the workspace on 127.0.0.1, opened with a one-time link.

uvicorn's own access log is switched off (it prints paths and query strings, which can name a
case); :mod:`coverage.web.security` logs method, route template, status and time instead.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from coverage.errors import InputError
from coverage.workspace import Workspace

if TYPE_CHECKING:
    from coverage.web.worklist import Worklist

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8750


def workspace_for(folder: Path) -> Workspace:
    """The workspace a folder is; a folder with a practice profile gets its ``cases/``."""
    folder = Path(folder)
    found = Workspace.around(folder)
    if found is not None:
        return found
    if not folder.is_dir():
        raise InputError.one(str(folder), "", "is not a folder; give the workspace folder "
                             "(the one with practice.yaml and cases/)")
    ws = Workspace(folder)
    if ws.practice is None:
        raise InputError.one(str(folder), "", "has no practice.yaml and no cases/ folder: "
                             "give the workspace folder (README: Folder layout)")
    ws.cases.mkdir(exist_ok=True)
    return ws


def hosts_for(port: int) -> set[str]:
    return {f"{LOOPBACK}:{port}", f"localhost:{port}"}


def _warm_up(worklist: Worklist) -> None:
    """Review every case once while staff open the link, so the first worklist is quick; a
    failure here is shown by the worklist itself, not printed with a case's name."""
    try:
        worklist.rows(date.today())
    except Exception:  # the page reports it on the first visit
        return


def serve(folder: Path, port: int = DEFAULT_PORT) -> None:
    import uvicorn

    from coverage.web.app import OPEN_PATH, create_app
    from coverage.web.security import Gate

    ws = workspace_for(folder)
    gate = Gate(hosts_for(port))
    app = create_app(ws, gate)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    web_log = logging.getLogger("ketamine_letters.web")
    web_log.addHandler(handler)
    web_log.setLevel(logging.INFO)
    threading.Thread(target=_warm_up, args=(app.state.ctx.worklist,), name="worklist-warm-up",
                     daemon=True).start()
    print(f"ketamine-letters workspace for {ws.root}", flush=True)
    print(f"Open this link in your browser (it works once):\n"
          f"  http://{LOOPBACK}:{port}{OPEN_PATH}?token={gate.token}\n"
          "Stop with Ctrl-C.", flush=True)
    uvicorn.run(app, host=LOOPBACK, port=port, access_log=False, log_level="warning",
                server_header=False, date_header=False)
