"""CPT and HCPCS lines for one infusion: administration by the CPT time rule, the drug line."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BillingLine:
    code: str
    description: str
    units: int


IV_PUSH = "96374"
INFUSION_FIRST_HOUR = "96365"
INFUSION_EACH_ADDITIONAL_HOUR = "96366"
UNCLASSIFIED_DRUG = "J3490"


def infusion_lines(minutes: int) -> list[BillingLine]:
    """Administration codes for one infusion of ``minutes`` by the CPT time rule.

    15 minutes or less is an IV push (96374); 96365 covers up to 90 minutes; each 96366 unit
    needs more than 30 minutes past the last full hour (91-150 min: 1 unit, 151-210: 2...).
    """
    if minutes <= 15:
        return [BillingLine(IV_PUSH, "IV push, single or initial substance", 1)]
    lines = [BillingLine(INFUSION_FIRST_HOUR, "IV infusion, therapy, initial, up to 1 hour", 1)]
    if minutes > 90:
        extra = math.ceil((minutes - 90) / 60)
        lines.append(
            BillingLine(INFUSION_EACH_ADDITIONAL_HOUR, "IV infusion, each additional hour", extra)
        )
    return lines


def drug_line(dose_mg: float, ndc: str | None) -> BillingLine:
    detail = f"ketamine hydrochloride {dose_mg:g} mg IV"
    if ndc:
        detail += f", NDC {ndc}"
    return BillingLine(UNCLASSIFIED_DRUG, f"Unclassified drug: {detail}", 1)
