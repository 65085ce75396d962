"""A map of the county: facilities at their positions sized by volume (one colour per tier),
villages coloured by primary-care share and by out-of-county admission rate; the second column
shows a scenario's difference from the baseline."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm

from ..labels import TIER_COLOURS, indicator_label, text, tier_label
from .data import Results, facility_volume, village_rates
from .style import A4_WIDTH

MEASURES = ("primary_care_share", "out_of_county_admission_rate")


def map_scenario(res: Results) -> str | None:
    """The scenario shown against the baseline: the first other scenario."""
    return next((s for s in res.scenarios if s != res.baseline), None)


def _cmap(name: str):
    """A colour map that shows a village without episodes (no rate) in light grey."""
    return plt.get_cmap(name).with_extremes(bad="#dddddd")


def _facilities(ax, vol: pd.DataFrame, lang: str, biggest: float) -> None:
    for tier in [t for t in TIER_COLOURS if t in set(vol["tier"])]:
        d = vol[vol["tier"] == tier]
        ax.scatter(d["x_km"], d["y_km"], s=30 + 600 * d["volume"] / biggest, facecolors="none",
                   edgecolors=TIER_COLOURS[tier], linewidths=0.6 if tier == "village" else 1.4,
                   label=tier_label(tier, lang), zorder=3)


def map_figure(res: Results, lang: str) -> tuple[plt.Figure, dict[str, pd.DataFrame]]:
    period = res.final_period
    villages = village_rates(res.villages, res.tiers, period)
    volume = facility_volume(res.facilities, period)
    other = map_scenario(res)
    radius = res.manifest["scenarios"][res.baseline]["config"].get("geography", {}).get("radius_km")
    cols = 2 if other else 1
    fig, axes = plt.subplots(2, cols, figsize=(A4_WIDTH * (1.1 if cols == 2 else 0.6), 8.6), squeeze=False)
    base_v = villages[villages["scenario"] == res.baseline].set_index("village")
    base_f = volume[volume["scenario"] == res.baseline]
    biggest = float(volume["volume"].max() or 1.0)
    size = 14 + 110 * base_v["residents"] / base_v["residents"].max()
    for r, measure in enumerate(MEASURES):
        ax = axes[r, 0]
        sc = ax.scatter(base_v["x_km"], base_v["y_km"], c=base_v[measure] * 100, s=size, cmap=_cmap("YlGnBu" if r == 0
                        else "OrRd"), edgecolors="#555555", linewidths=0.3, zorder=2, plotnonfinite=True)
        fig.colorbar(sc, ax=ax, shrink=0.8).set_label(f"{indicator_label(measure, lang)} (%)")
        _facilities(ax, base_f, lang, biggest)
        ax.set_title(text("map_baseline", lang, scenario=res.baseline, measure=indicator_label(measure, lang)))
        if other:
            ax2 = axes[r, 1]
            o = villages[villages["scenario"] == other].set_index("village").reindex(base_v.index)
            diff = (o[measure] - base_v[measure]) * 100
            lim = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 0.0
            lim = lim or 1.0
            sc2 = ax2.scatter(base_v["x_km"], base_v["y_km"], c=diff, s=size, cmap=_cmap("RdBu_r"), plotnonfinite=True,
                              norm=TwoSlopeNorm(0, -lim, lim), edgecolors="#555555", linewidths=0.3, zorder=2)
            fig.colorbar(sc2, ax=ax2, shrink=0.8).set_label(text("difference_pp", lang))
            _facilities(ax2, volume[volume["scenario"] == other], lang, biggest)
            ax2.set_title(text("map_difference", lang, scenario=other, baseline=res.baseline))
    for ax in axes.flat:
        if radius:
            ax.add_patch(plt.Circle((0, 0), radius, fill=False, ls=":", color="#888888"))
        ax.set_aspect("equal")
        ax.set_xlabel(text("km", lang))
        ax.set_ylabel(text("km", lang))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], ls="", marker="o", color="#bbbbbb", markeredgecolor="#555555"))
    labels.append(text("villages_dots", lang))
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, 0.0),
               title=text("facility_size", lang), title_fontsize=7)
    fig.suptitle(text("map_title", lang, period=period))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig, {"villages": villages, "facilities": volume}
