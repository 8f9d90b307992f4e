"""Every registered route has a rule for who may use it, and the rule holds for anonymous
visitors, the loopback link's session, a billing account and a physician account. A new route
without a rule here fails the first test."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from coverage.web.security import CSRF_HEADER, SESSION_COOKIE
from tests.web_support import page_csrf, sign_in

PUBLIC, ANY, BILLING, PHYSICIAN = "public", "any session", "billing", "physician"
RULES = {
    ("GET", "/open"): PUBLIC,
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): PUBLIC,
    ("POST", "/sign-out"): ANY,
    ("POST", "/sign-out-everywhere"): ANY,
    ("GET", "/"): ANY,  # a physician is sent on to the review queue
    ("GET", "/cases/new"): BILLING,
    ("POST", "/cases/new"): BILLING,
    ("GET", "/codes"): BILLING,
    ("POST", "/cases/import-fhir"): BILLING,
    ("POST", "/remittances"): BILLING,
    ("GET", "/case/{key:path}"): BILLING,
    ("POST", "/review/{key:path}"): BILLING,
    ("POST", "/rows/{key:path}"): BILLING,
    ("POST", "/save/{key:path}"): BILLING,
    ("POST", "/letter/{key:path}"): BILLING,
    ("GET", "/letter-file/{format}/{key:path}"): BILLING,
    ("POST", "/send/{key:path}"): BILLING,
    ("GET", "/reviews"): PHYSICIAN,
    ("GET", "/reviews/{request_id}"): PHYSICIAN,
    ("GET", "/reviews/{request_id}/page/{number}"): PHYSICIAN,
    ("GET", "/reviews/{request_id}/pdf"): PHYSICIAN,
    ("POST", "/reviews/{request_id}/return"): PHYSICIAN,
    ("POST", "/reviews/{request_id}/sign"): PHYSICIAN,
    ("GET", "/identity"): PHYSICIAN,
    ("POST", "/identity"): PHYSICIAN,
    ("GET", "/signed-file/{request_id}"): ANY,  # billing, or the physician who signed
}
VALUES = {"{key:path}": "crps-1.yaml", "{format}": "pdf", "{request_id}": "0123456789abcdef",
          "{number}": "1"}


def registered(app) -> set[tuple[str, str]]:
    """(method, path) of every route the application answers, however FastAPI nests them."""
    found: set[tuple[str, str]] = set()

    def add(route) -> None:
        if isinstance(route, Mount):
            assert route.path == "/static", route.path  # the only mount: public files
            return
        if hasattr(route, "effective_route_contexts"):  # an included router (FastAPI 0.16x)
            for inner in route.effective_route_contexts():
                add(inner)
            return
        assert isinstance(route, APIRoute) or hasattr(route, "methods"), route
        for method in route.methods - {"HEAD"}:
            found.add((method, route.path))

    for route in app.routes:
        add(route)
    return found


def test_every_route_has_a_rule(anonymous) -> None:
    assert registered(anonymous.app) == set(RULES)


def concrete(path: str) -> str:
    for name, value in VALUES.items():
        path = path.replace(name, value)
    return path


def visit(client, method: str, path: str, csrf: str | None):
    headers = {CSRF_HEADER: csrf} if csrf else {}
    if method == "GET":
        return client.get(concrete(path), follow_redirects=False)
    return client.post(concrete(path), headers=headers, data={"x": "1"},
                       follow_redirects=False)


def refused(response) -> bool:
    """403, or (a GET without a session) the way to the sign-in page."""
    return response.status_code == 403 or (
        response.request.method == "GET" and response.status_code == 303
        and response.headers["location"].startswith("/sign-in"))


@pytest.mark.parametrize(("method", "path"), sorted(RULES))
def test_the_rule_holds_for_every_kind_of_visitor(browser, office, clinic: Path, method: str,
                                                  path: str) -> None:
    rule = RULES[(method, path)]
    anonymous = browser()
    response = visit(anonymous, method, path, None)
    if rule == PUBLIC:  # no session needed (the sign-in form has its own CSRF value)
        assert response.status_code != 303 or "/sign-in" not in response.headers["location"]
    else:
        assert refused(response), (method, path, response.status_code)

    link = browser()
    link.get(f"/open?token={office.token}")
    billing, doctor = browser(), browser()
    sign_in(billing, "bb")
    sign_in(doctor, "achen")
    for client, role in ((link, BILLING), (billing, BILLING), (doctor, PHYSICIAN)):
        assert SESSION_COOKIE in client.cookies
        home = "/reviews" if role == PHYSICIAN else "/"
        response = visit(client, method, path, page_csrf(client, home))
        if rule == PUBLIC and method == "POST":
            continue  # signing in again: the form's own CSRF value, tested in test_web_sign_in
        if rule in (PUBLIC, ANY) or rule == role:
            assert not refused(response), (method, path, role, response.status_code)
        else:
            assert response.status_code == 403, (method, path, role, response.status_code)
