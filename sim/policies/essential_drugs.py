"""`essential_drugs` (基本药物制度): essential drugs sold at zero markup in primary care lower the
cost of an episode there.

Mechanism (docs/policies.md): the mean cost of outpatient visits and admissions at the facilities
of the named tiers is multiplied by `outpatient_factor` and `inpatient_factor` (what patients
expect to pay and what is billed both fall; the insurance rules apply to the lower bill).
Defaults from the difference-in-differences evaluation of 296 township health centres
(Chongqing, Jiangsu, Henan, 2009-2010, BMJ Open): inpatient expenditure per discharge -11%
(p<0.05); outpatient expenditure per visit: no significant change (factor 1).
Revert: the factors are divided out again.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Params, Policy, register
from .common import check_tier_names, ensure_care_price


class EssentialDrugsParams(Params):
    tiers: list[str] = Field(default_factory=lambda: ["village", "township"], min_length=1)
    outpatient_factor: float = Field(1.0, gt=0.0, le=2.0, description="multiplies the outpatient cost")
    inpatient_factor: float = Field(0.89, gt=0.0, le=2.0, description="multiplies the inpatient cost")


@register
class EssentialDrugs(Policy):
    name = "essential_drugs"
    Params = EssentialDrugsParams

    def check(self, config):
        return check_tier_names(self.params.tiers, config, "tiers")

    def _rows(self, model):
        tiers = [model.tier_names.index(t) for t in self.params.tiers]
        return np.isin(model.facilities.tier, tiers)

    def apply(self, model):
        mult = ensure_care_price(model)
        rows = self._rows(model)
        mult[rows, 0] *= self.params.outpatient_factor
        mult[rows, 1] *= self.params.inpatient_factor
        model.refresh_facilities()

    def revert(self, model):
        mult = ensure_care_price(model)
        rows = self._rows(model)
        mult[rows, 0] /= self.params.outpatient_factor
        mult[rows, 1] /= self.params.inpatient_factor
        model.refresh_facilities()
