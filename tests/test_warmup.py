"""The configured warm-up is long enough: the first month's indicators match those after a long
warm-up within their interval, and a warm-up far too short does not (so the check has power).

Issue 13 item 2 asks for this test of any quicker start; here it checks the 120 simulated days that
the model still uses (docs/performance.md, "Not done").
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from conftest import ROOT

SEEDS = (11, 12, 13, 14, 15)
INDICATORS = ("bed_occupancy_county", "bed_occupancy_township", "admissions", "in_county_admission_rate")


def _first_month(warmup_days: int) -> dict[str, np.ndarray]:
    cfg = sim.load_config(ROOT / "configs" / "seed_county.yaml",
                          {"horizon.start": "2022-01-01", "horizon.end": "2022-01-31",
                           "horizon.warmup_days": warmup_days})
    rows = []
    for seed in SEEDS:
        m = sim.GradedCareModel(cfg, seed=seed, scale=0.05, patient_agents=False)
        m.run()
        rows.append(m.indicators().loc["2022"])
    return {k: np.array([r[k] for r in rows], dtype=float) for k in INDICATORS}


def _within_interval(a: np.ndarray, b: np.ndarray, level: float) -> bool:
    """Whether the Welch interval of the difference of means at `level` contains 0."""
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    q = stats.t.ppf(0.5 + level / 2, a.size + b.size - 2)
    return abs(a.mean() - b.mean()) <= q * se


@pytest.mark.slow
def test_first_month_after_the_configured_warm_up_matches_a_long_warm_up():
    configured = sim.load_config(ROOT / "configs" / "seed_county.yaml").horizon.warmup_days
    long, usual, short = _first_month(365), _first_month(configured), _first_month(3)
    level = 1 - 0.05 / len(INDICATORS)                   # Bonferroni over the indicators
    for k in INDICATORS:
        assert _within_interval(usual[k], long[k], level), (k, usual[k].mean(), long[k].mean())
    assert not _within_interval(short["bed_occupancy_county"], long["bed_occupancy_county"], level)
    assert short["bed_occupancy_county"].mean() < long["bed_occupancy_county"].mean()
