"""`emergency_network`: joint 120 emergency stations in the named townships cut the time to care of
the most severe episodes (county-facts.md §C: "halved treatment delay").

Mechanism (docs/policies.md): for residents of the named townships, episodes of severity
`from_severity` and above see travel times to in-county facilities with beds (township centres,
campuses, county hospitals) multiplied by `time_factor` in their choice utility; other episodes
and other townships are unchanged. Revert: the ordinary travel times return.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from ..config import SEVERITY_LEVELS
from .base import Params, Policy, register
from .common import check_names, township_index, township_names


class EmergencyParams(Params):
    townships: list[str] = Field(min_length=1, description="townships with an emergency station")
    time_factor: float = Field(0.5, gt=0.0, le=1.0, description="multiplies the travel time of severe episodes")
    from_severity: int = Field(SEVERITY_LEVELS, ge=1, le=SEVERITY_LEVELS, description="severity levels concerned")


@register
class EmergencyNetwork(Policy):
    name = "emergency_network"
    Params = EmergencyParams

    def check(self, config):
        return check_names(self.params.townships, township_names(config), "townships", "township")

    def _cells(self, model):
        towns = township_index(model, self.params.townships)
        villages = np.flatnonzero(np.isin(model.county.village_township, towns))
        tier = model.facilities.tier
        bedded = np.array([t.inpatient_cost is not None for t in model.config.tiers])[tier]
        return villages, np.flatnonzero(model.tier_in_county[tier] & bedded)

    def apply(self, model):
        others = [q for q in model.active_policies if isinstance(q, EmergencyNetwork) and q is not self]
        if model.emergency_hours is None:
            model.emergency_hours = model.county.travel_hours.copy()
        villages, fids = self._cells(model)
        sub = np.ix_(villages, fids)
        model.emergency_hours[sub] = np.minimum(model.emergency_hours[sub],
                                                model.county.travel_hours[sub] * self.params.time_factor)
        model.emergency_from_severity = min([self.params.from_severity]
                                            + [q.params.from_severity for q in others])
        model.refresh_facilities()

    def revert(self, model):
        others = [q for q in model.active_policies if isinstance(q, EmergencyNetwork) and q is not self]
        model.emergency_hours = None
        model.emergency_from_severity = SEVERITY_LEVELS + 1
        for q in others:          # rebuild what the other active stations provide
            q.apply(model)
        model.refresh_facilities()
