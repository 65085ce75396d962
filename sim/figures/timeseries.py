"""Monthly headline indicators per scenario with Monte Carlo and prediction bands, and a dashed
line where each policy starts."""
from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

from ..labels import HEADLINE_INDICATORS, indicator_label, text
from .data import Results, monthly_summary
from .style import A4_WIDTH

ZH_DATES = {"formats": ["%Y年", "%m月", "%d日", "%H:%M", "%H:%M", "%S.%f"],
            "zero_formats": ["", "%Y年", "%m月", "%d日", "%H:%M", "%H:%M"]}
SCENARIO_COLOURS = ["#222222", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                    "#bcbd22", "#7f7f7f"]


def scenario_colour(res: Results, scenario: str) -> str:
    """One colour per scenario (black for the baseline), the same in every figure of a folder."""
    others = [s for s in res.scenarios if s != res.baseline]
    return SCENARIO_COLOURS[0] if scenario == res.baseline else \
        SCENARIO_COLOURS[1 + others.index(scenario) % (len(SCENARIO_COLOURS) - 1)]


def policy_starts(res: Results) -> dict[pd.Timestamp, list[str]]:
    """Start date -> the policies starting then (over every scenario)."""
    out: dict[pd.Timestamp, list[str]] = {}
    for s in res.scenarios:
        for policy, start in res.policy_starts(s):
            out.setdefault(start, [])
            if policy not in out[start]:
                out[start].append(policy)
    return dict(sorted(out.items()))


def monthly_figure(res: Results, lang: str) -> tuple[plt.Figure, pd.DataFrame]:
    table = monthly_summary(res.timeseries, res.tiers, res.baseline, res.uncertainty)
    table["month"] = pd.to_datetime(table["period"] + "-01")
    scenarios = [s for s in res.scenarios if s in set(table["scenario"])]
    fig, axes = plt.subplots(2, 2, figsize=(A4_WIDTH * 1.25, 7.2), sharex=True)
    starts = policy_starts(res)
    banded = scenarios[:2]                   # bands of more than two scenarios hide each other
    for ax, key in zip(axes.flat, HEADLINE_INDICATORS):
        for s in scenarios:
            d = table[(table["scenario"] == s) & (table["indicator"] == key)].sort_values("month")
            colour = scenario_colour(res, s)
            ax.plot(d["month"], d["mean"] * 100, color=colour, lw=1.8 if s in banded else 1.0, label=s,
                    zorder=3 if s in banded else 2)
            if s not in banded:
                continue
            ax.fill_between(d["month"], d["ci_low"] * 100, d["ci_high"] * 100, color=colour, alpha=0.15, lw=0)
            if d["prediction_low"].notna().any():
                ax.plot(d["month"], d["prediction_low"] * 100, color=colour, lw=0.7, ls=":")
                ax.plot(d["month"], d["prediction_high"] * 100, color=colour, lw=0.7, ls=":")
        for start, policies in starts.items():
            ax.axvline(start, color="#555555", ls="--", lw=1)
            what = text("starts", lang, policy=policies[0]) if len(policies) == 1 else \
                text("n_policies", lang, n=len(policies))
            ax.text(start, 0.99, " " + what, transform=ax.get_xaxis_transform(),
                    fontsize=7, va="top", ha="left", color="#333333")
        ax.set_title(indicator_label(key, lang))
        ax.set_ylabel("%")
        ax.grid(alpha=0.3)
        locator = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, **ZH_DATES) if lang == "zh"
                                     else mdates.ConciseDateFormatter(locator))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles.append(plt.Rectangle((0, 0), 1, 1, color="#222222", alpha=0.15))
    labels.append(text("band_mc", lang, scenarios=" & ".join(banded)))
    if table["prediction_low"].notna().any():
        handles.append(plt.Line2D([], [], color="#222222", ls=":", lw=0.7))
        labels.append(text("band_pred", lang, scenarios=" & ".join(banded)))
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, -0.01))
    rows = -(-len(labels) // 3)
    fig.suptitle(text("monthly_title", lang))
    fig.tight_layout(rect=(0, 0.035 * rows, 1, 1))
    return fig, table
