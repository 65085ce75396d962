"""Figures of a results folder, chosen by what it holds (RESULTS_DIR/figures/; docs/figures.md).

Scenario folders: tier shares, monthly headline indicators, changes from the baseline (one figure
per indicator group), outflow, beds and waits, the county map, and the medical community's books
in capitation runs. Sweep folders: the grid heat map, or the sensitivity indices of a Sobol,
Morris or LHS design. Every figure's data come from the table functions of sim.figures.data.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..labels import group_label, text
from .data import Results
from .style import drawing, figure_lang, save


@dataclass
class Figure:
    """A figure written: its files (one per format) and a one-line caption."""
    name: str
    files: list[Path]
    caption: str


def _sensitivity(res: Results) -> pd.DataFrame:
    path = res.folder / "sensitivity.csv"
    if not path.is_file():
        from ..analyze import analyze_folder
        return analyze_folder(res.folder)
    return pd.read_csv(path, dtype={"period": str})


def _drawers(res: Results, lang: str, target):
    """(name, caption key, caption fields, callable returning (figure, table) or None) in report order."""
    from .changes import changes_figures
    from .community import community_figure
    from .countymap import map_figure, map_scenario
    from .facilities import facilities_figure
    from .outflow import outflow_figure
    from .shares import shares_figure
    from .sweeps import heatmap_figure, sensitivity_figures
    if res.design == "grid":
        yield "grid_heatmap", "cap_heatmap", {}, lambda: heatmap_figure(res, lang, target)
        return
    if res.design:
        for index, fig, table in sensitivity_figures(res, lang, _sensitivity(res)):
            yield f"sensitivity_{index}", "cap_sensitivity", {"index": index}, lambda f=fig, t=table: (f, t)
        return
    yield "shares_by_tier", "cap_shares", {}, lambda: shares_figure(res, lang)
    yield "monthly_indicators", "cap_monthly", {}, lambda: monthly_figure_(res, lang)
    for group, fig, table in changes_figures(res, lang):
        yield f"changes_{group}", "cap_changes", {"group": group_label(group, lang)}, lambda f=fig, t=table: (f, t)
    if res.outflow is not None:
        yield "outflow", "cap_outflow", {}, lambda: outflow_figure(res, lang)
    if res.facilities is not None:
        yield "beds_and_waits", "cap_facilities", {}, lambda: facilities_figure(res, lang)
    if res.communities():
        yield "community_budget", "cap_community", {}, lambda: community_figure(res, lang)
    if res.villages is not None and res.facilities is not None:
        yield "county_map", "cap_map", {"scenario": map_scenario(res) or ""}, lambda: map_figure(res, lang)


def monthly_figure_(res: Results, lang: str):
    from .timeseries import monthly_figure
    return monthly_figure(res, lang)


def make_figures(folder: str | Path, lang: str = "en", formats: tuple[str, ...] = ("png",),
                 target: tuple[str, float] | None = None) -> tuple[list[Figure], str]:
    """Write the folder's figures into folder/figures; returns them and the language they are drawn in
    ('en' when Chinese was asked for but no CJK font is installed)."""
    res = Results.open(folder)
    lang = figure_lang(lang)
    out_dir = res.folder / "figures"
    out_dir.mkdir(exist_ok=True)
    written = []
    with drawing(lang):
        for name, caption, fields, draw in _drawers(res, lang, target):
            made = draw()
            if made is None:
                continue
            fig = made[0]
            files = save(fig, out_dir / name, formats)
            written.append(Figure(name, files, text(caption, lang, **fields)))
    return written, lang
