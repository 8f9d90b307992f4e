"""Batches: every case file under a folder -> one letter each, a report and a manifest.

``run_batch`` is the library half of ``ketamine-letters batch``; the CLI only draws progress,
prints :meth:`BatchSummary.summary_lines` and exits with :attr:`BatchSummary.exit_code`.

How a run goes:

1. Scan the folder (recursively; ``.yaml``/``.yml``/``.json``; hidden files and folders, the
   practice profiles ``practice.yaml|yml|json``, the ``--practice`` file and the output folder
   are left out), sorted by relative path.
2. In this process, for each case file: find its practice profile, hash both files and compare
   with the manifest (``<out>/.manifest.json``). A case whose letter is up to date (same case
   hash, practice hash, hash of the ICD-10-CM file the profile names if any, tool version and
   letter kind; the output file still there with the hash the manifest recorded; and, for a
   case without ``letter_date``, made today) is not rendered again unless ``force``.
3. The rest go to worker processes in small chunks, with a bounded number of chunks in flight
   so memory stays flat for thousands of cases. Each worker warms the heavy caches once (code
   set, knowledge base, fonts, templates, and a Typesetter that lays out the paragraphs
   its letters share once), loads and reviews each case, renders the letter
   and writes it atomically into a staging folder ``<out>/.staging``; it sends back only a
   small :class:`CaseResult`. ``jobs=1`` runs the same code in this process.
4. Every letter written is recorded in the audit log (command ``batch``) as its chunk's
   results arrive, one transaction per chunk, before anyone is told about it.
5. At the end (also after Ctrl-C) the file names are settled: ``<case_id>-<kind>.pdf``, or,
   when several case files share a case_id (compared without regard to case, for file systems
   that ignore it), ``<case_id>-<kind>-<hash>.pdf`` for each of them, ``<hash>`` being the
   first 10 hex digits of the SHA-256 of the case file's relative path. Staged letters move
   into place by rename, the manifest and ``report.csv`` / ``report.json`` are written
   atomically, and the staging folder is removed: an interrupted run leaves no partial file.
   An earlier letter whose case file is now blocked (same kind), or was changed and can no
   longer be used, moves to ``<out>/withdrawn/``: out of the pile to send, still kept.

Names come from the case_id only (the model allows letters, digits, ``.``, ``_``, ``-``), or
from the member ID with anything else replaced by ``_`` should the case_id ever fail that
check; never from free text. Every output path is checked to resolve inside the output folder.

Modules, in the order a run uses them: :mod:`.discover` (case files, arguments, cores, the
lock), :mod:`.manifest` (what is up to date), :mod:`.worker` (making one letter, in a worker
process or here), :mod:`.pool` (the worker processes), :mod:`.signals` (Ctrl-C, kill, hang-up),
:mod:`.naming` and :mod:`.place` (file names; letters put in place or withdrawn), :mod:`.results`
and :mod:`.report` (what happened), and :mod:`.run`, which drives them.
"""

from coverage.batch.discover import KINDS, find_case_files, usable_cores
from coverage.batch.manifest import read_manifest
from coverage.batch.naming import assign_names, inside, letter_name, path_digest, safe_stem
from coverage.batch.report import (
    REPORT_COLUMNS,
    BatchSummary,
    read_report_csv,
    report_csv_bytes,
    result_line,
)
from coverage.batch.results import (
    BLOCKED,
    FAILED,
    NOT_RUN,
    STATUS_LABELS,
    STATUSES,
    UP_TO_DATE,
    WRITTEN,
    CaseResult,
)
from coverage.batch.run import run_batch
from coverage.errors import BatchError

# Re-exported for callers. To replace a name in a test, patch the module that looks it up:
# discover.usable_cores, pool.ProcessPoolExecutor, worker.write_atomic (for the letters).
__all__ = [
    "BLOCKED", "FAILED", "KINDS", "NOT_RUN", "REPORT_COLUMNS", "STATUSES", "STATUS_LABELS",
    "UP_TO_DATE", "WRITTEN", "BatchError", "BatchSummary", "CaseResult", "assign_names",
    "find_case_files", "inside", "letter_name", "path_digest", "read_manifest",
    "read_report_csv", "report_csv_bytes", "result_line", "run_batch", "safe_stem",
    "usable_cores",
]
