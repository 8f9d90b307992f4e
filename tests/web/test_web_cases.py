"""The web workspace through FastAPI's TestClient: the worklist, the case form and its live
review beside each field, saving with comments kept and conflicts caught, new cases, code
search, uploads, and letters drafted through the pipeline into the audit log."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coverage.audit import events
from coverage.case import Case
from coverage.web.app import create_app
from coverage.web.schema_form import NOT_ON_FORM, field_id
from coverage.web.security import Gate
from coverage.workspace import Workspace
from tests.web_support import HOST, TODAY, csrf_of, form_fields, opened

# --------------------------------------------------------------------------- worklist


def status_of(html: str, case_id: str) -> str:
    row = re.search(rf">{re.escape(case_id)}</a>.*?</tr>", html, re.S)[0]
    return re.search(r'class="badge s-\w+">([^<]+)<', row)[1]


def test_the_worklist_shows_each_case_with_its_status_and_deadline(client: TestClient) -> None:
    html = client.get("/").text
    assert "5 cases" in html
    assert status_of(html, "RPC-2026-0412") == "Ready"
    assert status_of(html, "RPC-2026-0495") == "Blocked"
    urgent = re.search(r">RPC-2026-0412-A8</a>.*?</tr>", html, re.S)[0]
    assert "Appeal" in urgent and re.search(r"\d{4}-\d{2}-\d{2}", urgent)
    order = re.findall(r'<a href="/case/([^"]+)">', html)
    assert order.index("external-review-urgent.yaml") < order.index("experimental.yaml")
    assert order.index("experimental.yaml") < order.index("crps-1.yaml")


def test_the_worklist_searches_case_and_member_ids_and_filters_by_status(
        client: TestClient) -> None:
    assert "1 case shown" in client.get("/?q=0495").text
    by_member = client.get("/?q=xjh884512307").text  # the CRPS examples share a member
    assert "RPC-2026-0412" in by_member and "RPC-2026-0495" not in by_member
    blocked = client.get("/?status=blocked").text
    assert "1 case shown" in blocked and "RPC-2026-0495" in blocked
    fragment = client.get("/?q=0495", headers={"HX-Request": "true"}).text
    assert fragment.startswith('<div id="rows">') and "<html" not in fragment


def test_a_draft_letter_and_a_signed_letter_show_in_the_status(client: TestClient,
                                                               clinic: Path) -> None:
    assert status_of(client.get("/").text, "RPC-2026-0412") == "Ready"
    (clinic / "letters").mkdir()
    (clinic / "letters" / "RPC-2026-0412-lmn.pdf").write_bytes(b"%PDF")
    assert status_of(client.get("/").text, "RPC-2026-0412") == "Letter drafted"
    (clinic / "signed").mkdir()
    (clinic / "signed" / "RPC-2026-0412-lmn.pdf").write_bytes(b"%PDF")
    assert status_of(client.get("/").text, "RPC-2026-0412") == "Signed"


def test_status_is_cached_against_the_file_hash(client: TestClient, clinic: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import coverage.web.worklist as worklist

    client.get("/")
    calls: list[str] = []
    real = worklist.assess
    monkeypatch.setattr(worklist, "assess", lambda *a: calls.append(a[1]) or real(*a))
    client.get("/")
    assert calls == []
    path = clinic / "cases" / "crps-1.yaml"
    path.write_text(path.read_text().replace("code: G90.521", "code: G90.5"))
    html = client.get("/").text
    assert [Path(c).name for c in calls] == ["crps-1.yaml"]
    assert status_of(html, "RPC-2026-0412") == "Blocked"


# --------------------------------------------------------------------------- case form


def test_the_form_has_every_field_of_the_schema_with_its_description(
        client: TestClient) -> None:
    html, fields = opened(client)
    for name in Case.model_fields:
        if name not in NOT_ON_FORM:
            assert f'id="{field_id(name)}"' in html, name
    assert "date printed on the letter; today when left out" in html  # a description
    assert fields["patient.name.given"] == ["Maria"]
    assert fields["diagnoses[0].code"] == ["G90.521"]
    assert fields["prior_therapies[1].agent"] == ["gabapentin"]
    assert 'type="date"' in html and 'name="patient.date_of_birth"' in html
    assert re.search(r'<label for="f-patient-member_id">', html)


def test_live_review_puts_a_blocking_finding_beside_its_field(client: TestClient) -> None:
    from coverage.pipeline import load_inputs, review
    from tests.conftest import EXAMPLES

    _, fields = opened(client)
    fields["diagnoses[0].code"] = ["G90.5"]
    response = client.post("/review/crps-1.yaml", data=fields)
    assert response.status_code == 200
    slot = re.search(r'<div id="m-diagnoses-0-code" class="msgs" hx-swap-oob="true">(.*?)</div>',
                     response.text, re.S)[1]
    assert "BLOCKING" in slot and "ICD_NOT_BILLABLE" in slot
    # the same words as `check`
    import yaml

    data = yaml.safe_load((EXAMPLES / "crps-1.yaml").read_text())
    data["diagnoses"][0]["code"] = "G90.5"
    path = client.app.state.ctx.ws.cases / "g905.yaml"
    path.write_text(yaml.safe_dump(data))
    inputs = load_inputs(path)
    finding = next(f for f in review(inputs, date.fromisoformat(TODAY)).findings
                   if f.code == "ICD_NOT_BILLABLE")
    assert finding.field == "diagnoses[0].code"
    assert finding.message.replace("'", "&#39;") in slot
    assert '<div id="m-plan-minutes_per_infusion" class="msgs" hx-swap-oob="true"></div>' in (
        response.text)


def test_live_review_names_input_problems_beside_their_fields(client: TestClient) -> None:
    _, fields = opened(client)
    fields["patient.weight_kg"] = ["68 kg"]
    fields["plan.minutes_per_infusion"] = [""]
    text = client.post("/review/crps-1.yaml", data=fields).text
    assert re.search(r'id="m-patient-weight_kg"[^>]*><p class="msg blocking">.*?must be a '
                     r'number', text)
    assert re.search(r'id="m-plan-minutes_per_infusion"[^>]*><p class="msg blocking">.*?'
                     r'required field is missing', text)
    assert "Needs information" in text


def test_rows_are_added_and_removed_without_saving(client: TestClient, clinic: Path) -> None:
    before = (clinic / "cases" / "crps-1.yaml").read_bytes()
    _, fields = opened(client)
    added = client.post("/rows/crps-1.yaml", data={**fields, "_row": ["add:diagnoses"]})
    assert added.headers["hx-trigger"] == "case-changed"
    assert 'name="diagnoses[1].code"' in added.text  # crps-1 lists one diagnosis
    two = {**fields, **form_fields(f'<form id="case-form">{added.text}</form>')}
    two["diagnoses[1].code"] = ["G89.4"]
    removed = client.post("/rows/crps-1.yaml", data={**two, "_row": ["remove:diagnoses[0]"]})
    after = form_fields(f'<form id="case-form">{removed.text}</form>')
    assert after["diagnoses[0].code"] == ["G89.4"] and "diagnoses[1].code" not in after
    nested = client.post("/rows/crps-1.yaml", data={**fields, "_row": ["add:pain.scores"]})
    assert 'name="pain.scores[3].nrs"' in nested.text
    assert (clinic / "cases" / "crps-1.yaml").read_bytes() == before


def test_saving_an_unchanged_form_leaves_the_file_byte_for_byte(client: TestClient,
                                                                clinic: Path) -> None:
    path = clinic / "cases" / "crps-1.yaml"
    before = path.read_bytes()
    _, fields = opened(client)
    response = client.post("/save/crps-1.yaml", data=fields, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/case/crps-1.yaml?saved=1"
    assert path.read_bytes() == before


def test_an_edit_keeps_the_comments_and_changes_only_its_field(client: TestClient,
                                                               clinic: Path) -> None:
    path = clinic / "cases" / "crps-1.yaml"
    path.write_text(path.read_text().replace("  weight_kg: 68\n",
                                             "  weight_kg: 68   # weighed 2026-11-04\n"))
    before = path.read_text()
    _, fields = opened(client)
    fields["plan.minutes_per_infusion"] = ["45"]
    fields["coverage.payer_fax"] = [""]  # emptied: the line goes
    assert client.post("/save/crps-1.yaml", data=fields).status_code == 200
    after = path.read_text()
    assert "# Letter of medical necessity: CRPS type I" in after
    assert "weight_kg: 68   # weighed 2026-11-04" in after
    assert "minutes_per_infusion: 45" in after and "payer_fax" not in after
    changed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert len(changed) == 2, changed
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_conflicting_save_keeps_both_versions_and_overwrites_nothing(
        client: TestClient, clinic: Path) -> None:
    path = clinic / "cases" / "crps-1.yaml"
    _, fields = opened(client)
    theirs = path.read_text().replace("weight_kg: 68", "weight_kg: 70")
    path.write_text(theirs)  # the CLI or an editor saved meanwhile
    fields["plan.minutes_per_infusion"] = ["45"]
    response = client.post("/save/crps-1.yaml", data=fields)
    assert response.status_code == 409
    assert "this file changed since you opened it" in response.text
    assert path.read_text() == theirs
    assert "weight_kg: 70" in response.text and "minutes_per_infusion: 45" in response.text
    kept = list((clinic / ".ketamine-letters" / "web" / "unsaved").glob("crps-1-*.yaml"))
    assert len(kept) == 1 and "minutes_per_infusion: 45" in kept[0].read_text()
    assert "weight_kg: 68" in kept[0].read_text()  # the whole form, as it was typed
    again = form_fields(response.text)  # the form now carries the new hash: save again
    assert again["plan.minutes_per_infusion"] == ["45"]
    assert client.post("/save/crps-1.yaml", data=again).status_code == 200
    assert "minutes_per_infusion: 45" in path.read_text()


def test_unknown_and_outside_case_paths_are_404(client: TestClient) -> None:
    for key in ("nope.yaml", "../practice.yaml", "..%2Fpractice.yaml", "/etc/passwd"):
        assert client.get(f"/case/{key}").status_code == 404, key


def test_a_case_file_that_is_not_yaml_is_explained(client: TestClient, clinic: Path) -> None:
    (clinic / "cases" / "broken.yaml").write_text("case_id: [unclosed\n")
    response = client.get("/case/broken.yaml")
    assert response.status_code == 400 and "cannot be shown as a form" in response.text
    assert "Needs information" in client.get("/").text


# --------------------------------------------------------------------------- new case, codes


def test_a_new_case_from_a_condition_is_the_starter_file(client: TestClient,
                                                         clinic: Path) -> None:
    csrf = csrf_of(client.get("/cases/new").text)
    response = client.post("/cases/new", data={"_csrf": csrf, "condition": "crps",
                                                "case_id": "NEW-1"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/case/NEW-1.yaml"
    text = (clinic / "cases" / "NEW-1.yaml").read_text()
    assert text.startswith("# Case file for ketamine-letters.")
    assert "case_id: NEW-1" in text and "G90.521" in text
    page = client.get("/case/NEW-1.yaml").text
    assert "still a placeholder" in page and "Needs information" in page
    again = client.post("/cases/new", data={"_csrf": csrf, "condition": "crps",
                                             "case_id": "NEW-1"})
    assert again.status_code == 400 and "already exists" in again.text
    bad = client.post("/cases/new", data={"_csrf": csrf, "condition": "crps",
                                           "case_id": "../x"})
    assert bad.status_code == 400 and not (clinic / "x.yaml").exists()


def test_code_search_offers_billable_codes_only(client: TestClient) -> None:
    words = client.get("/codes?q=crps").text
    assert "G90.521" in words and "Complex regional pain syndrome" in words
    by_code = client.get("/codes", params={"field": "diagnoses[0].code",
                                           "diagnoses[0].code": "G90.5"}).text
    assert 'data-code="G90.511"' in by_code and 'data-target="f-diagnoses-0-code"' in by_code
    assert 'data-code="G90.5"' not in by_code and 'data-code="G90.52"' not in by_code
    assert "No billable code" in client.get("/codes?q=zzzzqq").text


# --------------------------------------------------------------------------- letters


def test_a_draft_letter_is_recorded_and_served(client: TestClient, clinic: Path,
                                               audit_log: Path) -> None:
    from pypdf import PdfReader

    csrf = csrf_of(client.get("/case/crps-1.yaml").text)
    response = client.post("/letter/crps-1.yaml", data={"_csrf": csrf, "deliver": "open-pdf"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/letter-file/pdf/crps-1.yaml"
    served = client.get(response.headers["location"])
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("inline")
    written = clinic / "letters" / "RPC-2026-0412-lmn.pdf"
    assert served.content == written.read_bytes()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(served.content)).pages)
    assert "Maria Alvarez" in text and "G90.521" in text
    assert [e.command for e in events(audit_log)] == ["web lmn"]
    assert 'href="/letter-file/pdf/crps-1.yaml?download=1">RPC-2026-0412-lmn.pdf</a>' in (
        client.get("/case/crps-1.yaml").text)
    download = client.get("/letter-file/pdf/crps-1.yaml?download=1")
    assert download.headers["content-disposition"].startswith("attachment")
    assert status_of(client.get("/").text, "RPC-2026-0412") == "Letter drafted"


def test_a_word_copy_downloads(client: TestClient, clinic: Path) -> None:
    import docx

    csrf = csrf_of(client.get("/case/experimental.yaml").text)
    response = client.post("/letter/experimental.yaml",
                           data={"_csrf": csrf, "deliver": "download-docx"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="RPC-2026-0412-A2-appeal.docx"')
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
    assert "Maria Alvarez" in text


def test_a_blocked_case_gets_no_letter(client: TestClient, clinic: Path,
                                       audit_log: Path) -> None:
    csrf = csrf_of(client.get("/case/blocked-oral-route.yaml").text)
    response = client.post("/letter/blocked-oral-route.yaml",
                           data={"_csrf": csrf, "deliver": "open-pdf"})
    assert response.status_code == 409 and "BLOCKING" in response.text
    assert not (clinic / "letters").exists() or not any((clinic / "letters").iterdir())
    assert client.get("/letter-file/pdf/blocked-oral-route.yaml").status_code == 404


# --------------------------------------------------------------------------- uploads

DATA = Path(__file__).parents[1] / "data"


def test_a_fhir_record_becomes_a_case(client: TestClient, clinic: Path) -> None:
    csrf = csrf_of(client.get("/cases/new").text)
    record = (DATA / "fhir" / "crps-us-core.json").read_bytes()
    response = client.post("/cases/import-fhir", data={"_csrf": csrf, "case_id": "FHIR-1"},
                           files={"record": ("crps-us-core.json", record, "application/json")},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/case/FHIR-1.yaml"
    text = (clinic / "cases" / "FHIR-1.yaml").read_text()
    assert "file: crps-us-core.json" in text and "G90.5" in text
    assert list((clinic / ".ketamine-letters" / "web" / "uploads").iterdir()) == []
    assert client.get("/case/FHIR-1.yaml").status_code == 200
    again = client.post("/cases/import-fhir", data={"_csrf": csrf, "case_id": "FHIR-1"},
                        files={"record": ("crps-us-core.json", record, "application/json")})
    assert again.status_code == 400 and "already exists" in again.text


def test_an_oversized_upload_is_refused_with_a_message(
        client: TestClient, clinic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coverage.web.routes_imports as imports

    monkeypatch.setattr(imports, "MAX_UPLOAD", 1000)
    csrf = csrf_of(client.get("/cases/new").text)
    response = client.post("/cases/import-fhir", data={"_csrf": csrf, "case_id": "BIG"},
                           files={"record": ("big.json", b"{" + b" " * 5000 + b"}")})
    assert response.status_code == 400 and "larger than" in response.text
    assert not (clinic / "cases" / "BIG.yaml").exists()


def test_remittances_write_denials_and_show_their_worklist(clinic: Path, gate: Gate) -> None:
    app = create_app(Workspace(clinic), gate, today=lambda: date(2027, 1, 20))
    client = TestClient(app, base_url=f"http://{HOST}")
    client.get(f"/open?token={gate.token}")
    path = clinic / "cases" / "crps-1.yaml"
    path.write_text(re.sub(r"(?m)^letter_date:.*\n", "", path.read_text()))
    csrf = csrf_of(client.get("/cases/new").text)
    remit = (DATA / "x12" / "ketamine-denials.835").read_bytes()
    response = client.post("/remittances", data={"_csrf": csrf},
                           files=[("remits", ("ketamine-denials.835", remit, "text/plain"))])
    assert response.status_code == 200
    assert "denial written" in response.text and 'href="/case/crps-1.yaml"' in response.text
    assert "denial:" in path.read_text() and "CHP2701150001" in path.read_text()
    assert ">Appeal<" in client.get("/").text


def _example_files() -> list[Path]:
    from tests.conftest import EXAMPLES

    return [p for p in sorted(EXAMPLES.glob("*.yaml")) + sorted(EXAMPLES.glob("appeals/*.yaml"))
            if p.name != "practice.yaml"]


@pytest.mark.parametrize("example", _example_files(), ids=lambda p: p.name)
def test_every_example_survives_the_form_unchanged(clinic: Path, gate: Gate,
                                                   example: Path) -> None:
    """The form shows every field of every example, and posting it back gives the same case:
    nothing in a case file is out of the form's reach or changed by passing through it, and
    saving it unchanged leaves the file as it was, byte for byte."""
    from coverage.loading import case_from_data, load_case
    from coverage.web.form_data import case_data
    from coverage.yaml_files import load_yaml

    shutil_copy(example, clinic / "cases" / "x.yaml")
    app = create_app(Workspace(clinic), gate, today=lambda: date.fromisoformat(TODAY))
    client = TestClient(app, base_url=f"http://{HOST}")
    client.get(f"/open?token={gate.token}")
    html = client.get("/case/x.yaml").text
    posted = [(k, v) for k, vs in form_fields(html).items() for v in vs if not k.startswith("_")]
    data = case_data(posted)
    assert set(data) == set(load_yaml(example.read_text(), str(example))) - NOT_ON_FORM
    through_form = case_from_data(data, "form").model_dump(exclude=set(NOT_ON_FORM))
    assert through_form == load_case(example).model_dump(exclude=set(NOT_ON_FORM))
    saved = client.post("/save/x.yaml", data=form_fields(html), follow_redirects=False)
    assert saved.status_code == 303
    assert (clinic / "cases" / "x.yaml").read_bytes() == example.read_bytes()  # byte for byte


def shutil_copy(source: Path, target: Path) -> None:
    target.write_bytes(source.read_bytes())


def test_an_appeal_shows_its_filing_deadline_in_the_review(client: TestClient) -> None:
    html = client.get("/case/experimental.yaml").text
    review = html[html.index('<div id="review"'):]
    assert "Appeal of a denial" in review
    assert re.search(r"<dt>Filing deadline</dt><dd>\d{4}-\d{2}-\d{2} \(\d+ days left", review)


def test_a_symbolic_link_in_cases_is_neither_listed_nor_opened(client: TestClient,
                                                             clinic: Path) -> None:
    outside = clinic.parent / "elsewhere.yaml"
    outside.write_text((clinic / "cases" / "crps-1.yaml").read_text())
    (clinic / "cases" / "link.yaml").symlink_to(outside)
    assert "link.yaml" not in client.get("/").text
    assert client.get("/case/link.yaml").status_code == 404


def test_text_typed_in_decomposed_unicode_is_saved_composed(client: TestClient,
                                                            clinic: Path) -> None:
    import unicodedata

    _, fields = opened(client)
    fields["patient.name.family"] = [unicodedata.normalize("NFD", "Nguyễn")]
    assert client.post("/save/crps-1.yaml", data=fields).status_code == 200
    text = (clinic / "cases" / "crps-1.yaml").read_text()
    assert "family: Nguyễn" in text and unicodedata.normalize("NFD", "Nguyễn") not in text


# --------------------------------------------------------------------------- the audit log


def test_case_files_written_in_the_browser_are_in_the_audit_log(client: TestClient,
                                                                clinic: Path,
                                                                audit_log: Path) -> None:
    import hashlib

    csrf = csrf_of(client.get("/cases/new").text)
    client.post("/cases/new", data={"_csrf": csrf, "condition": "crps", "case_id": "AUD-1"})
    _, fields = opened(client)
    fields["plan.minutes_per_infusion"] = ["45"]
    assert client.post("/save/crps-1.yaml", data=fields).status_code == 200
    logged = [(e.command, e.kind, e.output_sha256) for e in events(audit_log)]
    digest = {name: hashlib.sha256((clinic / "cases" / name).read_bytes()).hexdigest()
              for name in ("AUD-1.yaml", "crps-1.yaml")}
    assert ("web new-case", "case", digest["AUD-1.yaml"]) in logged
    assert ("web save-case", "case", digest["crps-1.yaml"]) in logged
    text = audit_log.read_bytes()
    assert b"Alvarez" not in text and b"AUD-1" not in text  # hashes, never the patient


def test_a_log_that_cannot_record_leaves_the_case_file_as_it_was(client: TestClient,
                                                                 clinic: Path,
                                                                 audit_log: Path) -> None:
    path = clinic / "cases" / "crps-1.yaml"
    before = path.read_bytes()
    _, fields = opened(client)
    fields["plan.minutes_per_infusion"] = ["45"]
    audit_log.parent.mkdir(parents=True, exist_ok=True)
    if audit_log.exists():
        audit_log.unlink()
    audit_log.mkdir()  # a folder where the log should be: nothing can be recorded
    response = client.post("/save/crps-1.yaml", data=fields)
    assert response.status_code >= 400
    assert path.read_bytes() == before
