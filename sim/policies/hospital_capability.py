"""`county_hospital_capability` (重点专科, 三四级手术, chest-pain / stroke / trauma / cancer centres):
a named county hospital becomes able to treat more severe illness.

Mechanism (docs/policies.md): the hospital's capability (the highest severity it treats without
referring up; for psychiatric care its psychiatric capability) rises by `gain` levels, linearly over
`ramp_days`. Everything else follows from the model: fewer severe cases are referred out at its
door (the referral probability falls with the capability shortfall), and patients value its
capability in the choice (the capability and shortfall WTPs). Revert withdraws the gain.

Size: `gain` is given directly, or from the key specialties the documents count (county-facts.md
§B: 9 provincial and 5 municipal key specialties) at `per_provincial_specialty` and
`per_municipal_specialty` levels each (assumptions with ranges: docs/policies.md).
"""
from __future__ import annotations

from pydantic import Field, model_validator

from .base import Params, Policy, register
from .common import allowed, fid, hospital_names, ramp


class CapabilityParams(Params):
    hospital: str = Field(description="county hospital whose capability rises")
    gain: float | None = Field(None, ge=0.0, le=2.0, description="capability levels added at full effect")
    provincial_specialties: int = Field(0, ge=0, le=50, description="provincial key specialties built (重点专科)")
    municipal_specialties: int = Field(0, ge=0, le=50, description="municipal key specialties built")
    per_provincial_specialty: float = Field(0.03, ge=0.0, le=0.5, description="levels per provincial specialty")
    per_municipal_specialty: float = Field(0.015, ge=0.0, le=0.5, description="levels per municipal specialty")
    program: str = Field("general", pattern="^(general|psychiatric)$", description="whose capability rises")
    ramp_days: int = Field(365, ge=0, description="days until the gain is complete")

    @model_validator(mode="after")
    def _one_size(self):
        if self.gain is None and not (self.provincial_specialties or self.municipal_specialties):
            raise ValueError("give `gain`, or the key specialties built (provincial_specialties, municipal_specialties)")
        return self

    def total_gain(self) -> float:
        if self.gain is not None:
            return self.gain
        return (self.provincial_specialties * self.per_provincial_specialty
                + self.municipal_specialties * self.per_municipal_specialty)


@register
class CountyHospitalCapability(Policy):
    name = "county_hospital_capability"
    Params = CapabilityParams

    def touched_facilities(self, config):
        return [self.params.hospital]

    def check(self, config):
        names = hospital_names(config, in_county=True)
        if self.params.hospital not in names:
            return [("hospital", f"unknown county hospital '{self.params.hospital}'; allowed: {allowed(names)}")]
        return []

    def _column(self, model):
        fac = model.facilities
        return fac.capability if self.params.program == "general" else fac.psychiatric_capability

    def apply(self, model):
        st = self.state(model)
        st["applied"] = 0.0
        self.daily(model)

    def daily(self, model):
        st = self.state(model)
        target = self.params.total_gain() * ramp(self.days_active(model), self.params.ramp_days)
        if target != st["applied"]:
            self._column(model)[fid(model, self.params.hospital)] += target - st["applied"]
            st["applied"] = target
            model.refresh_facilities()

    def revert(self, model):
        st = self.state(model)
        self._column(model)[fid(model, self.params.hospital)] -= st["applied"]
        st["applied"] = 0.0
        model.refresh_facilities()
