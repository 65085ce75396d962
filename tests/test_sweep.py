"""Sweeps: designs from SALib/scipy, validation before anything runs, common random numbers,
samples.parquet and the sample column, resume of a sweep, and the sensitivity analysis."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, SMALL
from sim.cli import main
from sim.experiment import plan_experiment, run_experiment
from sim.results import read_manifest

RATIO = "insurance.schemes.resident.inpatient.township.ratio"
TRAVEL = "choice.wtp.travel_per_hour.outpatient.minor"
PRICE = "choice.cost_per_yuan.outpatient.minor"
MOVED = "policy:send_down_physicians.moves.0.physicians"
DOWN = {"name": "down", "policies": [{"policy": "send_down_physicians", "start": "2022-01-05",
                                      "params": {"moves": [{"from": "county_people", "to": "town_b", "physicians": 5}]}}]}


def _exp(sweep: dict, **extra) -> dict:
    spec = {"name": "sw", "config": str(SMALL), "replications": 2, "seed": 3, "scale": 0.05, "uncertainty": False,
            "horizon": {"start": "2022-01-01", "end": "2022-01-31", "warmup_days": 0},
            "scenarios": [{"name": "baseline"}, DOWN], "sweep": sweep}
    spec.update(extra)
    return spec


GRID = {"design": "grid", "levers": {RATIO: {"levels": [0.8, 0.95]}, MOVED: {"levels": [2, 10]}}}


@pytest.mark.parametrize("sweep, key, words", [
    ({"design": "grid", "levers": {"insurance.schemes.resident.inpatient.townshp.ratio": {"levels": [0.8]}}},
     "sweep.levers.insurance.schemes.resident.inpatient.townshp.ratio", "unknown key 'townshp'"),
    ({"design": "grid", "levers": {RATIO: {"levels": [0.8, 1.2]}}}, f"sweep.levers.{RATIO}", "1.2 is not allowed"),
    ({"design": "lhs", "samples": 4, "uncertainties": {PRICE: {"low": -0.002, "high": 0.001}}},
     f"sweep.uncertainties.{PRICE}", "less than 0"),
    ({"design": "grid", "levers": {MOVED: {"levels": [2, 40]}}}, f"sweep.levers.{MOVED}", "cannot send 40"),
    ({"design": "grid", "levers": {"policy:capitation.budget": {"levels": [1]}}}, "sweep.levers.policy:capitation",
     "no scenario has a policy 'capitation'"),
    ({"design": "lhs", "samples": 4, "uncertainties": {TRAVEL: {"low": 100, "hi": 400}}}, f"{TRAVEL}.hi",
     "unknown key 'hi'"),
    ({"design": "sobol", "samples": 6, "uncertainties": {TRAVEL: {"low": 100, "high": 400}}}, "sweep.samples",
     "power of 2"),
    ({"design": "lhs", "uncertainties": {TRAVEL: {"low": 100, "high": 400}}}, "sweep.samples", "needs samples"),
    ({"design": "grid", "levers": {RATIO: {"low": 0.8, "high": 0.9}}}, f"sweep.levers.{RATIO}", "needs levels"),
    ({"design": "lhs", "samples": 4, "uncertainties": {TRAVEL: {"low": 400, "high": 100}}}, f"sweep.uncertainties.{TRAVEL}",
     "must be below"),
    ({"design": "lhs", "samples": 4, "uncertainties": {TRAVEL: {"low": 100, "high": 400}},
      "levers": {TRAVEL: {"low": 100, "high": 400}}}, f"sweep.levers.{TRAVEL}", "both as an uncertainty"),
    ({"design": "latin", "uncertainties": {}}, "sweep.design", "grid"),
])
def test_design_errors_exit_2_naming_the_key_before_anything_runs(tmp_path, capsys, sweep, key, words):
    exp = tmp_path / "sw.yaml"
    exp.write_text(json.dumps(_exp(sweep)))
    assert main(["run", str(exp), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert key in err and words in err, err
    assert not (tmp_path / "out").exists()
    assert len(err.strip().splitlines()) == 1


def test_designs_come_from_the_samplers_and_are_reproducible():
    from SALib.sample import sobol
    lhs = plan_experiment(_exp({"design": "lhs", "samples": 8, "uncertainties": {TRAVEL: {"low": 100.0, "high": 400.0}}}))
    xs = np.array([s[TRAVEL] for s in lhs.sweep.samples])
    assert sorted(np.floor((xs - 100) / 300 * 8).astype(int)) == list(range(8))       # one point per stratum
    assert lhs.sweep.samples == plan_experiment(_exp({"design": "lhs", "samples": 8,
                                                      "uncertainties": {TRAVEL: {"low": 100.0, "high": 400.0}}})).sweep.samples
    sob = plan_experiment(_exp({"design": "sobol", "samples": 8, "seed": 4,
                                "uncertainties": {TRAVEL: {"low": 100.0, "high": 400.0}, PRICE: {"low": -0.0025, "high": -0.0011}}}))
    expected = sobol.sample(sob.sweep.problem(), 8, calc_second_order=False, seed=4)
    np.testing.assert_array_equal(np.array([[s[TRAVEL], s[PRICE]] for s in sob.sweep.samples]), expected)
    assert len(sob.runs) == 2 * 8 * 4 * 2                      # scenarios x N(D+2) x replications
    grid = plan_experiment(_exp(GRID))
    assert grid.sweep.samples == [{RATIO: a, MOVED: b} for a in (0.8, 0.95) for b in (2, 10)]
    assert isinstance(grid.sweep.samples[0][MOVED], int)


def test_a_grid_sweep_writes_samples_and_the_sample_column_on_common_random_numbers(tmp_path):
    res = run_experiment(_exp(GRID, horizon={"start": "2022-01-01", "end": "2022-03-31", "warmup_days": 0}),
                         out=tmp_path, workers=2)
    samples = pd.read_parquet(res.path / "samples.parquet")
    assert list(samples.columns) == ["sample", "design", RATIO, MOVED]
    assert samples["sample"].tolist() == [1, 2, 3, 4] and set(samples["design"]) == {"grid"}
    for table in ("indicators", "timeseries", "facilities", "villages", "outflow"):
        t = pd.read_parquet(res.path / f"{table}.parquet", columns=["run_id", "sample"])
        assert set(t["sample"]) == {1, 2, 3, 4}, table
    m = read_manifest(res.path)
    assert m["sweep"]["design"] == "grid" and len(m["runs"]) == 2 * 4 * 2
    assert {r["seed"] for r in m["runs"].values()} == set(m["replicate_seeds"])       # a replicate's seed everywhere
    s = res.summary[(res.summary.period == "all")]
    assert set(s["sample"]) == {1, 2, 3, 4}
    moved = s[(s.scenario == "down") & (s.indicator == "facility.town_b.outpatient_visits")].merge(samples, on="sample")
    for ratio in (0.8, 0.95):                                # more physicians sent down: more visits at town_b
        by = moved[moved[RATIO] == ratio].set_index(MOVED)["diff_mean"]
        assert by[10] > by[2] > 0
    base = s[(s.scenario == "baseline") & (s.indicator == "primary_care_share")].set_index("sample")["mean"]
    assert base[1] == base[2] and base[3] == base[4]          # the lever does not touch the baseline scenario
    runs = res.indicators[(res.indicators.indicator == "outpatient_visits") & (res.indicators.period == "all")]
    assert runs["run_id"].str.contains("__s00001__r000").any()
    assert main(["analyze", str(res.path)]) == 0
    response = pd.read_csv(res.path / "response.csv")
    assert {RATIO, MOVED, "mean", "diff_mean"} <= set(response.columns)
    sens = pd.read_csv(res.path / "sensitivity.csv")
    assert set(sens["method"]) == {"grid"}
    row = sens[(sens.scenario == "down") & (sens.quantity == "change") & (sens.period == "all")
               & (sens.indicator == "facility.town_b.outpatient_visits")].set_index("parameter")["value"]
    assert row[MOVED] > 0 and row[MOVED] > row.get(RATIO, 0)


def test_resume_of_a_sweep_completes_exactly_the_missing_runs(tmp_path):
    spec = _exp({"design": "lhs", "samples": 3, "uncertainties": {TRAVEL: {"low": 100.0, "high": 400.0}}})
    first = run_experiment(spec, out=tmp_path / "a", workers=2)
    runs = first.path / "runs"
    victims = {"baseline__s00002__r001", "down__s00003__r000"}
    stamps = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.parquet")}
    for v in victims:
        for p in runs.glob(f"{v}.*"):
            p.unlink()
    m = read_manifest(first.path)
    m["status"] = "interrupted"
    (first.path / "manifest.json").write_text(json.dumps(m))
    again = run_experiment(spec, out=tmp_path / "a", workers=2, resume=True, scheduler="local")
    assert again.path == first.path
    redone = {p.name.split(".")[0] for p in runs.glob("*.parquet") if p.stat().st_mtime_ns != stamps.get(p.name)}
    assert redone == victims
    pd.testing.assert_frame_equal(again.indicators, first.indicators)


def _ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def _synthetic_folder(tmp_path, design: dict, fn) -> tuple:
    """A results folder as a sweep would leave it, with indicator values given by fn(samples)."""
    from sim.results import write_manifest
    from sim.sweep import SweepSpec, build_sweep
    sweep = build_sweep(SweepSpec.model_validate(design), design, 0, None)
    x = np.array([[s[p.key] for p in sweep.parameters] for s in sweep.samples])
    folder = tmp_path / "res"
    folder.mkdir()
    n = len(x)
    pd.DataFrame({"sample": range(1, n + 1), "design": sweep.design,
                  **{p.key: x[:, i] for i, p in enumerate(sweep.parameters)}}).to_parquet(folder / "samples.parquet")
    pd.DataFrame({"run_id": [f"baseline__s{k:05d}__r000" for k in range(1, n + 1)], "scenario": "baseline",
                  "replicate": 0, "sample": range(1, n + 1), "period": "all", "indicator": "y",
                  "value": fn(x)}).to_parquet(folder / "indicators.parquet")
    write_manifest(folder, {"status": "complete", "baseline_scenario": "baseline",
                            "sweep": {**sweep.as_dict(), "samples": n}})
    return folder, x


def test_sobol_indices_recover_the_ishigami_answer(tmp_path, capsys):
    pi = float(np.pi)
    design = {"design": "sobol", "samples": 1024, "seed": 1,
              "uncertainties": {f"x{i}": {"low": -pi, "high": pi} for i in (1, 2, 3)}}
    folder, _ = _synthetic_folder(tmp_path, design, _ishigami)
    assert main(["analyze", str(folder)]) == 0
    assert "Parameters ranked by ST" in capsys.readouterr().out
    sens = pd.read_csv(folder / "sensitivity.csv")
    sob = sens[sens.method == "sobol"].set_index(["index", "parameter"])
    # analytic values for a=7, b=0.1 (Ishigami & Homma 1990; Saltelli et al. 2008)
    expected = {("S1", "x1"): 0.3139, ("S1", "x2"): 0.4424, ("S1", "x3"): 0.0,
                ("ST", "x1"): 0.5576, ("ST", "x2"): 0.4424, ("ST", "x3"): 0.2437}
    for k, v in expected.items():
        assert sob.loc[k, "value"] == pytest.approx(v, abs=0.04), k
        assert sob.loc[k, "ci_low"] - 0.02 <= v <= sob.loc[k, "ci_high"] + 0.02, k
    assert {"src", "prcc"} <= set(sens["method"])


def test_morris_src_and_prcc_rank_a_known_linear_response(tmp_path):
    design = {"design": "morris", "samples": 40, "seed": 2,
              "uncertainties": {"a": {"low": 0.0, "high": 1.0}, "b": {"low": 0.0, "high": 1.0},
                                "c": {"low": 0.0, "high": 1.0}}}
    folder, _ = _synthetic_folder(tmp_path, design, lambda x: 5 * x[:, 0] + 1 * x[:, 1] + 0.001 * x[:, 2])
    assert main(["analyze", str(folder)]) == 0
    sens = pd.read_csv(folder / "sensitivity.csv").set_index(["index", "parameter"])["value"]
    assert sens[("mu_star", "a")] == pytest.approx(5, rel=1e-6) and sens[("mu_star", "b")] == pytest.approx(1, rel=1e-6)
    assert sens[("sigma", "a")] == pytest.approx(0, abs=1e-9)        # linear: no interaction, no curvature
    assert sens[("SRC", "a")] > sens[("SRC", "b")] > abs(sens[("SRC", "c")])
    assert sens[("PRCC", "a")] > 0.99 and sens[("PRCC", "b")] > 0.9


def test_analyze_refuses_a_folder_without_a_sweep(tmp_path, capsys):
    res = run_experiment(_exp(None, scenarios=[{"name": "baseline"}], replications=1), out=tmp_path, workers=1)
    assert main(["analyze", str(res.path)]) == 2
    assert "has no sweep" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["reimbursement_sweep", "behaviour_sensitivity", "physicians_sent_down"])
def test_the_shipped_sweep_experiments_are_valid(name, capsys):
    path = ROOT / "experiments" / f"{name}.yaml"
    assert main(["check", str(path)]) == 0
    plan = plan_experiment(path)
    assert plan.sweep is not None and len(plan.runs) >= 8
    assert {"reimbursement_sweep": "grid", "behaviour_sensitivity": "sobol",
            "physicians_sent_down": "grid"}[name] == plan.sweep.design
