"""Putting letters in place at the end of a run, and withdrawing those that no longer stand.

Staged letters move into the output folder by rename under their settled names; an up-to-date
letter whose name changed moves too. An earlier letter this tool wrote whose case now makes
none (or calls for the other kind) moves to ``withdrawn/``: out of the pile to send, kept.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from coverage.batch.manifest import recorded_files
from coverage.batch.naming import assign_names, free_name, inside, staged_name
from coverage.batch.results import BLOCKED, FAILED, UP_TO_DATE, WRITTEN, CaseResult, with_suffix
from coverage.files import make_private_dir
from coverage.kinds import AUTO, LetterKind
from coverage.settings import WITHDRAWN_FOLDER


def place_letters(results: dict[str, CaseResult], case_files: list[str], *,
                  manifest: dict[str, dict], out_dir: Path, staging: Path,
                  requested_kind: str, withdrawn: set[str]) -> None:
    """Settle the letters of ``case_files``: ``results`` get their names and notes.

    Case files whose earlier letter was withdrawn are added to ``withdrawn`` (the manifest
    forgets them).
    """
    _Placement(results, manifest, out_dir, staging, requested_kind, withdrawn).place(case_files)


@dataclass
class _Placement:
    """What placing letters reads and updates: the run's results and its earlier manifest."""

    results: dict[str, CaseResult]
    manifest: dict[str, dict]
    out_dir: Path
    staging: Path
    requested_kind: str
    withdrawn: set[str]

    def place(self, case_files: list[str]) -> None:
        """Name every letter, withdraw what no longer stands, then move the letters in."""
        ordered = [self.results[f] for f in case_files]
        names = assign_names(ordered)
        targets = {
            names[r.case_file][0].lower()
            for r in ordered if r.status in (WRITTEN, UP_TO_DATE) and r.case_file in names
        }  # letter names (.pdf-based), whatever the formats
        moves: list[CaseResult] = []
        for result in ordered:
            if result.status not in (WRITTEN, UP_TO_DATE):
                continue
            name, note = names.get(result.case_file, (None, ""))
            if name is None:
                self.results[result.case_file] = replace(
                    result, status=FAILED, output=None, output_sha256=None,
                    findings=(f"{result.case_file}: no safe file name for this case",),
                )
                continue
            name = with_suffix(name, result.suffixes[0])
            self.results[result.case_file] = replace(result, output=name, note=note)
            if result.status == UP_TO_DATE:
                if result.output == name:
                    continue
                # an up-to-date letter whose name changes: park it, then move it like the rest
                make_private_dir(self.staging)
                try:
                    for file_name, _ in result.files():
                        os.replace(inside(self.out_dir, file_name),
                                   self._staged(result, Path(file_name).suffix))
                except (OSError, ValueError):
                    self.results[result.case_file] = replace(
                        result, status=FAILED, output=None, output_sha256=None, pages=None,
                        findings=(f"{result.case_file}: its letter vanished during the run; "
                                  "run again",),
                    )
                    continue
            moves.append(self.results[result.case_file])
        # letters this tool wrote earlier under a name no case uses now
        for case_file, entry in self.manifest.items():
            old = entry.get("output")
            current = self.results.get(case_file)
            if not isinstance(old, str) or _base(old) in targets or current is None:
                continue
            if current.status not in (WRITTEN, UP_TO_DATE) or current.output == old:
                continue
            if entry.get("kind") == current.kind:  # the same letter under its new name
                with contextlib.suppress(OSError, ValueError):
                    for path in recorded_files(self.out_dir, entry):
                        if path is not None:
                            path.unlink()
            elif self.requested_kind == AUTO:  # the case now calls for the other kind of letter
                self._withdraw(case_file, entry, f"this case now calls for "
                                                 f"{LetterKind(current.kind).words}")
            # asked for the other kind by name: both letters stand; the old one stays put
        self._withdraw_stale_letters(targets)
        for result in moves:
            self._withdraw_other_formats(result)
        for result in moves:
            try:
                for file_name, _ in result.files():
                    os.replace(self._staged(result, Path(file_name).suffix),
                               inside(self.out_dir, file_name))
            except (OSError, ValueError) as exc:
                reason = getattr(exc, "strerror", None) or "unsafe name"
                self.results[result.case_file] = replace(
                    result, status=FAILED, output=None, output_sha256=None, pages=None,
                    findings=(f"{result.case_file}: letter could not be put in place "
                              f"({reason})",),
                )

    def _staged(self, result: CaseResult, suffix: str) -> Path:
        return self.staging / staged_name(result.case_file, result.kind, suffix)

    def _withdraw_stale_letters(self, targets: set[str]) -> None:
        """Move an earlier letter whose case now makes none into ``withdrawn/``.

        So that nobody faxes it, while the practice keeps its copy (it may have been sent).
        That is a case now blocked for the same kind of letter, or one whose case file was
        changed and can no longer be read or validated. Other failures (a full disk, a lost
        worker) leave the earlier letter where it is. Only a file with the hash this tool
        recorded is moved; the report's note says where it went.
        """
        for case_file, entry in self.manifest.items():
            result = self.results.get(case_file)
            old = entry.get("output")
            if result is None or not isinstance(old, str) or _base(old) in targets:
                continue
            if result.kind is not None:
                same_kind = result.kind == entry.get("kind")
            else:  # failed before the kind was known: compare what was asked for
                same_kind = self.requested_kind == entry.get("requested_kind")
            changed = result.case_sha256 not in (None, entry.get("case_sha256"))
            stale = result.status == BLOCKED or (
                result.status == FAILED and result.case_unusable and changed)
            if not (same_kind and stale):
                continue
            self._withdraw(case_file, entry, "this case makes no letter now")

    def _into_withdrawn(self, path: Path, name: str) -> Path:
        """Move ``path`` into ``withdrawn/`` as ``name`` (or a free variant); where it went."""
        target = free_name(self.out_dir / WITHDRAWN_FOLDER, name)
        make_private_dir(target.parent)
        os.replace(path, target)
        return target

    def _withdraw_other_formats(self, result: CaseResult) -> None:
        """Withdraw earlier copies of this letter in formats this run did not make again.

        A case written before as PDF and Word, now as PDF only, would otherwise leave a Word
        file beside the new PDF that no longer matches it. Only files that still hold the
        bytes this tool recorded are moved; the report's note names each one.
        """
        entry = self.manifest.get(result.case_file)
        old = entry.get("output") if entry else None
        if (result.status != WRITTEN or not isinstance(old, str) or result.output is None
                or _base(old) != _base(result.output)):
            return
        suffixes = entry.get("suffixes") or [".pdf"]
        notes = []
        try:
            paths = recorded_files(self.out_dir, entry)
            for suffix, path in zip(suffixes, paths, strict=False):
                if path is None or suffix in result.suffixes:
                    continue
                target = self._into_withdrawn(path, path.name)
                notes.append(f"earlier copy {path.name} moved to {WITHDRAWN_FOLDER}/"
                             f"{target.name}: not made again in this run's formats; "
                             "do not send it")
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            notes.append(f"earlier copies of {old} in other formats could not be moved to "
                         f"{WITHDRAWN_FOLDER}/ ({reason}): do not send them")
        if notes:
            current = self.results[result.case_file]
            self.results[result.case_file] = replace(
                current, note="; ".join(filter(None, (current.note, *notes))))

    def _withdraw(self, case_file: str, entry: dict, why: str) -> None:
        """Move the letter ``entry`` recorded into ``withdrawn/``; the note says what happened."""
        old = entry["output"]
        result = self.results[case_file]
        try:
            paths = recorded_files(self.out_dir, entry)
            if paths[0] is None:
                return  # not the bytes this tool wrote: somebody else's file
            target = self._into_withdrawn(paths[0], old)
            for path in paths[1:]:  # the same letter in its other formats goes with it
                if path is not None:
                    os.replace(path, target.with_suffix(path.suffix))
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            note = (f"earlier letter {old} could not be moved to {WITHDRAWN_FOLDER}/ ({reason}); "
                    f"{why}: do not send it")
        else:
            note = (f"earlier letter moved to {WITHDRAWN_FOLDER}/{target.name}: {why}; "
                    "do not send it")
            self.withdrawn.add(case_file)
        self.results[case_file] = replace(result, note="; ".join(filter(None, (result.note, note))))


def _base(name: str) -> str:
    """The letter name a file belongs to, whatever its format (compared without case)."""
    return with_suffix(name, ".pdf").lower()
