"""Attacks on sign-off: forged forms, a billing account or a colleague trying to sign, file
parameters that try to leave their folder, and a frozen letter swapped on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverage.signoff.requests import Requests
from coverage.workspace import Workspace
from tests.web.test_web_signoff import ID_PASSWORD, demo_p12, sign, upload
from tests.web_support import PASSWORD, page_csrf, sign_in


@pytest.fixture
def request_for_chen(browser, clinic: Path) -> str:
    billing = browser()
    sign_in(billing, "bb")
    billing.post("/send/crps-1.yaml", data={"_csrf": page_csrf(billing, "/case/crps-1.yaml")})
    return Requests(Workspace(clinic)).all()[0].id


def nothing_signed(clinic: Path, rid: str) -> bool:
    return (not (clinic / "signed").exists()
            and Requests(Workspace(clinic)).get(rid).state.name == "in_review")


def test_a_forged_sign_form_is_refused(browser, clinic: Path, request_for_chen: str) -> None:
    doctor = browser()
    sign_in(doctor, "achen")
    upload(doctor, demo_p12(clinic))
    form = {"password": PASSWORD, "identity_password": ID_PASSWORD}
    assert doctor.post(f"/reviews/{request_for_chen}/sign", data=form).status_code == 403
    forged = {**form, "_csrf": "forged"}
    assert doctor.post(f"/reviews/{request_for_chen}/sign", data=forged).status_code == 403
    other_site = doctor.post(f"/reviews/{request_for_chen}/sign",
                             data={**form, "_csrf": page_csrf(doctor, "/reviews")},
                             headers={"Origin": "http://evil.example"})
    assert other_site.status_code == 403
    assert nothing_signed(clinic, request_for_chen)


def test_billing_and_the_link_cannot_sign(browser, office, clinic: Path,
                                          request_for_chen: str) -> None:
    billing = browser()
    sign_in(billing, "bb")
    link = browser()
    link.get(f"/open?token={office.token}")
    for client in (billing, link):
        response = client.post(f"/reviews/{request_for_chen}/sign", data={
            "_csrf": page_csrf(client), "password": PASSWORD,
            "identity_password": ID_PASSWORD})
        assert response.status_code == 403
        assert client.get(f"/reviews/{request_for_chen}").status_code == 403
    assert nothing_signed(clinic, request_for_chen)


def test_a_physician_cannot_sign_for_another(browser, clinic: Path,
                                             request_for_chen: str) -> None:
    colleague = browser()
    sign_in(colleague, "okafor")
    assert upload(colleague, demo_p12(clinic, "dr-okafor")).status_code == 200
    assert request_for_chen not in colleague.get("/reviews").text
    response = sign(colleague, request_for_chen)
    assert response.status_code == 403 and "another physician" in response.text
    for path in ("", "/page/1", "/pdf"):
        assert colleague.get(f"/reviews/{request_for_chen}{path}").status_code == 403
    assert nothing_signed(clinic, request_for_chen)


def test_a_swapped_frozen_letter_is_not_signed(browser, clinic: Path,
                                               request_for_chen: str) -> None:
    doctor = browser()
    sign_in(doctor, "achen")
    upload(doctor, demo_p12(clinic))
    frozen = clinic / ".ketamine-letters" / "reviews" / f"{request_for_chen}.pdf"
    frozen.write_bytes(frozen.read_bytes().replace(b"/Author", b"/Author ", 1))
    response = sign(doctor, request_for_chen)
    assert response.status_code == 400 and "not the one that was sent" in response.text
    assert not (clinic / "signed").exists()


@pytest.mark.parametrize("path", [
    "/case/..%2Fpractice.yaml", "/case/../practice.yaml", "/case/%2Fetc%2Fpasswd",
    "/case/.ketamine-letters%2Fusers.json", "/letter-file/pdf/..%2F..%2Fpractice.yaml",
    "/letter-file/..%2Fpractice/crps-1.yaml",
])
def test_billing_file_parameters_stay_in_the_folder(browser, path: str) -> None:
    billing = browser()
    sign_in(billing, "bb")
    response = billing.get(path)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert "argon2" not in response.text and "physicians:" not in response.text


@pytest.mark.parametrize("rid", ["..%2F..%2Fusers", "..%2Fidentities%2Fdr-chen",
                                 "0123456789ABCDEF", "0123456789abcdef0", "%2Fetc%2Fpasswd"])
def test_request_ids_are_never_paths(browser, clinic: Path, rid: str) -> None:
    doctor = browser()
    sign_in(doctor, "achen")
    billing = browser()
    sign_in(billing, "bb")
    for client, path in ((doctor, f"/reviews/{rid}"), (doctor, f"/reviews/{rid}/pdf"),
                         (doctor, f"/reviews/{rid}/page/1"), (billing, f"/signed-file/{rid}")):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "argon2" not in response.text


def test_an_upload_name_is_never_a_path(browser, clinic: Path) -> None:
    doctor = browser()
    sign_in(doctor, "achen")
    response = doctor.post("/identity", data={"_csrf": page_csrf(doctor, "/identity"),
                                              "password": ID_PASSWORD},
                           files={"p12": ("../../../cases/evil.yaml", demo_p12(clinic))})
    assert response.status_code == 200
    assert not (clinic / "cases" / "evil.yaml").exists()
    stored = list((clinic / ".ketamine-letters" / "identities").iterdir())
    assert [p.name for p in stored] == ["dr-chen.json"]


def test_an_upload_without_a_declared_length_is_refused(browser) -> None:
    doctor = browser()
    sign_in(doctor, "achen")

    def chunks():
        yield b"x" * 1024

    response = doctor.post("/identity", content=chunks(),
                           headers={"content-type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413


def test_an_expired_session_cannot_sign(browser, clock, clinic: Path,
                                        request_for_chen: str) -> None:
    doctor = browser()
    sign_in(doctor, "achen")
    upload(doctor, demo_p12(clinic))
    csrf = page_csrf(doctor, "/reviews")
    clock.now += 16 * 60
    response = doctor.post(f"/reviews/{request_for_chen}/sign", data={
        "_csrf": csrf, "password": PASSWORD, "identity_password": ID_PASSWORD})
    assert response.status_code == 403 and "session has ended" in response.text
    assert nothing_signed(clinic, request_for_chen)


def test_drafts_name_the_signed_in_user_in_the_audit_log(browser, audit_log: Path) -> None:
    from coverage.audit import events

    billing = browser()
    sign_in(billing, "bb")
    billing.post("/letter/crps-1.yaml", data={"_csrf": page_csrf(billing, "/case/crps-1.yaml"),
                                              "deliver": "download-pdf"})
    assert [e.command for e in events(audit_log)] == ["web lmn by bb"]
