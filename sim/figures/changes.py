"""Forest plots: each scenario's change from the baseline with both intervals, one figure per
indicator group; a change within the indicator's resolution is said in words, not drawn."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..labels import INDICATOR_GROUPS, group_label, indicator_label, indicator_unit, text, unit_label
from .data import changes
from .style import A4_WIDTH

UP, DOWN, NEITHER = "#2471a3", "#c0392b", "#7f8c8d"


def scale_and_unit(indicator: str, lang: str) -> tuple[float, str]:
    """Factor and unit of a change as drawn: shares in percentage points."""
    unit = indicator_unit(indicator)
    if unit == "share":
        return 100.0, unit_label("points", lang)
    if unit == "per year":
        return 1.0, text("episodes_a_year", lang)
    return 1.0, unit_label(unit, lang) if unit else ""


def level_text(indicator: str, level: float) -> str:
    if not np.isfinite(level):
        return "–"
    unit = indicator_unit(indicator)
    if unit == "share":
        return f"{level * 100:.1f}%"
    return f"{level:,.3g}" if abs(level) < 100 else f"{level:,.0f}"


def forest_panel(ax, d: pd.DataFrame, scenarios: list[str], indicator: str, lang: str,
                 level_key: str = "baseline_level") -> None:
    """One indicator's changes (rows of `changes`) for the scenarios, top to bottom."""
    k, unit = scale_and_unit(indicator, lang)
    d = d.set_index("scenario").reindex(scenarios)
    y = np.arange(len(scenarios))[::-1]
    base = d["baseline"].dropna()
    level = text(level_key, lang, level=level_text(indicator, base.iloc[0] if len(base) else np.nan))
    ax.set_title(f"{indicator_label(indicator, lang)}\n{level}", fontsize=9)
    ax.set_yticks(y, scenarios)
    ax.axvline(0, color="black", lw=0.8)
    if d["negligible"].fillna(True).all():
        res = d["resolution"].dropna()
        shown = f"{res.iloc[0] * k:.2g}" if len(res) else "0"
        ax.text(0.5, 0.5, text("below_resolution", lang, res=shown, unit=unit), transform=ax.transAxes,
                ha="center", va="center", fontsize=8, color="#555555")
        ax.set_xticks([])
        return
    mean, lo, hi = d["diff_mean"] * k, d["diff_ci_low"] * k, d["diff_ci_high"] * k
    plo, phi = d["diff_prediction_low"] * k, d["diff_prediction_high"] * k
    colours = [UP if l > 0 else DOWN if h < 0 else NEITHER for l, h in zip(lo.fillna(0), hi.fillna(0))]
    ax.hlines(y, plo, phi, colors=colours, lw=0.9)
    ax.hlines(y, lo, hi, colors=colours, lw=3.2)
    ax.scatter(mean, y, c=colours, s=22, zorder=3, edgecolors="white", linewidths=0.5)
    res = d["resolution"].dropna()
    reach = np.nanmax(np.abs(np.concatenate([lo, hi, plo, phi, mean]))) if len(d) else 0.0
    floor = (res.iloc[0] * k if len(res) else 0.0) * 2
    lim = max(reach if np.isfinite(reach) else 0.0, floor) * 1.08
    ax.set_xlim(-lim, lim)
    ax.set_xlabel(text("change_in", lang, unit=unit))
    ax.ticklabel_format(axis="x", useOffset=False, style="plain")
    ax.grid(axis="x", alpha=0.3)


def changes_figures(res, lang: str) -> list[tuple[str, plt.Figure, pd.DataFrame]]:
    """(group, figure, table) per indicator group that has indicators in the folder."""
    period = res.final_period
    scenarios = [s for s in res.scenarios if s != res.baseline]
    present = set(res.summary["indicator"])
    out = []
    if not scenarios:
        return out
    for group, (_, _, indicators) in INDICATOR_GROUPS.items():
        keys = [i for i in indicators if i in present]
        if not keys:
            continue
        table = changes(res.summary, res.baseline, period, keys)
        cols = 2
        rows = -(-len(keys) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(A4_WIDTH, rows * (0.9 + 0.28 * len(scenarios)) + 0.9),
                                 squeeze=False)
        for ax, key in zip(axes.flat, keys):
            forest_panel(ax, table[table["indicator"] == key], scenarios, key, lang)
        for ax in list(axes.flat)[len(keys):]:
            ax.axis("off")
        for ax in axes[:, 1]:
            ax.tick_params(labelleft=False)
        fig.suptitle(text("changes_title", lang, group=group_label(group, lang), baseline=res.baseline,
                          period=period), fontsize=11)
        fig.text(0.5, 0.0, text("changes_note", lang), ha="center", va="top", fontsize=7, color="#444444", wrap=True)
        fig.tight_layout()
        out.append((group, fig, table))
    return out
