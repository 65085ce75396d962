"""`capacity_investment`: beds and physicians added to a named facility (new inpatient building,
recruitment), optionally phased in over `ramp_days`.

Mechanism (docs/policies.md): the facility's beds and physicians rise by the amounts given
(linearly over the ramp), which raises its daily outpatient slots and admissions it can take.
Revert: the additions are withdrawn.
"""
from __future__ import annotations

from pydantic import Field

from .base import Params, Policy, register
from .common import allowed, fid, hospital_names, ramp, township_names


class CapacityParams(Params):
    facility: str = Field(description="township centre or county hospital")
    beds: float = Field(0.0, ge=0.0, description="beds added")
    physicians: float = Field(0.0, ge=0.0, description="physicians added")
    ramp_days: int = Field(0, ge=0, description="days over which the additions open")


@register
class CapacityInvestment(Policy):
    name = "capacity_investment"
    Params = CapacityParams

    def touched_facilities(self, config):
        return [self.params.facility]

    def check(self, config):
        names = township_names(config) + hospital_names(config, in_county=True)
        if self.params.facility not in names:
            return [("facility", f"unknown facility '{self.params.facility}'; allowed: {allowed(names)}")]
        return []

    def apply(self, model):
        self.state(model)["added"] = 0.0
        self._update(model)

    def _update(self, model) -> None:
        st, p, fac = self.state(model), self.params, model.facilities
        progress = ramp(self.days_active(model), p.ramp_days)
        if progress == st["added"]:
            return
        f = fid(model, p.facility)
        fac.beds[f] += (progress - st["added"]) * p.beds
        fac.physicians[f] += (progress - st["added"]) * p.physicians
        st["added"] = progress
        model.refresh_facilities()

    def daily(self, model):
        self._update(model)

    def revert(self, model):
        st, p, fac = self.state(model), self.params, model.facilities
        f = fid(model, p.facility)
        fac.beds[f] -= st["added"] * p.beds
        fac.physicians[f] -= st["added"] * p.physicians
        st["added"] = 0.0
        model.refresh_facilities()
