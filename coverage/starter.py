"""Commented starter case files for `ketamine-letters new`.

Placeholders are written so that they cannot pass for data: dates read ``YYYY-MM-DD`` and text
reads ``FILL-IN``, and loading refuses both, naming each field still to fill.
"""

from __future__ import annotations

PLACEHOLDER = "FILL-IN"
DATE_PLACEHOLDER = "YYYY-MM-DD"

# condition -> (ICD-10-CM example code, comment, starter therapies)
STARTER_CONDITIONS: dict[str, tuple[str, str, list[str]]] = {
    "crps": ("G90.521", "CRPS I, right lower limb; G90.511 right upper, G90.512 left upper...",
             ["physical therapy", "gabapentin", "duloxetine", "lumbar sympathetic block"]),
    "crps-2": ("G57.71", "CRPS II (causalgia), right lower limb; G56.41 right upper limb...",
               ["physical therapy", "pregabalin", "nortriptyline", "stellate ganglion block"]),
    "phn": ("B02.29", "other postherpetic nervous system involvement; B02.22 trigeminal",
            ["gabapentin", "nortriptyline", "duloxetine", "lidocaine 5% patch"]),
    "pdpn": ("E11.42", "type 2 diabetes with polyneuropathy; E10.42 for type 1",
             ["duloxetine", "pregabalin", "amitriptyline", "oxcarbazepine"]),
    "peripheral-neuropathy": ("G62.0", "drug-induced polyneuropathy; G62.9 unspecified...",
                              ["gabapentin", "duloxetine", "nortriptyline", "lidocaine 5% patch"]),
    "fibromyalgia": ("M79.7", "fibromyalgia",
                     ["graded exercise", "cognitive behavioral therapy", "duloxetine",
                      "pregabalin"]),
}

_HEAD = """\
# Case file for ketamine-letters. Fill in every FILL-IN and YYYY-MM-DD from the medical record
# (delete optional lines you have nothing for), then run:  ketamine-letters check THIS-FILE
# Dates are YYYY-MM-DD. Never type a diagnosis description: the official one is printed.
# Full list of fields:  ketamine-letters schema
case_id: FILL-IN            # your own reference: letters, digits, . _ -
# letter_date: YYYY-MM-DD   # optional; today when left out
prescriber: FILL-IN         # a physician id from practice.yaml (e.g. dr-chen)
patient:
  name: {{ given: FILL-IN, family: FILL-IN }}
  date_of_birth: YYYY-MM-DD
  sex: female               # female, male, other or unknown
  weight_kg: FILL-IN        # kilograms; the dose in mg is computed from it
  member_id: FILL-IN
  group_number: FILL-IN     # delete the line if there is none
coverage:
  # when the practice profile lists the payer (payers:), write `payer_id: <its id>` instead of
  # the four payer lines below: each letter then goes to the right department and address
  payer_name: FILL-IN
  payer_department: Utilization Management
  payer_address: {{ lines: [FILL-IN], city: FILL-IN, state: FILL-IN, postal_code: FILL-IN }}
  payer_fax: FILL-IN
  plan_name: FILL-IN
  # plan_type: commercial, erisa_group, aca_individual, medicare, medicare_advantage,
  # medicaid or other (commercial when you do not know whether ERISA applies)
  plan_type: commercial
diagnoses:                  # the condition first, supporting codes after
  - code: {code}           # {comment}
    onset_date: YYYY-MM-DD
    how_diagnosed: FILL-IN  # examination, studies, criteria met{budapest}
pain:
  pain_since: YYYY-MM-DD
  scores:                   # 0-10 numeric rating scale; at least one in the last 90 days
    - {{ date: YYYY-MM-DD, nrs: FILL-IN, context: "average, past week" }}
  measures:                 # PHQ-9, BPI interference, ODI, FIQR...
    - {{ date: YYYY-MM-DD, instrument: BPI interference, score: FILL-IN, max_score: 10 }}
  functional_impact: FILL-IN
# Every therapy tried. outcome: inadequate_response, adverse_effect or contraindicated.
prior_therapies:
"""

_THERAPY = """\
  - agent: {agent}
    dose: FILL-IN           # dose reached (e.g. 1800 mg/day) or amount (e.g. 12 sessions)
    start_date: YYYY-MM-DD
    end_date: YYYY-MM-DD
    outcome: inadequate_response
    note: FILL-IN
"""

_TAIL = """\
# Options a guideline names that were NOT tried, each with its reason (printed in the letter):
# options_not_tried:
#   - option: FILL-IN        # e.g. tricyclic antidepressant, spinal cord stimulation
#     reason: declined       # contraindicated, not_tolerated, declined, not_available,
#                            # not_appropriate
#     explanation: FILL-IN   # why, from the record
# reviewed: true/false; finding: from the record; concern: true if it needs the physician
safety:
  blood_pressure: { reviewed: false }
  cardiac: { reviewed: false }
  psychosis: { reviewed: false }
  pregnancy: { reviewed: false }
  substance_use: { reviewed: false }
  liver: { reviewed: false }
  intracranial_intraocular_pressure: { reviewed: false }
plan:
  route: intravenous infusion   # the only route the foundation supports
  dose_mg_per_kg: FILL-IN   # the physician's dose, within the practice protocol
  minutes_per_infusion: FILL-IN   # typically 40-60
  infusions: FILL-IN       # in this request, e.g. 6
  weeks: FILL-IN            # over how many weeks, e.g. 3
  # maintenance to request later, only after a documented response:
  # maintenance: { infusions: 6, interval_weeks: 4, months: 6 }
  response_threshold_percent: 30
  setting: FILL-IN
  place_of_service: 11      # 11 office, 19/22 outpatient hospital, 24 ambulatory surgical center
  monitoring:
    - continuous pulse oximetry and ECG
    - blood pressure every 15 minutes
  ndc: FILL-IN              # the vial's 11-digit NDC (5-4-2), e.g. 00409-2051-05
enclosures:
  - FILL-IN
"""


def starter_case(condition: str) -> str:
    code, comment, therapies = STARTER_CONDITIONS[condition]
    budapest = ""
    if condition.startswith("crps"):
        budapest = "\n    budapest_criteria_met: true   # only if the record shows it"
    text = _HEAD.format(code=code, comment=comment, budapest=budapest)
    text += "".join(_THERAPY.format(agent=agent) for agent in therapies)
    return text + _TAIL
