"""Reduced scale: the residents not simulated are background load (sim.background), so levels do
not depend on --scale, and a scale too small to mean anything is refused."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from conftest import ROOT, run_model, small_config
from sim.background import smallest_sensible_scale

SEED_COUNTY = ROOT / "configs" / "seed_county.yaml"


def _replicates(cfg, scale: float, n: int) -> pd.DataFrame:
    rows = []
    for r in range(n):
        m = sim.GradedCareModel(cfg, seed=1000 + r, scale=scale, patient_agents=False)
        m.run()
        rows.append(m.indicators().loc["all"])
        m.release()
    return pd.DataFrame(rows)


# Displacement is a rare event that grows convexly with the noise of the background's estimated
# demand; at 0.05 it reads high, and the few patients it turns away at the nearly full hospitals of
# the province go out of the province instead (docs/ODD.md, "Reduced scale"). These are held to a
# documented bound at 0.05 instead of the interval; at 0.1 every indicator meets the interval.
KNOWN_BIAS = {(0.05, "displaced_episodes"): 1.8, (0.05, "out_of_province_rate"): 1.05}


@pytest.mark.slow
def test_every_indicator_at_reduced_scale_matches_full_scale():
    """Mean at scale 0.05 and 0.1 within the combined Monte Carlo interval of the full-scale mean.

    ~50 indicators x 2 scales are tested at once, so the interval is Bonferroni-wide (family-wise 5%).
    """
    cfg = sim.load_config(SEED_COUNTY)
    full = _replicates(cfg, 1.0, 6)
    tests = {0.1: _replicates(cfg, 0.1, 16), 0.05: _replicates(cfg, 0.05, 16)}
    z = stats.norm.ppf(1 - 0.05 / (2 * full.shape[1] * len(tests)))
    failures = []
    for scale, reduced in tests.items():
        for name in full.columns:
            a, b = full[name].dropna(), reduced[name].dropna()
            if a.empty and b.empty:
                continue
            assert len(a) == len(full) and len(b) == len(reduced), f"{name} is NaN in some runs"
            se = np.hypot(a.std() / np.sqrt(len(a)), b.std() / np.sqrt(len(b)))
            gap = abs(a.mean() - b.mean())
            if (scale, name) in KNOWN_BIAS:
                if not a.mean() - z * se <= b.mean() <= KNOWN_BIAS[(scale, name)] * a.mean():
                    failures.append(f"{name} at {scale}: {b.mean():.6g} vs full {a.mean():.6g} (documented bound)")
            elif gap > z * se + 1e-9 * max(1.0, abs(a.mean())):
                failures.append(f"{name} at {scale}: {b.mean():.6g} vs full {a.mean():.6g} (allowed ±{z * se:.3g})")
    assert not failures, "\n".join(failures)


def test_capacity_is_the_full_county_at_any_scale():
    cfg = small_config()
    full = sim.GradedCareModel(cfg, seed=1, scale=1.0, patient_agents=False)
    tenth = sim.GradedCareModel(cfg, seed=1, scale=0.1, patient_agents=False)
    assert np.array_equal(full.daily_slots, tenth.daily_slots)
    assert np.array_equal(full.bed_capacity, tenth.bed_capacity)
    assert len(tenth.population) == 500


def test_background_fills_beds_but_never_past_capacity():
    m = run_model(small_config(), scale=0.1)
    days = slice(m.warmup_days, None)
    occupied, beds = m.records["bed_days"][days, :, 1], m.beds_open[days]
    finite = np.isfinite(beds[0]) & (beds[0] > 0)
    assert (occupied[:, finite] <= beds[:, finite]).all()
    simulated_only = m.records["served"][:, :, 1].sum() * 5.0     # ~5-day stays, simulated admissions only
    assert occupied[:, finite].sum() > 2 * simulated_only, "background patients must hold beds too"


def test_full_scale_draws_no_background():
    m = run_model(small_config(), scale=1.0)
    assert not m.background.active
    fresh = sim.GradedCareModel(small_config(), seed=7, patient_agents=False).streams["background"]
    assert m.streams["background"].random() == fresh.random()


def test_a_scale_with_no_resident_is_refused():
    with pytest.raises(ValueError, match="no resident"):
        sim.GradedCareModel(small_config(), seed=1, scale=1e-5, patient_agents=False)


def test_smallest_sensible_scale_gives_each_village_enough_residents():
    weights = np.array([0.5, 0.3, 0.2])
    s = smallest_sensible_scale(1000, weights)
    assert s == pytest.approx(10 / 200)
    assert smallest_sensible_scale(10, weights) == 1.0


def test_an_experiment_at_a_meaningless_scale_exits_2_naming_the_smallest_sensible_one(tmp_path, capsys):
    from sim.cli import main
    exp = tmp_path / "e.yaml"
    exp.write_text(f"name: tiny\nconfig: {SEED_COUNTY.as_posix()}\nreplications: 1\n", encoding="utf-8")
    assert main(["run", str(exp), "--scale", "0.00001", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "smallest sensible scale for this county is 0.0226" in err and "scale" in err
    assert not (tmp_path / "r").exists()
