"""Calibration of the seed county: weighted least squares of 14 targets over 13 free constants.

More targets than free parameters, so the fit is over-identified and its residuals say something;
other figures are checks that are not fitted (docs/calibration.md). Only calibration constants are
fitted: tier constants (yuan), two episode-rate multipliers, the non-resident load of the people's
hospital, the psychiatric share, the inpatient capability-shortfall WTP and the referral slope
(assumptions with no source). No policy effect is touched. Every evaluation runs the
same seeds (common random numbers), so the objective is smooth enough for scipy's trust-region
least squares with finite differences. Prints the fitted values to paste into
configs/seed_county.yaml (lines marked "fitted") and the target table.

    python scripts/calibrate_seed.py [--scale 0.1] [--seeds 2] [--evaluations 200]
"""
from __future__ import annotations

import argparse
import copy

import numpy as np
from scipy.optimize import least_squares

import sim
from sim.config import config_from_tree, load_tree

CONFIG = "configs/seed_county.yaml"

# name: (target, tolerance used as the residual's scale, source)
TARGETS = {
    "visits_delivered_in_county": (918_300, 18_000, "county-facts.md §A"),
    "admissions_delivered_in_county": (48_000, 1_000, "county-facts.md §A"),
    "hospitalization_rate": (0.19, 0.02, "national 17.5% 2022 [nhc-2022-bulletin]; resident scheme 20.7% 2023 [nhsa-2023]"),
    "out_of_province_admission_rate": (0.175, 0.005, "county-facts.md §B"),
    "bed_occupancy_township": (0.47, 0.02, "THC 49.3% Q1 2022 [nhc-2022q1-cost]; ≈47% 2023 (literature.md §1c)"),
    "village_share_in_county_visits": (12.8 / 38.4, 0.01, "rural volumes 2022 [nhc-2022-rural-volumes]"),
    "township_share_in_county_visits": (12.1 / 38.4, 0.01, "rural volumes 2022 [nhc-2022-rural-volumes]"),
    "out_of_province_outpatient_rate": (0.025, 0.005, "'a few percent' (county-facts.md); assumption"),
    "in_county_visit_rate": (0.92, 0.02, "national 'over 90%' 2024 (literature.md §7b)"),
    "occupancy_county_people": (0.88, 0.04, "county hospitals 85-95% [county-occ]"),
    "occupancy_county_tcm": (0.88, 0.08, "county hospitals 85-95% [county-occ] (wide: see docs/calibration.md)"),
    "out_of_county_admission_rate": (0.33, 0.05, "'about a third' treated outside the county [jinzhai-2025]"),
    "occupancy_county_third": (0.88, 0.04, "assumption: the psychiatric hospital runs nearly full"),
    "severe_admissions_at_tertiary": (0.28, 0.03, "rural stroke/IHD admissions at tier 3: 27-29% [ckb-rural]"),
}

# name: (path in the config tree, lower, upper, unit of the search: a step that moves the targets)
PARAMETERS = {
    "outpatient_rate_multiplier": (None, 0.5, 2.0, 0.05),
    "inpatient_rate_multiplier": (None, 0.5, 2.0, 0.05),
    "constant_inpatient_county": ("choice.wtp.constant.inpatient.county", -30000, 30000, 2000),
    "constant_inpatient_in_province": ("choice.wtp.constant.inpatient.in_province", -40000, 40000, 2000),
    "constant_inpatient_out_of_province": ("choice.wtp.constant.inpatient.out_of_province", -40000, 40000, 2000),
    "constant_outpatient_township": ("choice.wtp.constant.outpatient.township", -5000, 5000, 200),
    "constant_outpatient_county": ("choice.wtp.constant.outpatient.county", -5000, 5000, 200),
    "constant_outpatient_in_province": ("choice.wtp.constant.outpatient.in_province", -8000, 5000, 200),
    "constant_outpatient_out_of_province": ("choice.wtp.constant.outpatient.out_of_province", -8000, 5000, 200),
    "nonresident_admissions_people": (None, 0.0, 40000, 2000),
    "psychiatric_share": ("illness.psychiatric_share", 0.005, 0.1, 0.005),
    "shortfall_inpatient": ("choice.wtp.shortfall.inpatient", 0.0, 40000, 2000),
    "referral_up_slope": ("referral.up_slope", 0.2, 2.0, 0.1),
}


def _get(tree: dict, path: str):
    node = tree
    for key in path.split("."):
        node = node[key]
    return node["value"] if isinstance(node, dict) else node     # a value with a range: its centre


def _set(tree: dict, path: str, value) -> None:
    keys = path.split(".")
    node = tree
    for key in keys[:-1]:
        node = node[key]
    if isinstance(node[keys[-1]], dict):                         # keep the range around the fitted centre
        node[keys[-1]]["value"] = float(value)
    else:
        node[keys[-1]] = float(value)


def apply(base: dict, x: np.ndarray) -> dict:
    tree = copy.deepcopy(base)
    values = dict(zip(PARAMETERS, x))
    for band, band0 in zip(tree["population"]["age_bands"], base["population"]["age_bands"]):
        band["outpatient_rate"] = band0["outpatient_rate"] * values["outpatient_rate_multiplier"]
        band["inpatient_rate"] = band0["inpatient_rate"] * values["inpatient_rate_multiplier"]
    for h in tree["facilities"]["hospitals"]:
        if h["name"] == "county_people":
            h["nonresident_admissions"] = values["nonresident_admissions_people"]
    for name, (path, *_rest) in PARAMETERS.items():
        if path is not None:
            _set(tree, path, values[name])
    return tree


def start(base: dict) -> np.ndarray:
    people = next(h for h in base["facilities"]["hospitals"] if h["name"] == "county_people")
    x = []
    for name, (path, lo, hi, _) in PARAMETERS.items():
        value = {"outpatient_rate_multiplier": 1.0, "inpatient_rate_multiplier": 1.0,
                 "nonresident_admissions_people": people.get("nonresident_admissions", 0.0)}.get(name)
        x.append(np.clip(value if value is not None else _get(base, path), lo, hi))
    return np.array(x, dtype=float)


def measures(model) -> dict[str, float]:
    """Every target quantity of one run (period 'all')."""
    ind = model.indicators().loc["all"]
    out = {k: float(ind[k]) for k in TARGETS if k in ind}
    in_county = sum(ind[f"outpatient_share_{t.name}"] for t in model.config.tiers if t.in_county)
    out["out_of_county_admission_rate"] = float(ind["out_of_county_admission_rate"])
    out["village_share_in_county_visits"] = ind["outpatient_share_village"] / in_county
    out["township_share_in_county_visits"] = ind["outpatient_share_township"] / in_county
    days = slice(model.warmup_days, None)
    occupied = model.records["bed_days"][days, :, 1].sum(axis=0)
    beds = model.beds_open[days].sum(axis=0)
    for name in ("county_people", "county_tcm", "county_third"):
        i = model.facilities.index(name)
        out[f"occupancy_{name}"] = occupied[i] / beds[i]
    flows = model.flows.sum(axis=0)[:, 1, 0]              # general admissions: tier x severity x path x filed
    severe = flows[:, model.choice_params.group == 1].sum(axis=(1, 2, 3))
    tertiary = [i for i, t in enumerate(model.config.tiers) if t.level >= 3]
    out["severe_admissions_at_tertiary"] = severe[tertiary].sum() / severe.sum()
    return out


def simulate(tree: dict, scale: float, seeds: int) -> dict[str, float]:
    cfg = config_from_tree(tree, {}, CONFIG)
    runs = []
    for s in range(seeds):
        m = sim.GradedCareModel(cfg, seed=1000 + s, scale=scale, patient_agents=False)
        m.run()
        runs.append(measures(m))
        m.release()
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


HEBEI_RISE = 0.30    # removing in-province filing hurdles: +20.27 on ≈63 IHD admissions a week [hebei-2025-its]


def in_province_admissions(tree: dict, scale: float, seeds: int) -> float:
    cfg = config_from_tree(tree, {}, CONFIG)
    total = 0.0
    for s in range(seeds):
        m = sim.GradedCareModel(cfg, seed=1000 + s, scale=scale, patient_agents=False)
        m.run()
        total += m.indicators().loc["all", "inpatient_share_in_province"] * m.indicators().loc["all", "admissions"]
        m.release()
    return total / seeds


def size_filing_hassle(base: dict, scale: float, seeds: int) -> float:
    """The inpatient filing hassle H at which removing the in-province hurdles (H = 0 and no unfiled
    penalty in the province) raises in-province admissions by HEBEI_RISE. Bisection: the rise grows
    with H."""
    removed = copy.deepcopy(base)
    removed["referral"]["filing_hassle"]["inpatient"] = 0.0
    for sched in removed["insurance"]["schemes"].values():
        sched["unfiled_penalty"]["in_province"] = 0.0
    target = in_province_admissions(removed, scale, seeds) / (1.0 + HEBEI_RISE)
    lo, hi = 0.0, 40000.0
    for _ in range(10):
        mid = 0.5 * (lo + hi)
        tree = copy.deepcopy(base)
        tree["referral"]["filing_hassle"]["inpatient"] = mid
        got = in_province_admissions(tree, scale, seeds)
        print(f"  hassle {mid:8.0f} yuan: in-province admissions {got:8.0f} (target {target:8.0f})", flush=True)
        lo, hi = (mid, hi) if got > target else (lo, mid)
    return 0.5 * (lo + hi)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--evaluations", type=int, default=200)
    ap.add_argument("--hassle-only", action="store_true", help="only size the filing hassle (Hebei)")
    args = ap.parse_args()
    base, _ = load_tree(CONFIG)
    if args.hassle_only:
        print(f"filing hassle (inpatient): {size_filing_hassle(base, args.scale, args.seeds):.0f} yuan")
        return
    history = []

    unit = np.array([v[3] for v in PARAMETERS.values()])

    def residuals(z: np.ndarray) -> np.ndarray:                  # z: parameters in units of `unit`
        got = simulate(apply(base, z * unit), args.scale, args.seeds)
        r = np.array([(got[k] - t) / tol for k, (t, tol, _) in TARGETS.items()])
        history.append((float(np.sum(r ** 2)), got))
        print(f"eval {len(history):3d}: sum of squares {history[-1][0]:10.3f}", flush=True)
        return r

    lo = np.array([v[1] for v in PARAMETERS.values()]) / unit
    hi = np.array([v[2] for v in PARAMETERS.values()]) / unit
    fit = least_squares(residuals, start(base) / unit, bounds=(lo, hi), method="trf", diff_step=None,
                        jac=lambda z: _jacobian(residuals, z), max_nfev=args.evaluations)
    x = fit.x * unit
    got = simulate(apply(base, x), args.scale, args.seeds)
    print(f"\n{len(TARGETS)} targets, {len(PARAMETERS)} fitted parameters; sum of squares {2 * fit.cost:.3f}\n")
    print(f"{'target':36s} {'model':>12s} {'target':>12s} {'tolerance':>10s}  source")
    for k, (t, tol, src) in TARGETS.items():
        print(f"{k:36s} {got[k]:12.4g} {t:12.4g} {tol:10.3g}  {src}")
    print("\nfitted values:")
    for (name, (path, lo_, hi_, _)), v in zip(PARAMETERS.items(), x):
        near = " (at a bound)" if min(v - lo_, hi_ - v) < 1e-6 * max(1.0, abs(v)) else ""
        print(f"  {name:38s} {v:12.5g}{near}")
    tree = apply(base, x)
    for band in tree["population"]["age_bands"]:
        print(f"  {band['name']}: outpatient_rate {band['outpatient_rate']:.4f} inpatient_rate {band['inpatient_rate']:.4f}")


def _jacobian(residuals, z: np.ndarray, step: float = 1.0) -> np.ndarray:
    """Forward differences one search unit wide: wide enough that common random numbers, not the
    flip of a few individual choices, decide the slope."""
    r0 = residuals(z)
    return np.column_stack([(residuals(z + step * np.eye(z.size)[i]) - r0) / step for i in range(z.size)])


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
