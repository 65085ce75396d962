"""`gradsim compare DIR_A DIR_B`: two results folders of the same county side by side (e.g. two
versions of a reform, or before and after recalibration): the indicator table with differences
B - A (95% interval of two independent means) and forest plots of the differences."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .config import ConfigError
from .figures.changes import forest_panel
from .figures.data import Results, final_period, resolution
from .figures.style import A4_WIDTH, drawing, figure_lang, save
from .labels import INDICATOR_GROUPS, group_label, indicator_label, text
from .results import _atomic, atomic_write_text, check_results_folder


def open_pair(a: Path, b: Path) -> tuple[Results, Results]:
    """Both folders, or a ConfigError (exit 2) if either is not a results folder or they are of different counties."""
    for folder in (a, b):
        check_results_folder(folder)
    ra, rb = Results.open(a), Results.open(b)
    if ra.county != rb.county:
        raise ConfigError(f"the folders are of different counties ('{ra.county}' in {a}, '{rb.county}' in {b}); "
                          "compare needs two results folders of the same county", b, None)
    return ra, rb


def compare_table(sa: pd.DataFrame, sb: pd.DataFrame, period_a: str, period_b: str) -> pd.DataFrame:
    """Per scenario in both x indicator: mean and interval in A and B, and B - A with a 95% interval
    (the two folders' replications are independent: half-widths add in quadrature)."""
    keys = ["scenario", "indicator"]
    cols = keys + ["mean", "ci_low", "ci_high"]
    a = sa[(sa["period"].astype(str) == period_a) & (sa["sample"] == 0)][cols]
    b = sb[(sb["period"].astype(str) == period_b) & (sb["sample"] == 0)][cols]
    t = a.merge(b, on=keys, suffixes=("_a", "_b"))
    half = np.sqrt(((t["ci_high_a"] - t["ci_low_a"]) / 2) ** 2 + ((t["ci_high_b"] - t["ci_low_b"]) / 2) ** 2)
    t["diff_mean"] = t["mean_b"] - t["mean_a"]
    t["diff_ci_low"], t["diff_ci_high"] = t["diff_mean"] - half, t["diff_mean"] + half
    return t


def compare(a: str | Path, b: str | Path, out: str | Path | None = None, lang: str = "en",
            formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Write compare.csv, compare.md and the difference figures into `out` (default: B/compare_with_<A>)."""
    ra, rb = open_pair(Path(a), Path(b))
    out = Path(out) if out else rb.folder / f"compare_with_{ra.folder.name}"
    pa, pb = final_period(ra.summary), final_period(rb.summary)
    table = compare_table(ra.summary, rb.summary, pa, pb)
    if table.empty:
        raise ConfigError(f"the folders share no scenario and indicator to compare (scenarios: {ra.scenarios} and "
                          f"{rb.scenarios})", rb.folder, None)
    out.mkdir(parents=True, exist_ok=True)
    _atomic(out / "compare.csv", lambda tmp: table.to_csv(tmp, index=False, float_format="%.6g"))
    written = [out / "compare.csv"]
    lang = figure_lang(lang)
    scenarios = list(dict.fromkeys(table["scenario"]))
    name_a = f"A ({ra.manifest['experiment']}/{ra.folder.name})"
    name_b = f"B ({rb.manifest['experiment']}/{rb.folder.name})"
    period = pb if pa == pb else f"A {pa}, B {pb}"
    lines = [f"# {text('compare_heading', lang)}", "", f"- A: {ra.folder}", f"- B: {rb.folder}",
             f"- {text('period', lang)}: A {pa}, B {pb}", ""]
    with drawing(lang):
        for group, (_, _, indicators) in INDICATOR_GROUPS.items():
            keys = [k for k in indicators if k in set(table["indicator"])]
            if not keys:
                continue
            d = table[table["indicator"].isin(keys)].assign(diff_prediction_low=np.nan, diff_prediction_high=np.nan)
            d["baseline"] = d["mean_a"]
            d["resolution"] = [resolution(i, v) for i, v in zip(d["indicator"], d["mean_a"])]
            d["negligible"] = d[["diff_mean", "diff_ci_low", "diff_ci_high"]].abs().max(axis=1) <= d["resolution"]
            rows = -(-len(keys) // 2)
            fig, axes = plt.subplots(rows, 2, figsize=(A4_WIDTH, rows * (0.9 + 0.28 * len(scenarios)) + 0.9),
                                     squeeze=False)
            for ax, key in zip(axes.flat, keys):
                forest_panel(ax, d[d["indicator"] == key], scenarios, key, lang, "a_level")
            for ax in list(axes.flat)[len(keys):]:
                ax.axis("off")
            fig.suptitle(text("compare_title", lang, group=group_label(group, lang), a=name_a, b=name_b,
                              period=period), fontsize=11)
            fig.tight_layout()
            written += save(fig, out / f"compare_{group}", formats)
            lines += [f"## {group_label(group, lang)}", "", f"![{group}](compare_{group}.{formats[0]})", ""]
    lines += [f"| {text('scenario', lang)} | {text('indicator', lang)} | A | B | B − A [95%] |", "|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.scenario} | {indicator_label(r.indicator, lang)} | {r.mean_a:.6g} | {r.mean_b:.6g} | "
                     f"{r.diff_mean:+.4g} [{r.diff_ci_low:+.4g}, {r.diff_ci_high:+.4g}] |")
    atomic_write_text("\n".join(lines) + "\n", out / "compare.md")
    written.append(out / "compare.md")
    return written
