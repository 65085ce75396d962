"""The contract indicators (ARCHITECTURE.md §1, definitions in county-facts.md) from day records.

Periods are calendar years ("2022") and "all". Shares and rates are pooled ratios over the
period. Counts and money are per year (for "all": the yearly mean over the horizon) and at full
population scale. Warm-up days are excluded.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .insurance import FEN

if TYPE_CHECKING:
    from .model import GradedCareModel

CARE_NAMES = ("outpatient", "inpatient")


def contract_indicator_names(tiers: list[str], bed_tiers: list[str]) -> list[str]:
    """Every indicator name a results table carries, in order."""
    names = [f"outpatient_share_{t}" for t in tiers] + [f"inpatient_share_{t}" for t in tiers]
    names += ["primary_care_share", "in_county_visit_rate", "in_county_admission_rate", "out_of_county_admission_rate",
              "out_of_province_rate",
              "out_of_province_admission_rate", "out_of_province_outpatient_rate",
              "effective_reimbursement_ratio", "in_county_fund_share", "oop_per_capita", "fund_spending_per_capita",
              "spending_per_capita", "catastrophic_spending_share"]
    names += [f"bed_occupancy_{t}" for t in bed_tiers]
    names += [f"mean_wait_days_{t}" for t in tiers]
    names += [f"mean_los_days_{t}" for t in bed_tiers]
    names += ["displaced_episodes", "unmet_episodes", "referrals_up", "referrals_down",
              "in_county_outpatient_visits", "in_county_admissions", "outpatient_visits", "admissions",
              "hospitalization_rate", "nonresident_visits_in_county", "nonresident_admissions_in_county",
              "visits_delivered_in_county", "admissions_delivered_in_county"]
    return names


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def _year_fraction(dates: list[dt.date]) -> float:
    """Calendar years covered by the dates (a full year counts 1)."""
    by_year: dict[int, int] = {}
    for d in dates:
        by_year[d.year] = by_year.get(d.year, 0) + 1
    return sum(n / (366 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 365) for y, n in by_year.items())


def period_slices(model: "GradedCareModel") -> dict[str, np.ndarray]:
    days = np.arange(model.warmup_days, model.n_days)
    dates = model.dates
    years = np.array([dates[i].year for i in days])
    out = {str(y): days[years == y] for y in np.unique(years)}
    out["all"] = days
    return out


def compute_indicators(model: "GradedCareModel") -> pd.DataFrame:
    """One row per period, one column per contract indicator."""
    names = contract_indicator_names(model.tier_names, bed_tiers(model))
    rows = {}
    for period, days in period_slices(model).items():
        row = indicators_over(model, days)
        rows[period] = [row[n] for n in names]
    df = pd.DataFrame.from_dict(rows, orient="index", columns=names)
    df.index.name = "period"
    for community in model.communities:
        if community.budget_per_capita is not None:        # its capitation has started
            df = df.join(community_indicators(community, list(df.index)))
    return df


def bed_tiers(model: "GradedCareModel") -> list[str]:
    """Tiers whose facilities all have finite beds, some of them (occupancy means something there)."""
    fac_tier = model.facilities.tier
    return [t for i, t in enumerate(model.tier_names)
            if np.isfinite(model.bed_capacity[fac_tier == i]).all() and model.facilities.beds[fac_tier == i].sum() > 0]


def _rows(days: np.ndarray) -> np.ndarray | slice:
    """The day indices as a slice where they run consecutively (a view of the records, not a copy)."""
    if days.size and days[-1] - days[0] == days.size - 1 and (np.diff(days) == 1).all():
        return slice(int(days[0]), int(days[-1]) + 1)
    return days


def indicators_over(model: "GradedCareModel", days: np.ndarray) -> dict[str, float]:
    """Every contract indicator over the given simulated days (a period's, or the dashboard's week)."""
    tiers = model.tier_names
    fac_tier = model.facilities.tier
    n_t = len(tiers)
    with_beds = bed_tiers(model)
    inflate = 1.0 / model.scale
    in_county = model.tier_in_county
    oop_tier = np.array([t.out_of_province for t in model.config.tiers])
    primary = model.tier_primary
    n_pop = len(model.population)
    dates = model.dates

    def by_tier(arr: np.ndarray) -> np.ndarray:
        """(days, F, 2) summed over days -> (tiers, 2)."""
        out = np.zeros((n_t, 2))
        np.add.at(out, fac_tier, arr.sum(axis=0))
        return out

    years = _year_fraction([dates[i] for i in days])
    rows = _rows(days)
    r = {k: by_tier(v[rows]) for k, v in model.records.items() if k not in ("bed_days", "nonresident_served")}
    outsiders = by_tier(model.records["nonresident_served"][rows])[in_county].sum(axis=0) / years
    served = r["served"]
    visits, adm = served[:, 0], served[:, 1]
    row = {}
    for i, t in enumerate(tiers):
        row[f"outpatient_share_{t}"] = _ratio(visits[i], visits.sum())
        row[f"inpatient_share_{t}"] = _ratio(adm[i], adm.sum())
    row["primary_care_share"] = _ratio(visits[primary].sum(), visits.sum())
    row["in_county_visit_rate"] = _ratio(visits[in_county].sum(), visits.sum())
    row["in_county_admission_rate"] = _ratio(adm[in_county].sum(), adm.sum())
    row["out_of_county_admission_rate"] = _ratio(adm[~in_county].sum(), adm.sum())
    row["out_of_province_rate"] = _ratio(served[oop_tier].sum(), served.sum())
    row["out_of_province_admission_rate"] = _ratio(adm[oop_tier].sum(), adm.sum())
    row["out_of_province_outpatient_rate"] = _ratio(visits[oop_tier].sum(), visits.sum())
    fund, oop, cost = r["fund"].sum(axis=1), r["oop"].sum(axis=1), r["cost"].sum(axis=1)
    row["effective_reimbursement_ratio"] = _ratio(fund.sum(), cost.sum())
    row["in_county_fund_share"] = _ratio(fund[in_county].sum(), fund.sum())
    row["oop_per_capita"] = oop.sum() / FEN / n_pop / years
    row["fund_spending_per_capita"] = fund.sum() / FEN / n_pop / years
    row["spending_per_capita"] = cost.sum() / FEN / n_pop / years
    in_horizon = {str(dates[i].year) for i in days}
    cat = [v for y, v in model.catastrophic.items() if str(y) in in_horizon]
    row["catastrophic_spending_share"] = float(np.mean(cat)) if cat else float("nan")
    occupied = model.records["bed_days"][rows][:, :, 1]
    for t in with_beds:
        i = tiers.index(t)
        mine = fac_tier == i
        row[f"bed_occupancy_{t}"] = _ratio(occupied[:, mine].sum(), model.beds_open[rows][:, mine].sum())
        row[f"mean_los_days_{t}"] = _ratio(r["los_days"][i, 1], adm[i])
    for i, t in enumerate(tiers):
        row[f"mean_wait_days_{t}"] = _ratio(r["wait_days"][i].sum(), served[i].sum())
    daily = {k: v[rows].sum() for k, v in model.daily.items() if k != "pending"}
    row["displaced_episodes"] = daily["displaced"] * inflate / years
    row["unmet_episodes"] = daily["unmet"] * inflate / years
    row["referrals_up"] = r["referred_up_at"].sum() * inflate / years
    row["referrals_down"] = daily["followups"] * inflate / years
    row["in_county_outpatient_visits"] = visits[in_county].sum() * inflate / years
    row["in_county_admissions"] = adm[in_county].sum() * inflate / years
    row["outpatient_visits"] = visits.sum() * inflate / years
    row["admissions"] = adm.sum() * inflate / years
    row["hospitalization_rate"] = adm.sum() * inflate / years / (n_pop * inflate)
    row["nonresident_visits_in_county"], row["nonresident_admissions_in_county"] = outsiders
    row["visits_delivered_in_county"] = row["in_county_outpatient_visits"] + outsiders[0]
    row["admissions_delivered_in_county"] = row["in_county_admissions"] + outsiders[1]
    return row


COMMUNITY_MEASURES = ("budget", "spending_in_county", "spending_outside", "surplus")


def community_indicators(community, periods: list[str]) -> pd.DataFrame:
    """`community.<name>.<measure>` per period, yuan a year at full scale, from the community's
    closed years (sim.community); "all" is the mean over them. NaN before its first closed year."""
    rows = {}
    for period in periods:
        years = [y for y in community.ledger if period in ("all", str(y))]
        rows[period] = {f"community.{community.name}.{k}": (float(np.mean([community.ledger[y][k] for y in years]))
                                                            if years else float("nan")) for k in COMMUNITY_MEASURES}
    return pd.DataFrame.from_dict(rows, orient="index")


def daily_timeseries(model: "GradedCareModel") -> pd.DataFrame:
    """Long table: date x tier x care type with daily counts (full scale) and money (yuan)."""
    tiers = model.tier_names
    fac_tier = model.facilities.tier
    days = np.arange(model.warmup_days, model.n_days)
    n_t = len(tiers)
    members = [np.flatnonzero(fac_tier == t) for t in range(n_t)]
    cols = {}
    for key in ("arrivals", "served", "rejected", "referred_up_at", "wait_days", "fund", "oop", "cost", "bed_days"):
        rec = model.records[key][_rows(days)]   # integers: a tier's sum is exact in any order
        cols[key] = np.stack([rec[:, f].sum(axis=1, dtype=np.int64) for f in members], axis=1).astype(float)
    inflate = 1.0 / model.scale
    d_idx, t_idx, c_idx = np.meshgrid(np.arange(days.size), np.arange(n_t), np.arange(2), indexing="ij")
    dates = np.array(model.dates, dtype="datetime64[D]")[days]
    return pd.DataFrame({
        "date": dates[d_idx.ravel()],
        "tier": pd.Categorical(np.array(tiers)[t_idx.ravel()], categories=tiers),
        "care_type": pd.Categorical(np.array(CARE_NAMES)[c_idx.ravel()], categories=list(CARE_NAMES)),
        "arrivals": cols["arrivals"].ravel() * inflate,
        "served": cols["served"].ravel() * inflate,
        "displaced": cols["rejected"].ravel() * inflate,
        "referred_up": cols["referred_up_at"].ravel() * inflate,
        "wait_days": cols["wait_days"].ravel() * inflate,
        "beds_occupied": cols["bed_days"].ravel(),      # full scale already: background load included
        "cost_yuan": cols["cost"].ravel() / FEN * inflate,
        "fund_yuan": cols["fund"].ravel() / FEN * inflate,
        "oop_yuan": cols["oop"].ravel() / FEN * inflate,
    })


def outflow_table(model: "GradedCareModel") -> pd.DataFrame:
    """Episodes served outside the county per period x destination tier x care type x programme x
    severity x path x filed, per year at full scale, with each row's share of all the period's
    episodes of that care type (so a destination's rows add up to its share indicator)."""
    from .config import PROGRAMS
    from .model import PATHS

    slices = period_slices(model)
    fraction = {p: _year_fraction([model.dates[i] for i in days]) for p, days in slices.items()}
    per_period = {str(y): model.flows[i] for i, y in enumerate(model.record_years)}
    per_period["all"] = model.flows.sum(axis=0)
    outside = [i for i, t in enumerate(model.config.tiers) if not t.in_county]
    rows = []
    for period, flows in per_period.items():
        totals = flows.sum(axis=(0, 2, 3, 4, 5))                  # per care type, all tiers
        for t in outside:
            for c, care in enumerate(CARE_NAMES):
                for g, programme in enumerate(PROGRAMS):
                    for s in range(flows.shape[3]):
                        for k, path in enumerate(PATHS):
                            for filed in (False, True):
                                n = flows[t, c, g, s, k, int(filed)]
                                rows.append((period, model.tier_names[t], care, programme, s + 1, path, filed,
                                             n / model.scale / fraction[period], _ratio(n, totals[c])))
    return pd.DataFrame(rows, columns=["period", "destination", "care_type", "programme", "severity", "path",
                                       "filed", "episodes", "share"])
