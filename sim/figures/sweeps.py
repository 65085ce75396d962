"""Sweeps: a heat map of an indicator over two swept parameters with the contour of a target
(grids), and sensitivity indices with their intervals as bars (Sobol, Morris, LHS)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..labels import HEADLINE_INDICATORS, SENSITIVITY_LABELS, indicator_label, indicator_unit, text, word
from .data import Results, grid_surface, sensitivity_bars, swept_parameters
from .style import A4_WIDTH

INDICES = {"sobol": ["ST", "S1"], "morris": ["mu_star"], "lhs": ["PRCC"]}


def parse_target(target: str | None) -> tuple[str, float] | None:
    """'in_county_admission_rate=0.9' -> (indicator, value); ValueError naming what is allowed."""
    if not target:
        return None
    key, sep, value = target.partition("=")
    try:
        return key.strip(), float(value)
    except ValueError:
        raise ValueError(f"--target must be INDICATOR=VALUE, e.g. in_county_admission_rate=0.9 (got '{target}')") \
            from None


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float, np.floating)) else str(v)


def heatmap_figure(res: Results, lang: str, target: tuple[str, float] | None
                   ) -> tuple[plt.Figure, dict[str, pd.DataFrame]]:
    period = "all"
    names = swept_parameters(res.samples)
    keys = list(dict.fromkeys(([target[0]] if target else []) + HEADLINE_INDICATORS))
    keys = [k for k in keys if k in set(res.summary["indicator"])][:4]
    scenario = res.baseline
    cols = 2
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(A4_WIDTH * 1.2, 3.6 * rows + 0.8), squeeze=False)
    tables = {}
    for ax, key in zip(axes.flat, keys):
        surface = grid_surface(res.summary, res.samples, key, scenario, period)
        tables[key] = surface
        share = indicator_unit(key) == "share"
        k = 100.0 if share else 1.0
        z = surface.to_numpy(float) * k
        im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis")
        for (i, j), v in np.ndenumerate(z):
            ax.text(j, i, f"{v:.1f}" if share else f"{v:,.3g}", ha="center", va="center", fontsize=7,
                    color="white" if v < np.nanmean(z) else "black")
        ax.set_xticks(range(surface.shape[1]), [_fmt(c) for c in surface.columns])
        ax.set_yticks(range(surface.shape[0]), [_fmt(c) for c in surface.index])
        ax.set_xlabel(names[0], fontsize=7)
        ax.set_ylabel(names[1] if len(names) > 1 else "", fontsize=7)
        cb = fig.colorbar(im, ax=ax, shrink=0.85)
        cb.set_label("%" if share else indicator_unit(key))
        ax.set_title(indicator_label(key, lang))
        if target and key == target[0] and min(z.shape) >= 2:
            level = target[1] * k
            if np.nanmin(z) <= level <= np.nanmax(z):
                cs = ax.contour(z, levels=[level], colors="white", linewidths=2.2, linestyles="--")
                ax.clabel(cs, fmt=lambda v: f"{v:g}", fontsize=8)
            ax.set_title(indicator_label(key, lang) + "\n" + text("target_contour", lang, value=f"{level:g}"
                                                                  + ("%" if share else "")))
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    note = text("averaged_over", lang, names=", ".join(names[2:])) if len(names) > 2 else ""
    fig.suptitle(text("heatmap_title", lang, scenario=scenario, period=text("all_periods", lang))
                 + (f"\n{note}" if note else ""))
    fig.tight_layout()
    return fig, tables


def sensitivity_figures(res: Results, lang: str, sensitivity: pd.DataFrame
                        ) -> list[tuple[str, plt.Figure, pd.DataFrame]]:
    """One figure per index of the design: a panel per headline indicator with bars and intervals."""
    out = []
    period = "all"
    others = [s for s in res.scenarios if s != res.baseline]
    scenario, quantity = (others[0], "change") if others and (sensitivity["quantity"] == "change").any() \
        else (res.baseline, "level")
    for index in INDICES.get(res.design, ["PRCC"]):
        present = set(sensitivity.loc[(sensitivity["index"] == index) & (sensitivity["scenario"] == scenario)
                                      & (sensitivity["quantity"] == quantity), "indicator"])
        keys = [k for k in HEADLINE_INDICATORS if k in present] or sorted(present)[:4]
        if not keys:
            continue
        cols = 2
        rows = -(-len(keys) // cols)
        n_par = sensitivity["parameter"].nunique()
        fig, axes = plt.subplots(rows, cols, figsize=(A4_WIDTH * 1.2, rows * (0.8 + 0.3 * n_par) + 1.0),
                                 squeeze=False)
        table = []
        for ax, key in zip(axes.flat, keys):
            t = sensitivity_bars(sensitivity, key, scenario, quantity, period, index)
            table.append(t.assign(indicator=key))
            y = np.arange(len(t))[::-1]
            err = np.abs(np.vstack([t["value"] - t["ci_low"], t["ci_high"] - t["value"]]))
            ax.barh(y, t["value"], color=["#2471a3" if v >= 0 else "#c0392b" for v in t["value"]], height=0.6)
            ax.errorbar(t["value"], y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=2, elinewidth=1)
            ax.set_yticks(y, [p.replace("choice.wtp.", "wtp.").replace("policy:", "") for p in t["parameter"]],
                          fontsize=7)
            ax.axvline(0, color="black", lw=0.8)
            ax.set_title(indicator_label(key, lang))
            ax.grid(axis="x", alpha=0.3)
            ax.set_xlabel(word(SENSITIVITY_LABELS, index, lang))
        for ax in list(axes.flat)[len(keys):]:
            ax.axis("off")
        fig.suptitle(text("sensitivity_title", lang, quantity=text(quantity, lang), scenario=scenario,
                          period=text("all_periods", lang),
                          method=word(SENSITIVITY_LABELS, index, lang)))
        fig.tight_layout()
        out.append((index, fig, pd.concat(table, ignore_index=True)))
    return out
