"""The pure rule functions: insurance, logit choice and rationing, tested alone."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import small_config

from sim import choice, insurance
from sim.capacity import draw_los, ration


# ------------------------------------------------------------------ insurance
def test_deductible_ratio_and_cap():
    cost = np.array([50_00, 1000_00, 1000_00, 1000_00])
    fund, oop = insurance.reimburse(cost, deductible=np.full(4, 100_00), ratio=np.array([0.9, 0.9, 0.5, 0.9]),
                                    cap_remaining=np.array([10**9, 10**9, 10**9, 200_00]))
    assert fund.tolist() == [0, 810_00, 450_00, 200_00]
    assert (fund + oop == cost).all()


def test_policy_scope_share_limits_what_is_reimbursed():
    fund, oop = insurance.reimburse(np.array([1000_00]), np.array([0]), np.array([1.0]), np.array([10**9]),
                                    covered=np.array([0.8]))
    assert fund[0] == 800_00 and oop[0] == 200_00


def test_unfiled_referral_loses_points():
    r = insurance.effective_ratio(np.array([0.55, 0.55]), np.array([0.10, 0.10]), np.array([True, False]))
    assert r.tolist() == pytest.approx([0.55, 0.45])


def test_one_persons_episodes_share_the_annual_cap_in_batch_order():
    person = np.array([7, 3, 7, 7])
    fund = np.array([60, 50, 60, 60])
    remaining = np.array([100, 1000, 100, 100])
    out = insurance.share_annual_cap(person, fund, remaining)
    assert out.tolist() == [60, 50, 40, 0]


def test_fund_plus_oop_is_cost_for_random_batches():
    rng = np.random.default_rng(0)
    n = 5000
    cost = rng.integers(1, 10**7, n)
    fund, oop = insurance.reimburse(cost, rng.integers(0, 10**5, n), rng.random(n), rng.integers(-10, 10**6, n),
                                    rng.random(n))
    assert (fund + oop == cost).all() and (fund >= 0).all() and (oop >= 0).all()


# ------------------------------------------------------------------ choice
def test_probabilities_are_a_logit_over_allowed_alternatives():
    u = np.array([[0.0, 1.0, 2.0], [5.0, 0.0, 0.0]])
    allowed = np.array([[True, True, False], [False, False, False]])
    p = choice.probabilities(u, allowed)
    assert p[0].tolist() == pytest.approx([1 / (1 + np.e), np.e / (1 + np.e), 0.0])
    assert p[1].sum() == 0


def _draw(u, allowed, draws):
    return choice.draw(choice.probabilities(u, allowed), draws)


def test_draw_follows_the_probabilities_and_never_picks_a_closed_alternative():
    rng = np.random.default_rng(1)
    u = np.tile(np.array([0.0, np.log(2.0), 3.0, np.log(3.0)]), (60000, 1))
    allowed = np.tile(np.array([True, True, False, True]), (60000, 1))
    pick = _draw(u, allowed, rng.random(60000))
    freq = np.bincount(pick, minlength=4) / pick.size
    assert freq[2] == 0
    assert freq[[0, 1, 3]] == pytest.approx([1 / 6, 2 / 6, 3 / 6], abs=0.01)
    none = _draw(u[:2], np.zeros((2, 4), dtype=bool), rng.random(2))
    assert none.tolist() == [-1, -1]


def test_an_alternative_with_probability_zero_changes_no_draw():
    rng = np.random.default_rng(2)
    u = rng.normal(size=(1000, 5))
    allowed = rng.random((1000, 5)) < 0.8
    draws = rng.random(1000)
    a = _draw(u, allowed, draws)
    u2 = np.insert(u, 2, 9.0, axis=1)
    allowed2 = np.insert(allowed, 2, False, axis=1)
    b = _draw(u2, allowed2, draws)
    assert np.array_equal(np.where(a >= 2, a + 1, a), b)


def test_higher_out_of_pocket_lowers_utility_more_for_the_poor():
    cfg = small_config()
    p = choice.choice_params(cfg)
    oop = np.array([[100.0], [100.0]]) * p.income_factor[[0, 4]][:, None]      # poorest and richest band
    care, sev = np.array([0, 0]), np.array([1, 1])
    u = choice.dynamic_utility(p, care, choice.beta_of(p, care, sev), oop, np.zeros((2, 1)), np.full((2, 1), 0.8),
                               np.zeros((2, 1), bool), np.zeros((2, 1), bool))
    assert u[0, 0] < u[1, 0] < 0


# ------------------------------------------------------------------ capacity
def test_serving_order_is_severity_then_waiting_then_arrival():
    facility = np.zeros(5, dtype=np.int64)
    severity = np.array([1, 3, 1, 1, 2])
    waited = np.array([0, 0, 2, 0, 0])
    arrival = np.array([0.1, 0.9, 0.8, 0.05, 0.5])
    served = ration(facility, np.array([3.0]), severity, waited, arrival)
    assert served.tolist() == [False, True, True, False, True]
    served = ration(facility, np.array([4.0]), severity, waited, arrival)
    assert served.tolist() == [False, True, True, True, True]


def test_rationing_per_facility_and_fractional_capacity():
    facility = np.array([0, 0, 1, 1, 1])
    served = ration(facility, np.array([1.7, np.inf]), np.ones(5), np.zeros(5), np.arange(5.0))
    assert served.tolist() == [True, False, True, True, True]


def test_lengths_of_stay_are_whole_days_with_the_requested_mean():
    rng = np.random.default_rng(3)
    los = draw_los(np.full(100000, 9.2), 0.5, 365, rng.standard_normal(100000))
    assert los.min() >= 1 and los.dtype.kind == "i"
    assert los.mean() == pytest.approx(9.2, rel=0.02)


def test_repeated_keys_are_found_exactly():
    from sim.insurance import _repeated
    rng = np.random.default_rng(4)
    for n in (0, 1, 2, 50, 3000):
        key = rng.integers(0, 600_000, n)
        key[: n // 10] = key[n // 10: 2 * (n // 10)]
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        expected = np.flatnonzero(counts[inverse] > 1) if n else np.zeros(0, dtype=np.int64)
        assert np.array_equal(_repeated(key), expected)


def test_scaled_beds_keep_the_county_total():
    from sim.model import whole_beds
    raw = np.array([45, 45, 25, 25, 24, 24, 800, 0], dtype=float) * 0.1
    beds = whole_beds(raw)
    assert beds.sum() == round(raw.sum()) and (np.abs(beds - raw) < 1).all()
    assert np.array_equal(whole_beds(np.array([3.0, 0.0, 12.0])), [3.0, 0.0, 12.0])
