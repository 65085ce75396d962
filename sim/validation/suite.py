"""The validation suite: runs the experiments the checks need on a county config (scenarios on
common random numbers, sim.run_experiment) and turns their numbers into Checks."""
from __future__ import annotations

import datetime as dt
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import load_config, load_tree
from .checks import Check, Paired, direction, no_response, replications_needed, target_holds, within

HEADLINE = ["primary_care_share", "in_county_visit_rate", "out_of_county_admission_rate",
            "out_of_province_admission_rate", "bed_occupancy_township", "bed_occupancy_county"]


@dataclass
class Settings:
    config: str
    scale: float = 0.1
    replications: int = 10
    workers: int = 1
    calibration: str | None = None
    uncertainty: bool = True
    progress: bool = False
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ what to run
def _policy(kind: str, start: dt.date, params: dict) -> dict:
    return {"policy": kind, "start": start.isoformat(), "params": params}


def lever_scenarios(tree: dict, start: dt.date, end: dt.date) -> list[dict]:
    """Baseline, one lever at a time (face validity, external cases) and a lever that never starts."""
    towns = tree["townships"]
    county = [i for i, h in enumerate(tree["facilities"]["hospitals"]) if h["tier"] == "county"]
    gap = {"inpatient": {"township": {"ratio_change": 0.05}, "in_province": {"ratio_change": -0.10},
                         "out_of_province": {"ratio_change": -0.10}}}
    return [
        {"name": "baseline"},
        {"name": "gap_larger", "policies": [_policy("reimbursement", start, gap)]},
        {"name": "fewer_township_physicians",
         "overrides": {f"townships.{i}.physicians": max(1, round(t["physicians"] * 0.25)) for i, t in enumerate(towns)}},
        {"name": "slower_roads", "overrides": {"geography.speed_kmh": tree["geography"]["speed_kmh"] * 0.5}},
        {"name": "capable_county", "overrides": {
            f"facilities.hospitals.{i}.capability": min(5.0, _central(tree["facilities"]["hospitals"][i].get(
                "capability", 3.0)) + 0.5) for i in county}},
        {"name": "not_started", "policies": [_policy("reimbursement", end + dt.timedelta(days=1), gap)]},
        {"name": "filing_hurdles_removed", "policies": [_policy("reimbursement", start, {
            "filing_hassle": {"outpatient": 0.0, "inpatient": 0.0}, "unfiled_penalty": {"in_province": 0.0}})]},
        {"name": "gatekeeping", "policies": [_policy("reimbursement", start, {
            "unfiled_penalty": {"county": 1.0, "in_province": 1.0, "out_of_province": 1.0}})]},
    ]


def _central(x):
    return x["value"] if isinstance(x, dict) and "value" in x else x


def capitation_counties(tree: dict, start: dt.date) -> dict[str, tuple[dict, dict]]:
    """The capitation pair: (experiment overrides, capitation params) for a Funan-like and a Dingyuan-like county."""
    towns = [t["name"] for t in tree["townships"]]
    members = [h["name"] for h in tree["facilities"]["hospitals"] if h["tier"] == "county"]
    outside = [(i, h) for i, h in enumerate(tree["facilities"]["hospitals"]) if h["tier"] == "in_province"]
    near = {}
    if outside:
        i, h = min(outside, key=lambda ih: _central(ih[1].get("travel_hours") or 99))
        near = {f"facilities.hospitals.{i}.travel_hours": min(1.0, _central(h.get("travel_hours") or 1.0))}
    base = {"townships": towns, "member_hospitals": members}
    return {
        # approval bites and the community's hospitals are capable: docs/policies.md "Which sign, when"
        "funan": ({}, {**base, "approval_hassle": {"outpatient": 200.0, "inpatient": 6000.0}, "containment": 0.0}),
        # weak approval, cost containment, a tight budget and a good hospital within an hour
        "dingyuan": (near, {**base, "approval_hassle": {"outpatient": 0.0, "inpatient": 0.0}, "containment": 0.3,
                            "budget_growth": -0.1}),
    }


def _experiment(name: str, config: str, s: Settings, scenarios: list[dict], horizon: dict | None = None,
                overrides: dict | None = None) -> dict:
    exp = {"name": name, "config": str(Path(config).resolve()), "replications": s.replications, "seed": 20220101,
           "scale": s.scale, "scenarios": scenarios, "uncertainty": s.uncertainty}
    if horizon:
        exp["horizon"] = horizon
    if overrides:
        exp["overrides"] = overrides
    return exp


def _run(exp: dict, s: Settings, out: Path) -> pd.DataFrame:
    """Per-run indicator values: (scenario, replicate, period) x indicator."""
    import warnings

    from ..experiment import run_experiment
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_experiment(exp, out=out, workers=s.workers, progress=s.progress, base_dir=out)
    if res.failed:
        first = res.manifest["runs"][res.failed[0]].get("error", "")
        raise RuntimeError(f"{len(res.failed)} validation run(s) of '{exp['name']}' failed; the first: {first}")
    ind = res.indicators
    return ind.pivot_table(index=["scenario", "replicate", "period"], columns="indicator", values="value")


def _values(table: pd.DataFrame, scenario: str, period: str, what) -> np.ndarray:
    rows = table.xs((scenario, period), level=("scenario", "period")).sort_index()
    return np.asarray(what(rows) if callable(what) else rows[what], dtype=float)


def change(table: pd.DataFrame, scenario: str, what, period: str = "all", relative: bool = False,
           prediction: bool = False) -> Paired:
    """Replicate-by-replicate change of a scenario from the baseline (relative: as a fraction of it)."""
    a, b = _values(table, "baseline", period, what), _values(table, scenario, period, what)
    if relative:
        if not (a > 0).all():
            return Paired(math.nan, math.nan, math.nan)
        return Paired.of((b - a) / a, prediction)
    return Paired.of(b - a, prediction)


# ------------------------------------------------------------------ the suite
def run_suite(s: Settings) -> tuple[list[Check], dict]:
    """Every check on the config; returns the checks and facts for the report header."""
    cfg = load_config(s.config)
    tree, _ = load_tree(s.config)
    h = cfg.horizon
    checks: list[Check] = []
    facts: dict = {"config": s.config, "scale": s.scale, "replications": s.replications}
    with tempfile.TemporaryDirectory(prefix="gradsim-validate-") as tmp:
        out = Path(tmp)
        if s.calibration:
            checks += calibration_checks(s, facts)
        levers = _run(_experiment("validation_levers", s.config, s, lever_scenarios(tree, h.start, h.end)), s, out)
        checks += national_checks(levers, cfg.population.size)
        checks += face_validity_checks(levers)
        checks += external_checks(levers, s)
        two_years = {"start": h.start.isoformat(), "end": dt.date(h.start.year + 1, 12, 31).isoformat()}
        reform = dt.date(h.start.year + 1, 1, 1)
        pair = {}
        for county, (overrides, params) in capitation_counties(tree, reform).items():
            scen = [{"name": "baseline"}, {"name": "capitation", "policies": [_policy("capitation", reform, params)]}]
            pair[county] = _run(_experiment(f"validation_capitation_{county}", s.config, s, scen, two_years,
                                            overrides), s, out)
        checks += capitation_checks(pair, str(reform.year), s)
        checks += stability_checks(levers, s)
    return checks, facts


def calibration_checks(s: Settings, facts: dict) -> list[Check]:
    """The calibration file's targets at the config's central values (its seeds, this scale)."""
    from ..calibration import load_calibration
    from ..calibration.objective import mean_measures, measure_key, run_task
    from ..executors import open_executor

    cal = load_calibration(s.calibration, s.scale, min(s.replications, 10))
    tree, _ = load_tree(s.config)
    tasks = [{"run_id": f"target-r{r:03d}", "tree": tree, "values": {}, "seed": seed, "scale": s.scale,
              "config_file": s.config, "measures": cal.measures()} for r, seed in enumerate(cal.seeds)]
    with open_executor(s.workers, None, len(tasks)) as ex:
        runs = list(ex.results(run_task, tasks))
    bad = [r for r in runs if r["status"] != "complete"]
    if bad:
        raise RuntimeError(f"a calibration-target run failed: {bad[0]['error']}")
    means = mean_measures(runs)
    facts["fitted"] = (len(cal.parameters), len(cal.targets), s.calibration)
    what = f"{len(cal.parameters)} parameters fitted to {len(cal.targets)} targets ({Path(s.calibration).name})"
    return [target_holds(t.key, t.observed, t.scale, t.acceptable, means[measure_key(t)], t.kind, t.history_match,
                         "{:,.0f}" if abs(t.observed) >= 1000 else "{:.3g}", f"{t.source}; {what}")
            for t in cal.targets]


def national_checks(table: pd.DataFrame, population: int) -> list[Check]:
    """Unfitted national statistics (shared/domain/literature.md §1, §7b) against the baseline."""
    base = table.xs("baseline", level="scenario").xs("all", level="period").mean()
    g, pct = "national statistic", "{:.1%}"
    return [
        within(g, "primary-care share of visits", base["primary_care_share"], 0.598, 0.698, pct,
               "rural 2022: (12.1 + 12.8) / 38.4 亿 visits = 64.8% ± 5 pt (literature.md §1a)", "64.8% ± 5 pt"),
        within(g, "hospitalisation rate", base["hospitalization_rate"], 0.165, 0.225, pct,
               "17.5% (2022 bulletin) – 21.4% (2023); residents' scheme 20.7% (2023) (literature.md §1a, §7b)"),
        within(g, "visits per resident a year", base["outpatient_visits"] / population, 4.5, 7.5, "{:.2f}",
               "6.0 (2021, 2022 bulletins) ± 25% (literature.md §1a); national, urban residents included",
               "6.0 ± 25%"),
        within(g, "occupancy, township centres", base["bed_occupancy_township"], 0.45, 0.60, pct,
               "THC 45-60% suggested; 49.3% Q1 2022, ≈47% 2023 (literature.md §1c)"),
        within(g, "occupancy, county hospitals", base["bed_occupancy_county"], 0.85, 0.95, pct,
               "county hospitals 85-95% suggested (literature.md §1c); all hospitals 71.0% (2022)"),
        within(g, "mean stay, township centres (days)", base["mean_los_days_township"], 4.4, 6.6, "{:.1f}",
               "THC 4.4 (2008), 5.2 (2010); Sichuan counties 5.0-6.6 (2015) (literature.md §1c)"),
        within(g, "mean stay, county hospitals (days)", base["mean_los_days_county"], 7.0, 10.0, "{:.1f}",
               "about 8 suggested; all hospitals 9.2 (2022) (literature.md §1c)", "8 – 9.2 (7 – 10)"),
        within(g, "in-county visit rate", base["in_county_visit_rate"], 0.80, 0.95, pct,
               "≈80% (2016) – 'over 90%' (2024) (literature.md §7b)"),
    ]


def face_validity_checks(table: pd.DataFrame) -> list[Check]:
    """The direction of response to each lever, and none to a lever that never starts."""
    g, pt = "face validity", "{:+.2%}"
    checks = [
        direction(g, "larger reimbursement gap → township share of admissions", +1,
                  change(table, "gap_larger", "inpatient_share_township"), pt, "+5 pt township, −10 pt outside"),
        direction(g, "larger reimbursement gap → out-of-county admission rate", -1,
                  change(table, "gap_larger", "out_of_county_admission_rate"), pt, "same"),
        direction(g, "a quarter of the township physicians → primary-care share", -1,
                  change(table, "fewer_township_physicians", "primary_care_share"), pt,
                  "care moves up; physicians act through capacity (visits and open beds a physician), so a cut "
                  "that leaves capacity above demand changes nothing"),
        direction(g, "roads half as fast → county-hospital share of visits", -1,
                  change(table, "slower_roads", "outpatient_share_county"), pt,
                  "longer travel lowers use of distant care (total use is set by illness: no travel-driven "
                  "forgone care in the model)"),
        direction(g, "county hospitals +0.5 capability → out-of-county admission rate", -1,
                  change(table, "capable_county", "out_of_county_admission_rate"), pt, "severe cases stay"),
    ]
    base = table.xs("baseline", level="scenario").sort_index()
    late = table.xs("not_started", level="scenario").sort_index()
    diff = (late - base).abs().to_numpy(dtype=float)
    checks.append(no_response("a lever that starts after the horizon → every indicator",
                              float(np.nanmax(diff)) if diff.size else math.nan, "common random numbers"))
    return checks


def external_checks(table: pd.DataFrame, s: Settings) -> list[Check]:
    """Published evaluations configured from their inputs (literature.md §7a)."""
    g, rel = "external evaluation", "{:+.1%}"

    def in_province(rows):
        return rows["inpatient_share_in_province"] * rows["admissions"]

    def primary(rows):
        return rows["primary_care_share"] * rows["outpatient_visits"]

    def hospital(rows):
        return (1 - rows["primary_care_share"]) * rows["outpatient_visits"]
    pred = s.uncertainty
    return [
        direction(g, "filing hurdles removed (Hebei) → in-province admissions", +1,
                  change(table, "filing_hurdles_removed", in_province, relative=True, prediction=pred), rel,
                  "three Hebei counties, ITS: +20.3 IHD admissions a week ≈ +30% (Front Public Health 2025)",
                  size=0.30),
        direction(g, "gatekeeping pilot → primary-care visits", +1,
                  change(table, "gatekeeping", primary, relative=True, prediction=pred), rel,
                  "17 townships, DID: +55%, an upper bound (BMJ Glob Health 2020)", size=0.55, upper_bound=True),
        direction(g, "gatekeeping pilot → hospital visits", -1,
                  change(table, "gatekeeping", hospital, relative=True, prediction=pred), rel,
                  "same: −24%, an upper bound", size=-0.24, upper_bound=True),
    ]


def capitation_checks(pair: dict[str, pd.DataFrame], year: str, s: Settings) -> list[Check]:
    """The same lever, opposite signs in two counties (Funan and Dingyuan, IJIC 2019)."""
    g, pt = "external evaluation", "{:+.2%}"
    return [
        direction(g, "capitation, Funan-like county → township share of admissions", +1,
                  change(pair["funan"], "capitation", "inpatient_share_township", year, prediction=s.uncertainty), pt,
                  "Funan: trend +0.44 pt a month ≈ +7.5 pt by mid-2017 (IJIC 2019; size derived, direction "
                  "judged)"),
        direction(g, "capitation, Dingyuan-like county → out-of-county admission rate", +1,
                  change(pair["dingyuan"], "capitation", "out_of_county_admission_rate", year,
                         prediction=s.uncertainty), pt, "Dingyuan: out-of-county inpatient share rose (IJIC 2019)"),
    ]


def stability_checks(table: pd.DataFrame, s: Settings) -> list[Check]:
    """Replications a headline share needs for a ±0.5 pt MC interval, and its prediction interval's width."""
    base = table.xs("baseline", level="scenario").xs("all", level="period")
    out = []
    for key in HEADLINE:
        v = base[key].to_numpy(dtype=float)
        width = float(np.subtract(*np.percentile(v, [97.5, 2.5]))) if s.uncertainty and len(v) >= 10 else math.nan
        out.append(replications_needed(key, v, len(v), pred_width=width))
    return out
