"""Fixtures of the web tests: a workspace built from the examples, the gate, and clients
with and without a session."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coverage.web.app import create_app
from coverage.web.security import Gate
from coverage.workspace import Workspace
from tests.web_support import HOST, TODAY, make_workspace


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
