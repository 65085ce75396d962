"""Parameter ranges: syntax, per-replicate draws common to scenarios, and prediction intervals."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

import sim
from conftest import SMALL
from sim.cli import format_table, main
from sim.config import ConfigError, load_tree
from sim.experiment import plan_experiment, run_experiment
from sim.results import MIN_PREDICTION_REPLICATES, summarize
from sim.uncertainty import Range, draw, generator, resolve_run, split_ranges

RATIO = "insurance.schemes.resident.inpatient.county.ratio"
RANGE = {"value": 0.8, "uncertain": {"low": 0.5, "high": 0.95}}
CHRONIC = "illness.chronic_multiplier.outpatient"
CHRONIC_RANGE = {"value": 2.0, "uncertain": {"low": 1.0, "high": 3.0}}
POLICY_RANGE = {"value": 0.05, "uncertain": {"low": 0.0, "high": 0.1, "distribution": "triangular"}}


def _central_small(tmp_path: Path) -> Path:
    """The small county with every range of the seed config at its central value (no ranges), so
    that a test sees only the ranges it adds."""
    path = tmp_path / "small_central.yaml"
    if not path.is_file():
        central, _ = split_ranges(load_tree(SMALL)[0])
        path.write_text(yaml.safe_dump(central, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _county(tmp_path: Path, node=RANGE, more: dict | None = None) -> Path:
    path = tmp_path / "county.yaml"
    lines = [f"extends: {_central_small(tmp_path)}"] + [
        f"{k}: {json.dumps(v)}   # test range" for k, v in {RATIO: node, **(more or {})}.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _policy(node=POLICY_RANGE) -> dict:
    return {"policy": "reimbursement", "start": "2022-01-01",
            "params": {"schemes": ["resident"], "inpatient": {"township": {"ratio_change": node}}}}


def _exp(config: Path, replications: int = 3, **extra) -> dict:
    spec = {"name": "u", "config": str(config), "replications": replications, "seed": 5, "scale": 0.2,
            "horizon": {"start": "2022-01-01", "end": "2022-02-28", "warmup_days": 10},
            "scenarios": [{"name": "baseline"}, {"name": "reform", "policies": [_policy()]}]}
    spec.update(extra)
    return spec


# ---------------------------------------------------------------- syntax
def test_range_loads_as_its_central_value_and_is_recorded(tmp_path):
    path = _county(tmp_path)
    cfg = sim.load_config(path)
    assert cfg.insurance.schemes["resident"].inpatient["county"].ratio == 0.8
    central, ranges = split_ranges(load_tree(path)[0])
    assert ranges == {RATIO: Range(0.8, 0.5, 0.95, "uniform", False)}
    assert central["insurance"]["schemes"]["resident"]["inpatient"]["county"]["ratio"] == 0.8
    assert split_ranges(load_tree(_central_small(tmp_path))[0])[1] == {}     # a config without ranges has none


def test_ranges_in_lists_and_policies_get_dotted_keys():
    tree = {"a": [1, {"b": {"value": 2.0, "uncertain": {"low": 1.0, "high": 3.0}}}]}
    assert list(split_ranges(tree)[1]) == ["a.1.b"]
    _, _, values = resolve_run(tree, [_policy()], seed=1)
    assert set(values) == {"a.1.b", "policy:reimbursement.inpatient.township.ratio_change"}


BAD = [
    ({"value": 1.0, "uncertain": {"low": 0.5, "high": 0.95}}, "ratio.value", "within the range"),
    ({"value": 0.8, "uncertain": {"low": 0.9, "high": 0.5}}, "ratio.uncertain", "below high"),
    ({"value": 0.8, "uncertain": {"low": 0.8, "high": 0.8}}, "ratio.uncertain", "below high"),
    ({"value": 0.8, "uncertain": {"low": float("nan"), "high": 0.9}}, "ratio.uncertain.low", "finite"),
    ({"value": 0.8, "uncertain": {"low": 0.5, "high": float("inf")}}, "ratio.uncertain.high", "finite"),
    ({"value": "0.8", "uncertain": {"low": 0.5, "high": 0.9}}, "ratio.value", "finite"),
    ({"value": 0.8, "uncertain": {"low": 0.5, "high": 0.9, "distribution": "normal"}}, "ratio.uncertain.distribution",
     "triangular"),
    ({"value": 0.8, "uncertain": {"low": 0.5, "hi": 0.9}}, "ratio.uncertain.hi", "low, high, distribution"),
    ({"value": 0.8, "uncertain": [0.5, 0.9]}, "ratio.uncertain", "mapping"),
    ({"uncertain": {"low": 0.5, "high": 0.9}}, "ratio.value", "missing"),
    ({"value": 0.8, "uncertain": {"low": 0.0, "high": 0.9, "distribution": "loguniform"}}, "ratio.uncertain.low",
     "low > 0"),
    ({"value": 0.8, "uncertain": {"low": 0.5, "high": 1.2}}, RATIO, "high end"),     # valid range, invalid value
]


@pytest.mark.parametrize("node,key,what", BAD)
def test_bad_range_exits_2_naming_file_and_key(tmp_path, capsys, node, key, what):
    county = _county(tmp_path, node)
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(_exp(county)), encoding="utf-8")
    assert main(["check", str(exp)]) == 2
    err = capsys.readouterr().err
    assert str(county) in err and key in err and what in err and "Traceback" not in err
    if what != "high end":                                     # the county file alone, too
        assert main(["check", str(county)]) == 2
        assert key in capsys.readouterr().err


def test_bad_policy_range_names_the_experiment_key(tmp_path):
    spec = _exp(_county(tmp_path))
    spec["scenarios"][1]["policies"] = [_policy({"value": 0.5, "uncertain": {"low": 0.0, "high": 0.1}})]
    with pytest.raises(ConfigError) as exc:
        plan_experiment(spec)
    assert exc.value.path == "scenarios.1.policies.0.params.inpatient.township.ratio_change.value"


def test_whole_numbers_draw_whole_numbers():
    r = Range(3, 1, 5, "uniform", True)
    xs = {r.ppf(u) for u in np.linspace(0, 1, 41)}
    assert xs == {1, 2, 3, 4, 5} and all(isinstance(x, int) for x in xs)


def test_quantiles_are_scipy_stats_quantiles_bit_for_bit():
    """Range.ppf writes scipy.stats' quantiles out (no scipy.stats import in workers): the same bits."""
    rng = np.random.default_rng(7)
    us = np.concatenate([[0.0, 1.0, 0.5, 1e-300, 1 - 2**-53], np.linspace(0, 1, 101), rng.random(400)])
    shapes = [(2.0, 1.0, 6.0), (0.3, 0.1, 0.7), (1.0, 1.0, 4.0), (4.0, 1.0, 4.0), (10.0, 1.0, 100.0),
              (0.02, 0.005, 0.08), (3.3, 1.1, 7.9), (3, 1, 5), (200, 100, 400)]     # whole numbers as written
    for value, low, high in shapes:
        width = high - low
        expected = {"uniform": stats.uniform(loc=low, scale=width),
                    "triangular": stats.triang(c=(value - low) / width, loc=low, scale=width),
                    "loguniform": stats.loguniform(low, high)}
        for name, dist in expected.items():
            r = Range(value, low, high, name)
            got = np.array([r.ppf(float(u)) for u in us])
            want = np.clip(dist.ppf(us), low, high)
            assert np.array_equal(got, want), (name, value, low, high, np.flatnonzero(got != want)[:5])


def test_distributions_follow_their_shape():
    seeds = range(1500)
    tri = Range(2.0, 1.0, 6.0, "triangular")
    log = Range(10.0, 1.0, 100.0, "loguniform")
    t = np.array([draw({"t": tri}, s)["t"] for s in seeds])
    g = np.array([draw({"g": log}, s)["g"] for s in seeds])
    assert t.min() >= 1 and t.max() <= 6 and g.min() >= 1 and g.max() <= 100
    assert stats.kstest(t, stats.triang(c=0.2, loc=1, scale=5).cdf).pvalue > 0.001
    assert stats.kstest(np.log10(g), stats.uniform(0, 2).cdf).pvalue > 0.001


# ---------------------------------------------------------------- draws
def test_a_draw_depends_only_on_the_replicate_seed_and_the_key():
    a, b = Range(1.0, 0.0, 2.0), Range(5.0, 0.0, 10.0)
    both = draw({"x": a, "y": b}, seed=42)
    assert draw({"x": a}, seed=42)["x"] == both["x"]             # other ranges do not matter
    assert draw({"x": a}, seed=43)["x"] != both["x"]
    same = draw({"x": a, "z": a}, seed=42)                        # the key matters: no shared stream
    assert same["x"] != same["z"] and same["x"] == both["x"]
    assert generator(42, "x").random() == generator(42, "x").random()


def test_draws_are_common_to_scenarios_and_differ_across_replicates(tmp_path):
    res = run_experiment(_exp(_county(tmp_path)), out=tmp_path / "r", workers=1)
    runs = res.manifest["runs"]
    per_rep = [runs[f"baseline__r{r:03d}"]["parameters"][RATIO] for r in range(3)]
    assert per_rep == [runs[f"reform__r{r:03d}"]["parameters"][RATIO] for r in range(3)]
    assert len(set(per_rep)) == 3 and all(0.5 <= x <= 0.95 for x in per_rep)
    key = "policy:reimbursement.inpatient.township.ratio_change"
    assert key in runs["reform__r000"]["parameters"] and key not in runs["baseline__r000"]["parameters"]
    assert res.manifest["uncertainty"]["enabled"] is True
    assert res.manifest["uncertainty"]["parameters"][key]["scenarios"] == ["reform"]


def test_a_policy_range_is_drawn_alike_in_every_scenario_using_it():
    _, p1, v1 = resolve_run({}, [_policy()], seed=9)
    _, p2, v2 = resolve_run({}, [{"policy": "essential_drugs", "start": "2022-01-01", "params": {}}, _policy()], seed=9)
    assert p1[0]["params"] == p2[1]["params"]
    assert v1 == {k: v for k, v in v2.items()}


def test_a_scenario_override_wins_over_the_range(tmp_path):
    spec = _exp(_county(tmp_path))
    spec["scenarios"].append({"name": "fixed", "overrides": {RATIO: 0.6}})
    plan = plan_experiment(spec)
    fixed = next(s for s in plan.scenarios if s.name == "fixed")
    assert plan.ranges[RATIO]["scenarios"] == ["baseline", "reform"]
    for seed in plan.seeds:
        tree, _, values = resolve_run(fixed.tree, fixed.policies, seed)
        assert RATIO not in values
        assert tree["insurance"]["schemes"]["resident"]["inpatient"]["county"]["ratio"] == 0.6


# ---------------------------------------------------------------- prediction intervals
@pytest.fixture(scope="module")
def on_off(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("onoff")
    county = _county(tmp, more={CHRONIC: CHRONIC_RANGE})
    # the whole small county (scale 1): at 0.2 its 1,000 simulated residents' own noise rivals the
    # drawn multiplier's effect, and the width comparison below becomes a coin toss
    spec = _exp(county, replications=MIN_PREDICTION_REPLICATES, scale=1.0)
    on = run_experiment(spec, out=tmp / "on", workers=1)
    off = run_experiment({**spec, "uncertainty": False}, out=tmp / "off", workers=1)
    return on, off


def _row(summary, indicator, scenario="baseline"):
    s = summary[(summary.indicator == indicator) & (summary.period.astype(str) == "all") & (summary.scenario == scenario)]
    return s.iloc[0]


def test_prediction_interval_is_wider_with_ranges_and_holds_the_mean(on_off):
    on, off = on_off
    visits = "in_county_outpatient_visits"          # driven by the chronic patients' visit multiplier
    r = _row(on.summary, visits)
    assert r["prediction_low"] <= r["mean"] <= r["prediction_high"]
    assert r["prediction_low"] <= r["ci_low"] and r["ci_high"] <= r["prediction_high"]
    spread_off = _row(summarize(off.indicators, "baseline", prediction=True), visits)
    assert r["prediction_high"] - r["prediction_low"] > 2 * (spread_off["prediction_high"] - spread_off["prediction_low"])
    drawn = [on.manifest["runs"][f"baseline__r{i:03d}"]["parameters"][CHRONIC] for i in range(10)]
    ind = on.indicators
    value = ind[(ind.scenario == "baseline") & (ind.indicator == visits) & (ind.period == "all")].sort_values("replicate")
    assert stats.spearmanr(drawn, value["value"]).statistic > 0.6   # the draws are what the runs used
    fund = "effective_reimbursement_ratio"
    d = _row(on.summary, fund, "reform")
    assert d["diff_prediction_low"] <= d["diff_mean"] <= d["diff_prediction_high"]


def test_uncertainty_false_gives_central_values_and_nan_prediction_columns(on_off):
    _, off = on_off
    cols = ["prediction_low", "prediction_high", "diff_prediction_low", "diff_prediction_high"]
    assert off.summary[cols].isna().all().all()
    assert not off.summary["ci_low"].isna().all()
    assert off.manifest["uncertainty"]["enabled"] is False
    assert {r["parameters"][RATIO] for r in off.manifest["runs"].values()} == {0.8}
    assert {r["parameters"][CHRONIC] for r in off.manifest["runs"].values()} == {2.0}


def test_cli_no_uncertainty_and_the_table_legend(tmp_path, capsys, on_off):
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump(_exp(_county(tmp_path), replications=2)), encoding="utf-8")
    assert main(["run", str(exp), "--out", str(tmp_path / "r"), "--workers", "1", "--no-uncertainty", "--quiet"]) == 0
    folder = next((tmp_path / "r" / "u").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["uncertainty"]["enabled"] is False
    assert pd.read_csv(folder / "summary.csv")["prediction_low"].isna().all()
    on, off = on_off
    table = format_table(on.summary, "baseline")
    assert "prediction interval" in table and "%" in table and "[" in table
    assert "prediction interval" not in format_table(off.summary, "baseline")


def test_summarize_percentiles_on_a_synthetic_table():
    rng = np.random.default_rng(0)
    n = 40
    base = rng.normal(10, 2, n)
    other = base + rng.normal(1, 0.5, n)
    ind = pd.DataFrame({"run_id": "x", "scenario": ["baseline"] * n + ["b"] * n, "replicate": list(range(n)) * 2,
                        "sample": 0, "period": "all", "indicator": "i", "value": np.r_[base, other]})
    s = summarize(ind, "baseline", prediction=True).set_index("scenario")
    assert s.loc["b", "prediction_low"] == pytest.approx(np.percentile(other, 2.5))
    assert s.loc["b", "prediction_high"] == pytest.approx(np.percentile(other, 97.5))
    assert s.loc["b", "diff_prediction_low"] == pytest.approx(np.percentile(other - base, 2.5))
    assert s.loc["b", "diff_prediction_high"] == pytest.approx(np.percentile(other - base, 97.5))
    assert s.loc["baseline", "diff_prediction_low"] == 0
    half = stats.t.ppf(0.975, n - 1) * other.std(ddof=1) / np.sqrt(n)       # the MC interval is unchanged
    assert s.loc["b", "ci_high"] - s.loc["b", "mean"] == pytest.approx(half)
    assert summarize(ind, "baseline")[["prediction_low", "diff_prediction_high"]].isna().all().all()
    few = ind[ind["replicate"] < MIN_PREDICTION_REPLICATES - 1]
    assert summarize(few, "baseline", prediction=True)["prediction_low"].isna().all()


def test_resume_refuses_a_run_with_uncertainty_switched(tmp_path):
    spec = _exp(_county(tmp_path), replications=1)
    assert plan_experiment(spec).fingerprint() != plan_experiment(spec, uncertainty=False).fingerprint()
    plain = {**spec, "config": str(_central_small(tmp_path)), "scenarios": [{"name": "baseline"}]}   # no ranges
    assert plan_experiment(plain).fingerprint() == plan_experiment(plain, uncertainty=False).fingerprint()
    done = run_experiment(spec, out=tmp_path, workers=1)
    with pytest.raises(ConfigError, match="different experiment"):
        run_experiment(spec, out=tmp_path, workers=1, resume=done.path, uncertainty=False)
