"""`branch_campus` (一院多区): a township centre opens a campus with beds and physicians in a named
village, so that people nearby get outpatient and inpatient care at the township tier (and its
reimbursement rate) close to home (county-facts.md §C).

Mechanism (docs/policies.md):
- at model construction (`prepare`) the campus is added as a township-tier facility at the
  village's position with no physicians and no beds, so it cannot be chosen before it opens (an
  alternative with probability exactly zero changes no draw). It is appended as an extra column
  to the choice set of every village for which it would rank among the `choice_set.township`
  nearest township-tier facilities; no existing alternative is dropped or re-ranked.
- on the start date it gets its physicians and beds and the host centre's capability (or
  `capability`); with `from_host: true` the physicians and beds are moved from the host centre
  instead of being new.
- revert: the campus closes (and anything taken from the host goes back).
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from ..county import add_facility
from .base import Params, Policy, register
from .common import allowed, fid, township_names, village_names


class BranchCampusParams(Params):
    township: str = Field(description="host township centre")
    village: str = Field(description="village where the campus opens, e.g. township_05/v03")
    physicians: float = Field(ge=0.0, description="physicians working at the campus")
    beds: float = Field(ge=0.0, description="beds at the campus")
    capability: float | None = Field(None, ge=0.0, le=5.0, description="default: the host centre's")
    from_host: bool = Field(False, description="physicians and beds are moved from the host centre")


@register
class BranchCampus(Policy):
    name = "branch_campus"
    Params = BranchCampusParams

    def campus_name(self) -> str:
        return f"{self.params.village}/campus"

    def new_facilities(self, config):
        return [self.campus_name()]

    def touched_facilities(self, config):
        return [self.params.township, self.campus_name()]

    def check(self, config):
        p = self.params
        towns = township_names(config)
        if p.township not in towns:
            return [("township", f"unknown township centre '{p.township}'; allowed: {allowed(towns)}")]
        villages = village_names(config, p.township)
        if p.village not in villages:
            return [("village", f"unknown village '{p.village}' of {p.township}; allowed: {allowed(villages)}")]
        host = next(t for t in config.townships if t.name == p.township)
        if p.from_host and (p.physicians > host.physicians or p.beds > host.beds):
            return [("physicians" if p.physicians > host.physicians else "beds",
                     f"{p.township} has {host.physicians:g} physicians and {host.beds:g} beds to move")]
        return []

    def prepare(self, model):
        county, cfg, p = model.county, model.config, self.params
        fac = county.facilities
        village = fac.township[fac.index(p.village)]
        position = fac.position[fac.index(p.village)]
        host = fac.index(p.township)
        assert village == fac.township[host]
        new = add_facility(county, cfg, self.campus_name(), "township", int(fac.township[host]), position,
                           physicians=0.0, beds=0.0, capability=fac.capability[host])
        tier = fac.tier[new]
        others = np.flatnonzero((fac.tier == tier) & (np.arange(len(fac)) != new))
        hours = county.travel_hours
        closer = (hours[:, others] < hours[:, [new]]).sum(axis=1)
        k = cfg.facilities.choice_set.get("township")
        sees = np.ones(hours.shape[0], dtype=bool) if k is None else closer < k
        column = np.where(sees, new, -1)
        county.choice_set = np.column_stack([county.choice_set, column])
        self.state(model)["fid"] = new
        self.state(model)["villages"] = np.flatnonzero(sees)

    def apply(self, model):
        p, fac, st = self.params, model.facilities, self.state(model)
        new, host = st["fid"], fid(model, p.township)
        fac.physicians[new] += p.physicians
        fac.beds[new] += p.beds
        fac.capability[new] = fac.capability[host] if p.capability is None else p.capability
        if p.from_host:
            fac.physicians[host] -= p.physicians
            fac.beds[host] -= p.beds
        model.refresh_facilities()

    def revert(self, model):
        p, fac, st = self.params, model.facilities, self.state(model)
        new, host = st["fid"], fid(model, p.township)
        fac.physicians[new] -= p.physicians
        fac.beds[new] -= p.beds
        if p.from_host:
            fac.physicians[host] += p.physicians
            fac.beds[host] += p.beds
        model.refresh_facilities()
