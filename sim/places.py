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
from .indicators import CARE_NAMES, _rows, _year_fraction, period_slices

if TYPE_CHECKING:
    from .model import GradedCareModel

FACILITY_MEASURES = ("outpatient_visits", "admissions", "bed_occupancy", "mean_wait_days", "displaced")


FACILITY_SUMS = ("served", "wait_days", "bed_days", "rejected", "referred_up_at")


def _summed(model: "GradedCareModel", days: np.ndarray, starts: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The records behind the facility measures summed over `days` (day x facility [x care] -> facility
    [x care]), or over each run of days from one of `starts` to the next (-> group x facility [x care])."""
    rows = _rows(days)

    def total(a: np.ndarray) -> np.ndarray:
        a = a[rows].astype(np.int64) if a.dtype.kind in "iu" else a[rows]
        return a.sum(axis=0) if starts is None else np.add.reduceat(a, starts, axis=0)
    return {**{k: total(model.records[k]) for k in FACILITY_SUMS}, "beds": total(model.beds_open)}


def _facility_frame(model: "GradedCareModel", sums: dict[str, np.ndarray], per_year: float) -> dict[str, np.ndarray]:
    """Per-facility measures from `_summed` records; counts divided by `per_year` years (1 = plain totals).
    Records are integers, so a sum is exact in any order: grouped sums equal day-range sums."""
    inflate = 1.0 / model.scale
    served, beds = sums["served"], sums["beds"]
    waited = sums["wait_days"].sum(axis=-1)
    occupied = sums["bed_days"][..., 1].astype(float)
    limited = np.isfinite(beds) & (beds > 0)
    return {
        "outpatient_visits": served[..., 0] * inflate / per_year,
        "admissions": served[..., 1] * inflate / per_year,
        "displaced": sums["rejected"].sum(axis=-1) * inflate / per_year,
        "referred_up": sums["referred_up_at"].sum(axis=-1) * inflate / per_year,
        "mean_wait_days": np.divide(waited, served.sum(axis=-1), out=np.full(waited.shape, np.nan),
                                    where=served.sum(axis=-1) > 0),
        "bed_occupancy": np.divide(occupied, beds, out=np.full(beds.shape, np.nan), where=limited),
    }


def facility_months(model: "GradedCareModel") -> pd.DataFrame:
    """One row per facility and calendar month of the horizon (warm-up excluded)."""
    fac = model.facilities
    days = np.arange(model.warmup_days, model.n_days)
    months = np.array([model.dates[i].strftime("%Y-%m") for i in days])
    starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    frame = _facility_frame(model, _summed(model, days, starts), 1.0)
    n_m, n_f = starts.size, len(fac)
    tiers = np.array(model.tier_names)[fac.tier]
    towns = np.array(model.county.township_names + [""])[fac.township]
    beds = np.where(np.isfinite(model.bed_capacity), model.bed_capacity, np.nan)
    table = pd.DataFrame({
        "month": np.repeat(months[starts], n_f), "facility": np.tile(np.asarray(fac.name, dtype=object), n_m),
        "label": np.tile(np.asarray(_labels(model), dtype=object), n_m), "tier": np.tile(tiers, n_m),
        "township": np.tile(towns, n_m), "x_km": np.tile(fac.position[:, 0], n_m),
        "y_km": np.tile(fac.position[:, 1], n_m), "beds": np.tile(beds, n_m),
        **{k: v.ravel() for k, v in frame.items()}})
    cols = ["month", "facility", "label", "tier", "township", "x_km", "y_km", "outpatient_visits", "admissions",
            "displaced", "referred_up", "mean_wait_days", "beds", "bed_occupancy"]
    return table[cols]


def _labels(model: "GradedCareModel") -> list[str]:
    named = {h.name: h.label for h in model.config.facilities.hospitals}
    return [named.get(n) or n for n in model.facilities.name]


def facility_indicators(model: "GradedCareModel", names: list[str]) -> pd.DataFrame:
    """Period x `facility.<name>.<measure>` for the named facilities; a facility this run does not
    have (a branch campus of another scenario) reports zero volumes and no occupancy or wait."""
    rows = {}
    for period, days in period_slices(model).items():
        frame = _facility_frame(model, _summed(model, days), _year_fraction([model.dates[i] for i in days]))
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
