"""Names the tool agrees on everywhere: file suffixes, profile names, environment variables,
the folder layout, paths relative to a profile, and the version.

One module so that the CLI, the batch package, the importers and the web workspace cannot drift
apart (a case file is a ``.yaml`` to one of them and not to another). Nothing here imports a
heavy library: ``--help`` reads it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE_NAME = "ketamine-letters"

# Files
CASE_SUFFIXES = (".yaml", ".yml", ".json")
PRACTICE_NAMES = ("practice.yaml", "practice.yml", "practice.json")

# Environment variables (values never come from the command line for secrets)
AUDIT_LOG_ENV = "KETAMINE_LETTERS_AUDIT_LOG"
AUDIT_KEY_ENV = "KETAMINE_LETTERS_AUDIT_KEY"  # the audit key file, else audit.key by the profile
AUDIT_KEY_NAME = "audit.key"
P12_PASSWORD_ENV = "KETAMINE_LETTERS_P12_PASSWORD"
USER_PASSWORD_ENV = "KETAMINE_LETTERS_USER_PASSWORD"

# The folder layout every front end shares (README: "Folder layout")
CASES_FOLDER = "cases"
LETTERS_FOLDER = "letters"
SIGNED_FOLDER = "signed"
WITHDRAWN_FOLDER = "withdrawn"  # inside a letters folder
STATE_FOLDER = ".ketamine-letters"  # the tool's own state; hidden, so never read as cases


@cache
def tool_version() -> str:
    """The installed package's version; a bare checkout that was never installed says so."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE_NAME)
    except PackageNotFoundError:
        return "0+unknown"


def relative_to_profile(value: str, profile_file: str | Path) -> Path:
    """A path written in a practice profile: ``~`` expanded, relative ones beside the profile."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path(profile_file).parent / path
