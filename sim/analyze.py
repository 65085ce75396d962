"""Sensitivity analysis of a finished sweep: which parameters move which indicators, and how much.

Per scenario x period x indicator, the response of a sample is its mean over replicates: the
level, and (for scenarios other than the baseline) the paired change from the baseline on the
same sample and replicates. Then by design: Sobol first- and total-order indices with bootstrap
intervals (SALib, `sobol`), Morris mu* and sigma (SALib, `morris`), standardized regression
coefficients and partial rank correlation coefficients (numpy/scipy, every design but a grid),
and for a grid the range of each parameter's main effect plus the full response table
(response.csv). Output layout: docs/sweeps.md.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .config import ConfigError

COLUMNS = ["scenario", "period", "indicator", "quantity", "method", "parameter", "index", "value", "ci_low",
           "ci_high"]
RANK_BY = {"sobol": "ST", "morris": "mu_star", "grid": "effect_range", "lhs": "PRCC"}
LEVEL = 0.95


def responses(indicators: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Mean over replicates per scenario x period x indicator x quantity (level|change) x sample."""
    keys = ["scenario", "period", "indicator", "sample"]
    level = indicators.groupby(keys, observed=True)["value"].mean().rename("value").reset_index()
    level["quantity"] = "level"
    base = indicators[indicators["scenario"] == baseline][["replicate", "sample", "period", "indicator", "value"]]
    others = indicators[indicators["scenario"] != baseline]
    if others.empty:
        return level
    paired = others.merge(base, on=["replicate", "sample", "period", "indicator"], suffixes=("", "_base"))
    paired["value"] = paired["value"] - paired["value_base"]
    change = paired.groupby(keys, observed=True)["value"].mean().rename("value").reset_index()
    change["quantity"] = "change"
    return pd.concat([level, change], ignore_index=True)


def src(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardized regression coefficients and their half-widths (OLS t interval)."""
    n, d = x.shape
    xs = (x - x.mean(0)) / x.std(0, ddof=1)
    ys = (y - y.mean()) / y.std(ddof=1)
    a = np.column_stack([np.ones(n), xs])
    beta, *_ = np.linalg.lstsq(a, ys, rcond=None)
    dof = n - d - 1
    if dof <= 0:
        return beta[1:], np.full(d, np.nan)
    resid = ys - a @ beta
    cov = (resid @ resid / dof) * np.linalg.pinv(a.T @ a)
    return beta[1:], stats.t.ppf(0.5 + LEVEL / 2, dof) * np.sqrt(np.diag(cov)[1:])


def prcc(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partial rank correlation of each column with y, controlling for the others; Fisher-z interval."""
    n, d = x.shape
    r = np.column_stack([stats.rankdata(c) for c in x.T])
    ry = stats.rankdata(y)
    out = np.empty(d)
    for j in range(d):
        others = np.column_stack([np.ones(n), np.delete(r, j, axis=1)])
        res_x = r[:, j] - others @ np.linalg.lstsq(others, r[:, j], rcond=None)[0]
        res_y = ry - others @ np.linalg.lstsq(others, ry, rcond=None)[0]
        denom = np.sqrt((res_x @ res_x) * (res_y @ res_y))
        out[j] = res_x @ res_y / denom if denom > 0 else np.nan
    dof = n - 3 - (d - 1)
    if dof <= 0:
        return out, np.full(d, np.nan), np.full(d, np.nan)
    z, half = np.arctanh(np.clip(out, -0.999999, 0.999999)), stats.norm.ppf(0.5 + LEVEL / 2) / np.sqrt(dof)
    return out, np.tanh(z - half), np.tanh(z + half)


def _rows(key: tuple, method: str, names: list[str], index: str, value, low=None, high=None) -> list[dict]:
    nan = np.full(len(names), np.nan)
    low = nan if low is None else low
    high = nan if high is None else high
    return [dict(zip(COLUMNS, (*key, method, p, index, float(v), float(lo), float(hi))))
            for p, v, lo, hi in zip(names, value, low, high)]


def analyze_group(key: tuple, design: str, sweep: dict, x: np.ndarray, y: np.ndarray) -> list[dict]:
    """Every index this design allows for one response vector (samples in design order)."""
    names = [p["key"] for p in sweep["parameters"]]
    problem = {"num_vars": len(names), "names": names,
               "bounds": [[float(p["low"] or 0), float(p["high"] or 0)] for p in sweep["parameters"]]}
    seed = sweep.get("options", {}).get("seed")
    rows: list[dict] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if design == "sobol":
            from SALib.analyze import sobol
            si = sobol.analyze(problem, y, calc_second_order=bool(sweep["options"].get("second_order")),
                               conf_level=LEVEL, seed=seed)
            for index in ("S1", "ST"):
                rows += _rows(key, "sobol", names, index, si[index], si[index] - si[f"{index}_conf"],
                              si[index] + si[f"{index}_conf"])
        elif design == "morris":
            from SALib.analyze import morris
            si = morris.analyze(problem, x, y, conf_level=LEVEL, num_levels=int(sweep["options"]["morris_levels"]),
                                seed=seed)
            mu, conf = np.asarray(si["mu_star"], float), np.asarray(si["mu_star_conf"], float)
            rows += _rows(key, "morris", names, "mu_star", mu, mu - conf, mu + conf)
            rows += _rows(key, "morris", names, "sigma", np.asarray(si["sigma"], float))
        if design == "grid":
            frame = pd.DataFrame(x, columns=names).assign(y=y)
            ranges = [np.ptp(frame.groupby(p)["y"].mean().to_numpy()) for p in names]
            rows += _rows(key, "grid", names, "effect_range", ranges)
        else:
            beta, half = src(x, y)
            rows += _rows(key, "src", names, "SRC", beta, beta - half, beta + half)
            rho, lo, hi = prcc(x, y)
            rows += _rows(key, "prcc", names, "PRCC", rho, lo, hi)
    return rows


def analyze_folder(folder: str | Path) -> pd.DataFrame:
    """sensitivity.csv (and response.csv for a grid) of a finished sweep's results folder."""
    from .results import _atomic, read_manifest

    folder = Path(folder)
    if not (folder / "manifest.json").is_file() or not (folder / "indicators.parquet").is_file():
        raise ConfigError("not a finished results folder (no manifest.json or indicators.parquet)", folder)
    manifest = read_manifest(folder)
    sweep = manifest.get("sweep")
    if not sweep or not (folder / "samples.parquet").is_file():
        raise ConfigError("this results folder has no sweep (no `sweep:` in its experiment, no samples.parquet); "
                          "analyze needs a sweep design (docs/sweeps.md)", folder)
    design = sweep["design"]
    names = [p["key"] for p in sweep["parameters"]]
    samples = pd.read_parquet(folder / "samples.parquet").set_index("sample").sort_index()
    ind = pd.read_parquet(folder / "indicators.parquet",
                          columns=["scenario", "replicate", "sample", "period", "indicator", "value"])
    resp = responses(ind, manifest.get("baseline_scenario") or ind["scenario"].iloc[0])
    wide = resp.pivot_table(index=["scenario", "period", "indicator", "quantity"], columns="sample", values="value",
                            aggfunc="first", observed=True)
    complete = wide.columns.equals(samples.index)
    if design in ("sobol", "morris") and not complete:
        missing = len(samples.index.difference(wide.columns))
        raise ConfigError(f"{missing} sample(s) have no finished run; a {design} analysis needs every sample "
                          "(finish them with gradsim run ... --resume)", folder)
    x = samples.loc[wide.columns, names].to_numpy(object if design == "grid" else float)
    rows: list[dict] = []
    for key, y in wide.iterrows():
        y = y.to_numpy(float)
        if not np.isfinite(y).all() or np.ptp(y) <= 1e-9 * max(1.0, float(np.abs(y).max())):
            continue                                    # a constant or undefined response has no sensitivity
        rows += analyze_group(key, design, sweep, x, y)
    table = pd.DataFrame(rows, columns=COLUMNS)
    _atomic(folder / "sensitivity.csv", lambda tmp: table.to_csv(tmp, index=False, float_format="%.6g"))
    if design == "grid" and (folder / "summary.csv").is_file():
        summary = pd.read_csv(folder / "summary.csv")
        response = summary.merge(samples[names].reset_index(), on="sample")
        cols = ["scenario", "period", "indicator", "sample", *names, "mean", "ci_low", "ci_high", "diff_mean",
                "diff_ci_low", "diff_ci_high"]
        _atomic(folder / "response.csv", lambda tmp: response[cols].to_csv(tmp, index=False, float_format="%.6g"))
    return table


def ranking(table: pd.DataFrame, design: str, indicators: list[str], period: str = "all", top: int = 5) -> str:
    """Per main indicator: the parameters in order of influence (Sobol ST, Morris mu*, grid range or |PRCC|)."""
    index = RANK_BY.get(design, "PRCC")
    t = table[(table["index"] == index) & (table["period"].astype(str) == period)]
    if t["indicator"].isin(indicators).any():
        t = t[t["indicator"].isin(indicators)]
    else:                                     # none of the main indicators varies: show the first that do
        indicators = list(dict.fromkeys(t["indicator"]))[:12]
        t = t[t["indicator"].isin(indicators)]
    if t.empty:
        return f"(no {index} values for period {period})"
    lines = [f"Parameters ranked by {index} (period {period}; all indicators, intervals and methods: sensitivity.csv)"]
    for (scenario, quantity), block in t.groupby(["scenario", "quantity"], sort=False):
        if quantity == "level" and (t["quantity"] == "change").any() and scenario in set(t.loc[t["quantity"] == "change", "scenario"]):
            continue                          # a scenario's change says more than its level
        lines.append(f"\n{scenario} ({'level' if quantity == 'level' else 'change from baseline'}):")
        for indicator in [i for i in indicators if i in set(block["indicator"])]:
            rows = block[block["indicator"] == indicator].assign(mag=lambda d: d["value"].abs())
            rows = rows.sort_values("mag", ascending=False).head(top)
            cells = ", ".join(f"{r.parameter} {r.value:.3g}" for r in rows.itertuples())
            lines.append(f"  {indicator}: {cells}")
    return "\n".join(lines)
