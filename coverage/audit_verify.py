"""Checking the audit log: walk its keyed chain (``audit --verify``), say whether the chain
vouches for a file (``audit --check``), and see a log cut back past a signed letter.

What the chain proves and what it does not is in :mod:`coverage.audit` and the README.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path

from coverage.audit import (
    Event,
    contains_output,
    event_mac,
    events,
    key_id,
    key_location,
    load_key,
)


def find_key(practice_file: str | Path | None) -> bytes | None:
    """The audit key for reading (never created here); None when there is none to use."""
    path = key_location(practice_file)
    if path is None or not path.exists():
        return None
    return load_key(path, create=False)


def holds_head(path: Path, head_prefix: str) -> bool:
    """Whether an event's MAC starts with ``head_prefix`` (a signed letter's recorded head)."""
    return any(e.mac and e.mac.startswith(head_prefix) for e in events(path))


@dataclass
class ChainReport:
    """What :func:`verify_chain` found; ``broken`` names the first bad link (None: intact)."""

    total: int = 0
    before_chain: int = 0  # events written before the log had a keyed chain
    verified: int = 0
    other_key: int = 0  # events made with another practice's key (cannot be checked here)
    broken: str | None = None
    broken_id: int | None = None
    head: str = ""  # the MAC of the newest event
    verified_ids: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(path: Path, key: bytes) -> ChainReport:
    """Walk the chain from the oldest event; stop at the first broken or missing link."""
    report = ChainReport()
    all_events = events(path)
    report.total = len(all_events)
    ours = key_id(key)
    previous_mac, previous_id, started = "", None, False
    for event in all_events:
        if event.mac is None:
            if started:
                report.broken = (f"event {event.id} has no keyed hash: it was added outside "
                                 "the tool")
                report.broken_id = event.id
                return report
            report.before_chain += 1
            previous_id = event.id
            continue
        if started and previous_id is not None and event.id != previous_id + 1:
            report.broken = (f"events {previous_id + 1} to {event.id - 1} are missing: "
                             "removed from the log")
            report.broken_id = event.id
            return report
        started = True
        if event.key_id != ours:
            report.other_key += 1
        elif not hmac.compare_digest(event.mac,
                                     event_mac(key, event.id or 0, event, previous_mac)):
            report.broken = (f"event {event.id} does not match its keyed hash: it, or the "
                             "event before it, was changed, inserted or removed")
            report.broken_id = event.id
            return report
        else:
            report.verified += 1
            report.verified_ids.add(event.id or 0)
        previous_mac, previous_id = event.mac, event.id
        report.head = event.mac
    return report


def vouch(path: Path, output_hash: str, key: bytes | None
          ) -> list[tuple[Event, bool, str | None]]:
    """Each event recording ``output_hash``: (event, trusted, note). Trusted when the keyed
    chain verifies it, or (with a note) when there is no key to check with or the event was
    written before the log was keyed; never when the chain is broken before or at it."""
    matches = contains_output(path, output_hash)
    if not matches:
        return []
    if key is None:
        return [(e, True, "not verified: no audit key (pass --practice)") for e in matches]
    report = verify_chain(path, key)
    out: list[tuple[Event, bool, str | None]] = []
    for event in matches:
        if event.id in report.verified_ids:
            out.append((event, True, None))
        elif event.mac is None and (report.broken_id is None
                                    or (event.id or 0) < report.broken_id):
            out.append((event, True, "written before the log was keyed: not tamper-evident"))
        elif report.broken is not None:
            out.append((event, False, f"NOT vouched for: the audit chain is broken "
                                      f"({report.broken})"))
        else:
            out.append((event, False, "NOT vouched for: made with another practice's audit key"))
    return out


def chain_lines(path: Path, report: ChainReport) -> list[str]:
    """What ``audit --verify`` prints."""
    lines = [f"audit log: {path}: {report.total} events"]
    if report.before_chain:
        lines.append(f"  {report.before_chain} event(s) were written before the log was keyed "
                     "(older versions of this tool): they are listed but not tamper-evident; "
                     "the chain starts after them")
    lines.append(f"  {report.verified} event(s) verified with this practice's audit key")
    if report.head:
        lines.append(f"  chain head: {report.head[:32]} (a letter signed now records it in its "
                     "document keywords)")
    if report.other_key:
        lines.append(f"  {report.other_key} event(s) made with another practice's key (not "
                     "checked here; verify with that practice's profile)")
    if report.broken:
        lines.append(f"  BROKEN: {report.broken}; events from there on cannot be trusted")
    else:
        lines.append("  chain intact: no event was changed, inserted or removed, except that "
                     "the newest events could have been cut off (compare with a signed letter's "
                     "audit head)")
    return lines


def check_file_lines(path: Path, name: str, data: bytes, digest: str, key: bytes | None
                     ) -> tuple[list[str], int]:
    """What ``audit --check`` prints for a file, and its exit code (0 vouched for, 1 not)."""
    from coverage.signing.verify import recorded_audit_head

    head = recorded_audit_head(data)
    if head and not holds_head(path, head):  # the log was cut back past this letter
        return [f"{name}: the audit chain head it recorded at signing is no longer in the "
                "log: events before this letter were removed"], 1
    matches = vouch(path, digest, key)
    if not matches:
        return [f"{name}: NOT in the audit log {path} (sha256 {digest[:16]}...)"], 1
    lines = []
    for event, _, note in matches:
        who = f", signed by {event.signer}" if event.signer else ""
        lines.append(f"{name}: in the audit log: {event.command} {event.kind} at "
                     f"{event.time}{who}" + (f" ({note})" if note else ""))
    return lines, 0 if any(trusted for _, trusted, _ in matches) else 1
