"""The medical community's books by year (capitation runs): budget against fund spending in and
outside the county, and the surplus (community.* indicators of summary.csv)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..labels import COMMUNITY_LABELS, text, word
from .data import Results, community_books
from .style import A4_WIDTH

MILLION = 1e6


def community_figure(res: Results, lang: str) -> tuple[plt.Figure, pd.DataFrame] | None:
    books = community_books(res.summary)
    if books.empty:
        return None
    panels = list(dict.fromkeys(zip(books["scenario"], books["community"])))
    cols = min(2, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(A4_WIDTH, 3.4 * rows + 0.6), squeeze=False)
    for ax, (scenario, community) in zip(axes.flat, panels):
        b = books[(books["scenario"] == scenario) & (books["community"] == community)]
        wide = b.pivot_table(index="period", columns="measure", values="mean", aggfunc="first")
        low = b.pivot_table(index="period", columns="measure", values="ci_low", aggfunc="first")
        high = b.pivot_table(index="period", columns="measure", values="ci_high", aggfunc="first")
        x = np.arange(len(wide.index))
        inside = wide.get("spending_in_county", pd.Series(0.0, index=wide.index)) / MILLION
        outside = wide.get("spending_outside", pd.Series(0.0, index=wide.index)) / MILLION
        ax.bar(x, inside, 0.5, color="#636363", label=word(COMMUNITY_LABELS, "spending_in_county", lang))
        ax.bar(x, outside, 0.5, bottom=inside, color="#bdbdbd",
               label=word(COMMUNITY_LABELS, "spending_outside", lang))
        if "budget" in wide:
            ax.errorbar(x, wide["budget"] / MILLION, xerr=0.35, fmt="none", ecolor="black", elinewidth=2.2,
                        label=word(COMMUNITY_LABELS, "budget", lang))
        if "surplus" in wide:
            for xi, top, s, lo, hi in zip(x, (inside + outside).to_numpy(), wide["surplus"] / MILLION,
                                          low["surplus"] / MILLION, high["surplus"] / MILLION):
                interval = f" [{lo:+,.1f}, {hi:+,.1f}]" if np.isfinite(lo) and np.isfinite(hi) else ""
                ax.annotate(f"{word(COMMUNITY_LABELS, 'surplus', lang).split(' (')[0].split('（')[0]} "
                            f"{s:+,.1f}{interval}", (xi, max(top, top + s)), textcoords="offset points",
                            xytext=(0, 6), ha="center", fontsize=7)
        ax.set_xticks(x, list(wide.index))
        ax.set_ylabel(text("yuan_per_year", lang))
        ax.set_title(text("community_panel", lang, scenario=scenario, community=community), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=0.2)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 0.03))
    fig.suptitle(text("community_title", lang))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.text(0.5, 0.0, text("community_note", lang), ha="center", va="bottom", fontsize=7, color="#444444")
    return fig, books
