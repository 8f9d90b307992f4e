"""``ketamine-letters users``: add, list, disable accounts and set passwords, in a folder.

The password comes from ``KETAMINE_LETTERS_USER_PASSWORD`` (for scripts) or a hidden prompt
asked twice; never from an argument, never echoed or logged.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from coverage.accounts.store import User, UserStore, check_password
from coverage.errors import UsageError
from coverage.settings import USER_PASSWORD_ENV


def store_for(folder: Path) -> UserStore:
    from coverage.web.server import workspace_for

    return UserStore(workspace_for(folder))


def read_password(name: str) -> str:
    """The new password for ``name``: the environment, else asked twice in a terminal."""
    value = os.environ.get(USER_PASSWORD_ENV)
    if value:
        check_password(value)
        return value
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():
        raise UsageError(f"no password: set {USER_PASSWORD_ENV} or run this in a terminal to "
                         "be asked")
    try:
        first = getpass.getpass(f"New password for {name}: ")
        second = getpass.getpass("The same password again: ")
    except EOFError:
        raise UsageError("no password given (the input ended)") from None
    if first != second:
        raise UsageError("the two passwords differ; nothing changed")
    check_password(first)
    return first


def describe(user: User) -> str:
    tied = f"  physician {user.physician_id}" if user.physician_id else ""
    state = "  (disabled)" if user.disabled else ""
    return f"{user.name}  {user.role.value}{tied}{state}"


def add(folder: Path, name: str, role: str, physician_id: str | None) -> str:
    store = store_for(folder)
    existing = store.get(name)
    if existing is not None:  # before asking for a password that would be thrown away
        raise UsageError(f"user {existing.name} already exists (use `users passwd "
                         f"{existing.name}` for a new password)")
    if role == "physician":
        store._known_physician(physician_id)  # an unknown id is refused before the prompt
    user = store.add(name, role, read_password(name), physician_id)
    return f"added {describe(user)}"


def listing(folder: Path) -> list[str]:
    users = store_for(folder).load()
    return [describe(u) for u in users.values()] or ["no users yet: add one with "
                                                     "`ketamine-letters users add NAME --role "
                                                     "billing`"]


def disable(folder: Path, name: str) -> str:
    user = store_for(folder).disable(name)
    return f"disabled {user.name}; every session of {user.name} has ended"


def passwd(folder: Path, name: str) -> str:
    store = store_for(folder)
    if store.get(name) is None:
        raise UsageError(f"no user {name.strip().lower()} in {store.path}")
    user = store.set_password(name, read_password(name))
    return f"new password for {user.name}; every earlier session of {user.name} has ended"
