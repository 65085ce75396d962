"""Weekly indicator series of a running model and the dashboard's charts of them.

A week's numbers are the contract indicators over its seven days (sim.indicators.indicators_over),
so a chart point means what the same indicator means in summary.csv. Finished weeks never change
and are kept on the model.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from ..indicators import bed_tiers as indicator_bed_tiers, indicators_over
from ..labels import TIER_COLOURS, indicator_label, text, tier_label, unit_label
from .style import render_png

WEEK = 7
RATE_KEYS = ("out_of_county_admission_rate", "out_of_province_admission_rate")
RATE_COLOURS = {"out_of_county_admission_rate": TIER_COLOURS["in_province"],
                "out_of_province_admission_rate": TIER_COLOURS["out_of_province"]}


def weekly_indicators(model) -> pd.DataFrame:
    """One row per finished week of the horizon (index: the week's first date), every indicator."""
    cache: list[dict] = model.__dict__.setdefault("_weekly_rows", [])
    done = (model.day - model.warmup_days) // WEEK
    for k in range(len(cache), done):
        first = model.warmup_days + k * WEEK
        cache.append(indicators_over(model, np.arange(first, first + WEEK)))
    dates = [model.start_date + dt.timedelta(days=model.warmup_days + k * WEEK) for k in range(done)]
    return pd.DataFrame(cache[:done], index=pd.DatetimeIndex(dates, name="week"))


def bed_tiers(model) -> list[str]:
    """In-county tiers with beds (occupancy and waits are shown for these)."""
    return [t for t in indicator_bed_tiers(model) if model.tier_in_county[model.tier_names.index(t)]]


def _axes_style(ax, percent: bool) -> None:
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    if percent:
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0f}%")
    locator = mdates.AutoDateLocator(maxticks=5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(labelsize=8)


def _lines(ax, weeks: pd.DataFrame, series: list[tuple[str, str, str]], percent: bool) -> None:
    """series: (column, label, colour)."""
    k = 100.0 if percent else 1.0
    for column, label, colour in series:
        if column in weeks:
            ax.plot(weeks.index, weeks[column] * k, label=label, color=colour, lw=1.5,
                    marker="o" if len(weeks) < 6 else None, ms=3)
    _axes_style(ax, percent)


def charts_png(weeks: pd.DataFrame, tiers: list[str], beds: list[str], lang: str) -> bytes:
    """Four panels per finished week: visit shares by tier, admissions outside the county, bed
    occupancy and mean wait of the tiers with beds."""
    return render_png(lambda: _charts(weeks, tiers, beds, lang), lang)


def _charts(weeks: pd.DataFrame, tiers: list[str], beds: list[str], lang: str) -> Figure:
    fig = Figure(figsize=(5.6, 8.6))
    fig.subplots_adjust(left=0.1, right=0.97, top=0.96, bottom=0.04, hspace=0.45)
    shares, rates, occ, wait = fig.subplots(4, 1, sharex=True)
    colour = {t: TIER_COLOURS.get(t, "grey") for t in tiers}
    _lines(shares, weeks, [(f"outpatient_share_{t}", tier_label(t, lang), colour[t]) for t in tiers], True)
    _lines(rates, weeks, [(k, indicator_label(k, lang), RATE_COLOURS[k]) for k in RATE_KEYS], True)
    _lines(occ, weeks, [(f"bed_occupancy_{t}", tier_label(t, lang), colour[t]) for t in beds], True)
    _lines(wait, weeks, [(f"mean_wait_days_{t}", tier_label(t, lang), colour[t]) for t in beds], False)
    shares.set_title(text("dash_shares", lang), fontsize=10)
    rates.set_title(text("dash_rates", lang), fontsize=10)
    occ.set_title(text("dash_occupancy", lang), fontsize=10)
    wait.set_title(f"{text('dash_waits', lang)} ({unit_label('days', lang)})", fontsize=10)
    for ax in (rates, occ):
        ax.set_ylim(bottom=0)
    waits = [f"mean_wait_days_{t}" for t in beds if f"mean_wait_days_{t}" in weeks]
    wait.set_ylim(0, max(0.5, 1.1 * float(np.nanmax(weeks[waits].to_numpy()))) if len(weeks) and waits else 0.5)
    shares.legend(fontsize=7, loc="center", frameon=False, ncol=3)
    rates.legend(fontsize=7, loc="lower left", frameon=False)
    occ.legend(fontsize=7, loc="lower left", frameon=False)
    return fig
