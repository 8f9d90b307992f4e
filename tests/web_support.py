"""Shared by the web tests: a workspace folder built from the examples, and the case form's
fields read back from the page the way a browser would post them."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

TODAY = "2026-11-25"
HOST = "127.0.0.1:8750"  # the address the test gate serves


def make_workspace(root: Path, examples: Path) -> Path:
    """clinic/ with the examples' practice profile and a few cases (an LMN, a blocked case,
    two appeals)."""
    (root / "cases").mkdir(parents=True)
    shutil.copy(examples / "practice.yaml", root / "practice.yaml")
    shutil.copy(examples / "signature-dr-chen.png", root / "signature-dr-chen.png")
    for name in ("crps-1.yaml", "blocked-oral-route.yaml", "phn.yaml"):
        shutil.copy(examples / name, root / "cases" / name)
    for name in ("experimental.yaml", "external-review-urgent.yaml"):
        shutil.copy(examples / "appeals" / name, root / "cases" / name)
    return root


class FormFields(HTMLParser):
    """The successful controls of ``<form id="case-form">`` as (name, value) pairs."""

    def __init__(self, form_id: str = "case-form") -> None:
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.items: list[tuple[str, str]] = []
        self._textarea: list[str] | None = None
        self._select: str | None = None
        self._selected = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside or (not a.get("name") and tag != "option"):
            return
        if tag == "input" and (a.get("type") != "checkbox" or "checked" in a):
            self.items.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea = [a["name"], ""]
        elif tag == "select":
            self._select, self._selected = a["name"], ""
        elif tag == "option" and self._select and "selected" in a:
            self._selected = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            name, value = self._textarea
            self.items.append((name, value.removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select:
            self.items.append((self._select, self._selected))
            self._select = None
        elif tag == "form":
            self.inside = False


def form_fields(html: str) -> dict[str, list[str]]:
    """The form's values as httpx posts them (a name may repeat)."""
    parser = FormFields()
    parser.feed(html)
    out: dict[str, list[str]] = {}
    for name, value in parser.items:
        out.setdefault(name, []).append(value)
    return out


def csrf_of(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html)[1]


def opened(client: TestClient, key: str = "crps-1.yaml") -> tuple[str, dict[str, list[str]]]:
    page = client.get(f"/case/{key}")
    assert page.status_code == 200
    return page.text, form_fields(page.text)


PASSWORD = "correct horse battery"
ACCOUNTS = {"bb": ("billing", None), "achen": ("physician", "dr-chen"),
            "okafor": ("physician", "dr-okafor")}


class Clock:
    """A monotonic clock a test moves by hand (idle expiry, lock-out delays)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def add_accounts(root: Path) -> None:
    """bb (billing), achen (physician dr-chen), okafor (physician dr-okafor); one password."""
    from coverage.accounts import UserStore
    from coverage.workspace import Workspace

    store = UserStore(Workspace(root))
    for name, (role, physician) in ACCOUNTS.items():
        store.add(name, role, PASSWORD, physician)


def sign_in(client: TestClient, name: str, password: str = PASSWORD):
    """Sign in as a browser does: load the form (its CSRF cookie and field), post it."""
    page = client.get("/sign-in")
    value = re.search(r'name="_csrf" value="([^"]+)"', page.text)
    assert value, page.text
    return client.post("/sign-in", data={"name": name, "password": password,
                                         "_csrf": value.group(1)}, follow_redirects=False)


def page_csrf(client: TestClient, path: str = "/") -> str:
    """The session's CSRF token, read from a page."""
    page = client.get(path)
    return re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
