"""`chronic_capitation` (慢病按人头总额付费): in the named townships the medical community holds a
per-capita budget for chronic patients, so that it gains from keeping them well and in the county.

Mechanism (docs/policies.md):
- chronic management: chronic residents of the covered townships have fewer inpatient episodes;
  their inpatient risk multiplier falls linearly to 1 - `admission_reduction` over `ramp_days`
  (thinning with the `prevention` stream, so who falls ill is unchanged). Default 0.117: patients
  in high- vs median-intensity chronic-disease management townships had 11.7% fewer admissions
  (Chen, Ding, Yu, ... Eggleston, J Health Econ / NBER w26100, Tongxiang).
- referrals kept in county: the covered residents' (default: the chronic ones) referrals up point at
  in-county facilities only (the community pays for out-of-province care out of its budget).
- revert: both effects end.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from .base import Params, Policy, register
from .common import check_names, ramp, residents_of, set_layer, township_index, township_names


class CapitationParams(Params):
    townships: list[str] = Field(min_length=1, description="townships in the pilot")
    admission_reduction: float = Field(0.117, ge=0.0, lt=1.0,
                                       description="fewer inpatient episodes of managed chronic patients")
    ramp_days: int = Field(365, ge=0, description="days until management reaches full intensity")
    referral_within_county: bool = Field(True, description="covered residents' referrals stay in the county")
    referral_scope: Literal["chronic", "all"] = Field("chronic", description="whose referrals the community routes")


@register
class ChronicCapitation(Policy):
    name = "chronic_capitation"
    Params = CapitationParams

    def check(self, config):
        return check_names(self.params.townships, township_names(config), "townships", "township")

    def apply(self, model):
        p, pop, st = self.params, model.population, self.state(model)
        covered = residents_of(model, township_index(model, p.townships))
        st["managed"] = covered & pop.chronic
        st["covered_residents"] = int(covered.sum() / model.scale)
        st["progress"] = -1.0
        if p.referral_within_county:
            set_layer(model, "in_county_referral", self, st["managed"] if p.referral_scope == "chronic" else covered)
        self._risk(model)

    def _risk(self, model) -> None:
        st = self.state(model)
        progress = ramp(self.days_active(model), self.params.ramp_days)
        if progress == st["progress"]:
            return
        st["progress"] = progress
        risk = np.where(st["managed"], 1.0 - self.params.admission_reduction * progress, 1.0)
        set_layer(model, "inpatient_risk", self, risk)

    def daily(self, model):
        self._risk(model)

    def revert(self, model):
        set_layer(model, "inpatient_risk", self, None)
        set_layer(model, "in_county_referral", self, None)
