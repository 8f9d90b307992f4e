"""Benchmark of the web workspace (``ketamine-letters serve``) over loopback.

Starts the real server on a free port over a temporary workspace (the examples, plus N case
files made from examples/crps-1.yaml for the worklist), opens it with the one-time link, and
times bounded request loops with the standard library's HTTP client:

- the live review (POST /review/...) of every example case's form, ``--rounds`` times each;
- a letter preview: drafting the PDF (POST /letter/... then GET of the PDF) of the LMN example;
- the worklist (GET /) of the N + examples cases, after one warm-up that fills the status cache.

    /tmp/venv/bin/python bench/web_bench.py                  # N = 1000
    /tmp/venv/bin/python bench/web_bench.py --cases 1000 --rounds 20

Targets: live review p95 under 50 ms, preview under 400 ms, worklist of 1,000 cases under
300 ms. The audit log goes to the temporary folder.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web_support import form_fields  # noqa: E402  (the page's fields, as browsers post)

EXAMPLES = ROOT / "examples"


def workspace(folder: Path, n_cases: int) -> list[str]:
    """clinic/ with every example case and ``n_cases`` copies of crps-1; the example keys."""
    (folder / "cases" / "bulk").mkdir(parents=True)
    shutil.copy(EXAMPLES / "practice.yaml", folder / "practice.yaml")
    examples = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "appeals").glob("*.yaml"))
    keys = []
    for path in examples:
        if path.name != "practice.yaml":
            shutil.copy(path, folder / "cases" / path.name)
            keys.append(path.name)
    text = (EXAMPLES / "crps-1.yaml").read_text()
    for i in range(n_cases):
        copy = text.replace("case_id: RPC-2026-0412", f"case_id: BULK-{i:05d}")
        copy = copy.replace("member_id: XJH884512307", f"member_id: M{i:09d}")
        (folder / "cases" / "bulk" / f"bulk-{i:05d}.yaml").write_text(copy)
    return keys


class Client:
    def __init__(self, port: int) -> None:
        self.port, self.cookie = port, ""
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.connection.connect()  # headers and body in one packet, no Nagle wait (as browsers)
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method: str, path: str, form: dict[str, list[str]] | None = None
                ) -> tuple[int, bytes, dict[str, str]]:
        body = urlencode(form, doseq=True).encode() if form is not None else None
        headers = {"Host": f"127.0.0.1:{self.port}", "Cookie": self.cookie,
                   "Origin": f"http://127.0.0.1:{self.port}"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, data, {k.lower(): v for k, v in response.getheaders()}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        clinic = Path(scratch) / "clinic"
        keys = workspace(clinic, args.cases)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "KETAMINE_LETTERS_AUDIT_LOG": str(Path(scratch) / "audit.sqlite3")}
        log = Path(os.environ.get("WEB_BENCH_LOG", os.devnull))  # the server's own log
        with log.open("w") as server_log:
            serve(clinic, port, env, server_log, keys, args)


def serve(clinic: Path, port: int, env: dict[str, str], server_log: object, keys: list[str],
          args: argparse.Namespace) -> None:
    server = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", str(clinic),
                               "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=server_log, text=True, env=env)
    try:
        link = ""
        while not link:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("serve did not start")
            found = re.search(r"/open\?token=\S+", line)
            link = found[0] if found else ""
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        run(Client(port), link, keys, args)
    finally:
        server.terminate()
        server.wait(timeout=10)


def run(client: Client, link: str, keys: list[str], args: argparse.Namespace) -> None:
    status, _, headers = client.request("GET", link)
    assert status == 303, status
    client.cookie = headers["set-cookie"].split(";")[0]

    forms = {}
    for key in keys:
        status, page, _ = client.request("GET", f"/case/{key}")
        assert status == 200, (key, status)
        forms[key] = form_fields(page.decode())
        client.request("POST", f"/review/{key}", forms[key])  # warm-up
    review = []
    for _ in range(args.rounds):
        for key in keys:
            review.append(timed(lambda k=key: client.request("POST", f"/review/{k}", forms[k])))

    preview = []
    form = {"_csrf": forms["crps-1.yaml"]["_csrf"], "deliver": ["open-pdf"]}
    for _ in range(max(5, args.rounds // 2)):
        def draft() -> None:
            status, _, headers = client.request("POST", "/letter/crps-1.yaml", form)
            assert status == 303, status
            status, pdf, _ = client.request("GET", headers["location"])
            assert status == 200 and pdf.startswith(b"%PDF")
        preview.append(timed(draft))

    started = time.perf_counter()
    status, page, _ = client.request("GET", "/")
    cold = (time.perf_counter() - started) * 1000
    rows = page.count(b"<tr>") - 1
    worklist = [timed(lambda: client.request("GET", "/")) for _ in range(args.rounds)]

    print(f"live review, {len(keys)} example cases x {args.rounds}: "
          f"median {statistics.median(review):.1f} ms, p95 {percentile(review, .95):.1f} ms "
          f"(target p95 < 50 ms)")
    print(f"letter preview (draft PDF + fetch), crps-1 x {len(preview)}: median "
          f"{statistics.median(preview):.0f} ms, p95 {percentile(preview, .95):.0f} ms "
          f"(target < 400 ms)")
    print(f"worklist of {rows} cases: first (cold cache) {cold:.0f} ms; warm median "
          f"{statistics.median(worklist):.0f} ms, p95 {percentile(worklist, .95):.0f} ms "
          f"(target < 300 ms)")


if __name__ == "__main__":
    main()
