"""Figures: each kind of results folder gets its figures, valid images whose plotted data are the
results tables'; Chinese labels with and without a CJK font; `gradsim plot` and `gradsim compare`."""
from __future__ import annotations

import json
import shutil
import warnings
import xml.etree.ElementTree as ET

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from conftest import FIGURES, grid_target
from sim.cli import main
from sim.figures import data, make_figures, style
from sim.figures.changes import forest_panel
from sim.figures.data import Results
from sim.labels import TIER_COLOURS


@pytest.mark.parametrize("kind", list(FIGURES))
def test_each_kind_of_folder_gets_its_figures_as_valid_images(plotted, kind):
    figures = plotted[kind] / "figures"
    for name in FIGURES[kind]:
        png = mpimg.imread(figures / f"{name}.png")
        height, width = png.shape[:2]
        assert 900 <= width <= 4000 and 400 <= height <= 4000, (name, png.shape)
        assert png[..., :3].std() > 0.05                                   # not a blank page
        root = ET.parse(figures / f"{name}.svg").getroot()
        assert root.tag.endswith("svg")
    if kind in ("grid", "sobol"):
        assert not (figures / "shares_by_tier.png").exists()
    if kind == "scenarios":
        assert not (figures / "community_budget.png").exists()


def test_tier_shares_are_the_summary_values_and_the_bars_draw_them(results_folders):
    res = Results.open(results_folders["scenarios"])
    tiers = [t["name"] for t in res.tiers]
    table = data.tier_shares(res.summary, tiers, res.final_period)
    s = res.summary[(res.summary.period == res.final_period) & (res.summary["sample"] == 0)].set_index(
        ["scenario", "indicator"])
    for r in table.itertuples():
        row = s.loc[(r.scenario, f"{r.care_type}_share_{r.tier}")]
        assert (r.mean, r.ci_low, r.prediction_high) == (row["mean"], row["ci_low"], row["prediction_high"])
    assert table.groupby(["scenario", "care_type"])["mean"].sum().to_numpy() == pytest.approx(1.0)
    from sim.figures.shares import shares_figure
    fig, _ = shares_figure(res, "en")
    visits = fig.axes[0]
    bars = [p for p in visits.patches if isinstance(p, plt.Rectangle) and p.get_height() > 0.5]
    village = [p.get_width() for p in bars if np.allclose(p.get_facecolor()[:3],
                                                           plt.matplotlib.colors.to_rgb(TIER_COLOURS["village"]))]
    expected = table[(table.care_type == "outpatient") & (table.tier == "village")].set_index("scenario")["mean"]
    assert sorted(village) == pytest.approx(sorted(expected * 100))
    plt.close(fig)


def test_monthly_values_pool_to_the_indicators_and_the_lines_draw_their_means(results_folders):
    res = Results.open(results_folders["scenarios"])
    monthly = data.monthly_values(res.timeseries, res.tiers)
    ts = res.timeseries
    run = ts[(ts.run_id == ts.run_id.iloc[0]) & (ts.care_type == "outpatient")]
    march = run[pd.to_datetime(run.date).dt.month == 3]
    primary = march[march.tier.isin(["village", "township"])]["served"].sum() / march["served"].sum()
    got = monthly[(monthly.run_id == run.run_id.iloc[0]) & (monthly.period == "2022-03")
                  & (monthly.indicator == "primary_care_share")]["value"]
    assert got.item() == pytest.approx(primary)
    # pooled over the horizon the monthly counts give each run's indicator of the whole period
    inp = ts[ts.care_type == "inpatient"]
    out = inp[inp.tier.isin(["in_province", "out_of_province"])].groupby("run_id")["served"].sum() / \
        inp.groupby("run_id")["served"].sum()
    ind = pd.read_parquet(res.folder / "indicators.parquet")
    want = ind[(ind.period == "all") & (ind.indicator == "out_of_county_admission_rate")].set_index("run_id")["value"]
    assert out.sort_index().to_numpy() == pytest.approx(want.sort_index().to_numpy())
    from sim.figures.timeseries import monthly_figure
    fig, table = monthly_figure(res, "en")
    line = next(x for x in fig.axes[0].get_lines() if x.get_label() == "baseline")
    expected = table[(table.scenario == "baseline") & (table.indicator == "out_of_county_admission_rate")]
    assert line.get_ydata() == pytest.approx(expected.sort_values("month")["mean"].to_numpy() * 100)
    assert any(t.get_text().strip() == "send_down_physicians starts" for t in fig.axes[0].texts)
    plt.close(fig)


def test_changes_are_the_paired_differences_of_the_summary(results_folders):
    res = Results.open(results_folders["scenarios"])
    keys = ["primary_care_share", "oop_per_capita", "mean_wait_days_county"]
    table = data.changes(res.summary, res.baseline, res.final_period, keys)
    s = res.summary[(res.summary.period == res.final_period) & (res.summary["sample"] == 0)].set_index(
        ["scenario", "indicator"])
    assert len(table) == 2 * len(keys)
    for r in table.itertuples():
        row = s.loc[(r.scenario, r.indicator)]
        assert (r.diff_mean, r.diff_ci_low, r.diff_prediction_low) == (
            row["diff_mean"], row["diff_ci_low"], row["diff_prediction_low"])
        assert r.negligible == (max(abs(r.diff_mean), abs(r.diff_ci_low), abs(r.diff_ci_high)) <= r.resolution)


def _tiny(diff: float) -> pd.DataFrame:
    return pd.DataFrame({"scenario": ["a", "b"], "indicator": "mean_wait_days_county", "diff_mean": [diff, -diff],
                         "diff_ci_low": [diff / 2, -diff * 1.5], "diff_ci_high": [diff * 1.5, -diff / 2],
                         "diff_prediction_low": np.nan, "diff_prediction_high": np.nan, "baseline": 0.2,
                         "resolution": 0.01})


@pytest.mark.parametrize("diff, drawn", [(1e-5, False), (0.0066, False), (0.0067, True), (0.5, True)])
def test_a_change_below_the_resolution_is_said_not_drawn(diff, drawn):
    d = _tiny(diff)
    d["negligible"] = d[["diff_mean", "diff_ci_low", "diff_ci_high"]].abs().max(axis=1) <= d["resolution"]
    fig, ax = plt.subplots()
    forest_panel(ax, d, ["a", "b"], "mean_wait_days_county", "en")
    words = " ".join(t.get_text() for t in ax.texts)
    assert ("no change larger than 0.01 days" in words) == (not drawn)
    assert bool(ax.collections) == drawn
    fig.canvas.draw()
    assert ax.xaxis.get_major_formatter().get_offset() == ""                 # never an offset axis
    plt.close(fig)


def test_outflow_breakdowns_add_up_to_the_out_of_county_share(results_folders):
    res = Results.open(results_folders["scenarios"])
    period = res.final_period
    totals = {by: data.outflow_breakdown(res.outflow, period, by).groupby(["scenario", "care_type"])["episodes"].sum()
              for by in ("severity", "path", "destination")}
    assert totals["severity"].to_numpy() == pytest.approx(totals["path"].to_numpy())
    assert totals["severity"].to_numpy() == pytest.approx(totals["destination"].to_numpy())
    o = res.outflow[(res.outflow.period == period) & (res.outflow.care_type == "inpatient")]
    share = o.groupby("scenario")["share"].sum()
    s = res.summary[(res.summary.period == period) & (res.summary.indicator == "out_of_county_admission_rate")]
    assert share.reindex(s.scenario).to_numpy() == pytest.approx(s["mean"].to_numpy(), rel=1e-5)   # csv: 6 digits
    filed = data.outflow_breakdown(res.outflow, period, "path")
    every = res.outflow[(res.outflow.period == period) & (res.outflow["sample"] == 0)]["episodes"].sum()
    assert "filed" in set(filed["path"]) and filed["episodes"].sum() == pytest.approx(every)


def test_hospital_occupancy_pools_to_the_tier_indicator(results_folders):
    res = Results.open(results_folders["scenarios"])
    load = data.hospital_load(res.facilities, "all")
    fac = res.facilities[res.facilities.tier == "county"]
    assert set(load["label"]) == set(fac["label"])
    ind = pd.read_parquet(res.folder / "indicators.parquet")
    occ = ind[(ind.period == "all") & (ind.indicator == "bed_occupancy_county")]
    bed_days = fac["beds"] * pd.PeriodIndex(fac["month"], freq="M").days_in_month
    pooled = (fac["bed_occupancy"] * bed_days).groupby(fac["run_id"]).sum() / bed_days.groupby(fac["run_id"]).sum()
    assert pooled.reindex(occ.run_id).to_numpy() == pytest.approx(occ["value"].to_numpy())
    one = fac[(fac.scenario == "baseline") & (fac.label == "county_third")]
    per_run = (one.bed_occupancy * one.beds).groupby(one.run_id).sum() / one.beds.groupby(one.run_id).sum()
    row = load[(load.scenario == "baseline") & (load.label == "county_third") & (load.measure == "bed_occupancy")]
    assert row["mean"].item() == pytest.approx(per_run.mean(), rel=0.02)     # months weigh by their days


def test_community_books_are_the_summary_rows_and_add_up(results_folders):
    res = Results.open(results_folders["capitation"])
    books = data.community_books(res.summary)
    assert set(books["scenario"]) == {"capitation"} and len(set(books["period"])) >= 2
    wide = books.pivot_table(index=["scenario", "community", "period"], columns="measure", values="mean")
    assert wide["budget"].to_numpy() == pytest.approx(
        (wide["spending_in_county"] + wide["spending_outside"] + wide["surplus"]).to_numpy(), rel=1e-5)  # csv: 6 digits
    s = res.summary.set_index(["scenario", "period", "indicator"])
    for r in books.itertuples():
        assert r.mean == s.loc[(r.scenario, r.period, f"community.{r.community}.{r.measure}"), "mean"]


def test_grid_surface_is_the_summary_by_swept_values_with_the_target_contour(plotted):
    res = Results.open(plotted["grid"])
    surface = data.grid_surface(res.summary, res.samples, "in_county_admission_rate", "baseline", "all")
    assert surface.shape == (3, 3)
    merged = res.summary[(res.summary.indicator == "in_county_admission_rate") & (res.summary.period == "all")].merge(
        res.samples, on="sample")
    names = data.swept_parameters(res.samples)
    for _, row in merged.iterrows():
        assert surface.loc[row[names[1]], row[names[0]]] == row["mean"]
    target = grid_target(plotted["grid"])
    assert surface.to_numpy().min() < target[1] < surface.to_numpy().max()
    from sim.figures.sweeps import heatmap_figure
    fig, tables = heatmap_figure(res, "en", target)
    ax = fig.axes[0]
    assert np.asarray(ax.get_images()[0].get_array()).ravel() == pytest.approx(surface.to_numpy().ravel() * 100)
    from matplotlib.contour import ContourSet
    assert any(isinstance(c, ContourSet) for c in ax.collections)
    plt.close(fig)


def test_sensitivity_bars_are_the_indices_of_sensitivity_csv(plotted):
    res = Results.open(plotted["sobol"])
    sens = pd.read_csv(res.folder / "sensitivity.csv", dtype={"period": str})
    bars = data.sensitivity_bars(sens, "primary_care_share", "baseline", "level", "all", "ST")
    want = sens[(sens.indicator == "primary_care_share") & (sens["index"] == "ST") & (sens.period == "all")
                & (sens.scenario == "baseline") & (sens.quantity == "level")]
    assert len(bars) == len(want) == 2
    assert sorted(bars["value"]) == pytest.approx(sorted(want["value"]))
    assert list(bars["value"].abs()) == sorted(bars["value"].abs(), reverse=True)


def test_village_rates_and_facility_volumes_come_from_the_place_tables(results_folders):
    res = Results.open(results_folders["scenarios"])
    rates = data.village_rates(res.villages, res.tiers, "all")
    v = res.villages[(res.villages.period == "all") & (res.villages.scenario == "down")]
    one = v[v.village == v.village.iloc[0]]
    out = one[one.care_type == "outpatient"]
    per_run = out[out.tier.isin(["village", "township"])].groupby("run_id")["episodes"].sum() / \
        out.groupby("run_id")["episodes"].sum()
    pooled = out[out.tier.isin(["village", "township"])]["episodes"].sum() / out["episodes"].sum()
    got = rates[(rates.scenario == "down") & (rates.village == v.village.iloc[0])]["primary_care_share"].item()
    assert got == pytest.approx(pooled) and per_run.min() <= got <= per_run.max()
    vol = data.facility_volume(res.facilities, "all")
    assert vol["x_km"].notna().all() and (vol["volume"] > 0).any()
    assert set(vol["tier"]) <= {"village", "township", "county"}


def _no_missing_glyphs(fn):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r".*Glyph .* missing from font")
        return fn()


@pytest.mark.skipif(style.find_cjk_font() is None, reason="no CJK font installed (Debian: apt-get install "
                                                            "fonts-noto-cjk)")
def test_chinese_figures_have_every_glyph(results_folders, tmp_path):
    folder = tmp_path / "cap"
    shutil.copytree(results_folders["capitation"], folder)
    from sim.report import plot_results
    written = _no_missing_glyphs(lambda: plot_results(folder, "zh", ("png",)))
    assert (folder / "figures" / "community_budget.png").is_file() and len(written) >= 9
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "基层诊疗量占比" in report and "运行内容" in report and "注意事项" in report
    from sim.figures.shares import shares_figure
    with style.drawing("zh"):
        fig, _ = shares_figure(Results.open(folder), "zh")
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert "村卫生室" in labels and "县外省内" in labels and "省外" in labels
        _no_missing_glyphs(lambda: fig.savefig(tmp_path / "zh.png"))
    plt.close(fig)


def test_without_a_cjk_font_chinese_falls_back_to_english_with_a_message(results_folders, tmp_path, monkeypatch,
                                                                         capsys):
    folder = tmp_path / "grid"
    shutil.copytree(results_folders["scenarios"], folder)
    monkeypatch.setattr(style, "find_cjk_font", lambda: None)
    figures, lang = _no_missing_glyphs(lambda: make_figures(folder, "zh"))
    assert lang == "en" and len(figures) == len(FIGURES["scenarios"])
    assert "fonts-noto-cjk" in capsys.readouterr().err
    assert figures[0].caption.startswith("Share of residents")


def test_plot_command_formats_target_and_bad_options(plotted, capsys, tmp_path):
    folder = tmp_path / "grid"
    shutil.copytree(plotted["grid"], folder)
    indicator, value = grid_target(folder)
    assert main(["plot", str(folder), "--format", "svg", "--target", f"{indicator}={value}"]) == 0
    assert (folder / "figures" / "grid_heatmap.svg").is_file()
    assert main(["plot", str(folder), "--format", "gif"]) == 2
    assert "--format gif: allowed are png, svg" in capsys.readouterr().err
    assert main(["plot", str(folder), "--target", "in_county_admission_rate"]) == 2
    assert "INDICATOR=VALUE" in capsys.readouterr().err
    assert main(["plot", str(folder), "--target", "in_county_admision_rate=0.9"]) == 2
    assert "--target in_county_admision_rate: no such indicator" in capsys.readouterr().err


def test_compare_puts_two_folders_side_by_side(results_folders, tmp_path, capsys):
    a = results_folders["scenarios"]
    b = tmp_path / "b"
    shutil.copytree(a, b)
    summary = pd.read_csv(b / "summary.csv", dtype={"period": str})
    summary.loc[summary.indicator == "primary_care_share", ["mean", "ci_low", "ci_high"]] += 0.02
    summary.to_csv(b / "summary.csv", index=False)
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv", dtype={"period": str})
    moved = table[table.indicator == "primary_care_share"]
    assert moved["diff_mean"].to_numpy() == pytest.approx(0.02)
    assert (table[table.indicator != "primary_care_share"]["diff_mean"].dropna().abs() < 1e-12).all()
    assert (tmp_path / "cmp" / "compare_where.png").is_file() and (tmp_path / "cmp" / "compare.md").is_file()
    other = tmp_path / "other"
    shutil.copytree(a, other)
    m = json.loads((other / "manifest.json").read_text())
    for s in m["scenarios"].values():
        s["config"]["name"] = "another_county"
    (other / "manifest.json").write_text(json.dumps(m))
    capsys.readouterr()
    assert main(["compare", str(a), str(other)]) == 2
    assert "different counties" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path)]) == 2
    assert "not a finished results folder" in capsys.readouterr().err
