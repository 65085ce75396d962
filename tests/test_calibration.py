"""gradsim calibrate: recovers a known parameter from targets the model itself generated, the
ensemble contains the truth, evaluations are stored and reused, bad files exit 2 naming the key."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.calibration import calibrate, load_calibration
from sim.calibration.objective import mean_measures, run_task, tasks
from sim.calibration.ensemble import read_ensemble
from sim.cli import main

SMALL = Path(__file__).resolve().parent / "fixtures" / "small_county.yaml"
KEY = "choice.wtp.constant.outpatient.township"
TRUTH = -651.0            # the seed's fitted value, which the small county inherits


def _write(tmp_path: Path, **edits) -> Path:
    spec = {"name": "synthetic", "config": str(SMALL),
            "horizon": {"start": "2022-01-01", "end": "2022-02-28", "warmup_days": 10},
            "replications": 2, "scale": 0.5, "seed": 3,
            "targets": {"outpatient_share_township": {"observed": 0.3, "tolerance": 0.01},
                        "village_share_in_county_visits": {"observed": 0.35, "tolerance": 0.01}},
            "parameters": {KEY: {"low": -3000.0, "high": 3000.0, "start": 1500.0}},
            "search": {"method": "differential_evolution", "max_evaluations": 24, "popsize": 6, "seed": 1},
            "ensemble": {"samples": 8, "around": 0.05}}
    for k, v in edits.items():
        spec[k] = v
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _truth_targets(path: Path) -> dict:
    """The targets the model gives at the truth (same seeds as every evaluation)."""
    cal = load_calibration(path)
    means = mean_measures([run_task(t) for t in tasks(cal, "truth", {KEY: TRUTH})])
    return {t.key: {"observed": means[f"{t.indicator}@all"], "tolerance": 0.02} for t in cal.targets}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cal")
    path = _write(tmp)
    path = _write(tmp, targets=_truth_targets(path))
    cal = load_calibration(path)
    return cal, calibrate(cal, tmp / "out", workers=1), tmp


def test_recovers_the_truth_within_tolerance(fitted):
    cal, result, _ = fitted
    assert result.best.acceptable
    assert abs(result.best.parameters[KEY] - TRUTH) < 300          # started 2,151 yuan away, bounds 6,000 wide
    assert all(abs(r) <= 1 for r in __import__("sim.calibration.objective", fromlist=["x"])
               .residuals(cal, result.best.means).values())


def test_ensemble_contains_the_truth_and_only_acceptable_sets(fitted):
    cal, result, _ = fitted
    table = result.ensemble
    assert len(table) >= 2 and table[KEY].min() <= TRUTH <= table[KEY].max()
    accepted = set(table["evaluation"])
    assert all(e.acceptable == (e.id in accepted) for e in result.evaluations)
    assert any(not e.acceptable for e in result.evaluations)      # the tolerance does reject something


def test_outputs_overlay_extends_the_base_and_runs_from_the_ensemble(fitted):
    cal, result, tmp = fitted
    overlay = yaml.safe_load(result.paths["overlay"].read_text(encoding="utf-8"))
    assert (result.folder / overlay["extends"]).resolve() == SMALL.resolve()
    assert overlay[KEY] == pytest.approx(result.best.parameters[KEY], rel=1e-5)      # 6 significant digits
    import sim
    assert sim.load_config(result.paths["overlay"]).choice.wtp.constant["outpatient"]["township"] == overlay[KEY]
    report = result.paths["report"].read_text(encoding="utf-8")
    assert "outpatient_share_township" in report and "Ensemble" in report
    sets = read_ensemble(result.paths["ensemble"])
    assert len(sets) == len(result.ensemble) and set(sets[0]) == {KEY}
    history = pd.read_csv(result.paths["history"])
    assert history["best_so_far"].dropna().is_monotonic_decreasing


def test_a_second_run_reuses_every_stored_evaluation(fitted):
    cal, result, tmp = fitted
    again = calibrate(cal, tmp / "out", workers=1)
    assert again.reused == len(result.evaluations) and len(again.evaluations) == len(result.evaluations)
    assert again.best.id == result.best.id


@pytest.mark.parametrize("edit, key", [
    ({"parameters": {"choice.wtp.constant.outpatient.nowhere": {"low": 0.0, "high": 1.0}}},
     "parameters.choice.wtp.constant.outpatient.nowhere"),
    ({"parameters": {KEY: {"low": 10.0, "high": -10.0}}}, f"parameters.{KEY}"),
    ({"parameters": {"illness.psychiatric_share": {"low": 0.0, "high": 1.5}}}, "parameters.illness.psychiatric_share"),
    ({"targets": {"no_such_indicator": {"observed": 1.0, "tolerance": 0.1}}}, "targets.no_such_indicator"),
    ({"targets": {"primary_care_share": {"observed": 0.6}}}, "targets.primary_care_share"),
    ({"search": {"method": "gradient"}}, "search.method"),
    ({"replications": 0}, "replications"),
])
def test_bad_calibration_files_exit_2_naming_the_key(tmp_path, capsys, edit, key):
    path = _write(tmp_path, **edit)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{key}:" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_run_draws_each_replicate_from_the_ensemble(fitted, tmp_path):
    import json

    import sim
    cal, result, _ = fitted
    table = pd.DataFrame({"evaluation": ["a", "b"], "objective": [0.1, 0.2], KEY: [-2500.0, 2500.0]})
    ens = tmp_path / "ensemble.csv"
    table.to_csv(ens, index=False)
    exp = {"name": "ens", "config": str(SMALL), "replications": 4, "seed": 5, "scale": 0.3,
           "horizon": {"start": "2022-01-01", "end": "2022-01-31", "warmup_days": 5},
           "parameter_ensemble": str(ens), "uncertainty": True}
    res = sim.run_experiment(exp, out=tmp_path / "res", workers=1, base_dir=tmp_path)
    manifest = json.loads((res.path / "manifest.json").read_text())
    rows = [r["parameters"]["parameter_ensemble.row"] for r in manifest["runs"].values()]
    assert set(rows) <= {1, 2} and len(set(rows)) == 2          # 4 replicates: both sets drawn (seed 5)
    ind = res.indicators[(res.indicators.indicator == "outpatient_share_township") & (res.indicators.period == "all")]
    by_row = dict(zip(rows, ind.sort_values("replicate")["value"]))
    assert by_row[2] > by_row[1] + 0.05            # the +2,500 yuan set sends far more visits to the townships
    bad = tmp_path / "bad.csv"
    bad.write_text("evaluation,objective,choice.wtp.constant.outpatient.nowhere\nx,1,0\n")
    with pytest.raises(sim.ConfigError, match="parameter_ensemble"):
        sim.run_experiment({**exp, "parameter_ensemble": str(bad)}, out=tmp_path / "res", base_dir=tmp_path)


def test_overlay_writes_a_value_the_base_leaves_at_its_default(tmp_path):
    from sim.calibration.report import overlay
    from sim.calibration.search import Evaluation

    path = _write(tmp_path, parameters={
        "facilities.hospitals.0.nonresident_admissions": {"low": 0.0, "high": 5000.0, "start": 0.0},
        "choice.wtp.shortfall.inpatient": {"low": 0.0, "high": 40000.0}})
    cal = load_calibration(path)
    best = Evaluation("x", 0, "search", {"facilities.hospitals.0.nonresident_admissions": 1234.5678,
                                         "choice.wtp.shortfall.inpatient": 20000.0}, [], {}, 1.0, True)
    text = overlay(cal, best, tmp_path)
    (tmp_path / "calibrated.yaml").write_text(text, encoding="utf-8")
    import sim
    cfg = sim.load_config(tmp_path / "calibrated.yaml")
    assert cfg.facilities.hospitals[0].nonresident_admissions == 1234.57
    tree = yaml.safe_load(text)
    assert tree["choice.wtp.shortfall.inpatient"] == {"value": 20000.0, "uncertain": {"low": 3000, "high": 20000.0}}


def test_apply_changes_only_the_fitted_numbers_of_the_seed_config(tmp_path):
    """--apply on the seed: each fitted scalar gets its new text, every comment and other byte stays."""
    from sim.calibration.apply import write_into_base
    from sim.calibration.report import fitted_values
    from sim.calibration.search import Evaluation
    import sim

    root = SMALL.parents[2]
    cal = load_calibration(root / "experiments" / "calibrate_seed_county.yaml")
    base = tmp_path / "seed_county.yaml"
    original = Path(cal.config_file).read_text(encoding="utf-8")
    base.write_text(original, encoding="utf-8")
    fit = {p.key: (p.low + p.high) / 2 for p in cal.parameters}
    fit["choice.wtp.shortfall.inpatient"] = 39000.0                 # outside its documented range: widened
    values = fitted_values(cal, Evaluation("x", 0, "search", fit, [], {}, 1.0, True))
    write_into_base(base, values, "Calibrated by `gradsim calibrate test` on a test day")
    new = base.read_text(encoding="utf-8").splitlines()
    old = original.splitlines()
    mark = "# Calibrated by `gradsim calibrate"
    assert new[0] == old[0] and sum(ln.startswith(mark) for ln in new) == 1
    assert any(ln.startswith(f"{mark} test`") for ln in new)
    old, new = [ln for ln in old if not ln.startswith(mark)], [ln for ln in new if not ln.startswith(mark)]
    assert len(new) == len(old)
    changed = [(a, b) for a, b in zip(old, new) if a != b]
    assert 0 < len(changed) <= len(values)
    for a, b in changed:                                        # a trailing comment survives
        assert a.partition("#")[2] == b.partition("#")[2]
    cfg_tree = yaml.safe_load(base.read_text(encoding="utf-8"))
    assert cfg_tree["choice"]["wtp"]["shortfall"]["inpatient"] == {"value": 39000.0,
                                                                  "uncertain": {"low": 3000, "high": 39000.0}}
    cfg = sim.load_config(base)
    assert cfg.referral.up_slope == pytest.approx(fit["referral.up_slope"], rel=1e-5)
    assert cfg.illness.psychiatric_share == pytest.approx(fit["illness.psychiatric_share"], rel=1e-5)


def test_apply_writes_the_best_fit_into_the_base_file(tmp_path):
    base = tmp_path / "county.yaml"
    base.write_text(f"# my county\nextends: {SMALL}\nname: mine\nchoice:\n  wtp:\n    constant:\n"
                    f"      outpatient: {{township: 1500.0}}   # fitted: the township's constant\n", encoding="utf-8")
    path = _write(tmp_path, config=str(base), search={"method": "nelder-mead", "max_evaluations": 4},
                  ensemble={"samples": 0})
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--quiet", "--apply"]) == 0
    history = pd.read_csv(tmp_path / "out" / "synthetic" / "history.csv")
    best = history.loc[history["objective"].idxmin(), KEY]
    text = base.read_text(encoding="utf-8")
    assert text.startswith("# my county\n# Calibrated by `gradsim calibrate")
    assert f"outpatient: {{township: {best:.6g}}}   # fitted: the township's constant" in text
    import sim
    assert sim.load_config(base).choice.wtp.constant["outpatient"]["township"] == pytest.approx(best, rel=1e-5)


def test_apply_refuses_a_value_the_base_file_does_not_write_before_running(tmp_path, capsys):
    path = _write(tmp_path)                               # the small county inherits KEY from the seed
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--quiet", "--apply"]) == 2
    err = capsys.readouterr().err
    assert f"parameters.{KEY}:" in err and "calibrated.yaml" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_change_of_model_code_changes_the_fingerprint(tmp_path, monkeypatch):
    """Stored evaluations are reused only for the same model code."""
    from sim.calibration import spec

    cal = load_calibration(_write(tmp_path))
    before = cal.fingerprint()
    monkeypatch.setattr(spec, "model_code_fingerprint", lambda: "other code")
    assert cal.fingerprint() != before


def test_check_reads_a_calibration_file_and_names_a_bad_key(tmp_path, capsys):
    root = SMALL.parents[2]
    assert main(["check", str(root / "experiments" / "calibrate_seed_county.yaml")]) == 0
    assert "valid calibration 'calibrate_seed_county'" in capsys.readouterr().out
    assert main(["check", str(_write(tmp_path, search={"method": "gradient"}))]) == 2
    assert "search.method:" in capsys.readouterr().err
