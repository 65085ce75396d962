"""What a calibration writes: the calibrated config overlay (`extends:` the base), the objective's
history, and the fit report (targets observed vs simulated, fitted parameters and their bounds,
history, ensemble spread)."""
from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from ..config import get_dotted
from ..results import atomic_write_text
from .objective import measure_key, residuals
from .search import Evaluation
from .spec import Calibration

NEAR_BOUND = 0.02        # within 2% of the bound range: the bound may be what stops the fit


def fitted_values(cal: Calibration, best: Evaluation) -> dict[str, Any]:
    """Each config path the fit sets and its value, to 6 significant digits; a value that carried a
    range keeps its range, widened to contain the fit if needed."""
    out: dict[str, Any] = {}
    for path, value in cal.expand(best.parameters).items():
        value = value if isinstance(value, int) else float(f"{value:.6g}")
        try:
            node = get_dotted(cal.tree, path)
        except (KeyError, IndexError, TypeError):
            node = None                  # a value the base leaves at its default
        if isinstance(node, dict) and "uncertain" in node:
            lo, hi = node["uncertain"]["low"], node["uncertain"]["high"]
            value = {"value": value, "uncertain": {**node["uncertain"], "low": min(lo, value), "high": max(hi, value)}}
        out[path] = value
    return out


def provenance(cal: Calibration, best: Evaluation) -> str:
    """One line saying which calibration produced the values, when, and how well it fitted."""
    return (f"Calibrated by `gradsim calibrate {cal.file}` on {dt.date.today()}: {len(cal.parameters)} free "
            f"parameter(s), {len(cal.targets)} target(s), objective {best.objective:.4g} at scale {cal.spec.scale:g}"
            f" with {len(cal.seeds)} replication(s); values to 6 significant digits.")


def overlay(cal: Calibration, best: Evaluation, folder: Path) -> str:
    """A config that extends the base with the fitted values."""
    body: dict = {"extends": os.path.relpath(cal.config_file, folder),
                  "name": f"{cal.tree.get('name', 'county')}_calibrated"}
    if cal.spec.horizon:
        body["horizon"] = cal.spec.horizon
    body.update(cal.spec.overrides)
    body.update(fitted_values(cal, best))
    head = f"# {provenance(cal, best)} Fit report: report.md beside this file.\n"
    return head + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def history_table(evaluations: list[Evaluation]) -> pd.DataFrame:
    rows = [{"order": e.order, "phase": e.phase, "objective": e.objective, "acceptable": e.acceptable,
             **e.parameters} for e in evaluations]
    df = pd.DataFrame(rows).sort_values("order")
    df["best_so_far"] = df["objective"].where(df["phase"] == "search").cummin()
    return df


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.4g}"


def _mc_interval(values: list[float]) -> tuple[float, float]:
    """95% Monte Carlo interval of the replicates' mean."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean() - half), float(v.mean() + half)


def fit_report(cal: Calibration, best: Evaluation, evaluations: list[Evaluation], ensemble: pd.DataFrame,
               stopped: str) -> str:
    """The markdown fit report."""
    members = [e for e in evaluations if e.id in set(ensemble["evaluation"])]
    r = residuals(cal, best.means)
    n_fit = len(cal.parameters)
    lines = [f"# Calibration `{cal.spec.name}`", "",
             f"Base config `{cal.config_file}`; {n_fit} free parameter(s), {len(cal.targets)} target(s) "
             f"({'over-identified' if len(cal.targets) > n_fit else 'not over-identified: residuals say little'}); "
             f"scale {cal.spec.scale:g}, {len(cal.seeds)} replication(s) per evaluation on common random numbers; "
             f"method {cal.spec.search.method}; {sum(e.phase == 'search' for e in evaluations)} search and "
             f"{sum(e.phase == 'ensemble' for e in evaluations)} ensemble evaluations; search stopped: {stopped}.",
             "", f"Best objective (weighted sum of squared residuals): **{best.objective:.4g}**.", "",
             "## Targets", "",
             "Simulated: the best fit's mean over replications [95% Monte Carlo interval]; ensemble: the range over "
             "the acceptable sets. Residual = (simulated − observed) / tolerance (or se).", "",
             "| target | observed ± tolerance | simulated [MC interval] | ensemble range | residual | source |",
             "|---|---|---|---|---|---|"]
    for t in cal.targets:
        k = measure_key(t)
        lo, hi = _mc_interval([run[k] for run in best.runs])
        ens = [m.means[k] for m in members]
        spread = f"{_fmt(min(ens))} – {_fmt(max(ens))}" if ens else "–"
        tol = f"{_fmt(t.observed)} ± {_fmt(t.scale)}" + (" (se)" if t.kind == "se" else "")
        flag = "" if t.history_match else " (not matched)"
        lines.append(f"| {t.key}{flag} | {tol} | {_fmt(best.means[k])} [{_fmt(lo)}, {_fmt(hi)}] | {spread} | "
                     f"{r[t.key]:+.2f} | {t.source} |")
    lines += ["", "## Fitted parameters", "", "| parameter | start | fitted | bounds | note |", "|---|---|---|---|---|"]
    for p in cal.parameters:
        v = best.parameters[p.key]
        near = (v - p.low) / (p.high - p.low)
        note = "**at/near the low bound**" if near < NEAR_BOUND else "**at/near the high bound**" \
            if near > 1 - NEAR_BOUND else ""
        what = f"{p.key} (× {len(p.scales)} values)" if p.scales else p.key
        lines.append(f"| {what} | {_fmt(p.start)} | {_fmt(v)} | [{_fmt(p.low)}, {_fmt(p.high)}] | {note} |")
    hist = history_table(evaluations)
    search = hist[hist["phase"] == "search"]
    lines += ["", "## Objective history", "",
              "Best objective so far after each share of the search's evaluations (every evaluation: history.csv).",
              "", "| evaluations | best so far |", "|---|---|"]
    for n in sorted({max(1, int(round(len(search) * q))) for q in (0.1, 0.25, 0.5, 0.75, 1.0)}) if len(search) else []:
        lines.append(f"| {n} | {search['best_so_far'].iloc[n - 1]:.4g} |")
    lines += ["", "## Ensemble of acceptable parameter sets", ""]
    if ensemble.empty:
        lines.append("No evaluated set brought every matched target within its tolerance: the ensemble is empty. "
                     "Widen the bounds, run more evaluations, or look at which target is never reached.")
    else:
        lines += [f"{len(ensemble)} acceptable set(s) (ensemble.csv), of {len(evaluations)} evaluated.", "",
                  "| parameter | min | median | max |", "|---|---|---|---|"]
        for p in cal.parameters:
            vals = [m.parameters[p.key] for m in members]
            lines.append(f"| {p.key} | {_fmt(min(vals))} | {_fmt(float(np.median(vals)))} | {_fmt(max(vals))} |")
        lines += ["", "Use it as the parameter uncertainty of a prediction: `parameter_ensemble: "
                  "<path>/ensemble.csv` in an experiment (docs/calibration.md)."]
    return "\n".join(lines) + "\n"


def write_outputs(cal: Calibration, folder: Path, best: Evaluation, evaluations: list[Evaluation],
                  ensemble: pd.DataFrame, stopped: str) -> dict[str, Path]:
    """calibrated.yaml, ensemble.csv, history.csv and report.md in `folder` (each atomically)."""
    from .ensemble import write_ensemble

    paths = {k: folder / f for k, f in (("overlay", "calibrated.yaml"), ("ensemble", "ensemble.csv"),
                                        ("history", "history.csv"), ("report", "report.md"))}
    atomic_write_text(overlay(cal, best, folder), paths["overlay"])
    write_ensemble(ensemble, paths["ensemble"])
    atomic_write_text(history_table(evaluations).to_csv(index=False), paths["history"])
    atomic_write_text(fit_report(cal, best, evaluations, ensemble, stopped), paths["report"])
    return paths
