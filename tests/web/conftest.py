"""Fixtures of the web tests: a workspace built from the examples, the gate, and clients
with and without a session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coverage.accounts import UserStore
from coverage.web.app import create_app
from coverage.web.security import Gate
from coverage.workspace import Workspace
from tests.web_support import HOST, TODAY, Clock, add_accounts, make_workspace


@pytest.fixture
def clinic(tmp_path: Path, examples_dir: Path) -> Path:
    return make_workspace(tmp_path / "clinic", examples_dir)


@pytest.fixture
def gate() -> Gate:
    return Gate({HOST})


@pytest.fixture
def anonymous(clinic: Path, gate: Gate) -> TestClient:
    app = create_app(Workspace(clinic), gate, today=lambda: date.fromisoformat(TODAY))
    return TestClient(app, base_url=f"http://{HOST}")


@pytest.fixture
def client(anonymous: TestClient, gate: Gate) -> TestClient:
    assert anonymous.get(f"/open?token={gate.token}").status_code == 200
    return anonymous


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def office(clinic: Path, clock: Clock) -> Gate:
    """A gate over the clinic with accounts (bb, achen, okafor) and a hand-moved clock."""
    add_accounts(clinic)
    return Gate({HOST}, users=UserStore(Workspace(clinic)), clock=clock)


@pytest.fixture
def browser(clinic: Path, office: Gate) -> Callable[[], TestClient]:
    """A new browser (its own cookies) on the app with accounts."""
    app = create_app(Workspace(clinic), office, today=lambda: date.fromisoformat(TODAY))

    def new() -> TestClient:
        return TestClient(app, base_url=f"http://{HOST}")

    return new
