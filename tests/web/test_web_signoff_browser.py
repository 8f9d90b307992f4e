"""End to end in a real browser (Playwright + Debian's Chromium): billing staff sign in, draft
and send a letter for review; the physician signs in, uploads a signing identity, reads the
frozen pages and signs; the downloaded letter passes `verify` and `audit --check`.

Screenshots of the sign-in page, the review queue and the signing page are written to the
folder ``KETAMINE_LETTERS_SCREENSHOTS`` names, when it is set (to look at them).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coverage.loading import load_practice
from coverage.signing import create_demo_identity
from tests.conftest import cli_argv
from tests.web.test_web_browser import ARGS, CHROMIUM, Watched, free_port, sync_api
from tests.web_support import PASSWORD, add_accounts

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs /usr/bin/chromium")
ID_PASSWORD = "identity pass 1"


@pytest.fixture
def office(tmp_path: Path, examples_dir: Path) -> Iterator[tuple[str, Path]]:
    """`serve` (loopback) over a workspace with accounts; (base URL, folder)."""
    clinic = tmp_path / "clinic"
    (clinic / "cases").mkdir(parents=True)
    shutil.copy(examples_dir / "practice.yaml", clinic / "practice.yaml")
    shutil.copy(examples_dir / "signature-dr-chen.png", clinic / "signature-dr-chen.png")
    shutil.copy(examples_dir / "crps-1.yaml", clinic / "cases" / "crps-1.yaml")
    add_accounts(clinic)
    port = free_port()
    process = subprocess.Popen(cli_argv("serve", clinic, "--port", str(port)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if "sign in at" in line or (not line and process.poll() is not None):
                break
        import socket

        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", clinic
    finally:
        process.terminate()
        process.wait(timeout=10)
        log = process.stderr.read()
        assert "Traceback" not in log, log
        for private in ("RPC-2026", "Alvarez", PASSWORD, ID_PASSWORD):
            assert private not in log, private


def shot(page, name: str) -> None:
    folder = os.environ.get("KETAMINE_LETTERS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_billing_sends_the_physician_signs(office, tmp_path: Path, run_cli) -> None:
    base, clinic = office
    chen = next(p for p in load_practice(clinic / "practice.yaml").physicians
                if p.id == "dr-chen")
    p12 = tmp_path / "chen.p12"
    p12.write_bytes(create_demo_identity(chen, ID_PASSWORD.encode()))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            staff = Watched(browser.new_context(viewport={"width": 1280, "height": 900},
                                                accept_downloads=True).new_page())
            page = staff.page
            page.goto(f"{base}/")
            sync_api.expect(page).to_have_url(f"{base}/sign-in")
            shot(page, "sign-in")
            staff.check("sign-in")
            sign_in(page, base, "bb")
            sync_api.expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
            page.get_by_role("link", name="RPC-2026-0412").click()
            with page.expect_download() as pending:
                page.get_by_role("button", name="Draft and download PDF").click()
            assert pending.value.suggested_filename.endswith("-lmn.pdf")
            page.get_by_role("button", name="Send for review").click()
            sync_api.expect(page.get_by_text("Sent: the final letter is frozen")).to_be_visible()
            staff.check("case after sending")

            doctor = Watched(browser.new_context(viewport={"width": 1280, "height": 900},
                                                 accept_downloads=True).new_page())
            page = doctor.page
            sign_in(page, base, "achen")
            sync_api.expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
            shot(page, "review-queue")
            doctor.check("review queue")
            page.get_by_role("link", name="Signing identity").click()
            page.get_by_label(re.compile("Identity file")).set_input_files(str(p12))
            page.get_by_label("Its password").fill(ID_PASSWORD)
            page.get_by_role("button", name="Check and store").click()
            sync_api.expect(page.get_by_text("Stored, encrypted")).to_be_visible()
            doctor.check("identity")
            page.get_by_role("link", name="Review queue").click()
            page.get_by_role("link", name="RPC-2026-0412").click()
            sync_api.expect(page.get_by_role("img", name="Page 1 of")).to_be_visible()
            page.wait_for_load_state("networkidle")
            shot(page, "signing-page")
            doctor.check("signing page")
            page.get_by_label("Your account password").fill(PASSWORD)
            page.get_by_label("Signing identity password").fill(ID_PASSWORD)
            page.get_by_role("button", name="Sign this letter").click()
            sync_api.expect(page.get_by_role("heading", name="Signed")).to_be_visible()
            page.wait_for_load_state("networkidle")
            shot(page, "signed")
            with page.expect_download() as pending:
                page.get_by_role("link", name="Download the signed letter").click()
            signed = tmp_path / "signed.pdf"
            pending.value.save_as(signed)
            doctor.check("signed")

            page = staff.page
            page.goto(f"{base}/")
            sync_api.expect(page.locator("#rows")).to_contain_text("by achen")
            shot(page, "worklist-signed")
            staff.check("worklist with the signed letter")
        finally:
            browser.close()
    verified = run_cli("verify", signed)
    assert verified.code == 0, verified.output
    assert "Elena Chen" in verified.stdout
    checked = run_cli("audit", "--check", signed)
    assert checked.code == 0, checked.output
    assert signed.read_bytes() == next((clinic / "signed").iterdir()).read_bytes()
