"""Results by place: per facility (monthly, and per period for the facilities a policy touches)
and per village of residence (per period), for questions about named facilities and townships.

Counts are at full-population scale (simulated counts / scale); bed occupancy includes the
background load of a reduced-scale run (sim.background), as the tier indicators do. Columns:
docs/indicators.md, "Per facility and per village".
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .county import village_clinic_name
from .indicators import CARE_NAMES, _year_fraction, period_slices

if TYPE_CHECKING:
    from .model import GradedCareModel

FACILITY_MEASURES = ("outpatient_visits", "admissions", "bed_occupancy", "mean_wait_days", "displaced")


def _facility_frame(model: "GradedCareModel", days: np.ndarray, per_year: float) -> dict[str, np.ndarray]:
    """Per-facility measures over `days`; counts divided by `per_year` years (1 = plain totals)."""
    rec, inflate = model.records, 1.0 / model.scale
    served = rec["served"][days].sum(axis=0)
    waited = rec["wait_days"][days].sum(axis=0).sum(axis=1)
    occupied = rec["bed_days"][days][:, :, 1].sum(axis=0).astype(float)
    beds = model.beds_open[days].sum(axis=0)
    limited = np.isfinite(beds) & (beds > 0)
    return {
        "outpatient_visits": served[:, 0] * inflate / per_year,
        "admissions": served[:, 1] * inflate / per_year,
        "displaced": rec["rejected"][days].sum(axis=(0, 2)) * inflate / per_year,
        "referred_up": rec["referred_up_at"][days].sum(axis=(0, 2)) * inflate / per_year,
        "mean_wait_days": np.divide(waited, served.sum(axis=1), out=np.full(served.shape[0], np.nan),
                                    where=served.sum(axis=1) > 0),
        "bed_occupancy": np.divide(occupied, beds, out=np.full(beds.size, np.nan), where=limited),
    }


def facility_months(model: "GradedCareModel") -> pd.DataFrame:
    """One row per facility and calendar month of the horizon (warm-up excluded)."""
    fac = model.facilities
    days = np.arange(model.warmup_days, model.n_days)
    months = np.array([model.dates[i].strftime("%Y-%m") for i in days])
    tiers = np.array(model.tier_names)[fac.tier]
    towns = np.array(model.county.township_names + [""])[fac.township]
    labels = _labels(model)
    frames = []
    for month in dict.fromkeys(months):
        m = _facility_frame(model, days[months == month], 1.0)
        frames.append(pd.DataFrame({
            "month": month, "facility": fac.name, "label": labels, "tier": tiers, "township": towns,
            "x_km": fac.position[:, 0], "y_km": fac.position[:, 1],
            "beds": np.where(np.isfinite(model.bed_capacity), model.bed_capacity, np.nan), **m}))
    cols = ["month", "facility", "label", "tier", "township", "x_km", "y_km", "outpatient_visits", "admissions",
            "displaced", "referred_up", "mean_wait_days", "beds", "bed_occupancy"]
    return pd.concat(frames, ignore_index=True)[cols]


def _labels(model: "GradedCareModel") -> list[str]:
    named = {h.name: h.label for h in model.config.facilities.hospitals}
    return [named.get(n) or n for n in model.facilities.name]


def facility_indicators(model: "GradedCareModel", names: list[str]) -> pd.DataFrame:
    """Period x `facility.<name>.<measure>` for the named facilities; a facility this run does not
    have (a branch campus of another scenario) reports zero volumes and no occupancy or wait."""
    rows = {}
    for period, days in period_slices(model).items():
        frame = _facility_frame(model, days, _year_fraction([model.dates[i] for i in days]))
        row = {}
        for name in names:
            try:
                i = model.facilities.index(name)
            except KeyError:
                i = None
            for what in FACILITY_MEASURES:
                value = frame[what][i] if i is not None else (np.nan if what in ("bed_occupancy", "mean_wait_days")
                                                              else 0.0)
                row[f"facility.{name}.{what}"] = float(value)
        rows[period] = row
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "period"
    return df


def village_table(model: "GradedCareModel") -> pd.DataFrame:
    """Served episodes per village of residence x tier x care type, per year and "all" (per year)."""
    county, pop = model.county, model.population
    V, T = county.village_position.shape[0], len(model.tier_names)
    residents = np.bincount(pop.village, minlength=V) / model.scale
    towns = np.array(county.township_names)[county.village_township]
    names = [village_clinic_name(towns[v], k) for v, k in enumerate(_village_numbers(county.village_township))]
    slices = period_slices(model)
    fraction = {p: _year_fraction([model.dates[i] for i in days]) for p, days in slices.items()}
    per_year = {str(y): model.village_served[i] / fraction[str(y)] for i, y in enumerate(model.record_years)}
    per_year["all"] = model.village_served.sum(axis=0) / fraction["all"]
    frames = []
    v_idx, t_idx, c_idx = np.meshgrid(np.arange(V), np.arange(T), np.arange(2), indexing="ij")
    for period, counts in per_year.items():
        frames.append(pd.DataFrame({
            "period": period, "village": np.array(names)[v_idx.ravel()], "township": towns[v_idx.ravel()],
            "x_km": county.village_position[v_idx.ravel(), 0], "y_km": county.village_position[v_idx.ravel(), 1],
            "residents": residents[v_idx.ravel()], "tier": np.array(model.tier_names)[t_idx.ravel()],
            "care_type": np.array(CARE_NAMES)[c_idx.ravel()], "episodes": counts.ravel() / model.scale}))
    return pd.concat(frames, ignore_index=True)


def _village_numbers(village_township: np.ndarray) -> np.ndarray:
    """1-based number of each village within its township, as county.village_clinic_name counts."""
    out = np.zeros(village_township.size, dtype=np.int64)
    seen: dict[int, int] = {}
    for v, t in enumerate(village_township):
        seen[int(t)] = seen.get(int(t), 0) + 1
        out[v] = seen[int(t)]
    return out
