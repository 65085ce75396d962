"""Bad input: exit status 2, one message naming file, key path and what is allowed, no traceback,
no results folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from sim.cli import main

SEED = (ROOT / "configs" / "seed_county.yaml").as_posix()


def _experiment(tmp_path: Path, config_text: str | None = None, scenarios: str = "") -> Path:
    cfg = tmp_path / "county.yaml"
    if config_text is not None:
        cfg.write_text(f"extends: {SEED}\n{config_text}", encoding="utf-8")
    exp = tmp_path / "exp.yaml"
    exp.write_text(f"name: bad\nconfig: {cfg.name if config_text is not None else SEED}\nreplications: 1\n"
                   f"scale: 0.01\n{scenarios}", encoding="utf-8")
    return exp


CASES = {
    "ratio out of range": ("insurance.schemes.resident.inpatient.township.ratio: 1.7\n",
                           "insurance.schemes.resident.inpatient.township.ratio", "less than or equal to 1"),
    "negative beds": ("townships.2.beds: -5\n", "townships.2.beds", "greater than or equal to 0"),
    "unknown key": ("choice:\n  trsut: 1\n", "choice.trsut", "allowed here: cost_per_yuan"),
    "wrong type": ("population.size: many\n", "population.size", "valid integer"),
    "unknown tier": ("facilities.hospitals.0.tier: city\n", "facilities.hospitals.0.tier",
                     "allowed: village, township, county, in_province, out_of_province"),
    "unknown dotted key": ("choice.nope.deeper: 1\n", "choice.nope", "allowed here"),
    "missing extends": (None, "extends", "does not exist"),
    "malformed yaml": ("choice: [unclosed\n", "", "malformed YAML: line"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_county_config_exits_2_with_one_clear_message(case, tmp_path, capsys):
    text, path, allowed = CASES[case]
    exp = _experiment(tmp_path, text if text is not None else "")
    if text is None:
        (tmp_path / "county.yaml").write_text("extends: nowhere.yaml\n", encoding="utf-8")
    out = tmp_path / "results"
    assert main(["run", str(exp), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "county.yaml" in err and path in err and allowed in err
    assert not out.exists()


@pytest.mark.parametrize("scenarios, path, allowed", [
    ("scenarios:\n  - name: x\n    policies: [{policy: teleport, start: 2022-03-01}]\n",
     "scenarios.0.policies.0.policy", "unknown policy 'teleport'; allowed:"),
    ("scenarios:\n  - name: x\n    overrides: {choice.wtp.trust.outpatient: -1}\n", "choice.wtp.trust.outpatient",
     "greater than or equal to 0"),
    ("scenarios:\n  - name: x\n  - name: x\n", "scenarios", "unique"),
    ("replications: 0\n", "replications", "greater than or equal to 1"),
    ("horizon: {start: 2022-05-01, end: 2022-01-01}\n", "horizon.end", "must not be before"),
    ("colour: blue\n", "colour", "allowed here: name, description, config"),
])
def test_bad_experiment_exits_2(scenarios, path, allowed, tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(f"name: bad\nconfig: {SEED}\nscale: 0.01\n{scenarios}", encoding="utf-8")
    out = tmp_path / "results"
    assert main(["run", str(exp), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "exp.yaml" in err and path in err and allowed in err, err
    assert not out.exists()


def test_missing_experiment_file_and_bad_flags(tmp_path, capsys):
    assert main(["run", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "r")]) == 2
    assert "file not found" in capsys.readouterr().err
    exp = _experiment(tmp_path, "")
    assert main(["run", str(exp), "--scale", "1.5", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "--scale must be in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_debug_shows_the_traceback(tmp_path):
    exp = _experiment(tmp_path, "townships.2.beds: -5\n")
    from sim.config import ConfigError
    with pytest.raises(ConfigError):
        main(["run", str(exp), "--debug", "--out", str(tmp_path / "r")])


def test_configs_cannot_execute_code(tmp_path, capsys):
    cfg = tmp_path / "evil.yaml"
    cfg.write_text("!!python/object/apply:os.system ['echo hacked']\n", encoding="utf-8")
    assert main(["check", str(cfg)]) == 2
    assert "malformed YAML" in capsys.readouterr().err


def test_check_accepts_the_shipped_files(capsys):
    assert main(["check", SEED]) == 0
    assert main(["check", str(ROOT / "experiments" / "baseline.yaml")]) == 0
    assert "valid" in capsys.readouterr().out
