"""Shared fixtures: the examples folder, a private audit log, the CLI as a subprocess, and the
crps-1 example as plain data for tests that change one field."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

if str(REPO) not in sys.path:  # `coverage` and `cli` are imported from the checkout
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session", autouse=True)
def code_set_index_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One code-set index cache for the session (never the user's own ~/.cache)."""
    folder = tmp_path_factory.mktemp("cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(autouse=True)
def audit_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every CLI it starts) logs to its own temporary audit database."""
    path = tmp_path / "audit" / "audit.sqlite3"
    monkeypatch.setenv("KETAMINE_LETTERS_AUDIT_LOG", str(path))
    monkeypatch.setenv("KETAMINE_LETTERS_AUDIT_KEY", str(path.parent / "audit.key"))
    return path


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def returncode(self) -> int:  # the name subprocess uses
        return self.code


def cli_argv(*args: str | Path) -> list[str]:
    """The command line that starts the CLI: one definition for every way tests run it."""
    return [sys.executable, str(REPO / "cli.py"), *(str(a) for a in args)]


def _run_cli(
    *args: str | Path,
    cwd: Path = REPO,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> CliResult:
    completed = subprocess.run(
        cli_argv(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=120,
        check=False,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., CliResult]:
    """run_cli("check", "examples/crps-1.yaml") -> CliResult(code, stdout, stderr).

    Runs `python cli.py ...` from the repository root in a fresh process. The environment is
    inherited at call time (so a test's ``audit_log`` applies) unless ``env=`` is given, as
    module-scoped fixtures must do to keep the audit log out of the home folder.
    """
    return _run_cli


@pytest.fixture(scope="session")
def cli_command() -> Callable[..., list[str]]:
    """cli_command("batch", cases, "-o", out) -> argv, for tests that need the process itself
    (signals, a terminal); everything else uses ``run_cli``."""
    return cli_argv


@pytest.fixture
def case_data(examples_dir: Path) -> dict[str, Any]:
    """The crps-1 example as a fresh dict (dates are date objects), for a test to change."""
    return yaml.safe_load((examples_dir / "crps-1.yaml").read_text(encoding="utf-8"))


def copy_practice(examples_dir: Path, folder: Path) -> Path:
    """Copy examples/practice.yaml into ``folder``, with files it names by relative path."""
    target = folder / "practice.yaml"
    if not target.exists():
        shutil.copy(examples_dir / "practice.yaml", target)
        data = yaml.safe_load(target.read_text(encoding="utf-8"))
        for physician in data.get("physicians", []):
            for key in ("signature_image", "p12"):
                name = physician.get(key)
                if name and not Path(name).is_absolute() and (examples_dir / name).is_file():
                    shutil.copy(examples_dir / name, folder / name)
    return target


@pytest.fixture(scope="session")
def practice_into(examples_dir: Path) -> Callable[[Path], Path]:
    """practice_into(folder) -> the practice.yaml copied there (see copy_practice)."""
    return lambda folder: copy_practice(examples_dir, folder)


@pytest.fixture
def write_case(tmp_path: Path, examples_dir: Path) -> Callable[..., Path]:
    """write_case(data, name="case.yaml") -> path, with a copy of practice.yaml beside it."""

    def write(data: Any, name: str = "case.yaml", folder: Path | None = None) -> Path:
        folder = folder or tmp_path / "case"
        folder.mkdir(parents=True, exist_ok=True)
        copy_practice(examples_dir, folder)
        path = folder / name
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_text(
                yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
            )
        return path

    return write
