"""The folder layout every front end shares: where cases, letters and the tool's state live.

A practice keeps one workspace folder::

    clinic/
      practice.yaml          the practice profile (letterhead, physicians, audit log)
      cases/                 case files, one per request (sub-folders allowed)
      letters/               drafts made by `batch` (and its report.csv / report.json)
        withdrawn/           earlier letters a case no longer supports; kept, never faxed
      signed/                letters a physician signed
      .ketamine-letters/     the tool's own state: import records, users, review requests

The CLI, the batch, the importers and the web workspace all read and write these places, so a
letter drafted in the browser is the one the batch finds up to date. The state folder is hidden
(batch never reads hidden folders as cases) and is created owner-only. A batch's manifest stays
beside the letters it describes (``letters/.manifest.json``), because another ``-o`` folder
has letters, and so a manifest, of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coverage.files import make_private_dir
from coverage.settings import (
    CASES_FOLDER,
    LETTERS_FOLDER,
    PRACTICE_NAMES,
    SIGNED_FOLDER,
    STATE_FOLDER,
    WITHDRAWN_FOLDER,
)


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def cases(self) -> Path:
        return self.root / CASES_FOLDER

    @property
    def letters(self) -> Path:
        return self.root / LETTERS_FOLDER

    @property
    def withdrawn(self) -> Path:
        return self.letters / WITHDRAWN_FOLDER

    @property
    def signed(self) -> Path:
        return self.root / SIGNED_FOLDER

    @property
    def state(self) -> Path:
        return self.root / STATE_FOLDER

    @property
    def practice(self) -> Path | None:
        """The practice profile at the top of the workspace, if there is one."""
        return next((self.root / n for n in PRACTICE_NAMES if (self.root / n).is_file()), None)

    @classmethod
    def around(cls, path: Path) -> Workspace | None:
        """The workspace a folder is, or whose ``cases/`` folder it is; None otherwise."""
        path = Path(path)
        if (path / CASES_FOLDER).is_dir():
            return cls(path)
        if path.name == CASES_FOLDER and path.is_dir():
            return cls(path.parent)
        return None

    def state_folder(self, *parts: str) -> Path:
        """A folder inside the state folder, created owner-only whatever the umask."""
        folder = self.state.joinpath(*parts)
        make_private_dir(folder)
        return folder
