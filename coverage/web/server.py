"""``ketamine-letters serve``: the workspace on 127.0.0.1, opened with a one-time link, or
for the whole office (``--host``) over TLS with accounts only.

Office network mode refuses to start unless it has TLS (``--cert``, ``--key``, given to
uvicorn's ssl options), at least one active account, and the names staff type to reach the
server (``--server-name``: the only Host headers answered). It prints no token: everyone signs
in. Sessions end after ``--idle-minutes`` without a request (15 by default) in both modes.

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

from coverage.errors import InputError, UsageError
from coverage.workspace import Workspace

if TYPE_CHECKING:
    from coverage.web.worklist import Worklist

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8750
DEFAULT_IDLE_MINUTES = 15


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


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: this computer only (anything else is office mode)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: whatever it resolves to, treat it as the network


def office_hosts(ws: Workspace, host: str, port: int, cert: Path | None, key: Path | None,
                 server_names: list[str]) -> set[str]:
    """The Host headers an office server answers, or UsageError (exit 2) naming what is
    missing: TLS, an account, the server's names."""
    from coverage.accounts.store import UserStore

    missing = []
    if cert is None or key is None:
        missing.append("TLS: --cert FILE and --key FILE (the server's certificate and key)")
    for given in (cert, key):
        if given is not None and not Path(given).is_file():
            raise InputError.one(str(given), "", "file not found")
    if not UserStore(ws).any_active():
        missing.append("an account: `ketamine-letters users add NAME --role billing "
                       f"--folder {ws.root}`")
    if not server_names:
        missing.append("--server-name NAME: the name staff type to reach this computer "
                       "(repeatable)")
    if missing:
        raise UsageError(f"serve --host {host} is for the office network and needs "
                         + "; ".join(missing))
    names = {n.strip().lower() for n in server_names if n.strip()}
    return {f"{n}:{port}" for n in names} | ({*names} if port == 443 else set())


def serve(folder: Path, port: int = DEFAULT_PORT, *, host: str = LOOPBACK,
          idle_minutes: int = DEFAULT_IDLE_MINUTES, cert: Path | None = None,
          key: Path | None = None, server_names: list[str] | None = None) -> None:
    import uvicorn

    from coverage.accounts.store import UserStore
    from coverage.web.app import OPEN_PATH, create_app
    from coverage.web.security import Gate

    ws = workspace_for(folder)
    office = not is_loopback(host)
    if office:
        hosts = office_hosts(ws, host, port, cert, key, server_names or [])
    else:
        hosts = hosts_for(port) | {f"{n.lower()}:{port}" for n in [host, *(server_names or [])]}
    gate = Gate(hosts, idle_seconds=idle_minutes * 60, users=UserStore(ws),
                use_token=not office)
    app = create_app(ws, gate, secure=office)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    web_log = logging.getLogger("ketamine_letters.web")
    web_log.addHandler(handler)
    web_log.setLevel(logging.INFO)
    threading.Thread(target=_warm_up, args=(app.state.ctx.worklist,), name="worklist-warm-up",
                     daemon=True).start()
    print(f"ketamine-letters workspace for {ws.root}", flush=True)
    if office:
        name = sorted(hosts)[0]
        print(f"Office workspace: staff open https://{name}/ and sign in.\n"
              "Stop with Ctrl-C.", flush=True)
    else:
        print(f"Open this link in your browser (it works once):\n"
              f"  http://{LOOPBACK}:{port}{OPEN_PATH}?token={gate.token}\n"
              "Or sign in at "
              f"http://{LOOPBACK}:{port}/sign-in with an account (physicians sign that way).\n"
              "Stop with Ctrl-C.", flush=True)
    tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)} if office else {}
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning",
                server_header=False, date_header=False, **tls)
