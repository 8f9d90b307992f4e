"""End to end in a real browser: Playwright driving Debian's Chromium against `serve`.

Billing staff's path: open the one-time link, start a CRPS case from the worklist, fill it in,
see a BLOCKING finding appear beside the field it concerns, fix it, save, draft the letter and
download it (headless Chromium has no PDF viewer), and read the PDF's text. axe-core runs on
every page (no serious or critical violations) and the browser console stays clean, under the
page's strict Content-Security-Policy.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import cli_argv

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(),
    reason="browser tests need Debian's Chromium at /usr/bin/chromium "
           "(apt-get install -y chromium; .ci/run installs it)",
)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright",
                                 reason="axe-playwright-python is not installed")

expect = sync_api.expect
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SERIOUS = {"serious", "critical"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path, examples_dir: Path) -> Iterator[tuple[str, Path]]:
    """`ketamine-letters serve` on a free port over a fresh workspace; (link, folder)."""
    clinic = tmp_path / "clinic"
    (clinic / "cases").mkdir(parents=True)
    shutil.copy(examples_dir / "practice.yaml", clinic / "practice.yaml")
    shutil.copy(examples_dir / "appeals" / "experimental.yaml", clinic / "cases")
    port = free_port()
    process = subprocess.Popen(cli_argv("serve", clinic, "--port", str(port)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        link = ""
        deadline = time.monotonic() + 60
        while not link and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                pytest.fail(f"serve exited: {process.stderr.read()}")
            found = re.search(r"http://127\.0\.0\.1:\d+/open\?token=\S+", line)
            link = found[0] if found else ""
        for _ in range(100):  # the link is printed just before uvicorn binds
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield link, clinic
    finally:
        process.terminate()
        process.wait(timeout=10)
        log = process.stderr.read()
        assert "Traceback" not in log, log
        for private in ("RPC-2026", "XJH", "Alvarez", "token="):
            assert private not in log, private


@pytest.fixture
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


class Watched:
    """A page whose console errors and accessibility violations are collected."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.console: list[str] = []
        self.axe = axe_module.Axe()
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console.append(str(e)))

    def check(self, name: str) -> None:
        results = self.axe.run(self.page)
        serious = [f"{v['id']} ({v['impact']}): {v['help']}"
                   for v in results.response["violations"] if v["impact"] in SERIOUS]
        assert serious == [], f"{name}: {serious}"
        assert self.console == [], f"{name}: {self.console}"


def fill(page: object, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = page.locator(f'[name="{name}"]')
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def starter_values(today: date) -> dict[str, str]:
    """What staff type into the CRPS starter, from the crps-1 example's record."""
    day = lambda n: (today - timedelta(days=n)).isoformat()  # noqa: E731
    values = {
        "prescriber": "dr-chen", "patient.name.given": "Maria",
        "patient.name.family": "Alvarez", "patient.date_of_birth": "1984-06-12",
        "patient.weight_kg": "68", "patient.member_id": "XJH884512307",
        "patient.group_number": "0047112", "coverage.payer_name": "Cascade Health Plan",
        "coverage.payer_address.lines": "PO Box 4410", "coverage.payer_address.city": "Seattle",
        "coverage.payer_address.state": "WA", "coverage.payer_address.postal_code": "98194",
        "coverage.payer_fax": "(800) 555-0199", "coverage.plan_name": "Cascade PPO Gold",
        "diagnoses[0].onset_date": "2024-02-10",
        "diagnoses[0].how_diagnosed": "Examined after a right ankle fracture: allodynia, "
                                      "edema and colour change; three-phase bone scan "
                                      "consistent with CRPS.",
        "pain.pain_since": "2024-02-10", "pain.scores[0].date": day(20),
        "pain.scores[0].nrs": "8", "pain.measures[0].date": day(20),
        "pain.measures[0].score": "7.4",
        "pain.functional_impact": "Unable to bear full weight on the right foot for more "
                                  "than ten minutes; on medical leave since March 2025.",
        "plan.dose_mg_per_kg": "0.5", "plan.minutes_per_infusion": "400",
        "plan.infusions": "6", "plan.weeks": "3",
        "plan.setting": "outpatient infusion suite of the practice",
        "plan.ndc": "00409-2051-05", "enclosures": "Clinic notes\nBone scan report",
    }
    for index, dose in enumerate(["2 sessions/week", "3600 mg/day", "60 mg/day", "3 blocks"]):
        values |= {f"prior_therapies[{index}].dose": dose,
                   f"prior_therapies[{index}].start_date": day(700 - 120 * index),
                   f"prior_therapies[{index}].end_date": day(600 - 120 * index),
                   f"prior_therapies[{index}].note": "No lasting relief."}
    for item in ("blood_pressure", "cardiac", "psychosis", "pregnancy", "substance_use",
                 "liver", "intracranial_intraocular_pressure"):
        values |= {f"safety.{item}.reviewed": "true",
                   f"safety.{item}.finding": "Reviewed; nothing of concern in the record."}
    return values


def messages_beside(page: object, field_id: str) -> str:
    return page.locator(f"#m-{field_id}").inner_text()


def test_staff_create_fix_and_draft_a_crps_letter(server, browser, tmp_path: Path) -> None:
    from pypdf import PdfReader

    link, clinic = server
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  accept_downloads=True)
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(link)
    assert page.url.endswith("/") and page.get_by_role("heading", name="Worklist").is_visible()
    watched.check("worklist")

    page.get_by_role("link", name="New case").first.click()
    watched.check("new case")
    page.get_by_label("Condition").select_option("crps")
    page.get_by_label("Case ID", exact=True).fill("E2E-CRPS-1")
    page.get_by_role("button", name="Create case").click()
    page.wait_for_url(re.compile(r"/case/E2E-CRPS-1\.yaml$"))
    assert "still a placeholder" in page.locator("#review").inner_text()
    watched.check("case form (starter)")

    fill(page, starter_values(date.today()))
    minutes = "plan-minutes_per_infusion"
    try:
        expect(page.locator(f"#m-{minutes}")).to_contain_text("DURATION_OUT_OF_BOUNDS")
    except AssertionError:
        pytest.fail(f"no finding beside the field; review: {page.locator('#review').inner_text()}")
    beside = messages_beside(page, minutes)
    assert "DURATION_OUT_OF_BOUNDS" in beside and "400 minutes" in beside
    assert page.locator(f"#m-{minutes} .msg.blocking").count() == 1  # red, beside the field
    watched.check("case form (blocking finding)")

    page.locator('[name="plan.minutes_per_infusion"]').fill("45")
    expect(page.locator(f"#m-{minutes}")).to_have_text("")
    expect(page.locator("#review .badge")).to_have_text("Ready")

    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"saved=1$"))
    saved = (clinic / "cases" / "E2E-CRPS-1.yaml").read_text()
    assert "minutes_per_infusion: 45" in saved and "# Case file for ketamine-letters" in saved
    assert "Ready" in page.locator("#review").inner_text()
    watched.check("case form (saved)")

    with page.expect_download() as pending:
        page.get_by_role("button", name="Draft and download PDF").click()
    download = pending.value
    assert download.suggested_filename == "E2E-CRPS-1-lmn.pdf"
    target = tmp_path / "letter.pdf"
    download.save_as(target)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(target.read_bytes())).pages)
    assert "Maria Alvarez" in text and "G90.521" in text
    assert "45 minutes" in text or "45-minute" in text
    assert target.read_bytes() == (clinic / "letters" / "E2E-CRPS-1-lmn.pdf").read_bytes()

    page.get_by_role("link", name="Worklist").first.click()
    row = page.locator("tr", has_text="E2E-CRPS-1")
    assert "Letter drafted" in row.inner_text()
    watched.check("worklist (drafted)")
    context.close()


def test_code_search_picks_a_billable_code_with_the_keyboard(server, browser) -> None:
    link, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(link)
    page.goto(link.split("/open")[0] + "/case/experimental.yaml")
    code = page.locator('[name="diagnoses[0].code"]')
    code.fill("G90.5")
    expect(page.locator("#m-diagnoses-0-code")).to_contain_text("ICD_NOT_BILLABLE")
    pick = page.locator("#f-diagnoses-0-code-codes .code-pick", has_text="G90.521")
    pick.wait_for(timeout=10000)
    page.keyboard.press("Tab")  # from the code field to the first result, with a visible ring
    focused = page.evaluate("(() => { const e = document.activeElement; return "
                            "[e.className, getComputedStyle(e).boxShadow]; })()")
    assert focused[0] == "code-pick" and focused[1] not in ("", "none"), focused
    pick.focus()
    page.keyboard.press("Enter")
    assert code.input_value() == "G90.521"
    expect(page.locator("#m-diagnoses-0-code")).to_have_text("")
    watched.check("code search")
    context.close()


def test_a_conflict_shows_both_versions_and_no_page_is_open_without_the_link(
        server, browser) -> None:
    link, clinic = server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(link)
    page.goto(link.split("/open")[0] + "/case/experimental.yaml")
    path = clinic / "cases" / "experimental.yaml"
    path.write_text(path.read_text().replace("weight_kg: 68", "weight_kg: 69"))
    page.locator('[name="plan.infusions"]').fill("4")
    page.get_by_role("button", name="Save").first.click()
    page.get_by_role("heading", name=re.compile("Not saved")).wait_for()
    assert "weight_kg: 69" in page.locator(".compare").inner_text()
    assert "weight_kg: 69" in path.read_text() and "infusions: 4\n" not in path.read_text()
    # Chromium logs the page's own 409 status as a console line; nothing else may appear
    assert watched.console == ["Failed to load resource: the server responded with a status "
                               "of 409 (Conflict)"]
    watched.console.clear()
    watched.check("conflict")

    stranger = browser.new_context().new_page()
    response = stranger.goto(link.split("/open")[0] + "/")
    assert response.status == 403
    assert stranger.goto(link).status == 403  # the link works once
    context.close()


def test_the_other_pages_pass_axe(server, browser, examples_dir: Path) -> None:
    """The refused letter, the remittance import and the 403 page."""
    link, clinic = server
    shutil.copy(examples_dir / "blocked-oral-route.yaml", clinic / "cases")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(link)
    page.goto(link.split("/open")[0] + "/case/blocked-oral-route.yaml")
    page.get_by_role("button", name="Draft and download PDF").click()
    page.get_by_role("heading", name="No letter: fix these first").wait_for()
    assert "ROUTE_NOT_IV" in page.locator(".findings").inner_text()
    watched.console.clear()  # the refusal's own 409 status, as for the conflict
    watched.check("refused letter")

    page.goto(link.split("/open")[0] + "/cases/new")
    page.get_by_label("835 files").set_input_files(
        str(Path(__file__).parents[1] / "data" / "x12" / "ketamine-denials.835"))
    page.get_by_role("button", name="Import remittances").click()
    page.get_by_role("heading", name="Remittances imported").wait_for()
    assert "remittance file(s)" in page.locator("main").inner_text()
    watched.check("remittances")
    context.close()

    stranger = Watched(browser.new_context(viewport={"width": 1280, "height": 800}).new_page())
    assert stranger.page.goto(link.split("/open")[0] + "/").status == 403
    assert stranger.page.get_by_role("heading", name="Not allowed").is_visible()
    stranger.console.clear()  # the page's own 403 status
    stranger.check("forbidden")
