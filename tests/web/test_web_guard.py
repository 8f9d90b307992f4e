"""The web workspace's guard through FastAPI's TestClient: the one-time token and the
session, the Host check, CSRF and Origin, the headers and CSP, the log without patient data,
and the web stack kept out of `--help`."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coverage.web.security import CSP, Gate
from tests.web_support import HOST, opened

# --------------------------------------------------------------------------- the guard

ROUTES = [("GET", "/"), ("GET", "/cases/new"), ("POST", "/cases/new"),
          ("GET", "/case/crps-1.yaml"), ("POST", "/review/crps-1.yaml"),
          ("POST", "/rows/crps-1.yaml"), ("POST", "/save/crps-1.yaml"),
          ("POST", "/letter/crps-1.yaml"), ("GET", "/letter-file/pdf/crps-1.yaml"),
          ("GET", "/codes?q=crps"), ("POST", "/cases/import-fhir"), ("POST", "/remittances")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_is_403_without_a_session(anonymous: TestClient, method: str,
                                              path: str) -> None:
    response = anonymous.request(method, path)
    assert response.status_code == 403
    assert "Open the workspace with the link" in response.text
    assert "RPC-2026" not in response.text


def test_the_token_opens_one_session_with_a_strict_http_only_cookie(anonymous: TestClient,
                                                                    gate: Gate) -> None:
    response = anonymous.get(f"/open?token={gate.token}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert anonymous.get("/").status_code == 200
    again = anonymous.get(f"/open?token={gate.token}", follow_redirects=False)
    assert again.status_code == 303 and "set-cookie" not in again.headers  # same session
    other = TestClient(anonymous.app, base_url=f"http://{HOST}")
    assert other.get(f"/open?token={gate.token}").status_code == 403  # spent
    assert other.get("/").status_code == 403


def test_a_wrong_token_is_refused(anonymous: TestClient, gate: Gate) -> None:
    assert anonymous.get("/open?token=not-the-token").status_code == 403
    assert anonymous.get("/").status_code == 403
    assert anonymous.get(f"/open?token={gate.token}").status_code == 200  # still unspent


@pytest.mark.parametrize("host", ["evil.example:8750", "127.0.0.1:9999", "attacker.test"])
def test_requests_for_another_host_are_refused(client: TestClient, host: str) -> None:
    response = client.get("/", headers={"Host": host})
    assert response.status_code == 403
    assert "RPC-2026" not in response.text


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, clinic: Path) -> None:
    before = (clinic / "cases" / "crps-1.yaml").read_bytes()
    _, fields = opened(client)
    fields["_csrf"] = ["forged"]
    assert client.post("/save/crps-1.yaml", data=fields).status_code == 403
    del fields["_csrf"]
    assert client.post("/save/crps-1.yaml", data=fields).status_code == 403
    assert client.post("/cases/new", data={"condition": "crps", "case_id": "X1"}
                       ).status_code == 403
    assert (clinic / "cases" / "crps-1.yaml").read_bytes() == before
    assert not (clinic / "cases" / "X1.yaml").exists()


def test_a_post_from_another_origin_is_refused(client: TestClient) -> None:
    _, fields = opened(client)
    response = client.post("/review/crps-1.yaml", data=fields,
                           headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    ours = client.post("/review/crps-1.yaml", data=fields, headers={"Origin": f"http://{HOST}"})
    assert ours.status_code == 200


@pytest.mark.parametrize("path", ["/", "/case/crps-1.yaml", "/cases/new", "/static/app.css"])
def test_pages_are_no_store_under_a_strict_csp(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP and "unsafe-inline" not in CSP
    assert "unsafe-eval" not in CSP
    assert response.headers["x-frame-options"] == "DENY"


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    for path in ("/", "/case/crps-1.yaml", "/cases/new"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert "<style" not in html and " style=" not in html and "hx-on" not in html, path
        assert '"allowEval": false' in html and '"includeIndicatorStyles": false' in html


def test_the_log_has_route_templates_and_no_patient_data(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ketamine_letters.web")
    client.get("/case/crps-1.yaml")
    client.get("/?q=XJH884512307")
    client.get("/codes?q=crps")
    lines = [r.getMessage() for r in caplog.records if r.name == "ketamine_letters.web"]
    assert any(line.startswith("GET /case/{key:path} 200 ") for line in lines)
    assert any(line.startswith("GET / 200 ") for line in lines)
    text = "\n".join(lines)
    for secret in ("crps-1", "XJH884512307", "q=", "RPC-2026", "crps"):
        assert secret not in text


def test_help_does_not_import_the_web_stack(repo_root: Path) -> None:
    probe = ("import sys, cli; "
             "print(any(m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette') "
             "or m.startswith('coverage.web') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=repo_root, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"



def test_serve_refuses_a_folder_that_is_not_a_workspace(run_cli, tmp_path: Path) -> None:
    result = run_cli("serve", tmp_path, "--port", "8799")
    assert result.code == 2
    assert "has no practice.yaml and no cases/ folder" in result.output
    assert "Traceback" not in result.output
    missing = run_cli("serve", tmp_path / "nowhere", "--port", "8799")
    assert missing.code == 2 and "is not a folder" in missing.output
