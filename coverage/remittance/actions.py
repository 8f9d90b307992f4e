"""The action table: group code + CARC -> what the import does (``remittance_actions.yaml``).

Typed on load, so a typo in the table (an unknown action, an appeal without a reason) fails
the tests rather than a billing day. Every adjustment gets an action: codes the table lists,
else its group's default, so nothing is dropped silently.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from coverage.case import DenialReason

GROUPS = ("CO", "PR", "OA", "PI", "CR")


class Action(StrEnum):
    appeal = "appeal"
    retro_authorization = "retro_authorization"
    corrected_claim = "corrected_claim"
    patient_responsibility = "patient_responsibility"
    list_for_staff = "list_for_staff"
    not_for_this_tool = "not_for_this_tool"


# the order in which a claim's actions are reported: the one that writes comes first
ACTION_ORDER = list(Action)
WRITES_DENIAL = (Action.appeal, Action.retro_authorization)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupDefault(_Strict):
    action: Action
    next_step: str = Field(min_length=1)


class Rule(_Strict):
    carc: str = Field(pattern=r"^[A-Z]?\d{1,3}$")
    groups: list[str] = Field(min_length=1)
    action: Action
    reason: DenialReason | None = None
    next_step: str = Field(min_length=1)
    in_reference: bool = Field(
        default=True, description="false: classified outside the project's reference"
    )

    @model_validator(mode="after")
    def _reason_iff_writes(self) -> Rule:
        if (self.action in WRITES_DENIAL) != (self.reason is not None):
            raise ValueError(f"CARC {self.carc}: a reason is needed exactly when the action "
                             "writes a denial (appeal, retro_authorization)")
        unknown = set(self.groups) - set(GROUPS)
        if unknown:
            raise ValueError(f"CARC {self.carc}: unknown group code(s) {sorted(unknown)}")
        return self


class ActionTable(_Strict):
    infusion_codes: list[str] = Field(min_length=1)
    group_defaults: dict[str, GroupDefault]
    rules: list[Rule]

    @model_validator(mode="after")
    def _complete(self) -> ActionTable:
        if set(self.group_defaults) != set(GROUPS):
            raise ValueError(f"group_defaults must cover exactly {', '.join(GROUPS)}")
        seen: set[tuple[str, str]] = set()
        for rule in self.rules:
            for group in rule.groups:
                if (group, rule.carc) in seen:
                    raise ValueError(f"{group}-{rule.carc} is listed twice")
                seen.add((group, rule.carc))
        return self

    def decide(self, group: str, carc: str) -> tuple[Action, DenialReason | None, str]:
        """(action, reason, next step) for one adjustment."""
        for rule in self.rules:
            if rule.carc == carc and group in rule.groups:
                return rule.action, rule.reason, rule.next_step
        default = self.group_defaults.get(group)
        if default is None:  # not a legal group code: a person reads it
            return (Action.list_for_staff, None,
                    f"Unknown group code {group}: read the remittance; decide by hand.")
        return default.action, None, default.next_step


@cache
def load_actions() -> ActionTable:
    text = resources.files("coverage.knowledge").joinpath("remittance_actions.yaml").read_text(
        encoding="utf-8")
    return ActionTable.model_validate(yaml.safe_load(text))
