"""Signing in: the password page, a new session id at sign-in, idle expiry, lock-out with
growing delays, sign-out and sign-out everywhere; the one-time link still opens (billing)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from coverage.accounts import UserStore
from coverage.web.security import SESSION_COOKIE, Gate
from tests.web_support import PASSWORD, page_csrf, sign_in


def test_without_a_session_pages_go_to_sign_in(browser) -> None:
    visitor = browser()
    response = visitor.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    page = visitor.get("/sign-in")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    assert visitor.post("/save/crps-1.yaml", data={}).status_code == 403


def test_billing_and_physician_land_on_their_home(browser) -> None:
    billing = browser()
    response = sign_in(billing, "BB")
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "crps-1" in billing.get("/").text
    doctor = browser()
    assert sign_in(doctor, "achen").headers["location"] == "/reviews"
    assert doctor.get("/", follow_redirects=False).headers["location"] == "/reviews"


def test_wrong_password_and_unknown_name_say_the_same(browser) -> None:
    visitor = browser()
    wrong = sign_in(visitor, "bb", "not the password")
    unknown = sign_in(visitor, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match an active account" in wrong.text
    assert SESSION_COOKIE not in visitor.cookies


def test_sign_in_form_needs_its_own_csrf_value(browser) -> None:
    visitor = browser()
    visitor.get("/sign-in")
    forged = visitor.post("/sign-in", data={"name": "bb", "password": PASSWORD,
                                            "_csrf": "forged"})
    assert forged.status_code == 403 and SESSION_COOKIE not in visitor.cookies
    other_site = browser()
    other_site.get("/sign-in")
    response = other_site.post("/sign-in", data={"name": "bb", "password": PASSWORD},
                               headers={"Origin": "http://evil.example"})
    assert response.status_code == 403


def test_sign_in_issues_a_new_session_id(browser, office: Gate) -> None:
    """Session fixation: an id planted in the browser before sign-in never becomes the
    signed-in session, and the loopback session it had is dropped."""
    victim = browser()
    assert victim.get(f"/open?token={office.token}").status_code == 200
    planted = victim.cookies[SESSION_COOKIE]
    sign_in(victim, "achen")
    fresh = victim.cookies[SESSION_COOKIE]
    assert fresh != planted
    assert office.session(planted) is None
    assert office.session(fresh).user == "achen"


def test_idle_sessions_expire(browser, clock, office: Gate) -> None:
    user = browser()
    sign_in(user, "bb")
    clock.now += 14 * 60
    assert user.get("/").status_code == 200  # a request resets the idle time
    clock.now += 14 * 60
    assert user.get("/").status_code == 200
    clock.now += 15 * 60 + 1
    response = user.get("/", follow_redirects=False)
    assert response.headers["location"] == "/sign-in?ended=1"
    assert "Your session ended" in user.get("/sign-in?ended=1").text


def test_lock_out_grows_and_clears(browser, clock, office: Gate) -> None:
    visitor = browser()
    for _ in range(3):
        assert sign_in(visitor, "bb", "wrong password!").status_code == 401
    assert sign_in(visitor, "bb", "wrong password!").status_code == 401  # 4th: locked 5 s
    locked = sign_in(visitor, "bb")  # even the right password waits
    assert locked.status_code == 401 and "try again in" in locked.text
    clock.now += 6
    assert sign_in(visitor, "bb", "wrong password!").status_code == 401  # 5th: 10 s
    clock.now += 6
    assert "try again in" in sign_in(visitor, "bb").text
    clock.now += 5
    assert sign_in(visitor, "bb").status_code == 303
    assert office.lockout.wait("bb", clock.now) == 0
    assert sign_in(browser(), "achen").status_code == 303  # other names were never locked


def test_sign_out_and_sign_out_everywhere(browser, clinic) -> None:
    first, second = browser(), browser()
    sign_in(first, "bb")
    sign_in(second, "bb")
    doctor = browser()
    sign_in(doctor, "achen")
    assert first.post("/sign-out", data={"_csrf": page_csrf(first)}).status_code == 200
    assert first.get("/", follow_redirects=False).status_code == 303
    assert second.get("/").status_code == 200
    sign_in(first, "bb")
    response = first.post("/sign-out-everywhere", data={"_csrf": page_csrf(first)},
                          follow_redirects=False)
    assert response.headers["location"] == "/sign-in"
    for gone in (first, second):
        assert gone.get("/", follow_redirects=False).status_code == 303
    assert doctor.get("/reviews", follow_redirects=False).status_code != 303
    assert sign_in(first, "bb").status_code == 303  # the account itself still works


def test_disabling_an_account_ends_its_sessions(browser, clinic, office: Gate) -> None:
    user = browser()
    sign_in(user, "bb")
    office.users.disable("bb")
    assert user.get("/", follow_redirects=False).status_code == 303
    assert sign_in(browser(), "bb").status_code == 401


def test_the_loopback_link_still_opens_a_billing_session(browser, office: Gate) -> None:
    staff: TestClient = browser()
    assert staff.get(f"/open?token={office.token}").status_code == 200
    assert "this computer (link)" in staff.get("/").text
    session = office.session(staff.cookies[SESSION_COOKIE])
    assert session.user is None and session.role.value == "billing"
    assert isinstance(office.users, UserStore)


def test_a_damaged_users_file_fails_closed(browser, clinic) -> None:
    user = browser()
    sign_in(user, "bb")
    (clinic / ".ketamine-letters" / "users.json").write_text("{not json")
    assert user.get("/", follow_redirects=False).headers["location"] == "/sign-in?ended=1"
    response = sign_in(browser(), "bb")
    assert response.status_code == 401 and "restore .ketamine-letters/users.json" in response.text
    assert str(clinic) not in response.text


@pytest.mark.parametrize(("name", "path"), [("bb", "/sign-in"), ("achen", "/reviews"),
                                            ("achen", "/identity")])
def test_new_pages_carry_the_workspace_headers(browser, name: str, path: str) -> None:
    from coverage.web.security import CSP

    client = browser()
    if path != "/sign-in":
        sign_in(client, name)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert " style=" not in response.text and "<style" not in response.text


def test_the_link_session_keeps_its_working_day(browser, clock, office: Gate) -> None:
    staff = browser()
    staff.get(f"/open?token={office.token}")
    clock.now += 60 * 60
    assert staff.get("/").status_code == 200
    clock.now += 12 * 3600 + 1
    assert staff.get("/", follow_redirects=False).status_code == 303
