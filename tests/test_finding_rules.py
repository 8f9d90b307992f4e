"""Every finding code has a value-free rule sentence, the form reports print."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from coverage.review.findings import RULES, Finding, Severity

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"[A-Z][A-Z0-9_]{3,}")
MAKERS = {"block", "advise", "Finding"}


def codes_raised() -> set[str]:
    """Codes passed as the first argument to block(), advise() or Finding() in the review."""
    found: set[str] = set()
    for path in (ROOT / "coverage" / "review").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and node.args
                    and ast.unparse(node.func).split(".")[-1] in MAKERS
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                    and CODE.fullmatch(node.args[0].value)):
                found.add(node.args[0].value)
    return found


def test_the_scan_finds_the_review_codes() -> None:
    assert {"ROUTE_NOT_IV", "DOSE_OUT_OF_BOUNDS", "EXCLUDES1_PAIR", "DATE_IN_FUTURE"} \
        <= codes_raised()


def test_every_code_has_a_rule_and_every_rule_a_code() -> None:
    raised = codes_raised()
    assert sorted(raised - RULES.keys()) == []
    assert sorted(RULES.keys() - raised) == []


def test_rules_carry_no_values() -> None:
    for code, rule in RULES.items():
        assert not re.search(r"[0-9{}]", re.sub(r"ICD-10-CM|Excludes1", "", rule)), (code, rule)
        assert rule == rule.strip() and rule[0].islower() and not rule.endswith("."), code


def test_summary_drops_the_message() -> None:
    finding = Finding("DOSE_OUT_OF_BOUNDS", Severity.blocking, "plan.dose_mg_per_kg",
                      "2.75 mg/kg is outside the practice protocol (0.1-1 mg/kg)")
    assert finding.summary == ("DOSE_OUT_OF_BOUNDS plan.dose_mg_per_kg: the dose is outside "
                               "the practice protocol")
