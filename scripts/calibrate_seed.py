"""Hand calibration of the seed county, made repeatable: fit the alternative-specific constants
(ASCs) and the two episode-rate multipliers to the targets of docs/calibration.md by a damped
fixed-point iteration (ASC += log(target share / simulated share); rate *= target / simulated).

Only these calibration constants are fitted: no policy effect is touched. Prints the fitted values
to paste into configs/seed_county.yaml (lines marked "fitted").

    python scripts/calibrate_seed.py [--scale 0.25] [--seeds 2] [--iterations 8]
"""
from __future__ import annotations

import argparse
import copy
import math

import numpy as np

import sim
from sim.config import config_from_tree, load_tree

TARGETS = {
    # in-county outpatient split: national rural volumes 2022, county hospitals 13.5亿 / THC 12.1亿 /
    # village clinics 12.8亿 [nhc-2022-rural-volumes]; out-of-province outpatient rate: assumption
    "outpatient_oop_rate": 0.025,
    "outpatient_in_county_split": {"village": 12.8 / 38.4, "township": 12.1 / 38.4, "county": 13.5 / 38.4},
    "out_of_province_admission_rate": 0.175,       # county-facts.md §B, read as admissions
    "bed_occupancy_township": 0.47,                # THC 49.3% (Q1 2022) [nhc-2022q1-cost]; ≈47% implied 2023 (literature.md §1c)
    "in_county_outpatient_visits": 918_300,        # county-facts.md §A
    "in_county_admissions": 48_000,                # county-facts.md §A
}


def simulate(tree, origin, scale, seeds):
    cfg = config_from_tree(tree, origin, "configs/seed_county.yaml")
    frames = []
    for s in range(seeds):
        m = sim.GradedCareModel(cfg, seed=1000 + s, scale=scale, patient_agents=False)
        m.run()
        frames.append(m.indicators().loc["all"])
        m.release()
    return sum(frames) / len(frames)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=8)
    ap.add_argument("--damping", type=float, default=0.8)
    args = ap.parse_args()
    tree, origin = load_tree("configs/seed_county.yaml")
    tree = copy.deepcopy(tree)
    k = args.damping
    for it in range(args.iterations + 1):
        r = simulate(tree, origin, args.scale, args.seeds)
        split = {t: r[f"outpatient_share_{t}"] / (1 - r["outpatient_share_out_of_province"])
                 for t in ("village", "township", "county")}
        print(f"iter {it}: visits {r['in_county_outpatient_visits']:,.0f} adm {r['in_county_admissions']:,.0f} "
              f"oop_adm {r['out_of_province_admission_rate']:.3f} oop_out {r['out_of_province_outpatient_rate']:.3f} "
              f"occ_thc {r['bed_occupancy_township']:.3f} occ_cty {r['bed_occupancy_county']:.3f} "
              f"split {', '.join(f'{t} {v:.3f}' for t, v in split.items())} "
              f"ERR {r['effective_reimbursement_ratio']:.3f} fund_in {r['in_county_fund_share']:.3f}")
        if it == args.iterations:
            break
        asc = tree["choice"]["asc"]
        tgt = TARGETS["outpatient_in_county_split"]
        for t in ("township", "county"):
            asc["outpatient"][t] += k * (math.log(tgt[t] / split[t]) - math.log(tgt["village"] / split["village"]))
        asc["outpatient"]["out_of_province"] += k * math.log(
            TARGETS["outpatient_oop_rate"] / r["out_of_province_outpatient_rate"])
        p = r["out_of_province_admission_rate"]
        q = TARGETS["out_of_province_admission_rate"]
        asc["inpatient"]["out_of_province"] += k * (math.log(q / p) - math.log((1 - q) / (1 - p)))
        asc["inpatient"]["county"] -= k * math.log(TARGETS["bed_occupancy_township"] / r["bed_occupancy_township"])
        fo = TARGETS["in_county_outpatient_visits"] / r["in_county_outpatient_visits"]
        fi = TARGETS["in_county_admissions"] / r["in_county_admissions"]
        for band in tree["population"]["age_bands"]:
            band["outpatient_rate"] *= fo ** k
            band["inpatient_rate"] *= fi ** k
    print("\nfitted values:")
    print("  asc.outpatient:", {t: round(v, 3) for t, v in tree["choice"]["asc"]["outpatient"].items()})
    print("  asc.inpatient:", {t: round(v, 3) for t, v in tree["choice"]["asc"]["inpatient"].items()})
    for band in tree["population"]["age_bands"]:
        print(f"  {band['name']}: outpatient_rate {band['outpatient_rate']:.3f} inpatient_rate {band['inpatient_rate']:.4f}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
