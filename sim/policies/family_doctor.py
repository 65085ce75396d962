"""`family_doctor_contracting` (家庭医生签约): contract rates by age band and chronic status are
raised to targets over `ramp_days`; contracted residents get first contact at their village clinic
or township centre and their referrals go through the medical community.

Mechanism (docs/policies.md):
- contracting: in each (age band, chronic) group of the named townships, the uncontracted residents
  needed to lift the group's current rate r0 to its target r1 sign up one by one, at evenly spread
  random dates within `ramp_days` (one uniform number per resident from the `policy` stream:
  resident i signs if u_i < q = (r1 - r0) / (1 - r0), on day ramp_days x u_i / q). Rates are only
  raised, never lowered.
- first contact: the choice model's `contract_primary` term (utility bonus of contracted residents
  for village clinics and township centres) applies to the new contracts; `primary_utility`, if
  given, replaces its value while the policy runs.
- easier referral (`referral_within_county`): a contracted resident referred up is referred by the
  family doctor within the medical community: the referral-follow bonus points at in-county
  facilities only (the lead county hospital's green channel), not at out-of-province care;
  `referral_contracts: new` limits this to the contracts the policy signs (new contracts apart from
  the rule change for existing ones).
- revert: contracts signed under the policy lapse; the bonus and the referral routing end.
"""
from __future__ import annotations

import numpy as np
from typing import Annotated, Literal

from pydantic import Field

from .base import Params, Policy, register
from .common import allowed, check_names, own_config, residents_of, set_layer, township_index, township_names


class GroupTarget(Params):
    chronic: float | None = Field(None, ge=0.0, le=1.0, description="target rate of residents with a chronic condition")
    other: float | None = Field(None, ge=0.0, le=1.0, description="target rate of the others")


class ContractingParams(Params):
    targets: dict[str, GroupTarget] = Field(description="per age band: target contract rates")
    townships: list[str] | None = Field(None, description="where (default: the whole county)")
    ramp_days: int = Field(365, ge=0, description="days to reach the targets")
    primary_wtp: dict[Literal["outpatient", "inpatient"], Annotated[float, Field(ge=0.0)]] | None = Field(
        None, description="yuan: replaces choice.wtp.contract_primary (per care type given) while active")
    referral_within_county: bool = Field(True, description="contracted residents' referrals stay in the county")
    referral_contracts: Literal["all", "new"] = Field(
        "all", description="whose referrals are routed: every contracted resident (a rule change for contracts "
                           "signed before the start too) or only the contracts this policy signs")


@register
class FamilyDoctorContracting(Policy):
    name = "family_doctor_contracting"
    Params = ContractingParams

    def check(self, config):
        bands = [b.name for b in config.population.age_bands]
        problems = check_names(self.params.townships, township_names(config), "townships", "township")
        for band in self.params.targets:
            if band not in bands:
                problems.append((f"targets.{band}", f"unknown age band '{band}'; allowed: {allowed(bands)}"))
        return problems

    def apply(self, model):
        p, pop, st = self.params, model.population, self.state(model)
        scope = residents_of(model, township_index(model, p.townships))
        st["scope"], st["original"] = scope, pop.contracted.copy()
        u = model.streams["policy"].random(len(pop))
        bands = [b.name for b in model.config.population.age_bands]
        day = np.full(len(pop), -1.0)
        for band, target in p.targets.items():
            b = bands.index(band)
            for chronic, r1 in ((True, target.chronic), (False, target.other)):
                if r1 is None:
                    continue
                group = scope & (pop.age_band == b) & (pop.chronic == chronic)
                if not group.any():
                    continue
                r0 = float(pop.contracted[group].mean())
                if r1 <= r0 or r0 >= 1.0:
                    continue
                q = (r1 - r0) / (1.0 - r0)
                join = group & ~pop.contracted & (u < q)
                day[join] = np.floor(p.ramp_days * u[join] / q) if p.ramp_days > 0 else 0.0
        who = np.flatnonzero(day >= 0)
        order = np.argsort(day[who], kind="stable")
        st["queue_person"], st["queue_day"], st["next"] = who[order], day[who][order].astype(np.int64), 0
        if p.primary_wtp is not None:
            own_config(model)
            st["old_wtp"] = dict(model.config.choice.wtp.contract_primary)
            model.config.choice.wtp.contract_primary.update(p.primary_wtp)
            model.refresh_rules()
        self._sign(model, force_layer=True)

    def _sign(self, model, force_layer: bool = False) -> None:
        st = self.state(model)
        d = self.days_active(model)
        end = int(np.searchsorted(st["queue_day"], d, side="right"))
        if end > st["next"]:
            model.population.contracted[st["queue_person"][st["next"]:end]] = True
            st["next"] = end
            force_layer = True
        if force_layer and self.params.referral_within_county:
            routed = model.population.contracted & st["scope"]
            if self.params.referral_contracts == "new":
                routed &= ~st["original"]
            set_layer(model, "in_county_referral", self, routed)

    def daily(self, model):
        self._sign(model)

    def revert(self, model):
        st = self.state(model)
        model.population.contracted[:] = st["original"]
        set_layer(model, "in_county_referral", self, None)
        if "old_wtp" in st:
            own_config(model)
            model.config.choice.wtp.contract_primary = st["old_wtp"]
            model.refresh_rules()
