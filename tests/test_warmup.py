"""The start of a run is in steady state: the first month's indicators match those after a long
warm-up within their interval, both after the configured 120 simulated days and after a drawn
stationary state (`horizon.start_state: steady`, sim.steady), and a warm-up far too short does not
match (so the check has power). Fast tests: the steady fill itself (docs/performance.md, "No warm-up cost").
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from conftest import ROOT, small_config
from sim import steady
from sim.capacity import draw_los
from sim.config import ConfigError
from sim.model import STREAMS

SEEDS = (11, 12, 13, 14, 15)
INDICATORS = ("bed_occupancy_county", "bed_occupancy_township", "admissions", "in_county_admission_rate",
              "out_of_province_admission_rate")


def _first_month(warmup_days: int, start_state: str = "warmup") -> dict[str, np.ndarray]:
    cfg = sim.load_config(ROOT / "configs" / "seed_county.yaml",
                          {"horizon.start": "2022-01-01", "horizon.end": "2022-01-31",
                           "horizon.warmup_days": warmup_days, "horizon.start_state": start_state})
    rows = []
    for seed in SEEDS:
        m = sim.GradedCareModel(cfg, seed=seed, scale=0.05, patient_agents=False)
        m.run()
        rows.append(m.indicators().loc["2022"])
    return {k: np.array([r[k] for r in rows], dtype=float) for k in INDICATORS}


def _welch(a: np.ndarray, b: np.ndarray, level: float) -> tuple[float, float]:
    """Difference of means and the half-width of its Welch interval at `level`."""
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return float(a.mean() - b.mean()), float(stats.t.ppf(0.5 + level / 2, a.size + b.size - 2) * se)


def _within_interval(a: np.ndarray, b: np.ndarray, level: float) -> bool:
    """Whether the Welch interval of the difference of means at `level` contains 0."""
    diff, half = _welch(a, b, level)
    return abs(diff) <= half


@pytest.mark.slow
def test_first_month_after_the_configured_warm_up_or_a_steady_start_matches_a_long_warm_up():
    configured = sim.load_config(ROOT / "configs" / "seed_county.yaml").horizon.warmup_days
    long, usual, short = _first_month(365), _first_month(configured), _first_month(3)
    drawn = _first_month(configured, "steady")
    level = 1 - 0.05 / len(INDICATORS)                   # Bonferroni over the indicators
    for k in INDICATORS:
        print(k, {name: round(float(v[k].mean()), 4) for name, v in
                  (("365 d", long), ("120 d", usual), ("3 d", short), ("steady", drawn))},
              "steady - 365 d and half-width:", np.round(_welch(drawn[k], long[k], level), 4))
        assert _within_interval(usual[k], long[k], level), (k, usual[k].mean(), long[k].mean())
        assert _within_interval(drawn[k], long[k], level), (k, drawn[k].mean(), long[k].mean())
    assert not _within_interval(short["bed_occupancy_county"], long["bed_occupancy_county"], level)
    assert short["bed_occupancy_county"].mean() < long["bed_occupancy_county"].mean()


# ------------------------------------------------------------------ fast: the steady fill
def _steady_model(seed: int = 3, scale: float = 0.5, engine: str | None = None, **overrides):
    cfg = small_config({"horizon.start_state": "steady", **overrides})
    m = sim.GradedCareModel(cfg, seed=seed, scale=scale, patient_agents=False, engine=engine)
    m.step()                                             # the fill happens on the first day, after policies
    return m


def test_steady_start_simulates_only_a_few_days_and_defaults_to_the_warm_up():
    assert small_config().horizon.start_state == "warmup"
    cfg = small_config({"horizon.start_state": "steady", "horizon.warmup_days": 20})
    m = sim.GradedCareModel(cfg, seed=1, patient_agents=False)
    assert m.warmup_days == steady.STEADY_WARMUP_DAYS < 20
    assert m.start_date == cfg.horizon.start - __import__("datetime").timedelta(days=steady.STEADY_WARMUP_DAYS)
    none = sim.GradedCareModel(small_config({"horizon.start_state": "steady", "horizon.warmup_days": 0}), seed=1,
                               patient_agents=False)
    assert none.warmup_days == 0


def test_steady_fill_is_reproducible_within_capacity_and_draws_on_its_own_stream():
    a, b = _steady_model(), _steady_model()
    assert np.array_equal(a.beds.calendar, b.beds.calendar) and np.array_equal(a.beds.occupied, b.beds.occupied)
    assert np.array_equal(a.followup_day, b.followup_day) and np.array_equal(a.followup_person, b.followup_person)
    assert np.array_equal(a.background.arrivals, b.background.arrivals)
    assert np.array_equal(a.records["bed_days"], b.records["bed_days"])

    fresh = sim.GradedCareModel(small_config({"horizon.start_state": "steady"}), seed=3, scale=0.5, patient_agents=False)
    plain = sim.GradedCareModel(small_config(), seed=3, scale=0.5, patient_agents=False)
    steady.fill(fresh)
    for name in STREAMS:
        same = fresh.streams[name].bit_generator.state == plain.streams[name].bit_generator.state
        assert same == (name != "steady"), name
    occupied, cap = fresh.beds.occupied, fresh.bed_capacity
    assert (occupied >= 0).all() and (occupied <= cap).all()
    assert np.array_equal(fresh.beds.calendar.sum(axis=0), occupied), "every bed has its discharge day"
    assert fresh.beds.calendar[0].sum() == 0, "no stay ends before the first day's discharges"
    x = fresh.steady_expected
    expected = np.minimum(x["rho"], cap)
    assert expected[np.isfinite(cap)].sum() > 10
    assert abs(occupied.sum() - expected.sum()) < 5 * np.sqrt(expected.sum()) + 1
    assert (fresh.background.weight == 1.0).all() and fresh.background.arrivals.sum() > 0


def test_steady_start_gives_the_same_numbers_on_both_engines():
    runs = []
    for engine in ("numpy", "fast"):
        cfg = small_config({"horizon.start_state": "steady", "horizon.end": "2022-02-15"})
        m = sim.GradedCareModel(cfg, seed=5, scale=0.5, patient_agents=False, engine=engine)
        runs.append(m.run())
    a, b = runs
    for key in a.records:
        assert np.array_equal(a.records[key], b.records[key]), key
    assert np.array_equal(a.expected_wait, b.expected_wait)
    assert a.indicators().equals(b.indicators())


def test_stay_distribution_and_seasonal_load_match_the_model_draws():
    mean, sd, max_days = np.array([4.0, 9.2, 50.0]), 0.5, 365
    pmf = steady.los_pmf(mean, sd, max_days)
    assert np.allclose(pmf.sum(axis=1), 1.0) and (pmf[:, 0] == 0).all()
    z = np.random.default_rng(0).standard_normal(200_000)
    for i, m in enumerate(mean):
        drawn = draw_los(np.full(z.size, m), sd, max_days, z)
        assert abs(drawn.mean() - pmf[i] @ np.arange(max_days + 1)) < 4 * drawn.std() / np.sqrt(z.size)
    flat_load, weights = steady.seasonal_stays(pmf, np.ones(max_days))
    assert np.allclose(flat_load, pmf @ np.arange(max_days + 1.0))        # Little's law: beds = E[L] per admission
    survival = 1.0 - np.cumsum(pmf, axis=1)[:, :-1]
    assert np.allclose(weights, survival, atol=1e-9)       # equilibrium residual stay: P(R = r) ~ P(L > r)
    rising = np.linspace(1.2, 0.8, max_days)              # more admissions recently than long ago
    assert (steady.seasonal_stays(pmf, rising)[0] > flat_load).all()


def test_a_bad_start_state_is_refused_by_name():
    with pytest.raises(ConfigError, match="start_state") as err:
        small_config({"horizon.start_state": "cold"})
    assert "steady" in str(err.value)


def test_a_full_facility_turns_its_excess_elsewhere_in_the_steady_fill():
    """With the county hospital cut to 2 beds its acceptance share falls below 1 and its beds are full,
    but the county's admissions are not lost: displaced episodes choose again (sim.steady step 2)."""
    def filled(beds: int):
        cfg = small_config({"horizon.start_state": "steady", "facilities.hospitals.0.beds": beds})
        m = sim.GradedCareModel(cfg, seed=4, scale=0.5, patient_agents=False)
        steady.fill(m)
        return m
    wide, narrow = filled(60), filled(2)
    hospital = narrow.facilities.index("county_people")
    x, y = wide.steady_expected, narrow.steady_expected
    assert x["accept"][hospital] == 1.0 and y["accept"][hospital] < 0.5
    assert narrow.beds.occupied[hospital] <= 2
    assert y["admitted"][hospital] < 0.5 * x["admitted"][hospital]
    others = np.arange(len(narrow.facilities)) != hospital
    assert y["admitted"][others].sum() > x["admitted"][others].sum()
    assert y["admitted"].sum() > 0.8 * x["admitted"].sum()
