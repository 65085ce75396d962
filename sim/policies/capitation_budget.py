"""`capitation` (按人头总额预付, 结余留用): a medical community holds a per-capita budget for the
residents it covers and is charged every fund payment for them, in the county and outside it; it
keeps (part of) the surplus. How hard it manages follows its budget pressure.

Mechanism (docs/policies.md; the books are sim.community.MedicalCommunity):
- budget: `budget_per_capita` yuan a covered resident a year, by default the covered residents'
  fund spending per capita in the year before the start × (1 + `budget_growth`);
- pressure: the year's spending projected to the year's end against the budget; 0 while the
  projection stays below (1 − `pressure_margin`) of the budget, 1 at or above it, linear between.
  With no pressure the community changes nothing;
- responses, each × pressure: referral-out management (approval before non-emergency care
  outside the county: `approval_hassle` yuan on the filing decision), down-referral of recovering
  patients (`down_referral` added to the down-referral probability of covered residents discharged
  from a hospital), chronic disease management (`admission_reduction` fewer inpatient episodes of
  covered chronic patients), and cost containment (the community's township centres and
  `member_hospitals` turn away `containment` of the covered residents' minor admissions; they
  choose again, in the county or outside it, where the community still pays);
- investment: at each year's end `invest_share` of the retained surplus is spent on the community's
  township centres, raising their capability by `capability_per_million_yuan` per million yuan
  after `investment_lag_days`.
The same lever can raise or lower outflow: containment and chronic management remove admissions
that would have stayed in the county, while approval and investment keep care in the county;
which wins depends on the budget (pressure), how far and how capable the alternatives are, and
the community's rules (docs/policies.md says which conditions give which).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from .base import Params, Policy, register
from .common import (CareYuan, check_names, fid, hospital_names, per_care, residents_of, set_layer,
                     township_centre_ids, township_index, township_names)

if TYPE_CHECKING:
    from ..community import MedicalCommunity       # Mesa: imported when a community is created

MIN_HISTORY_DAYS = 90


class CapitationBudgetParams(Params):
    townships: list[str] = Field(min_length=1, description="townships whose residents the community covers")
    scope: Literal["all", "chronic"] = Field("all", description="all insured residents, or chronic patients only")
    budget_per_capita: float | None = Field(None, ge=0.0, description="yuan a covered resident a year (default: "
                                                                      "last year's spending x (1 + budget_growth))")
    budget_growth: float = Field(0.0, ge=-0.5, le=1.0, description="budget over last year's spending")
    surplus_retained: float = Field(1.0, ge=0.0, le=1.0, description="share of a surplus (or deficit) it keeps")
    pressure_margin: float = Field(0.1, gt=0.0, le=1.0, description="projected spending below (1 - margin) x "
                                                                     "budget is no pressure")
    approval_hassle: CareYuan = Field(default_factory=lambda: {"outpatient": 50.0, "inpatient": 2000.0},
                                      description="yuan on the filing decision outside the county at full pressure")
    down_referral: float = Field(0.15, ge=0.0, le=1.0, description="added down-referral probability at full pressure")
    admission_reduction: float = Field(0.117, ge=0.0, lt=1.0,
                                       description="fewer inpatient episodes of covered chronic patients at full pressure")
    containment: float = Field(0.0, ge=0.0, le=1.0, description="share of covered residents' minor admissions the "
                                                                 "community's facilities turn away at full pressure")
    member_hospitals: list[str] = Field(default_factory=list, description="county hospitals in the community")
    invest_share: float = Field(0.5, ge=0.0, le=1.0, description="share of the retained surplus invested")
    capability_per_million_yuan: float = Field(0.05, ge=0.0, le=2.0,
                                               description="capability levels a township centre gains per million yuan")
    investment_lag_days: int = Field(365, ge=0, description="days from a year's end until its investment works")


@register
class Capitation(Policy):
    name = "capitation"
    Params = CapitationBudgetParams

    def check(self, config):
        problems = check_names(self.params.townships, township_names(config), "townships", "township")
        problems += check_names(self.params.member_hospitals, hospital_names(config, in_county=True),
                                "member_hospitals", "county hospital")
        history = (self.start - config.horizon.start).days
        if self.params.budget_per_capita is None and history < MIN_HISTORY_DAYS:
            problems.append(("budget_per_capita", f"give it: the horizon has {max(history, 0)} days before the start "
                                                  f"({self.start}), fewer than the {MIN_HISTORY_DAYS} needed to base "
                                                  "the budget on last year's spending"))
        return problems

    def touched_facilities(self, config):
        return list(self.params.townships)

    def attach(self, model):
        """The community keeps books from the first day, so the year before the start is on them."""
        self._community(model)

    def detach(self, model):
        community = self.state(model).get("community")
        if community is not None:
            model.communities.remove(community)
            community.remove()
        super().detach(model)

    def _community(self, model) -> "MedicalCommunity":
        st = self.state(model)
        if st.get("community") is None:
            p, pop = self.params, model.population
            covered = residents_of(model, township_index(model, p.townships))
            if p.scope == "chronic":
                covered = covered & pop.chronic
            from ..community import MedicalCommunity
            st["community"] = MedicalCommunity(model, self.label, covered)
            model.communities.append(st["community"])
        return st["community"]

    def apply(self, model):
        p, st = self.params, self.state(model)
        community = self._community(model)
        if p.budget_per_capita is not None:
            community.budget_per_capita = p.budget_per_capita
        else:
            first = max(model.warmup_days, model.day - 365)
            days = np.arange(first, model.day)
            spent = community.spending_yuan(days).sum() * 365.0 / max(days.size, 1)
            community.budget_per_capita = spent / max(community.residents, 1.0) * (1.0 + p.budget_growth)
        st["year_start"] = model.day
        st["pressure"] = -1.0
        st["investments"] = []               # (day it works, capability gain per centre)
        st["centres"] = township_centre_ids(model, township_index(model, p.townships))
        st["invested"] = np.zeros(len(st["centres"]))
        self.daily(model)

    def pressure(self, model) -> float:
        """0 while spending runs below (1 - margin) of the budget's pace, 1 at or above it: the budget
        year so far, or at least the last 30 days (the community keeps books from the first day)."""
        st, community = self.state(model), self._community(model)
        first = max(model.warmup_days, min(st["year_start"], model.day - 30))
        days = np.arange(first, model.day)
        if days.size == 0:
            return 0.0
        spent = community.spending_yuan(days).sum()
        budget = community.budget_for(days.size)
        ratio = spent / budget if budget > 0 else np.inf
        return float(np.clip((ratio - (1.0 - self.params.pressure_margin)) / self.params.pressure_margin, 0.0, 1.0))

    def daily(self, model):
        p, st, pop = self.params, self.state(model), model.population
        community = self._community(model)
        level = round(self.pressure(model), 1)                       # responses move in steps of 0.1
        if level != st["pressure"]:
            st["pressure"] = level
            covered = community.covered
            set_layer(model, "filing_hassle", self, np.where(covered[:, None], per_care(p.approval_hassle) * level, 0.0))
            set_layer(model, "down_referral", self, np.where(covered, p.down_referral * level, 0.0))
            set_layer(model, "inpatient_risk", self,
                      np.where(covered & pop.chronic, 1.0 - p.admission_reduction * level, 1.0))
            if p.containment > 0:
                members = np.zeros(len(model.facilities), dtype=bool)
                members[st["centres"]] = True
                members[[fid(model, h) for h in p.member_hospitals]] = True
                model.admission_screen = (np.where(covered, p.containment * level, 0.0), members) if level > 0 \
                    else None
        due = [inv for inv in st["investments"] if inv[0] <= model.day]
        if due:
            st["investments"] = [inv for inv in st["investments"] if inv[0] > model.day]
            gain = sum(g for _, g in due)
            model.facilities.capability[st["centres"]] += gain
            st["invested"] += gain
            model.refresh_facilities()

    def year_end(self, model, year: int) -> None:
        """Close the community's year: keep the surplus share, schedule the investment, new budget year."""
        st = self.state(model)
        community = self._community(model)
        days = np.arange(st["year_start"], model.day)
        if days.size == 0:
            return
        kept = community.close_year(year, days, self.params.surplus_retained)
        if kept > 0 and self.params.invest_share > 0 and len(st["centres"]):
            per_centre = kept * self.params.invest_share / 1e6 * self.params.capability_per_million_yuan / len(
                st["centres"])
            st["investments"].append((model.day + self.params.investment_lag_days, per_centre))
        st["year_start"] = model.day

    def revert(self, model):
        st = self.state(model)
        for kind in ("filing_hassle", "down_referral", "inpatient_risk"):
            set_layer(model, kind, self, None)
        model.admission_screen = None
        if st.get("invested") is not None and np.any(st["invested"]):
            model.facilities.capability[st["centres"]] -= st["invested"]
            st["invested"][:] = 0.0
            model.refresh_facilities()
