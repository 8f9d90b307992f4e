"""`ketamine-letters users`: accounts in the workspace's state folder, argon2-hashed, never a
password on the command line or in any output."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from coverage.accounts import Role, UserStore
from coverage.workspace import Workspace

PASSWORD = "correct horse battery"


@pytest.fixture
def folder(tmp_path: Path, examples_dir: Path) -> Path:
    clinic = tmp_path / "clinic"
    (clinic / "cases").mkdir(parents=True)
    shutil.copy(examples_dir / "practice.yaml", clinic / "practice.yaml")
    return clinic


def users(run_cli, folder: Path, *args: str, password: str | None = PASSWORD):
    env = {k: v for k, v in os.environ.items() if k != "KETAMINE_LETTERS_USER_PASSWORD"}
    if password is not None:
        env["KETAMINE_LETTERS_USER_PASSWORD"] = password
    return run_cli("users", *args, "--folder", folder, env=env)


def test_add_list_and_the_stored_file(run_cli, folder: Path) -> None:
    added = users(run_cli, folder, "add", "BBrown", "--role", "billing")
    assert added.code == 0, added.output
    doc = users(run_cli, folder, "add", "achen", "--role", "physician", "--physician-id",
                "dr-chen")
    assert doc.code == 0, doc.output
    listed = users(run_cli, folder, "list")
    assert listed.stdout.splitlines() == ["achen  physician  physician dr-chen",
                                          "bbrown  billing"]
    path = folder / ".ketamine-letters" / "users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert PASSWORD not in text and PASSWORD not in added.output + doc.output
    stored = json.loads(text)["users"]
    assert all(u["password_hash"].startswith("$argon2id$") for u in stored)
    store = UserStore(Workspace(folder))
    assert store.authenticate("achen", PASSWORD).role is Role.physician
    assert store.authenticate("achen", PASSWORD + "x") is None
    assert store.authenticate("nobody", PASSWORD) is None


@pytest.mark.parametrize(("args", "message"), [
    (("add", "x", "--role", "physician", "--physician-id", "dr-nobody"), "dr-nobody"),
    (("add", "x", "--role", "physician"), "--physician-id"),
    (("add", "x", "--role", "billing", "--physician-id", "dr-chen"), "physician accounts only"),
    (("add", "x", "--role", "admin"), "billing or physician"),
    (("add", "../x", "--role", "billing"), "user name"),
    (("disable", "nobody"), "no user nobody"),
    (("passwd", "nobody"), "no user nobody"),
])
def test_bad_requests_exit_2_and_write_nothing(run_cli, folder: Path, args, message) -> None:
    result = users(run_cli, folder, *args)
    assert result.code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (folder / ".ketamine-letters" / "users.json").exists()


def test_duplicate_short_password_and_no_password(run_cli, folder: Path) -> None:
    assert users(run_cli, folder, "add", "bb", "--role", "billing").code == 0
    again = users(run_cli, folder, "add", "BB", "--role", "billing")
    assert again.code == 2 and "already exists" in again.stderr
    short = users(run_cli, folder, "add", "cc", "--role", "billing", password="short")
    assert short.code == 2 and "at least 12 characters" in short.stderr
    none = users(run_cli, folder, "add", "dd", "--role", "billing", password=None)
    assert none.code == 2 and "KETAMINE_LETTERS_USER_PASSWORD" in none.stderr
    assert users(run_cli, folder, "list").stdout.splitlines() == ["bb  billing"]


def test_closed_stdin_is_a_clear_error(cli_command, folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KETAMINE_LETTERS_USER_PASSWORD"}
    argv = " ".join(f"'{a}'" for a in cli_command("users", "add", "ee", "--role", "billing",
                                                  "--folder", folder))
    done = subprocess.run(["sh", "-c", f"{argv} <&-"], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "no password" in done.stderr and "Traceback" not in done.stderr


def test_disable_and_passwd_end_sessions(run_cli, folder: Path) -> None:
    assert users(run_cli, folder, "add", "bb", "--role", "billing").code == 0
    store = UserStore(Workspace(folder))
    first = store.get("bb").generation
    assert users(run_cli, folder, "disable", "bb").code == 0
    assert store.get("bb").disabled and store.get("bb").generation > first
    assert store.authenticate("bb", PASSWORD) is None
    assert users(run_cli, folder, "passwd", "bb", password="another long secret").code == 0
    assert store.authenticate("bb", "another long secret") is not None
    assert "(disabled)" not in users(run_cli, folder, "list").stdout
