"""Tables the figures draw, made from a results folder by pure functions (tests check them
against summary.csv and the parquet tables, and figures plot nothing else)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..labels import indicator_unit
from ..results import read_manifest, summarize

# Smallest change worth drawing, per unit (a change whose interval lies within it is "no change").
RESOLUTION = {"share": 0.0005, "days": 0.01, "yuan": 0.5, "per resident": 0.0005}
RELATIVE_RESOLUTION = 0.001        # counts: 0.1% of the baseline level, at least half an episode a year


@dataclass
class Results:
    """A finished results folder, its tables read when first needed."""
    folder: Path
    manifest: dict = field(repr=False)
    summary: pd.DataFrame = field(repr=False)

    @classmethod
    def open(cls, folder: str | Path) -> "Results":
        folder = Path(folder)
        return cls(folder, read_manifest(folder), pd.read_csv(folder / "summary.csv", dtype={"period": str}))

    def _parquet(self, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        path = self.folder / f"{name}.parquet"
        return pd.read_parquet(path, columns=columns) if path.is_file() else None

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        return self._parquet("timeseries", ["run_id", "scenario", "replicate", "sample", "date", "tier", "care_type",
                                            "served"])

    @cached_property
    def facilities(self) -> pd.DataFrame | None:
        return self._parquet("facilities")

    @cached_property
    def villages(self) -> pd.DataFrame | None:
        return self._parquet("villages")

    @cached_property
    def outflow(self) -> pd.DataFrame | None:
        path = self.folder / "outflow.csv"
        return pd.read_csv(path, dtype={"period": str}) if path.is_file() else None

    @cached_property
    def samples(self) -> pd.DataFrame | None:
        return self._parquet("samples")

    @property
    def baseline(self) -> str:
        return self.manifest.get("baseline_scenario") or self.scenarios[0]

    @property
    def scenarios(self) -> list[str]:
        return list(self.manifest["scenarios"])

    @property
    def design(self) -> str | None:
        return (self.manifest.get("sweep") or {}).get("design")

    @property
    def uncertainty(self) -> bool:
        return bool((self.manifest.get("uncertainty") or {}).get("enabled"))

    @property
    def tiers(self) -> list[dict]:
        return self.manifest["scenarios"][self.baseline]["config"]["tiers"]

    @property
    def county(self) -> str:
        return self.manifest["scenarios"][self.baseline]["config"]["name"]

    @property
    def final_period(self) -> str:
        return final_period(self.summary)

    def description(self, scenario: str) -> str:
        """The scenario's description, or one made from its policies and their start dates."""
        s = self.manifest["scenarios"].get(scenario, {})
        if s.get("description"):
            return s["description"]
        pols = s.get("policies") or []
        return "; ".join(f"{p['policy']} from {p.get('start')}" for p in pols if isinstance(p, dict))

    def policy_starts(self, scenario: str) -> list[tuple[str, pd.Timestamp]]:
        """(policy, start date) of the scenario's policies, in order."""
        return [(p["policy"], pd.Timestamp(p["start"])) for p in self.manifest["scenarios"][scenario].get("policies")
                or [] if isinstance(p, dict) and p.get("start")]

    def communities(self) -> list[str]:
        names = self.summary.loc[self.summary["indicator"].str.startswith("community."), "indicator"]
        return list(dict.fromkeys(n.split(".")[1] for n in names))


def final_period(summary: pd.DataFrame) -> str:
    """The last calendar year of a summary (or 'all' without years)."""
    years = sorted(p for p in summary["period"].astype(str).unique() if p != "all")
    return years[-1] if years else "all"


def _rows(summary: pd.DataFrame, period: str, sample: int = 0) -> pd.DataFrame:
    return summary[(summary["period"].astype(str) == period) & (summary["sample"] == sample)]


# --------------------------------------------------------------------------------- shares by tier
def tier_shares(summary: pd.DataFrame, tiers: list[str], period: str) -> pd.DataFrame:
    """scenario x care type x tier: share of residents' visits/admissions with both intervals (summary.csv)."""
    s = _rows(summary, period)
    frames = []
    for care in ("outpatient", "inpatient"):
        keys = {f"{care}_share_{t}": t for t in tiers}
        part = s[s["indicator"].isin(keys)].assign(care_type=care, tier=lambda d: d["indicator"].map(keys))
        frames.append(part)
    cols = ["scenario", "care_type", "tier", "mean", "ci_low", "ci_high", "prediction_low", "prediction_high"]
    out = pd.concat(frames, ignore_index=True)[cols]
    out["tier"] = pd.Categorical(out["tier"], categories=tiers)
    return out.sort_values(["care_type", "tier"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------- months
def monthly_values(timeseries: pd.DataFrame, tiers: list[dict]) -> pd.DataFrame:
    """Per run and month, the headline shares from served visits and admissions by tier
    (rows as indicators.parquet: run_id, scenario, replicate, sample, period=YYYY-MM, indicator, value)."""
    ts = timeseries.assign(period=pd.to_datetime(timeseries["date"]).dt.strftime("%Y-%m"))
    flags = {t["name"]: t for t in tiers}
    g = ts.groupby(["run_id", "scenario", "replicate", "sample", "period", "care_type", "tier"], observed=True)[
        "served"].sum().unstack(["care_type", "tier"], fill_value=0.0)

    def part(care: str, test) -> pd.Series:
        cols = [c for c in g.columns if c[0] == care and test(flags[c[1]])]
        return g[cols].sum(axis=1) if cols else pd.Series(0.0, index=g.index)

    visits, adm = part("outpatient", lambda t: True), part("inpatient", lambda t: True)
    values = {
        "out_of_county_admission_rate": part("inpatient", lambda t: not t["in_county"]) / adm,
        "out_of_province_admission_rate": part("inpatient", lambda t: t["out_of_province"]) / adm,
        "in_county_visit_rate": part("outpatient", lambda t: t["in_county"]) / visits,
        "primary_care_share": part("outpatient", lambda t: t.get("primary_care", False)) / visits,
    }
    out = pd.DataFrame(values).rename_axis(columns="indicator").stack().rename("value").reset_index()
    return out


def monthly_summary(timeseries: pd.DataFrame, tiers: list[dict], baseline: str, prediction: bool) -> pd.DataFrame:
    """Mean over replicates per scenario x month x headline indicator, with both 95% intervals
    (the same statistics as summary.csv, results.summarize)."""
    vals = monthly_values(timeseries, tiers)
    return summarize(vals[vals["sample"] == 0], baseline, prediction=prediction)


# --------------------------------------------------------------------------------- changes
def resolution(indicator: str, baseline_level: float) -> float:
    """Smallest change of this indicator worth drawing."""
    unit = indicator_unit(indicator)
    if unit in RESOLUTION:
        return RESOLUTION[unit]
    return max(abs(baseline_level) * RELATIVE_RESOLUTION if np.isfinite(baseline_level) else 0.0, 0.5)


def changes(summary: pd.DataFrame, baseline: str, period: str, indicators: list[str]) -> pd.DataFrame:
    """Per indicator x other scenario: paired change from the baseline with both intervals, the
    baseline's level, and whether the change lies within the indicator's resolution."""
    s = _rows(summary, period)
    s = s[s["indicator"].isin(indicators)]
    base = s[s["scenario"] == baseline].set_index("indicator")["mean"]
    out = s[s["scenario"] != baseline][["indicator", "scenario", "diff_mean", "diff_ci_low", "diff_ci_high",
                                        "diff_prediction_low", "diff_prediction_high"]].copy()
    out["baseline"] = out["indicator"].map(base)
    out["resolution"] = [resolution(i, b) for i, b in zip(out["indicator"], out["baseline"])]
    bound = out[["diff_mean", "diff_ci_low", "diff_ci_high"]].abs().max(axis=1).fillna(0.0)
    out["negligible"] = bound <= out["resolution"]
    order = {k: i for i, k in enumerate(indicators)}
    return out.sort_values("indicator", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------- outflow
def outflow_breakdown(outflow: pd.DataFrame, period: str, by: str) -> pd.DataFrame:
    """Episodes a year outside the county per scenario x care type x `by` (severity, path or
    destination), means over replicates (outflow.csv); 'path' reads a filed self-referral as 'filed'."""
    o = outflow[(outflow["period"].astype(str) == period) & (outflow["sample"] == 0)].copy()
    if by == "path":
        o["path"] = np.where((o["path"] == "self_referred") & o["filed"].astype(bool), "filed", o["path"])
    return o.groupby(["scenario", "care_type", by], sort=False, observed=True)["episodes"].sum().reset_index()


# --------------------------------------------------------------------------------- facilities
def _t_interval(g) -> pd.DataFrame:
    from scipy import stats
    agg = g.agg(["mean", "std", "count"])
    half = stats.t.ppf(0.975, np.maximum(agg["count"] - 1, 1)) * agg["std"] / np.sqrt(agg["count"])
    return agg.assign(ci_low=agg["mean"] - half, ci_high=agg["mean"] + half).drop(columns=["std"])


def hospital_load(facilities: pd.DataFrame, period: str, tier: str = "county") -> pd.DataFrame:
    """Per scenario x facility of the tier over the period's months: bed occupancy (weighted by bed-days,
    as the tier indicator) and mean wait (weighted by patients served), mean and 95% interval over
    replicates (months are taken whole: a month cut by the horizon weighs a little too much)."""
    f = facilities[(facilities["tier"] == tier) & (facilities["sample"] == 0)]
    if period != "all":
        f = f[f["month"].str.startswith(period)]
    bed_days = f["beds"] * pd.PeriodIndex(f["month"], freq="M").days_in_month
    served = f["outpatient_visits"] + f["admissions"]
    f = f.assign(served=served, bed_days=bed_days, occ_w=f["bed_occupancy"] * bed_days,
                 wait_w=f["mean_wait_days"] * served)
    per_run = f.groupby(["scenario", "label", "run_id"], sort=False).agg(
        occ_w=("occ_w", "sum"), beds=("bed_days", "sum"), wait_w=("wait_w", "sum"), served=("served", "sum"))
    per_run["bed_occupancy"] = per_run["occ_w"] / per_run["beds"]
    per_run["mean_wait_days"] = per_run["wait_w"] / per_run["served"].where(per_run["served"] > 0)
    frames = []
    for measure in ("bed_occupancy", "mean_wait_days"):
        t = _t_interval(per_run.groupby(["scenario", "label"], sort=False)[measure]).reset_index()
        frames.append(t.assign(measure=measure))
    return pd.concat(frames, ignore_index=True)


def tier_levels(summary: pd.DataFrame, period: str, prefix: str) -> pd.DataFrame:
    """scenario x tier level of `prefix`_{tier} indicators (bed_occupancy_, mean_wait_days_) from summary.csv."""
    s = _rows(summary, period)
    s = s[s["indicator"].str.startswith(prefix)]
    return s.assign(tier=s["indicator"].str[len(prefix):])[["scenario", "tier", "mean", "ci_low", "ci_high"]]


# --------------------------------------------------------------------------------- community budget
def community_books(summary: pd.DataFrame) -> pd.DataFrame:
    """Per scenario x community x year: budget, spending in and outside the county, surplus (yuan a year)."""
    s = summary[summary["indicator"].str.startswith("community.") & (summary["sample"] == 0)
                & (summary["period"].astype(str) != "all")]
    parts = s["indicator"].str.split(".", n=2, expand=True)
    out = s.assign(community=parts[1], measure=parts[2])[["scenario", "community", "period", "measure", "mean",
                                                           "ci_low", "ci_high"]]
    return out.dropna(subset=["mean"]).reset_index(drop=True)


# --------------------------------------------------------------------------------- sweeps
def swept_parameters(samples: pd.DataFrame) -> list[str]:
    return [c for c in samples.columns if c not in ("sample", "design")]


def grid_surface(summary: pd.DataFrame, samples: pd.DataFrame, indicator: str, scenario: str, period: str,
                 quantity: str = "mean") -> pd.DataFrame:
    """Indicator (mean or diff_mean) over the first two swept parameters: rows = second, columns =
    first; averaged over any further parameter."""
    names = swept_parameters(samples)
    s = summary[(summary["indicator"] == indicator) & (summary["scenario"] == scenario)
                & (summary["period"].astype(str) == period)].merge(samples, on="sample")
    if len(names) == 1:
        return s.groupby(names[0])[quantity].mean().to_frame().T
    return s.pivot_table(index=names[1], columns=names[0], values=quantity, aggfunc="mean")


def sensitivity_bars(sensitivity: pd.DataFrame, indicator: str, scenario: str, quantity: str, period: str,
                     index: str) -> pd.DataFrame:
    """Parameter x value with interval of one index (sensitivity.csv), largest magnitude first."""
    t = sensitivity[(sensitivity["indicator"] == indicator) & (sensitivity["scenario"] == scenario)
                    & (sensitivity["quantity"] == quantity) & (sensitivity["period"].astype(str) == period)
                    & (sensitivity["index"] == index)]
    t = t.assign(mag=t["value"].abs()).sort_values("mag", ascending=False)
    return t[["parameter", "value", "ci_low", "ci_high"]].reset_index(drop=True)


# --------------------------------------------------------------------------------- map
def village_rates(villages: pd.DataFrame, tiers: list[dict], period: str) -> pd.DataFrame:
    """Per scenario x village: position, residents, primary-care share of visits and out-of-county
    share of admissions (pooled episodes, mean over replicates)."""
    flags = {t["name"]: t for t in tiers}
    v = villages[(villages["period"].astype(str) == period) & (villages["sample"] == 0)]
    v = v.assign(primary=v["tier"].map(lambda t: flags[t].get("primary_care", False)),
                 outside=v["tier"].map(lambda t: not flags[t]["in_county"]))
    keys = ["scenario", "village", "x_km", "y_km", "residents"]
    out = v[v["care_type"] == "outpatient"].groupby(keys, sort=False).apply(
        lambda d: d.loc[d["primary"], "episodes"].sum() / d["episodes"].sum(), include_groups=False
    ).rename("primary_care_share").to_frame()
    out["out_of_county_admission_rate"] = v[v["care_type"] == "inpatient"].groupby(keys, sort=False).apply(
        lambda d: d.loc[d["outside"], "episodes"].sum() / d["episodes"].sum() if d["episodes"].sum() > 0 else np.nan,
        include_groups=False)
    return out.reset_index()


def facility_volume(facilities: pd.DataFrame, period: str) -> pd.DataFrame:
    """Per scenario x facility in the county: position, tier and visits + admissions a year (mean over
    replicates; months of the period)."""
    f = facilities[(facilities["sample"] == 0) & facilities["x_km"].notna()]
    if period != "all":
        f = f[f["month"].str.startswith(period)]
    months = f["month"].nunique()
    per_run = f.groupby(["scenario", "facility", "tier", "x_km", "y_km", "run_id"], sort=False)[
        ["outpatient_visits", "admissions"]].sum()
    per_run["volume"] = (per_run["outpatient_visits"] + per_run["admissions"]) * 12.0 / max(months, 1)
    return per_run.groupby(["scenario", "facility", "tier", "x_km", "y_km"], sort=False)["volume"].mean().reset_index()
