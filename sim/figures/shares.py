"""Stacked bars: where residents' visits and admissions go, by tier, per scenario, with intervals."""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..labels import TIER_COLOURS, care_label, text, tier_label
from .data import Results, tier_shares
from .style import A4_WIDTH


def scenario_ticks(res: Results, scenarios: list[str], width: int = 34) -> list[str]:
    """Scenario name with its description underneath, wrapped to fit beside a bar."""
    out = []
    for s in scenarios:
        d = res.description(s)
        out.append(s + ("\n" + textwrap.fill(d, width, max_lines=2, placeholder=" …") if d else ""))
    return out


def shares_figure(res: Results, lang: str) -> tuple[plt.Figure, pd.DataFrame]:
    period = res.final_period
    tiers = [t["name"] for t in res.tiers]
    table = tier_shares(res.summary, tiers, period)
    scenarios = [s for s in res.scenarios if s in set(table["scenario"])]
    n = len(scenarios)
    fig, axes = plt.subplots(1, 2, figsize=(A4_WIDTH * 1.25, 1.2 + 0.62 * n), sharey=True)
    y = np.arange(n)[::-1]
    for ax, care in zip(axes, ("outpatient", "inpatient")):
        part = table[table["care_type"] == care]
        left = np.zeros(n)
        for tier in tiers:
            d = part[part["tier"] == tier].set_index("scenario").reindex(scenarios)
            width = d["mean"].fillna(0.0).to_numpy() * 100
            ax.barh(y, width, left=left, color=TIER_COLOURS.get(tier, "#999999"), height=0.62,
                    label=tier_label(tier, lang), edgecolor="white", linewidth=0.5)
            ends = left + width
            half = (d["ci_high"] - d["ci_low"]).to_numpy() * 50
            for yi, l, w, h, lo, hi in zip(y, left, width, half, d["prediction_low"] * 100, d["prediction_high"] * 100):
                if w < 7:
                    continue
                label = f"{w:.0f}" + (f" ±{h:.1f}" if np.isfinite(h) else "")
                if np.isfinite(lo) and np.isfinite(hi) and w >= 12:
                    label += f"\n[{lo:.0f}, {hi:.0f}]"
                ax.text(l + w / 2, yi, label, ha="center", va="center", fontsize=6.5, color="white")
            left = ends
        ax.set_xlim(0, 100)
        ax.set_xlabel(text("share_axis", lang, care=care_label(care, lang)))
        ax.set_title(care_label(care, lang).capitalize() if lang == "en" else care_label(care, lang))
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, scenario_ticks(res, scenarios), fontsize=7.5)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(tiers), frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(text("shares_title", lang, period=period))
    fig.text(0.5, -0.06 - 0.0, text("changes_note_bars", lang), ha="center", fontsize=7, color="#444444")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig, table
