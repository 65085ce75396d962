"""outflow_change.csv: the change in outflow by destination x severity x path adds up to the change
in the share indicators, with the same intervals as summary.csv."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiment import run_experiment

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    exp = {"name": "decomp", "config": str(ROOT / "configs" / "seed_county.yaml"), "seed": 3, "replications": 3,
           "horizon": {"start": "2022-01-01", "end": "2022-03-31", "warmup_days": 10}, "uncertainty": False,
           "scenarios": [{"name": "baseline"},
                         {"name": "specialties", "policies": [
                             {"policy": "county_hospital_capability", "start": "2022-01-01",
                              "params": {"hospital": "county_people", "gain": 1.0, "ramp_days": 0}}]}]}
    res = run_experiment(exp, out=tmp_path_factory.mktemp("decomp"), workers=1, scale=0.05)
    return res.path


def test_slices_add_up_to_the_share_indicators(folder):
    change = pd.read_csv(folder / "outflow_change.csv", dtype={"severity": str})
    summary = pd.read_csv(folder / "summary.csv")
    rows = change[(change["scenario"] == "specialties") & (change["care_type"] == "inpatient")
                  & (change["period"].astype(str) == "2022")]

    def one(destination, severity="all", path="all", column="diff_mean"):
        r = rows[(rows["destination"] == destination) & (rows["severity"] == severity) & (rows["path"] == path)]
        assert len(r) == 1
        return float(r[column].iloc[0])

    for destination, indicator in (("out_of_province", "out_of_province_admission_rate"),
                                   ("outside_county", "out_of_county_admission_rate")):
        s = summary[(summary["scenario"] == "specialties") & (summary["period"].astype(str) == "2022")
                    & (summary["indicator"] == indicator)]
        for column in ("mean", "diff_mean"):
            assert one(destination, column=column) == pytest.approx(float(s[column].iloc[0]), rel=1e-4, abs=1e-7)
        by_severity = sum(one(destination, str(k)) for k in range(1, 5))
        assert by_severity == pytest.approx(one(destination), rel=1e-4, abs=1e-7)
        paths = rows[(rows["destination"] == destination) & (rows["severity"] == "all") & (rows["path"] != "all")]
        assert paths["diff_mean"].sum() == pytest.approx(one(destination), rel=1e-4, abs=1e-7)
    both = one("in_province") + one("out_of_province")
    assert both == pytest.approx(one("outside_county"), rel=1e-4, abs=1e-7)


def test_a_more_capable_county_hospital_keeps_severe_cases_in_the_county(folder):
    change = pd.read_csv(folder / "outflow_change.csv", dtype={"severity": str})
    r = change[(change["scenario"] == "specialties") & (change["care_type"] == "inpatient")
               & (change["destination"] == "outside_county") & (change["severity"] == "4")
               & (change["path"] == "all") & (change["period"].astype(str) == "2022")]
    assert float(r["diff_mean"].iloc[0]) < 0 and float(r["diff_ci_high"].iloc[0]) < 0
    base = change[change["scenario"] == "baseline"]
    assert np.allclose(base["diff_mean"], 0.0)
