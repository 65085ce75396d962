"""`mobile_doctor_stations` (流动医生工作站): teams of the lead hospitals visit each named township
every `interval_days` for free check-ups, screening and health education.

Mechanism (docs/policies.md):
- each township is visited once per interval (visits staggered over the interval); at a visit
  `attendees_per_visit` residents of the township (of the eligible age bands) attend, drawn at
  random from the `policy` stream;
- trust: a free, unhurried consultation near home is an experience signal `trust_signal` for the
  local tiers (`trust_tiers`), applied with the model's trust learning rule;
- earlier detection: attending residents with a chronic condition enter management; their
  inpatient risk multiplier is 1 - `admission_reduction` from then on (same evidence as
  chronic_capitation; the smaller multiplier wins where both apply);
- revert: visits stop and the screening effect ends.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Params, Policy, register
from .common import check_names, check_tier_names, residents_of, set_layer, township_index, township_names


class MobileParams(Params):
    townships: list[str] | None = Field(None, description="townships visited (default: all)")
    interval_days: int = Field(30, ge=1, description="days between two visits to a township (§B: monthly)")
    attendees_per_visit: int = Field(200, ge=0, description="residents seen per visit (full population scale)")
    age_bands: list[str] | None = Field(None, description="who attends (default: every age band)")
    trust_signal: float = Field(1.0, ge=0.0, le=1.0, description="experience signal of a visit for the local tiers")
    trust_tiers: list[str] = Field(default_factory=lambda: ["village", "township"])
    admission_reduction: float = Field(0.117, ge=0.0, lt=1.0,
                                       description="fewer inpatient episodes of screened chronic patients")


@register
class MobileDoctorStations(Policy):
    name = "mobile_doctor_stations"
    Params = MobileParams

    def check(self, config):
        p = self.params
        bands = [b.name for b in config.population.age_bands]
        problems = check_names(p.townships, township_names(config), "townships", "township")
        problems += check_names(p.age_bands, bands, "age_bands", "age band")
        problems += check_tier_names(p.trust_tiers, config, "trust_tiers")
        return problems

    def apply(self, model):
        p, pop, st = self.params, model.population, self.state(model)
        towns = township_index(model, p.townships)
        bands = [b.name for b in model.config.population.age_bands]
        eligible_band = np.ones(len(bands), dtype=bool) if p.age_bands is None else np.isin(bands, p.age_bands)
        eligible = eligible_band[pop.age_band]
        st["members"] = [np.flatnonzero(eligible & residents_of(model, np.array([t]))) for t in towns]
        st["offset"] = np.floor(np.arange(towns.size) * p.interval_days / max(towns.size, 1)).astype(np.int64)
        st["tiers"] = np.array([model.tier_names.index(t) for t in p.trust_tiers], dtype=np.int64)
        st["screened"] = np.zeros(len(pop), dtype=bool)

    def daily(self, model):
        p, st, pop = self.params, self.state(model), model.population
        d = self.days_active(model)
        due = np.flatnonzero((d >= st["offset"]) & ((d - st["offset"]) % p.interval_days == 0))
        if due.size == 0:
            return
        rng = model.streams["policy"]
        expected = p.attendees_per_visit * model.scale
        seen = []
        for i in due:
            members = st["members"][i]
            k = min(members.size, int(np.floor(expected + rng.random())))
            if k > 0:
                seen.append(rng.choice(members, size=k, replace=False))
        if not seen:
            return
        who = np.concatenate(seen)
        for tier in st["tiers"]:
            model._trust(who, np.full(who.size, tier), p.trust_signal)
        new = who[pop.chronic[who] & ~st["screened"][who]]
        if new.size:
            st["screened"][new] = True
            set_layer(model, "inpatient_risk", self, np.where(st["screened"], 1.0 - p.admission_reduction, 1.0))

    def revert(self, model):
        set_layer(model, "inpatient_risk", self, None)
