"""Letter file names: from the case_id only (never free text), and always inside the folder.

``<case_id>-<kind>.pdf``; case files that share a case_id (compared without regard to case,
for file systems that ignore it) each add a hash of their relative path. Also the names of
staged letters and of copies kept in ``withdrawn/``.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections import defaultdict
from pathlib import Path

from coverage.batch.results import CaseResult
from coverage.kinds import LetterKind

SUFFIX_DIGITS = 10
SAFE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def safe_stem(case_id: str | None, member_id: str | None = None) -> str:
    """The file-name stem of a case's letter: its case_id, else its member ID made safe."""
    if case_id and SAFE_STEM.match(case_id):
        return case_id
    if member_id:
        candidate = re.sub(r"[^A-Za-z0-9._-]", "_", member_id).lstrip("._-")[:64]
        if candidate and SAFE_STEM.match(candidate):
            return candidate
    raise ValueError("neither the case_id nor the member ID makes a safe file name")


def path_digest(case_file: str, digits: int = SUFFIX_DIGITS) -> str:
    """A short, stable hash of a case file's relative path (POSIX form)."""
    return hashlib.sha256(case_file.encode("utf-8")).hexdigest()[:digits]


def letter_name(stem: str, kind: str, suffix: str | None = None) -> str:
    """``<stem>-<kind>.pdf``; ``<stem>-<kind>-<suffix>.pdf`` keeps colliding case_ids apart."""
    if not SAFE_STEM.match(stem) or kind not in tuple(LetterKind):
        raise ValueError(f"unsafe letter name from stem {stem!r} and kind {kind!r}")
    if suffix is not None and not re.fullmatch(r"[0-9a-f]{4,64}", suffix):
        raise ValueError("unsafe suffix")
    return f"{stem}-{kind}-{suffix}.pdf" if suffix else f"{stem}-{kind}.pdf"


def inside(folder: Path, name: str) -> Path:
    """``folder / name``, refusing anything that would not be a plain file directly in folder.

    The name itself is never resolved: a link planted in the output folder is the entry
    replaced (``os.replace``), never the file it points to (another patient's letter).
    """
    base = folder.resolve()
    if Path(name).name != name or name in ("", ".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"{name!r} would land outside the output folder")
    return base / name


def regular_entry(path: Path) -> bool:
    """Whether ``path`` itself (not what a link points to) is a regular file."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def assign_names(results: list[CaseResult]) -> dict[str, tuple[str, str]]:
    """Final letter names: case file -> (name, note). Deterministic for a set of case files.

    Every case whose case_id and kind are known takes part (blocked ones too, so a name does
    not move when a blocked twin is fixed); names are compared without regard to case.
    """
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    stems: dict[str, str] = {}
    for result in results:
        if result.kind not in tuple(LetterKind):
            continue
        try:
            stem = safe_stem(result.stem or result.case_id)
        except ValueError:
            continue
        stems[result.case_file] = stem
        groups[letter_name(stem, result.kind).lower()].append(result)
    names: dict[str, tuple[str, str]] = {}
    for members in groups.values():
        if len(members) == 1:
            only = members[0]
            names[only.case_file] = (letter_name(stems[only.case_file], only.kind), "")
            continue
        files = sorted(m.case_file for m in members)
        for member in members:
            others = [f for f in files if f != member.case_file]
            note = (
                f"case_id shared with {len(others)} other case file(s) ({', '.join(others)}); "
                "file name carries a hash of the case file path"
            )
            name = letter_name(stems[member.case_file], member.kind,
                               path_digest(member.case_file))
            names[member.case_file] = (name, note)
    kinds = {r.case_file: r.kind for r in results}
    taken: dict[str, str] = {}
    for case_file in sorted(names):
        name, note = names[case_file]
        digits = SUFFIX_DIGITS
        while name.lower() in taken:  # two path hashes clash (or a case_id ends like one)
            digits += 6
            name = letter_name(stems[case_file], kinds[case_file], path_digest(case_file, digits))
        taken[name.lower()] = case_file
        names[case_file] = (name, note)
    return names


def staged_name(case_file: str, kind: str, suffix: str = ".pdf") -> str:
    """A letter's name in the staging folder: unique per case file, free of its case_id."""
    return f"{path_digest(case_file, 32)}-{kind}{suffix}"


def free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/<stem>-2.pdf`` and on, so no earlier copy is lost."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while os.path.lexists(candidate):
        candidate = folder / f"{stem}-{number}{suffix}"
        number += 1
    return candidate
