"""`train_up` (进修): township staff go to a county hospital in rotation for training; while away
the centre has fewer physicians, on return it is more capable.

Mechanism (docs/policies.md):
- `staff` trainees are shared among the named centres in proportion to their physicians (largest
  remainder) and leave one after another, evenly spread over `period_days`; each is away
  `days_away` days, during which the centre has one physician less (fewer daily slots).
- a returning trainee has closed `skill_gain` of the gap between the centre's capability and the
  teaching hospitals' (mean); with capability read as the physician-weighted mean of skill, the centre's
  capability rises by skill_gain x (cap_teacher - cap_centre) / physicians for each return.
- revert (end date): trainees still away come back untrained; skills already gained are kept.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Params, Policy, register
from .common import check_names, fid, hospital_names, township_centre_ids, township_index, township_names


class TrainUpParams(Params):
    staff: int = Field(ge=0, description="township staff trained in all (§B: 47)")
    townships: list[str] | None = Field(None, description="sending township centres (default: all)")
    teaching_hospitals: list[str] = Field(default_factory=lambda: ["county_people"], min_length=1,
                                          description="where they train (their mean capability is the reference)")
    days_away: int = Field(90, ge=1, description="length of one training period, days")
    period_days: int = Field(365, ge=1, description="the rotation's departures are spread over this many days")
    skill_gain: float = Field(0.5, ge=0.0, le=1.0,
                              description="share of the capability gap to the teaching hospital a trainee closes")


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers summing to total, proportional to weights (largest remainder, ties to the first)."""
    if total == 0 or weights.sum() <= 0:
        return np.zeros(weights.size, dtype=np.int64)
    quota = total * weights / weights.sum()
    base = np.floor(quota).astype(np.int64)
    rest = total - base.sum()
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:rest]] += 1
    return base


@register
class TrainUp(Policy):
    name = "train_up"
    Params = TrainUpParams

    def touched_facilities(self, config):
        return list(self.params.townships or township_names(config)) + list(self.params.teaching_hospitals)

    def check(self, config):
        p = self.params
        problems = check_names(p.townships, township_names(config), "townships", "township centre")
        problems += check_names(p.teaching_hospitals, hospital_names(config, in_county=True), "teaching_hospitals",
                                "county hospital")
        if not problems:
            towns = [t for t in config.townships if p.townships is None or t.name in p.townships]
            physicians = sum(t.physicians for t in towns)
            if p.staff > physicians:
                problems.append(("staff", f"the centres named have {physicians:g} physicians; cannot train {p.staff}"))
        return problems

    def apply(self, model):
        p, fac, st = self.params, model.facilities, self.state(model)
        towns = township_index(model, p.townships)
        ids = township_centre_ids(model, towns)
        alloc = allocate(p.staff, fac.physicians[ids])
        # interleave the centres' trainees so that each centre's departures are spread evenly
        centre = np.repeat(np.arange(ids.size), alloc)
        rank = np.concatenate([(np.arange(k) + 0.5) / k for k in alloc if k > 0]) if p.staff else np.zeros(0)
        order = np.lexsort((centre, rank))
        leave = np.floor(np.arange(p.staff) * p.period_days / max(p.staff, 1)).astype(np.int64)
        st["ids"], st["centre"], st["leave"] = ids, centre[order], leave
        teacher = float(np.mean([fac.capability[fid(model, h)] for h in p.teaching_hospitals]))
        gap = np.maximum(0.0, teacher - fac.capability[ids])
        st["gain_per_return"] = np.where(fac.physicians[ids] > 0, p.skill_gain * gap / np.maximum(fac.physicians[ids], 1e-9), 0.0)
        st["away"] = np.zeros(ids.size)
        st["gained"] = np.zeros(ids.size)
        self._update(model)

    def _update(self, model, returning_all: bool = False) -> None:
        st, p, fac = self.state(model), self.params, model.facilities
        d = self.days_active(model)
        n = st["ids"].size
        if returning_all:
            away, gained = np.zeros(n), st["gained"]
        else:
            gone = (st["leave"] <= d) & (d < st["leave"] + p.days_away)
            back = st["leave"] + p.days_away <= d
            away = np.bincount(st["centre"][gone], minlength=n).astype(float)
            gained = np.bincount(st["centre"][back], minlength=n) * st["gain_per_return"]
        if np.array_equal(away, st["away"]) and np.array_equal(gained, st["gained"]):
            return
        fac.physicians[st["ids"]] -= away - st["away"]
        fac.capability[st["ids"]] += gained - st["gained"]
        st["away"], st["gained"] = away, gained
        model.refresh_facilities()

    def daily(self, model):
        self._update(model)

    def revert(self, model):
        self._update(model, returning_all=True)
