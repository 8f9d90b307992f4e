"""Send for review, the physician's queue, the encrypted signing identity, and signing the
frozen bytes: the signed letter verifies with `verify`, is in `signed/` and the audit log."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from coverage.loading import load_practice
from coverage.signing import create_demo_identity
from coverage.signoff.requests import Requests
from coverage.workspace import Workspace
from tests.web_support import PASSWORD, page_csrf, sign_in

ID_PASSWORD = "identity pass 1"


def physician(clinic: Path, physician_id: str = "dr-chen"):
    return next(p for p in load_practice(clinic / "practice.yaml").physicians
                if p.id == physician_id)


def demo_p12(clinic: Path, physician_id: str = "dr-chen", **options) -> bytes:
    return create_demo_identity(physician(clinic, physician_id), ID_PASSWORD.encode(),
                                **options)


def send(client, key: str = "crps-1.yaml"):
    return client.post(f"/send/{key}", data={"_csrf": page_csrf(client, f"/case/{key}")},
                       follow_redirects=False)


def upload(client, p12: bytes, password: str = ID_PASSWORD):
    return client.post("/identity", data={"_csrf": page_csrf(client, "/identity"),
                                          "password": password},
                       files={"p12": ("me.p12", p12, "application/x-pkcs12")})


def request_id(clinic: Path) -> str:
    (found,) = Requests(Workspace(clinic)).all()[:1]
    return found.id


@pytest.fixture
def sent(browser, clinic: Path):
    """billing (bb) sent crps-1 for review; returns (billing client, request id)."""
    billing = browser()
    sign_in(billing, "bb")
    response = send(billing)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/case/crps-1.yaml?sent=1"
    return billing, request_id(clinic)


@pytest.fixture
def doctor(browser, clinic: Path):
    client = browser()
    sign_in(client, "achen")
    assert upload(client, demo_p12(clinic)).status_code == 200
    return client


def sign(client, rid: str, password: str = PASSWORD, identity_password: str = ID_PASSWORD):
    return client.post(f"/reviews/{rid}/sign", data={
        "_csrf": page_csrf(client, "/reviews"), "password": password,
        "identity_password": identity_password}, follow_redirects=False)


def test_send_freezes_the_final_letter(sent, clinic: Path, audit_log: Path) -> None:
    _, rid = sent
    request = Requests(Workspace(clinic)).get(rid)
    frozen = (clinic / ".ketamine-letters" / "reviews" / f"{rid}.pdf").read_bytes()
    assert hashlib.sha256(frozen).hexdigest() == request.pdf_sha256
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(frozen)).pages)
    assert "DRAFT" not in text and "Digitally signed by Elena Chen, MD" in text
    assert request.letter_date == "2026-11-20" and request.sent_by == "bb"
    assert request.physician_id == "dr-chen"
    stored = json.loads((clinic / ".ketamine-letters" / "reviews" / f"{rid}.json").read_text())
    assert "Chen" not in json.dumps(stored) or stored["physician_id"] == "dr-chen"
    import sqlite3

    rows = sqlite3.connect(audit_log).execute("SELECT command, output_sha256 FROM events"
                                              ).fetchall()
    assert ("web send-for-review by bb", request.pdf_sha256) in rows


def test_the_queue_the_pages_and_signing(sent, doctor, clinic: Path, run_cli) -> None:
    billing, rid = sent
    queue = doctor.get("/reviews")
    assert f"/reviews/{rid}" in queue.text and "RPC-2026" in queue.text
    page = doctor.get(f"/reviews/{rid}")
    assert page.status_code == 200 and "Sign this letter" in page.text
    image = doctor.get(f"/reviews/{rid}/page/1")
    assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"
    frozen = doctor.get(f"/reviews/{rid}/pdf").content
    response = sign(doctor, rid)
    assert response.status_code == 303, response.text
    request = Requests(Workspace(clinic)).get(rid)
    assert request.state.name == "signed" and request.decided_by == "achen"
    signed = clinic / "signed" / request.signed_file
    data = signed.read_bytes()
    assert data.startswith(frozen)  # exactly the reviewed bytes, then the signature
    assert run_cli("verify", signed).code == 0
    assert run_cli("audit", "--check", signed).code == 0
    assert doctor.get(f"/signed-file/{rid}").content == data
    worklist = billing.get("/").text
    assert re.search(r"Signed</span><span class=\"sub\">by achen, \d{4}-\d\d-\d\d", worklist)
    assert "Download the signed letter" in doctor.get(f"/reviews/{rid}").text


def test_a_changed_case_withdraws_the_request(sent, doctor, clinic: Path) -> None:
    _, rid = sent
    case = clinic / "cases" / "crps-1.yaml"
    case.write_text(case.read_text() + "\n# a later edit\n")
    response = sign(doctor, rid)
    assert response.status_code == 400 and "case file changed" in response.text
    assert not (clinic / "signed").exists()
    queue = doctor.get("/reviews").text
    assert "Withdrawn" in queue and "case file changed after it was sent" in queue


def test_return_with_a_comment(sent, doctor, clinic: Path) -> None:
    billing, rid = sent
    url = f"/reviews/{rid}/return"
    empty = doctor.post(url, data={"_csrf": page_csrf(doctor, "/reviews"), "comment": " "})
    assert empty.status_code == 400
    done = doctor.post(url, data={"_csrf": page_csrf(doctor, "/reviews"),
                                  "comment": "Add the 2025 nerve block."})
    assert done.status_code == 200
    assert "Add the 2025 nerve block." in billing.get("/case/crps-1.yaml").text
    assert sign(doctor, rid).status_code == 400  # a returned letter cannot be signed


def test_wrong_passwords_sign_nothing(sent, doctor, clinic: Path) -> None:
    _, rid = sent
    assert sign(doctor, rid, password="not my password").status_code == 401
    wrong = sign(doctor, rid, identity_password="not the identity pw")
    assert wrong.status_code == 400 and "wrong password for your signing identity" in wrong.text
    assert not (clinic / "signed").exists()
    assert Requests(Workspace(clinic)).get(rid).state.name == "in_review"


@pytest.mark.parametrize(("make", "message"), [
    (lambda c: demo_p12(c, not_before=datetime.now(UTC) - timedelta(days=400)), "expired"),
    (lambda c: demo_p12(c, not_before=datetime.now(UTC) + timedelta(days=9)), "not valid until"),
    (lambda c: demo_p12(c, "dr-okafor"), "not for NPI"),
    (lambda c: demo_p12(c)[:-40], "damaged"),
    (lambda c: b"%PDF-1.7\n" + b"x" * 500, "not a PKCS#12"),
])
def test_bad_identities_are_refused_and_nothing_is_stored(browser, clinic: Path, make,
                                                          message) -> None:
    client = browser()
    sign_in(client, "achen")
    response = upload(client, make(clinic))
    assert response.status_code == 400 and message in response.text, response.text
    assert "Nothing was stored" in response.text
    assert not (clinic / ".ketamine-letters" / "identities" / "dr-chen.json").exists()


def test_identity_wrong_password_pinning_and_encryption(doctor, clinic: Path) -> None:
    stored = clinic / ".ketamine-letters" / "identities" / "dr-chen.json"
    before = stored.read_bytes()
    assert ID_PASSWORD.encode() not in before
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert upload(doctor, demo_p12(clinic), password="wrong").status_code == 400
    other = upload(doctor, demo_p12(clinic))  # another certificate for the same physician
    assert other.status_code == 400 and "not the certificate pinned" in other.text
    assert stored.read_bytes() == before


def test_an_oversized_upload_is_refused_before_it_is_read(doctor, clinic: Path) -> None:
    response = upload(doctor, b"0" * 200_000)
    assert response.status_code == 413 and "larger than 64 KB" in response.text


def test_an_identity_chosen_for_one_signing(sent, browser, clinic: Path, run_cli) -> None:
    """Not stored: checked like an upload, pinned at first use (fingerprint only), and a
    later signing with another certificate is refused."""
    _, rid = sent
    doctor = browser()
    sign_in(doctor, "achen")
    assert "Your signing identity (.p12, .pfx)" in doctor.get(f"/reviews/{rid}").text
    p12 = demo_p12(clinic)

    def sign_with(file: bytes, password: str = ID_PASSWORD):
        return doctor.post(f"/reviews/{rid}/sign", data={
            "_csrf": page_csrf(doctor, "/reviews"), "password": PASSWORD,
            "identity_password": password}, files={"p12": ("me.p12", file)},
            follow_redirects=False)

    assert sign_with(p12, "wrong one").status_code == 400
    assert not (clinic / ".ketamine-letters" / "identities").exists()
    other = demo_p12(clinic)
    assert sign_with(other).status_code == 303
    pin = json.loads((clinic / ".ketamine-letters" / "identities" / "dr-chen.json").read_text())
    assert pin["ciphertext"] == "" and len(pin["fingerprint"]) == 64
    request = Requests(Workspace(clinic)).get(rid)
    assert run_cli("verify", clinic / "signed" / request.signed_file).code == 0
    refused = upload(doctor, p12)  # the pin holds for uploads too
    assert refused.status_code == 400 and "not the certificate pinned" in refused.text
