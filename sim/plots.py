"""Comparison figures and a short report for a results folder (`gradsim plot FOLDER`).

figures/changes_from_baseline.png   forest plot: each scenario's paired change from the baseline
                                    in the main indicators (final year), with 95% intervals
figures/monthly_shares.png          monthly visit and admission shares by tier, per scenario
report.md                           what was run, the table of changes, the figures
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.dates

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .results import atomic_write_text  # noqa: E402

KEY_INDICATORS = [
    ("out_of_province_admission_rate", "out-of-province admission rate", True),
    ("out_of_province_rate", "out-of-province rate (combined)", True),
    ("in_county_visit_rate", "in-county visit rate", True),
    ("in_county_admission_rate", "in-county admission rate", True),
    ("primary_care_share", "primary-care share", True),
    ("in_county_fund_share", "in-county fund share", True),
    ("effective_reimbursement_ratio", "fund / total spending", True),
    ("oop_per_capita", "out-of-pocket per capita (yuan)", False),
    ("bed_occupancy_township", "occupancy, township centres", True),
    ("bed_occupancy_county", "occupancy, county hospitals", True),
    ("mean_wait_days_county", "mean wait, county (days)", False),
    ("mean_wait_days_township", "mean wait, township (days)", False),
]
TIER_COLOURS = {"village": "#4daf4a", "township": "#377eb8", "county": "#984ea3", "out_of_province": "#e41a1c"}


def _final_period(summary: pd.DataFrame) -> str:
    years = sorted(p for p in summary["period"].astype(str).unique() if p != "all")
    return years[-1] if years else "all"


def changes_figure(summary: pd.DataFrame, baseline: str, period: str, path: Path) -> None:
    s = summary[(summary["period"].astype(str) == period) & (summary["sample"] == 0)]
    scenarios = [x for x in dict.fromkeys(s["scenario"]) if x != baseline]
    present = [k for k in KEY_INDICATORS if k[0] in set(s["indicator"])]
    if not scenarios or not present:
        return
    cols = 3
    rows = int(np.ceil(len(present) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 0.32 * len(scenarios) * rows + 1.2 * rows + 0.6),
                             squeeze=False)
    y = np.arange(len(scenarios))[::-1]
    for ax, (key, label, share) in zip(axes.flat, present):
        d = s[s["indicator"] == key].set_index("scenario").reindex(scenarios)
        k = 100.0 if share else 1.0
        mean, lo, hi = d["diff_mean"] * k, d["diff_ci_low"] * k, d["diff_ci_high"] * k
        colours = ["#c0392b" if h < 0 else "#2471a3" if l > 0 else "#7f8c8d" for l, h in zip(lo, hi)]
        ax.hlines(y, lo, hi, colors=colours, lw=1.8)
        ax.scatter(mean, y, c=colours, s=18, zorder=3)
        ax.axvline(0, color="black", lw=0.8)
        base = s[(s["indicator"] == key) & (s["scenario"] == baseline)]["mean"]
        level = f" (baseline {base.iloc[0] * k:,.1f}{'%' if share else ''})" if len(base) else ""
        ax.set_title(label + level, fontsize=9)
        ax.set_yticks(y, scenarios, fontsize=8)
        ax.set_xlabel("change, percentage points" if share else "change", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(present):]:
        ax.axis("off")
    fig.suptitle(f"Change from '{baseline}' in {period}: mean and 95% interval over replications "
                 "(blue: interval above 0, red: below 0, grey: includes 0)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def monthly_figure(ts: pd.DataFrame, baseline: str, path: Path, max_scenarios: int = 4) -> None:
    ts = ts.copy()
    ts["month"] = pd.to_datetime(ts["date"]).dt.to_period("M").dt.to_timestamp()
    scenarios = list(dict.fromkeys(ts["scenario"]))
    shown = [baseline] + [x for x in scenarios if x != baseline][: max_scenarios - 1]
    g = ts[ts["scenario"].isin(shown)].groupby(["scenario", "month", "care_type", "tier"], observed=True)["served"].sum()
    share = g / g.groupby(level=["scenario", "month", "care_type"], observed=True).transform("sum")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), sharex=True)
    styles = ["-", "--", ":", "-."]
    for ax, care in zip(axes, ("outpatient", "inpatient")):
        for si, sc in enumerate(shown):
            part = share.xs((sc, care), level=("scenario", "care_type"))
            for tier in part.index.get_level_values("tier").unique():
                series = part.xs(tier, level="tier")
                if care == "inpatient" and series.max() == 0:
                    continue
                ax.plot(series.index, series.values * 100, styles[si % len(styles)],
                        color=TIER_COLOURS.get(str(tier)), label=f"{tier} ({sc})" if si == 0 or care else None)
        ax.set_title(f"{care} share by tier, monthly (%)", fontsize=10)
        locator = matplotlib.dates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator))
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], color=c, label=t) for t, c in TIER_COLOURS.items()]
    handles += [plt.Line2D([], [], color="black", ls=styles[i % len(styles)], label=sc) for i, sc in enumerate(shown)]
    axes[1].legend(handles=handles, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def changes_table(summary: pd.DataFrame, baseline: str, period: str) -> str:
    s = summary[(summary["period"].astype(str) == period) & (summary["sample"] == 0)]
    scenarios = [x for x in dict.fromkeys(s["scenario"]) if x != baseline]
    head = "| indicator | " + baseline + " | " + " | ".join(f"Δ {x}" for x in scenarios) + " |"
    lines = [head, "|" + "---|" * (2 + len(scenarios))]
    for key, label, share in KEY_INDICATORS:
        d = s[s["indicator"] == key].set_index("scenario")
        if d.empty or baseline not in d.index:
            continue
        k, unit = (100.0, "%") if share else (1.0, "")
        cells = [f"{d.loc[baseline, 'mean'] * k:,.1f}{unit}"]
        for x in scenarios:
            r = d.loc[x]
            cells.append(f"{r['diff_mean'] * k:+,.2f} [{r['diff_ci_low'] * k:+,.2f}, {r['diff_ci_high'] * k:+,.2f}]")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_results(folder: str | Path) -> list[Path]:
    """Write figures/ and report.md into a finished results folder; returns the files written."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    summary = pd.read_csv(folder / "summary.csv")
    baseline = manifest.get("baseline_scenario", "baseline")
    period = _final_period(summary)
    figs = folder / "figures"
    figs.mkdir(exist_ok=True)
    written = []
    changes = figs / "changes_from_baseline.png"
    changes_figure(summary, baseline, period, changes)
    if changes.exists():
        written.append(changes)
    monthly = figs / "monthly_shares.png"
    monthly_figure(pd.read_parquet(folder / "timeseries.parquet",
                                   columns=["scenario", "date", "tier", "care_type", "served"]), baseline, monthly)
    written.append(monthly)
    report = [f"# {manifest['experiment']}", "", manifest.get("description") or "", "",
              f"- {len(manifest['scenarios'])} scenario(s) x {manifest['replications']} replication(s); "
              f"{manifest['counts_note']}",
              f"- seed {manifest['experiment_seed']}; gradsim {manifest['versions']['gradsim']}, "
              f"Mesa {manifest['versions']['mesa']}; commit {manifest.get('git_commit')}", "",
              f"## Change from '{baseline}' in {period}", "",
              "Mean over replications and, in brackets, the 95% interval of the paired change "
              "(shares in percentage points). All indicators and years: summary.csv.", "",
              changes_table(summary, baseline, period), ""]
    if changes.exists():
        report += ["![changes](figures/changes_from_baseline.png)", ""]
    report += ["## Monthly shares by tier", "", "![monthly shares](figures/monthly_shares.png)", ""]
    atomic_write_text("\n".join(report), folder / "report.md")
    written.append(folder / "report.md")
    return written
