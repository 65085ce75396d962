"""What a calibration target or validation check can measure in one run: any indicator of a run,
`facility.<name>.<measure>`, and a few ratios of indicators the contract table does not carry."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from ..config import CountyConfig

if TYPE_CHECKING:
    from ..model import GradedCareModel


def _in_county_visits(ind) -> float:
    return float(ind["in_county_visit_rate"])


def _severe_at_tertiary(model: "GradedCareModel", period: str) -> float:
    """Share of severe general admissions (residents) served at tier-3+ hospitals."""
    years = range(len(model.record_years)) if period == "all" else [model.record_years.index(int(period))]
    flows = model.flows[list(years)].sum(axis=0)[:, 1, 0]          # tier x severity x path x filed
    severe = flows[:, model.choice_params.group == 1].sum(axis=(1, 2, 3))
    tertiary = [i for i, t in enumerate(model.config.tiers) if t.level >= 3]
    return float(severe[tertiary].sum() / severe.sum()) if severe.sum() else float("nan")


DERIVED: dict[str, tuple[str, Callable]] = {
    "village_share_in_county_visits": (
        "village clinics' share of the residents' visits in the county",
        lambda model, ind, period: float(ind["outpatient_share_village"]) / _in_county_visits(ind)),
    "township_share_in_county_visits": (
        "township centres' share of the residents' visits in the county",
        lambda model, ind, period: float(ind["outpatient_share_township"]) / _in_county_visits(ind)),
    "severe_admissions_at_tertiary": (
        "share of severe (severity >= severe_from) general admissions at tier-3+ hospitals",
        lambda model, ind, period: _severe_at_tertiary(model, period)),
}


def known_measures(cfg: CountyConfig) -> list[str]:
    """Every measure name this county's runs report (for checking a file before anything runs)."""
    from ..county import build_county
    from ..indicators import contract_indicator_names
    from ..places import FACILITY_MEASURES

    tiers = [t.name for t in cfg.tiers]
    bed_tiers = [t.name for t in cfg.tiers if not t.unlimited_capacity]
    names = contract_indicator_names(tiers, bed_tiers) + list(DERIVED)
    facilities = list(build_county(cfg).facilities.name)
    return names + [f"facility.{f}.{m}" for f in facilities for m in FACILITY_MEASURES]


def measure(model: "GradedCareModel", names: list[str], period: str = "all") -> dict[str, float]:
    """The named measures of a finished run, for one period ('all' or a year)."""
    from ..places import facility_indicators

    table = model.indicators()
    facilities = sorted({n.split(".")[1] for n in names if n.startswith("facility.")})
    if facilities:
        table = table.join(facility_indicators(model, facilities))
    ind = table.loc[period]
    out = {}
    for name in names:
        out[name] = DERIVED[name][1](model, ind, period) if name in DERIVED else float(ind[name])
    return {k: float(v) if np.isfinite(v) else float("nan") for k, v in out.items()}
