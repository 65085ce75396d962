"""The county map: facilities at their positions sized by today's load, villages coloured by where
their residents got care since the horizon began.

Load and village shares come from the model's own records (counts at full-population scale, as
everywhere): today's load of a facility is its outpatient visits served today plus its occupied beds
(background patients of a reduced-scale run included). A village's primary-care share and
out-of-county admission rate are those of sim.indicators, restricted to its residents
(sim.places.village_table counts the same episodes).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
from matplotlib.figure import Figure

from ..labels import TIER_COLOURS, indicator_label, text, tier_label
from .style import render_png

VILLAGE_MEASURES = ("primary_care_share", "out_of_county_admission_rate")


def facility_load(model) -> np.ndarray:
    """Per facility: today's visits served plus occupied beds, at full-population scale (0 before day 1)."""
    if model.day == 0:
        return np.zeros(len(model.facilities))
    d = model.day - 1
    visits = model.records["served"][d, :, 0] / model.scale
    beds = model.records["bed_days"][d, :, 1]
    return visits + beds


def village_measure(model, measure: str) -> np.ndarray:
    """Per village of residence, since the horizon began: the primary-care share of visits or the
    out-of-county share of admissions (NaN where the village had none)."""
    if measure not in VILLAGE_MEASURES:
        raise ValueError(f"unknown village measure '{measure}'; allowed: {', '.join(VILLAGE_MEASURES)}")
    served = model.village_served.sum(axis=0)                # (V, tiers, care)
    if measure == "primary_care_share":
        part, total = served[:, model.tier_primary, 0].sum(axis=1), served[:, :, 0].sum(axis=1)
    else:
        part, total = served[:, ~model.tier_in_county, 1].sum(axis=1), served[:, :, 1].sum(axis=1)
    return np.divide(part, total, out=np.full(part.shape, np.nan), where=total > 0)


def map_png(model, measure: str, lang: str) -> bytes:
    return render_png(lambda: _map(model, measure, lang), lang)


def _map(model, measure: str, lang: str) -> Figure:
    fig = Figure(figsize=(5.6, 4.8))
    fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.08)
    ax = fig.subplots()
    county, fac = model.county, model.facilities
    values = village_measure(model, measure) * 100
    vx, vy = county.village_position[:, 0], county.village_position[:, 1]
    shown = np.isfinite(values)
    ax.scatter(vx[~shown], vy[~shown], s=40, marker="s", facecolor="none", edgecolor="#bbbbbb", lw=0.6)
    dots = ax.scatter(vx[shown], vy[shown], c=values[shown], s=40, marker="s", cmap="viridis",
                      vmin=np.nanmin(values) if shown.any() else 0, vmax=np.nanmax(values) if shown.any() else 100)
    bar = fig.colorbar(dots, ax=ax, shrink=0.7, pad=0.01)
    bar.set_label(f"{indicator_label(measure, lang)} (%)", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    load = facility_load(model)
    inside = np.isfinite(fac.position).all(axis=1)
    peak = max(float(load[inside].max()) if inside.any() else 0.0, 1.0)
    for i, tier in enumerate(model.tier_names):
        here = inside & (fac.tier == i)
        if not here.any():
            continue
        ax.scatter(fac.position[here, 0], fac.position[here, 1], s=8 + 600 * load[here] / peak,
                   color=TIER_COLOURS.get(tier, "grey"), alpha=0.75, edgecolor="white", lw=0.5,
                   label=tier_label(tier, lang))
    ax.set_aspect("equal")
    ax.set_xlabel(text("km", lang), fontsize=7)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper left", frameon=False, markerscale=0.5,
              title=text("dash_load", lang), title_fontsize=7)
    ax.set_title(f"{text('dash_map', lang)} · {model.date - dt.timedelta(days=1):%Y-%m-%d}", fontsize=10)
    return fig
