"""Experiments: common random numbers, workers, resume, and the results layout."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import SMALL
from sim.experiment import plan_experiment, replicate_seeds, run_experiment
from sim.indicators import contract_indicator_names


def _exp(**extra):
    spec = {"name": "t", "config": str(SMALL), "replications": 2, "seed": 11,
            "horizon": {"start": "2022-01-01", "end": "2022-02-28", "warmup_days": 10},
            "scenarios": [{"name": "baseline"},
                          {"name": "richer", "overrides": {"insurance.schemes.resident.inpatient.county.ratio": 0.95}}]}
    spec.update(extra)
    return spec


def test_results_folder_layout_and_contract(tmp_path):
    res = run_experiment(_exp(), out=tmp_path, workers=1)
    for f in ("manifest.json", "indicators.parquet", "timeseries.parquet", "summary.csv"):
        assert (res.path / f).is_file()
    assert res.path.parent == tmp_path / "t"
    ind = pd.read_parquet(res.path / "indicators.parquet")
    assert list(ind.columns) == ["run_id", "scenario", "replicate", "sample", "period", "indicator", "value"]
    assert set(ind["period"]) == {"2022", "all"}
    names = set(ind["indicator"])
    assert set(contract_indicator_names(["village", "township", "county", "out_of_province"],
                                        ["township", "county"])) <= names
    m = json.loads((res.path / "manifest.json").read_text())
    assert m["status"] == "complete" and m["replicate_seeds"] == replicate_seeds(11, 2)
    assert all(r["status"] == "complete" for r in m["runs"].values()) and len(m["runs"]) == 4
    assert "mesa" in m["versions"] and m["scenarios"]["richer"]["config"]["insurance"]
    s = res.summary
    base = s[(s.scenario == "baseline") & (s.period == "all")]
    assert ((base["diff_mean"] == 0) | base["mean"].isna()).all()
    assert not list(tmp_path.rglob("*.tmp"))


def test_scenarios_share_seeds_so_illness_is_common():
    plan = plan_experiment(_exp())
    assert len(set(plan.seeds)) == 2
    tasks_seeds = {(s, r): plan.seeds[r] for s, _, r in plan.runs}
    assert tasks_seeds[("baseline", 1)] == tasks_seeds[("richer", 1)]


def test_one_worker_and_two_workers_give_identical_numbers(tmp_path):
    a = run_experiment(_exp(), out=tmp_path / "a", workers=1).indicators
    b = run_experiment(_exp(), out=tmp_path / "b", workers=2).indicators
    key = ["run_id", "period", "indicator"]
    a, b = a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_resume_skips_finished_runs_and_finishes_the_table(tmp_path):
    first = run_experiment(_exp(), out=tmp_path, workers=1)
    runs = first.path / "runs"
    victim = sorted(runs.glob("richer__r001.*"))
    stamp = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.parquet")}
    for p in victim:
        p.unlink()
    m = json.loads((first.path / "manifest.json").read_text())
    m["status"] = "interrupted"
    (first.path / "manifest.json").write_text(json.dumps(m))
    again = run_experiment(_exp(), out=tmp_path, workers=1, resume=True)
    assert again.path == first.path
    for p in runs.glob("baseline__*.parquet"):
        assert p.stat().st_mtime_ns == stamp[p.name]
    assert len(again.indicators) == len(first.indicators)
    pd.testing.assert_frame_equal(again.indicators.sort_values(["run_id", "period", "indicator"]).reset_index(drop=True),
                                  first.indicators.sort_values(["run_id", "period", "indicator"]).reset_index(drop=True))


def test_resume_refuses_a_changed_experiment(tmp_path):
    from sim.config import ConfigError
    run_experiment(_exp(), out=tmp_path, workers=1)
    with pytest.raises(ConfigError, match="no unfinished run"):
        run_experiment(_exp(), out=tmp_path, workers=1, resume=True)
    first = next((tmp_path / "t").iterdir())
    with pytest.raises(ConfigError, match="different experiment"):
        run_experiment(_exp(seed=12), out=tmp_path, workers=1, resume=first)


def test_scale_is_recorded_and_counts_scaled_up(tmp_path):
    res = run_experiment(_exp(replications=1), out=tmp_path, workers=1, scale=0.5)
    assert res.manifest["scale"] == 0.5 and "scaled back up" in res.manifest["counts_note"]
    v = res.summary.query("scenario == 'baseline' and period == 'all' and indicator == 'outpatient_visits'")
    assert float(v["mean"].iloc[0]) > 0


def test_plot_writes_figures_and_report(tmp_path, capsys):
    from sim.cli import main
    res = run_experiment(_exp(), out=tmp_path, workers=1)
    assert main(["plot", str(res.path)]) == 0
    for f in ("figures/changes_where.png", "figures/monthly_indicators.png", "report.md", "report.html"):
        assert (res.path / f).stat().st_size > 1000
    report = (res.path / "report.md").read_text()
    assert "Δ richer" in report and "out-of-province admission rate" in report
    assert main(["plot", str(tmp_path)]) == 2
    assert "not a finished results folder" in capsys.readouterr().err


def test_per_facility_and_per_village_tables_add_up_to_the_indicators(tmp_path):
    spec = _exp(scenarios=[{"name": "baseline"},
                           {"name": "down", "policies": [{"policy": "send_down_physicians", "start": "2022-01-15",
                                                          "params": {"moves": [{"from": "county_people", "to": "town_b",
                                                                                "physicians": 5}]}}]}])
    res = run_experiment(spec, out=tmp_path, workers=1)
    fac = pd.read_parquet(res.path / "facilities.parquet")
    vil = pd.read_parquet(res.path / "villages.parquet")
    ind = res.indicators.pivot_table(index=["run_id", "period"], columns="indicator", values="value")
    assert {"month", "facility", "tier", "township", "x_km", "outpatient_visits", "admissions", "displaced",
            "mean_wait_days", "beds", "bed_occupancy"} <= set(fac.columns)
    months = fac.groupby("run_id")[["outpatient_visits", "admissions"]].sum()
    years = 59 / 365                                       # the horizon: Jan-Feb 2022, per-year indicators
    for run_id, row in months.iterrows():
        assert row["outpatient_visits"] == pytest.approx(ind.loc[(run_id, "all"), "outpatient_visits"] * years)
        assert row["admissions"] == pytest.approx(ind.loc[(run_id, "all"), "admissions"] * years)
    per_village = vil[vil.period == "all"].groupby(["run_id", "care_type"])["episodes"].sum().unstack()
    for run_id, row in per_village.iterrows():
        assert row["outpatient"] == pytest.approx(ind.loc[(run_id, "all"), "outpatient_visits"])
        assert row["inpatient"] == pytest.approx(ind.loc[(run_id, "all"), "admissions"])
    touched = res.summary[res.summary.indicator.str.startswith("facility.")]
    assert set(touched.indicator) == {f"facility.{f}.{w}" for f in ("county_people", "town_b")
                                      for w in ("outpatient_visits", "admissions", "bed_occupancy", "mean_wait_days",
                                                "displaced")}
    change = touched[(touched.scenario == "down") & (touched.period == "all")].set_index("indicator")["diff_mean"]
    assert change["facility.town_b.outpatient_visits"] > abs(change["facility.county_people.outpatient_visits"])
