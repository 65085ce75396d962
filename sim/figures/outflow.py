"""Where care outside the county goes: episodes a year by severity, by path and by destination,
per scenario (outflow.csv)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..labels import PATH_LABELS, TIER_COLOURS, care_label, text, tier_label, word
from .data import Results, outflow_breakdown
from .style import A4_WIDTH

SEVERITY_COLOURS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15", "#67000d"]
PATH_COLOURS = {"self_referred": "#bdbdbd", "filed": "#6baed6", "referred_up": "#2171b5", "referred_out": "#08306b",
                "referred_down": "#74c476"}


def _colour(by: str, value, i: int) -> str:
    if by == "destination":
        return TIER_COLOURS.get(str(value), "#999999")
    if by == "path":
        return PATH_COLOURS.get(str(value), "#999999")
    return SEVERITY_COLOURS[min(i, len(SEVERITY_COLOURS) - 1)]


def _label(by: str, value, lang: str) -> str:
    if by == "destination":
        return tier_label(str(value), lang)
    if by == "path":
        return word(PATH_LABELS, str(value), lang)
    return text("severity", lang, s=value)


def outflow_figure(res: Results, lang: str) -> tuple[plt.Figure, dict[str, pd.DataFrame]]:
    period = res.final_period
    tables = {by: outflow_breakdown(res.outflow, period, by) for by in ("severity", "path", "destination")}
    scenarios = [s for s in res.scenarios if s in set(tables["severity"]["scenario"])]
    n = len(scenarios)
    fig, axes = plt.subplots(2, 3, figsize=(A4_WIDTH * 1.35, 2.2 + 0.55 * n * 2), sharey=True)
    y = np.arange(n)[::-1]
    for r, care in enumerate(("inpatient", "outpatient")):
        for c, by in enumerate(("severity", "path", "destination")):
            ax = axes[r, c]
            t = tables[by][tables[by]["care_type"] == care]
            t = t[t[by].isin(tables[by].groupby(by)["episodes"].sum().loc[lambda e: e > 0].index)]
            order = sorted(set(t[by])) if by == "severity" else [v for v in (PATH_COLOURS if by == "path" else
                                                                            TIER_COLOURS) if v in set(t[by])]
            left = np.zeros(n)
            for i, v in enumerate(order):
                w = t[t[by] == v].set_index("scenario")["episodes"].reindex(scenarios).fillna(0.0).to_numpy()
                ax.barh(y, w, left=left, color=_colour(by, v, i), height=0.65, edgecolor="white", linewidth=0.4,
                        label=_label(by, v, lang))
                left += w
            ax.grid(axis="x", alpha=0.3)
            ax.set_xlabel(text("outflow_axis", lang, care=care_label(care, lang)))
            ax.ticklabel_format(axis="x", style="plain", useOffset=False)
            if r == 0:
                ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=7)
                ax.set_title(text(f"by_{by}", lang), pad=8 + 11 * -(-len(order) // 2))
    axes[0, 0].set_yticks(y, scenarios)
    axes[1, 0].set_yticks(y, scenarios)
    fig.suptitle(text("outflow_title", lang, period=period))
    fig.tight_layout()
    return fig, tables
