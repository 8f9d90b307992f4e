"""Coding: the ICD-10-CM code set (official tabular XML, with its instructional notes), the
references those notes make to other codes, and the CPT/HCPCS lines of an infusion."""

from coverage.codes.billing import (
    INFUSION_EACH_ADDITIONAL_HOUR,
    INFUSION_FIRST_HOUR,
    IV_PUSH,
    UNCLASSIFIED_DRUG,
    BillingLine,
    drug_line,
    infusion_lines,
)
from coverage.codes.tabular import (
    CODE_FIRST,
    EXCLUDES1,
    NOTE_LABELS,
    USE_ADDITIONAL,
    CodeEntry,
    CodeSet,
    TabularNote,
    bundled_tabular,
    load_code_set,
)

__all__ = [
    "CODE_FIRST", "EXCLUDES1", "INFUSION_EACH_ADDITIONAL_HOUR", "INFUSION_FIRST_HOUR", "IV_PUSH",
    "NOTE_LABELS", "UNCLASSIFIED_DRUG", "USE_ADDITIONAL", "BillingLine", "CodeEntry", "CodeSet",
    "TabularNote", "bundled_tabular", "drug_line", "infusion_lines", "load_code_set",
]
