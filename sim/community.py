"""The county medical community (医共体) as a budget holder: a Mesa agent charged with every fund
payment for the residents it covers, in the county and outside it, against a per-capita budget
(按人头总额预付), keeping its surplus (结余留用). Its rules (how hard it manages, what it invests)
live in the `capitation` lever (sim/policies/capitation_budget.py); this class keeps the books.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .insurance import FEN
from .deferred import mesa

if TYPE_CHECKING:
    from .model import GradedCareModel


class MedicalCommunity(mesa.Agent):
    """Ledger of one community: daily spending on its covered residents (fen, simulated residents),
    and per calendar year its budget, spending in and outside the county and surplus (yuan, full scale)."""

    def __init__(self, model: "GradedCareModel", name: str, covered: np.ndarray) -> None:
        super().__init__(model)
        self.name = name
        self.covered = covered
        self.residents = float(covered.sum() / model.scale)        # full-scale residents covered
        self.spent = np.zeros((model.n_days, 2), dtype=np.int64)    # day x (in county, outside), fen
        self.budget_per_capita: float | None = None                  # yuan a covered resident a year
        self.ledger: dict[int, dict[str, float]] = {}

    def charge(self, day: int, person: np.ndarray, fund: np.ndarray, in_county: np.ndarray) -> None:
        """Book the fund payments of today's served episodes that belong to covered residents."""
        mine = self.covered[person]
        if mine.any():
            self.spent[day, 0] += int(fund[mine & in_county].sum())
            self.spent[day, 1] += int(fund[mine & ~in_county].sum())

    def spending_yuan(self, days: slice | np.ndarray) -> np.ndarray:
        """(in county, outside) spending over the days, yuan at full scale."""
        return self.spent[days].sum(axis=0) / FEN / self.model.scale

    def budget_for(self, days: int) -> float:
        """The budget (yuan, full scale) for a stretch of days."""
        return 0.0 if self.budget_per_capita is None else self.budget_per_capita * self.residents * days / 365.0

    def close_year(self, year: int, days: np.ndarray, retained_share: float) -> float:
        """Close a calendar year's books; returns the surplus the community keeps (negative: the
        deficit it bears)."""
        inside, outside = self.spending_yuan(days)
        budget = self.budget_for(days.size)
        surplus = budget - inside - outside
        self.ledger[year] = {"budget": budget, "spending_in_county": inside, "spending_outside": outside,
                             "surplus": surplus, "retained": surplus * retained_share}
        return surplus * retained_share
