"""Bed occupancy and mean wait by tier (summary.csv) and per county hospital (facilities.parquet)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..labels import TIER_COLOURS, text, tier_label
from .data import Results, hospital_load, tier_levels
from .style import A4_WIDTH

WAIT_RESOLUTION = 0.01     # days (a quarter of an hour): shorter mean waits are "served the day they come"
from .timeseries import scenario_colour


def _grouped(ax, table: pd.DataFrame, groups: list[str], group_col: str, scenarios: list[str], k: float,
             colours) -> None:
    """Bars per group (tier or hospital) and scenario with 95% interval whiskers."""
    width = 0.8 / max(len(scenarios), 1)
    x = np.arange(len(groups))
    for i, s in enumerate(scenarios):
        d = table[table["scenario"] == s].set_index(group_col).reindex(groups)
        m = d["mean"].to_numpy() * k
        err = np.vstack([m - d["ci_low"].to_numpy() * k, d["ci_high"].to_numpy() * k - m])
        ax.bar(x - 0.4 + width * (i + 0.5), m, width, color=colours(s, groups), edgecolor="white", linewidth=0.3,
               label=s)
        ax.errorbar(x - 0.4 + width * (i + 0.5), m, yerr=np.nan_to_num(np.abs(err)), fmt="none", ecolor="black",
                    elinewidth=0.8, capsize=1.5)
    ax.set_xticks(x, groups)
    ax.grid(axis="y", alpha=0.3)


def _tier_dots(ax, table: pd.DataFrame, tiers: list[str], scenarios: list[str], k: float, lang: str) -> None:
    """Per tier (its colour) a dot per scenario with its 95% interval; scenarios along x."""
    x = np.arange(len(scenarios))
    step = 0.6 / max(len(tiers), 1)
    for i, tier in enumerate(tiers):
        d = table[table["tier"] == tier].set_index("scenario").reindex(scenarios)
        m = d["mean"].to_numpy() * k
        err = np.abs(np.vstack([m - d["ci_low"].to_numpy() * k, d["ci_high"].to_numpy() * k - m]))
        ax.errorbar(x - 0.3 + step * (i + 0.5), m, yerr=np.nan_to_num(err), fmt="o", ms=4,
                    color=TIER_COLOURS.get(tier, "#999999"), elinewidth=1, capsize=1.5, label=tier_label(tier, lang))
    ax.set_xticks(x, scenarios, rotation=30, ha="right")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(frameon=False, fontsize=7)


def facilities_figure(res: Results, lang: str) -> tuple[plt.Figure, dict[str, pd.DataFrame]]:
    period = res.final_period
    occ = tier_levels(res.summary, period, "bed_occupancy_")
    wait = tier_levels(res.summary, period, "mean_wait_days_")
    in_county = [t["name"] for t in res.tiers if t["in_county"]]
    wait = wait[wait["tier"].isin(in_county)]
    hosp = hospital_load(res.facilities, period) if res.facilities is not None else pd.DataFrame()
    scenarios = res.scenarios
    fig, axes = plt.subplots(2, 2, figsize=(A4_WIDTH * 1.25, 7.5))
    by_scenario = lambda s, groups: scenario_colour(res, s)  # noqa: E731
    occ_tiers = [t for t in in_county if t in set(occ["tier"])]
    _tier_dots(axes[0, 0], occ, occ_tiers, scenarios, 100, lang)
    _tier_dots(axes[1, 0], wait, in_county, scenarios, 1, lang)
    axes[0, 0].set_ylabel(text("occupancy_axis", lang))
    axes[1, 0].set_ylabel(text("wait_axis", lang))
    comma = "，" if lang == "zh" else ", "
    axes[0, 0].set_title(text("occupancy_axis", lang) + comma + text("by_tier", lang))
    axes[1, 0].set_title(text("wait_axis", lang) + comma + text("by_tier", lang))
    tables = {"occupancy_by_tier": occ, "wait_by_tier": wait}
    if not hosp.empty:
        hospitals = list(dict.fromkeys(hosp["label"]))
        for ax, measure, k, label in ((axes[0, 1], "bed_occupancy", 100, "occupancy_axis"),
                                      (axes[1, 1], "mean_wait_days", 1, "wait_axis")):
            t = hosp[hosp["measure"] == measure]
            _grouped(ax, t, hospitals, "label", scenarios, k, by_scenario)
            ax.set_ylabel(text(label, lang))
            ax.set_title(text(label, lang) + comma + text("per_hospital", lang))
            ax.tick_params(axis="x", labelrotation=20)
        tables["hospitals"] = hosp
        handles, labels = axes[0, 1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), frameon=False,
                   bbox_to_anchor=(0.5, 0.0))
    else:
        axes[0, 1].axis("off")
        axes[1, 1].axis("off")
    waits = [wait["ci_high"]] + ([hosp.loc[hosp["measure"] == "mean_wait_days", "ci_high"]] if not hosp.empty else [])
    if np.nanmax(np.abs(pd.concat(waits).to_numpy(float)), initial=0.0) < WAIT_RESOLUTION:
        for ax in axes[1]:
            if ax.axison:
                ax.set_ylim(0, WAIT_RESOLUTION * 5)
                ax.text(0.5, 0.5, text("waits_negligible", lang), transform=ax.transAxes, ha="center", fontsize=8,
                        color="#555555")
    for ax in axes.flat:
        if ax.axison and ax.get_ylim()[0] < 0:
            ax.set_ylim(bottom=0)
    fig.suptitle(text("facilities_title", lang, period=period))
    fig.tight_layout(rect=(0, 0.035 * (1 + len(scenarios) // 4), 1, 1))
    fig.text(0.5, 0.0, text("facilities_note", lang), ha="center", va="top", fontsize=7, color="#444444")
    return fig, tables
