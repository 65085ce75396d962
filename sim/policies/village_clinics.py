"""`township_run_village_clinics` (卫生院领办村卫生室): the township centre runs its village clinics
(staff, drugs, supplies, operations, information system, pay unified: county-facts.md §C).

Mechanism (docs/policies.md):
- capability: each village clinic of the named townships closes `capability_share` of the gap
  between its capability and its township centre's (same drug list, township staff rotating in);
- prices: the clinic's price multiplier becomes `price_multiplier` if given (unified drug catalogue
  at township prices); by default prices are unchanged;
- revert: both changes are undone.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Params, Policy, register
from .common import check_names, township_centre_ids, township_index, township_names


class VillageClinicParams(Params):
    townships: list[str] | None = Field(None, description="townships whose clinics are taken over (default: all)")
    capability_share: float = Field(0.5, ge=0.0, le=1.0,
                                    description="share of the clinic-to-centre capability gap closed")
    price_multiplier: float | None = Field(None, gt=0.0, description="new price multiplier of the clinics")


@register
class TownshipRunVillageClinics(Policy):
    name = "township_run_village_clinics"
    Params = VillageClinicParams

    def check(self, config):
        return check_names(self.params.townships, township_names(config), "townships", "township")

    def apply(self, model):
        p, fac, st = self.params, model.facilities, self.state(model)
        towns = township_index(model, p.townships)
        centres = township_centre_ids(model, towns)
        village_tier = model.tier_names.index("village")
        clinics, gains = [], []
        for t, c in zip(towns, centres):
            ids = np.flatnonzero((fac.tier == village_tier) & (fac.township == t))
            clinics.append(ids)
            gains.append(p.capability_share * np.maximum(0.0, fac.capability[c] - fac.capability[ids]))
        st["clinics"] = np.concatenate(clinics) if clinics else np.zeros(0, dtype=np.int64)
        st["gain"] = np.concatenate(gains) if gains else np.zeros(0)
        fac.capability[st["clinics"]] += st["gain"]
        if p.price_multiplier is not None:
            st["old_price"] = fac.price_multiplier[st["clinics"]].copy()
            fac.price_multiplier[st["clinics"]] = p.price_multiplier
        model.refresh_facilities()

    def revert(self, model):
        st, fac = self.state(model), model.facilities
        fac.capability[st["clinics"]] -= st["gain"]
        if "old_price" in st:
            fac.price_multiplier[st["clinics"]] = st["old_price"]
        model.refresh_facilities()
