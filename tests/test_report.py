"""The report: what was run, the summary in words with intervals, the table, every figure with its
caption, caveats; report.html is self-contained and renders in headless Chromium."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import FIGURES
from sim.figures.data import Results
from sim.report import summary_paragraph, summary_table

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.parametrize("kind", list(FIGURES))
def test_report_says_what_was_run_and_shows_every_figure(plotted, kind):
    folder = plotted[kind]
    res = Results.open(folder)
    md = (folder / "report.md").read_text(encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    m = res.manifest
    for fact in (f"seed: {m['experiment_seed']}", f"replications: {m['replications']}", str(m["git_commit"]),
                 f"Mesa {m['versions']['mesa']}", f"scale: {m['scale']}"):
        assert fact in md and fact in html
    for scenario in res.scenarios:
        assert f"| {scenario} | {res.description(scenario) or '(no description)'} |" in md
    shown = re.findall(r"!\[[^\]]*\]\(figures/([^)]+)\)", md)
    assert sorted(Path(x).stem for x in shown) == sorted(FIGURES[kind])
    assert all((folder / "figures" / x).is_file() for x in shown)
    assert html.count('src="data:image/png;base64,') == len(shown)
    assert "<img src=\"figures" not in html and "http" not in html.split("<body>")[1]       # opens offline
    assert "## Caveats" in md and "Monte Carlo interval" in md


def test_summary_paragraph_and_table_carry_the_summary_numbers(plotted):
    res = Results.open(plotted["scenarios"])
    s = res.summary[(res.summary.period == res.final_period) & (res.summary["sample"] == 0)].set_index(
        ["scenario", "indicator"])
    header, rows = summary_table(res, "en")
    assert header == ["indicator", "baseline", "Δ down", "Δ richer"]
    primary = next(r for r in rows if r[0] == "primary-care visit share")
    assert primary[1].startswith(f"{s.loc[('baseline', 'primary_care_share'), 'mean'] * 100:.1f}%")
    assert primary[2].startswith(f"{s.loc[('down', 'primary_care_share'), 'diff_mean'] * 100:+.2f}")
    text = summary_paragraph(res, "en")
    for scenario in ("down", "richer"):
        for key, label in (("out_of_county_admission_rate", "out-of-county admission share"),
                           ("primary_care_share", "primary-care visit share")):
            r = s.loc[(scenario, key)]
            if r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0:      # a clear change is told with its interval
                assert f"{label} by {abs(r['diff_mean']) * 100:.2f} percentage points (95% interval " \
                       f"{r['diff_ci_low'] * 100:+.2f} to {r['diff_ci_high'] * 100:+.2f}" in text
            else:
                assert re.search(f"{scenario} left the [^.]*{label}", text)


def test_chinese_report_uses_the_chinese_names(results_folders, tmp_path):
    folder = tmp_path / "zh"
    shutil.copytree(results_folders["grid"], folder)
    from sim.report import plot_results
    plot_results(folder, "zh")
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# 结果报告：figs_grid") and "县外住院人次占比" in md and "注意事项" in md
    assert '<html lang="zh-CN">' in (folder / "report.html").read_text(encoding="utf-8")


def test_report_html_renders_in_headless_chromium_with_every_image_loaded(plotted, tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip("Chromium not installed: apt-get install chromium (Debian), then rerun")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the `test` extra)")
    page_file = plotted["capitation"] / "report.html"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_file.resolve().as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert len(images) == len(FIGURES["capitation"])
    assert all(done and width > 0 for done, width in images), images
    import matplotlib.image as mpimg
    png = mpimg.imread(shot)
    assert png.shape[1] == 1200 and png.shape[0] > 3000          # the whole report, figures included
    assert pd.Series(png[..., :3].ravel()).std() > 0.05
