"""The user store: ``.ketamine-letters/users.json`` beside the practice profile's workspace.

One small JSON file, written atomically and owner-only (0600), read again on every sign-in so
that ``users disable`` in a terminal takes effect on the running server at once. Passwords are
kept only as argon2id hashes (argon2-cffi). A physician account names a physician id of the
practice profile, so it is tied to that physician's NPI; billing accounts name none. Each user
has a ``generation``: raising it ("sign out everywhere", a new password, disabling) ends every
session that was opened before.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from coverage.errors import InputError, UsageError
from coverage.files import PRIVATE_MODE, write_atomic
from coverage.workspace import Workspace

USERS_FILE = "users.json"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
MIN_PASSWORD = 12
_HASHER = PasswordHasher()  # argon2id, the library's current recommended parameters
_DUMMY = _HASHER.hash("not a real password, for unknown names")  # equal time either way
_LOCK = threading.Lock()


class Role(StrEnum):
    billing = "billing"
    physician = "physician"


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str
    physician_id: str | None = None
    disabled: bool = False
    generation: int = 0  # raised to end every session opened before


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not NAME.match(name):
        raise UsageError(f"user name {name!r}: use 1-32 letters, digits and . _ - "
                         "(starting with a letter or digit)")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password must have at least {MIN_PASSWORD} characters")


def hash_password(password: str) -> str:
    check_password(password)
    return _HASHER.hash(password)


class UserStore:
    """The users of one workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @property
    def path(self) -> Path:
        return self.ws.state / USERS_FILE

    def load(self) -> dict[str, User]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise InputError.one(str(self.path), "", f"cannot be read ({exc.strerror})") from None
        try:
            data = json.loads(raw)
            return {u["name"]: User(**{**u, "role": Role(u["role"])}) for u in data["users"]}
        except (ValueError, KeyError, TypeError):
            raise InputError.one(str(self.path), "users", "is not a user list written by "
                                 "`ketamine-letters users`; restore it from the backup") from None

    def _save(self, users: dict[str, User]) -> None:
        self.ws.state_folder()
        body = {"users": [asdict(u) for u in sorted(users.values(), key=lambda u: u.name)]}
        write_atomic(self.path, json.dumps(body, indent=2).encode("utf-8") + b"\n",
                     mode=PRIVATE_MODE)

    def get(self, name: str) -> User | None:
        return self.load().get(name.strip().lower())

    def any_active(self) -> bool:
        return any(not u.disabled for u in self.load().values())

    def add(self, name: str, role: Role | str, password: str,
            physician_id: str | None = None) -> User:
        name = check_name(name)
        try:
            role = Role(role)
        except ValueError:
            raise UsageError("--role must be billing or physician") from None
        if role is Role.physician:
            physician_id = self._known_physician(physician_id)
        elif physician_id:
            raise UsageError("--physician-id is for physician accounts only")
        user = User(name, role, hash_password(password), physician_id or None)
        with _LOCK:
            users = self.load()
            if name in users:
                raise UsageError(f"user {name} already exists (use `users passwd {name}` for a "
                                 "new password)")
            users[name] = user
            self._save(users)
        return user

    def _known_physician(self, physician_id: str | None) -> str:
        from coverage.loading import load_practice

        if not physician_id:
            raise UsageError("a physician account needs --physician-id (an id from the "
                             "practice profile's physicians)")
        profile = self.ws.practice
        if profile is None:
            raise InputError.one(str(self.ws.root), "", "has no practice.yaml: a physician "
                                 "account is tied to a physician in the practice profile")
        ids = [p.id for p in load_practice(profile).physicians]
        if physician_id not in ids:
            raise InputError.one(str(profile), "physicians", f"has no physician with id "
                                 f"{physician_id!r} (known: {', '.join(ids)})")
        return physician_id

    def update(self, name: str, **changes: object) -> User:
        name = name.strip().lower()
        with _LOCK:
            users = self.load()
            if name not in users:
                raise UsageError(f"no user {name} in {self.path}")
            old = users[name]
            users[name] = replace(old, generation=old.generation + 1, **changes)
            self._save(users)
            return users[name]

    def set_password(self, name: str, password: str) -> User:
        return self.update(name, password_hash=hash_password(password), disabled=False)

    def disable(self, name: str) -> User:
        return self.update(name, disabled=True)

    def sign_out_everywhere(self, name: str) -> User:
        return self.update(name)

    def authenticate(self, name: str, password: str) -> User | None:
        """The active user with this password, else None (same work for unknown names)."""
        user = self.get(name) if NAME.match(name.strip().lower()) else None
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        return user
