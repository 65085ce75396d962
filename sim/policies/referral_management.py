"""`referral_management` (转诊审批): care outside the county needs the medical community's
approval, for named residents or all.

Mechanism (docs/policies.md, ODD §3.3.7): approval is part of filing a referral. The covered
residents' filing hassle for non-emergency care outside the county rises by `approval_hassle`
yuan (per care type), linearly over `ramp_days`. They file less often, so outside the county they
lose the unfiled penalty more often, and they value care outside the county at the higher expected
cost: fewer go. Emergencies are exempt. Revert removes the approval.

Size: the non-price filing hurdle moved cross-region admissions by about 30% when removed in three
Hebei counties [hebei-2025-its]; the default approval equals the seed's own filing hassle (so it
doubles it), an assumption with a range (docs/policies.md).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .base import Params, Policy, register
from .common import CareYuan, check_names, per_care, ramp, residents_of, set_layer, township_index, township_names


class ReferralManagementParams(Params):
    townships: list[str] | None = Field(None, description="whose residents need approval (default: the whole county)")
    scope: Literal["all", "chronic"] = Field("all", description="all covered residents, or their chronic patients")
    approval_hassle: CareYuan = Field(default_factory=lambda: {"outpatient": 50.0, "inpatient": 2000.0},
                                      description="yuan-equivalent added to the filing hassle outside the county")
    ramp_days: int = Field(0, ge=0, description="days until approval is fully in force")


@register
class ReferralManagement(Policy):
    name = "referral_management"
    Params = ReferralManagementParams

    def check(self, config):
        return check_names(self.params.townships, township_names(config), "townships", "township")

    def apply(self, model):
        p, pop, st = self.params, model.population, self.state(model)
        covered = residents_of(model, township_index(model, p.townships))
        st["covered"] = covered & pop.chronic if p.scope == "chronic" else covered
        st["progress"] = -1.0
        self.daily(model)

    def daily(self, model):
        st, p = self.state(model), self.params
        progress = ramp(self.days_active(model), p.ramp_days)
        if progress == st["progress"]:
            return
        st["progress"] = progress
        set_layer(model, "filing_hassle", self,
                  np.where(st["covered"][:, None], per_care(p.approval_hassle) * progress, 0.0))

    def revert(self, model):
        set_layer(model, "filing_hassle", self, None)
