"""The Patient Mesa agent: one resident, a view on its row of the Population columns.

Patients exist so that Mesa's AgentSet, DataCollector and visualisation see one agent per
resident; the model builds them the first time something reads its agents (sim/model.py).
"""
from __future__ import annotations

import gc

from .deferred import mesa


class Patient(mesa.Agent):
    """One resident. State lives in the model's Population columns; this is a view on row `row`."""

    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def age_band(self) -> str:
        return self.model.config.population.age_bands[self.model.population.age_band[self.row]].name

    @property
    def chronic(self) -> bool:
        return bool(self.model.population.chronic[self.row])

    @property
    def scheme(self) -> str:
        return list(self.model.config.insurance.schemes)[self.model.population.scheme[self.row]]

    @property
    def income_band(self) -> str:
        return self.model.config.population.income_bands[self.model.population.income_band[self.row]].name

    @property
    def village(self) -> int:
        return int(self.model.population.village[self.row])

    @property
    def township(self) -> str:
        return self.model.county.township_names[self.model.county.village_township[self.village]]

    @property
    def contracted(self) -> bool:
        return bool(self.model.population.contracted[self.row])

    @property
    def trust(self) -> dict[str, float]:
        return dict(zip(self.model.config.tier_names(), map(float, self.model.population.trust[self.row])))

    def choice_probabilities(self, care: str = "outpatient", severity: int = 1) -> dict[str, float]:
        """Logit probabilities over this resident's choice set, from the same kernel as the step."""
        return self.model.choice_probabilities(self.row, care, severity)


def create_patient_agents(model: mesa.Model, n: int) -> None:
    """Create one Patient per row; the garbage collector is paused (it costs ~25% here)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        for row in range(n):
            Patient(model, row)
    finally:
        if enabled:
            gc.enable()
