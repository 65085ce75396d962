"""Markdown tables of a scenario experiment's answer, as docs/policies.md shows the flagship's:
the change from the baseline per scenario and year with its Monte Carlo and prediction intervals,
and the decomposition of the change in out-of-county admissions by severity and path.

    python scripts/flagship_tables.py results/medical_community_reform/<time> [--years 2023 2024]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from sim.labels import PATH_LABELS, indicator_label, indicator_unit, word
from sim.model import PATHS

HEADLINE = ["out_of_province_admission_rate", "out_of_county_admission_rate", "in_county_admission_rate",
            "primary_care_share", "effective_reimbursement_ratio", "in_county_fund_share", "oop_per_capita",
            "bed_occupancy_township", "bed_occupancy_county", "mean_wait_days_county",
            "facility.county_people.displaced"]


def _cell(row: pd.Series, scale: float, digits: int) -> str:
    f = f"{{:+.{digits}f}}"
    text = f"{f.format(row['diff_mean'] * scale)} ({f.format(row['diff_ci_low'] * scale)}, " \
           f"{f.format(row['diff_ci_high'] * scale)})"
    if pd.notna(row.get("diff_prediction_low")):
        text += f" [{f.format(row['diff_prediction_low'] * scale)}, {f.format(row['diff_prediction_high'] * scale)}]"
    return text


def headline(summary: pd.DataFrame, years: list[str], scenarios: list[str]) -> str:
    s = summary[summary["sample"] == 0] if "sample" in summary else summary
    lines = ["| indicator | year | baseline | " + " | ".join(f"`{x}`" for x in scenarios) + " |",
             "|---|---|---|" + "---|" * len(scenarios)]
    for key in HEADLINE:
        share = indicator_unit(key) == "share"
        scale, digits = (100.0, 2) if share else (1.0, 1 if key.startswith("oop") else 3)
        if key.startswith("facility."):
            scale, digits = 1.0, 0
        for year in years:
            rows = s[(s["indicator"] == key) & (s["period"].astype(str) == year)].set_index("scenario")
            if rows.empty or "baseline" not in rows.index:
                continue
            base = rows.loc["baseline", "mean"] * scale
            label = indicator_label(key) if not key.startswith("facility.") else "episodes turned away, people's hospital"
            cells = [_cell(rows.loc[x], scale, digits) if x in rows.index else "" for x in scenarios]
            lines.append(f"| {label} | {year} | {base:.{digits}f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def decomposition(change: pd.DataFrame, year: str, scenarios: list[str], destination: str) -> str:
    c = change[(change["care_type"] == "inpatient") & (change["destination"] == destination)
               & (change["period"].astype(str) == year)]
    lines = ["| slice | baseline share | " + " | ".join(f"`{x}`" for x in scenarios) + " |",
             "|---|---|" + "---|" * len(scenarios)]
    slices = [("all", "all", "all admissions")] + [(str(k), "all", f"severity {k}") for k in range(1, 5)] + \
             [("all", p, "self-referred (filed or not)" if p == "self_referred" else word(PATH_LABELS, p))
              for p in PATHS]
    for sev, path, label in slices:
        rows = c[(c["severity"].astype(str) == sev) & (c["path"] == path)].set_index("scenario")
        if rows.empty:
            continue
        cells = [_cell(rows.loc[x], 100.0, 2) if x in rows.index else "" for x in scenarios]
        lines.append(f"| {label} | {rows.loc['baseline', 'mean'] * 100:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--years", nargs="+", default=["2023", "2024"])
    p.add_argument("--scenarios", nargs="+", default=None)
    a = p.parse_args(argv)
    summary = pd.read_csv(a.folder / "summary.csv")
    change = pd.read_csv(a.folder / "outflow_change.csv", dtype={"severity": str})
    scenarios = a.scenarios or [x for x in dict.fromkeys(summary["scenario"]) if x != "baseline"]
    print("Change from the baseline: mean (Monte Carlo 95% interval) [95% prediction interval]; shares in points\n")
    print(headline(summary, a.years, scenarios))
    for destination in ("outside_county", "out_of_province"):
        for year in a.years:
            print(f"\nInpatient outflow, {destination.replace('_', ' ')}, {year}: change in points of all admissions\n")
            print(decomposition(change, year, scenarios, destination))


if __name__ == "__main__":
    main()
