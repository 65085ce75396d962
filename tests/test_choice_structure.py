"""Where residents go: willingness-to-pay utilities, the nested logit, filing as a decision,
destinations outside the county, binding capacity, emergencies and common random numbers."""
from __future__ import annotations

import numpy as np
from scipy import stats
import pytest

import sim
from conftest import ROOT, edited_config, run_model, small_config
from sim import choice, filing
from sim.indicators import outflow_table
from sim.illness import N_RN
from sim.episodes import Batch
from sim.policies import build_policies

SEED = ROOT / "configs" / "seed_county.yaml"


# ------------------------------------------------------------------ willingness to pay
@pytest.mark.parametrize("care, group", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_utilities_reproduce_the_configured_willingness_to_pay(care, group):
    cfg = small_config()
    p = choice.choice_params(cfg)
    sev = np.array([1 if group == 0 else 4])
    c = np.array([care])

    def static(**kw):
        args = dict(capability=np.array([2.0]), hours=np.array([1.0]))
        args.update(kw)
        return choice.static_utility(p, c, sev, np.array([1]), args["capability"], args["hours"])[0]

    per_yuan = -(choice.dynamic_utility(p, c, choice.beta_of(p, c, sev), np.array([[1.0]]), np.zeros((1, 1)),
                                        np.full((1, 1), p.trust_reference), np.zeros((1, 1), bool),
                                        np.zeros((1, 1), bool))[0, 0])
    travel = static(hours=np.array([1.0])) - static(hours=np.array([2.0]))
    capability = static(capability=np.array([5.0])) - static(capability=np.array([4.0]))
    w = cfg.choice.wtp
    name = ("minor", "severe")[group]
    kind = ("outpatient", "inpatient")[care]
    assert travel / per_yuan == pytest.approx(w.travel_per_hour[kind][name])
    assert capability / per_yuan == pytest.approx(w.capability[kind][name])
    wait = -choice.dynamic_utility(p, c, choice.beta_of(p, c, sev), np.zeros((1, 1)), np.ones((1, 1)),
                                   np.full((1, 1), p.trust_reference), np.zeros((1, 1), bool),
                                   np.zeros((1, 1), bool))[0, 0]
    assert wait / per_yuan == pytest.approx(w.wait_per_day[kind])


def test_the_implied_wtp_table_lists_every_attribute_with_income_spread():
    rows = choice.implied_wtp_table(small_config())
    assert {r["attribute"] for r in rows} >= {"travel per hour", "capability unit", "wait per day"}
    for r in rows:
        assert r["poorest"] <= r["wtp_yuan"] <= r["richest"]


# ------------------------------------------------------------------ nested logit
def test_a_nested_logit_with_nest_parameter_one_is_the_multinomial_logit():
    rng = np.random.default_rng(3)
    u = rng.normal(size=(500, 6))
    allowed = rng.random((500, 6)) < 0.8
    nest = np.tile(np.array([0, 0, 1, 2, 2, 2]), (500, 1))
    w = choice.nested_weights(u, allowed, nest, np.ones(3))
    nl = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
    assert np.allclose(nl, choice.probabilities(u, allowed))


def test_a_nest_parameter_below_one_shifts_a_removed_alternative_to_its_nest_mates():
    u = np.zeros((1, 3))
    nest = np.array([[0, 0, 1]])
    mu = np.array([0.3, 1.0])
    both = choice.nested_weights(u, np.ones((1, 3), bool), nest, mu)
    both /= both.sum()
    one = choice.nested_weights(u, np.array([[True, False, True]]), nest, mu)
    one /= one.sum()
    assert one[0, 0] - both[0, 0] > one[0, 2] - both[0, 2]      # the nest-mate gains more than the other nest


# ------------------------------------------------------------------ filing
def test_filing_probability_falls_with_hassle_and_rises_with_the_penalty():
    beta = np.full(5, 0.001)
    hassle = np.array([0.0, 500, 1000, 2000, 4000])
    p = filing.filing_probability(beta, np.full(5, 1500.0), hassle)
    assert np.all(np.diff(p) < 0)
    saved = np.array([0.0, 500, 1000, 2000, 4000])
    q = filing.filing_probability(beta, saved, np.full(5, 1000.0))
    assert np.all(np.diff(q) > 0)
    cost, prob = filing.expected_cost(np.array([0.001]), np.array([100.0]), np.array([300.0]), np.array([50.0]),
                                      np.array([False]))
    assert cost[0] == 300.0 and prob[0] == 0.0


def test_a_higher_filing_hassle_means_fewer_filed_and_fewer_admissions_outside_the_county():
    cheap = run_model(small_config({"referral.filing_hassle.inpatient": 0.0}), scale=0.5)
    dear = run_model(small_config({"referral.filing_hassle.inpatient": 20000.0}), scale=0.5)
    oop = cheap.tier_names.index("out_of_province")

    def filed_share(m):
        f = m.flows.sum(axis=0)[oop, 1]
        return f[..., 1].sum() / f.sum()                    # the last axis is filed

    assert filed_share(cheap) > filed_share(dear)
    assert cheap.indicators().loc["all", "out_of_county_admission_rate"] > \
        dear.indicators().loc["all", "out_of_county_admission_rate"]


# ------------------------------------------------------------------ outside the county, capacity
@pytest.fixture(scope="module")
def seed_run():
    m = sim.GradedCareModel(sim.load_config(SEED, {"horizon.end": "2022-03-31"}), seed=4, scale=0.05,
                            patient_agents=False)
    return m.run()


def test_beds_outside_the_county_never_exceed_capacity(seed_run):
    m = seed_run
    outside = np.flatnonzero(~m.tier_in_county[m.facilities.tier] & np.isfinite(m.beds_open[0]))
    assert outside.size >= 2
    occupied = m.records["bed_days"][:, outside, 1]
    assert (occupied <= m.beds_open[:, outside]).all()
    assert occupied[m.warmup_days:].mean() > 0.5 * m.beds_open[0, outside].mean(), "non-resident load fills them"


def test_severe_psychiatric_admissions_are_not_all_sent_out_of_the_province(seed_run):
    m = seed_run
    flows = m.flows.sum(axis=0)
    served_psych = m.records["served"][m.warmup_days:, m.facilities.index("county_third"), 1].sum()
    assert served_psych > 0
    oop = m.tier_names.index("out_of_province")
    severe = flows[:, 1, 1, 2:].sum(axis=(1, 2, 3))             # psychiatric severity 3-4 admissions by tier
    assert severe[m.tier_names.index("county")] > 0
    assert severe[oop] < severe.sum()


def test_the_outflow_table_adds_up_to_the_share_indicators(seed_run):
    m = seed_run
    table = outflow_table(m)
    ind = m.indicators()
    for period in ("2022", "all"):
        rows = table[(table.period == period) & (table.care_type == "inpatient")]
        for dest, part in rows.groupby("destination"):
            assert part["share"].sum() == pytest.approx(ind.loc[period, f"inpatient_share_{dest}"])
        assert rows["share"].sum() == pytest.approx(ind.loc[period, "out_of_county_admission_rate"])
        assert rows["episodes"].sum() == pytest.approx(
            ind.loc[period, "admissions"] * ind.loc[period, "out_of_county_admission_rate"])
    assert set(table.path) == {"self_referred", "referred_up", "referred_out", "referred_down"}


def _busy_people_hospital(physicians: float):
    def edit(tree):
        for h in tree["facilities"]["hospitals"]:
            if h["name"] == "county_people":
                h["physicians"] = physicians
                h["nonresident_admissions"] = 1700       # ≈ 60 beds x 85% x 365 / 11 days
    return edited_config(edit)


def test_waits_and_displacement_at_the_peoples_hospital_rise_when_physicians_leave_it():
    full = run_model(_busy_people_hospital(30), seed=2)
    short = run_model(_busy_people_hospital(14), seed=2)      # staffed beds: 14 x 3 = 42 of 60
    i = full.facilities.index("county_people")
    assert short.bed_capacity[i] < full.bed_capacity[i]
    rejected = [m.records["rejected"][m.warmup_days:, i, 1].sum() for m in (full, short)]
    waited = [m.records["wait_days"][m.warmup_days:, i].sum() for m in (full, short)]
    assert rejected[1] > rejected[0] and waited[1] >= waited[0]


def test_emergencies_go_to_the_nearest_facility_that_can_treat_them():
    m = sim.GradedCareModel(small_config(), seed=1, scale=0.2, patient_agents=False)
    n = 40
    person = np.arange(n)
    b = Batch.new(person, np.ones(n), np.full(n, 3), np.zeros(n), 0, np.zeros(n, bool), np.zeros((n, 2 * N_RN)),
                  emergency=np.ones(n, bool))
    alt, _, allowed, _, _ = m.chooser.utilities(b)
    pick = m.chooser.nearest_capable(b, alt, allowed)
    v = m.population.village[person]
    for e in range(n):
        ok = [k for k in range(alt.shape[1]) if allowed[e, k] and m.facilities.capability[alt[e, k]] >= 3]
        best = min(ok, key=lambda k: m.county.travel_hours[v[e], alt[e, k]])
        assert m.county.travel_hours[v[e], alt[e, pick[e]]] == m.county.travel_hours[v[e], alt[e, best]]


# ------------------------------------------------------------------ common random numbers
def _outflow_of_town_c(m) -> float:
    """Out-of-county share of the admissions of residents of town_c (which the cutting lever skips)."""
    served = m.village_served.sum(axis=0)[m.county.village_township == 2][:, :, 1].sum(axis=0)   # by tier
    return served[~m.tier_in_county].sum() / served.sum()


def _paired_sd(specs, measure, n=8):
    """SD over replicates of the paired change a lever makes (scenario minus baseline, same seed)."""
    cfg = small_config({"horizon.end": "2022-06-30"})
    diffs = [measure(run_model(cfg, seed=100 + r, policies=build_policies(specs, cfg))) -
             measure(run_model(cfg, seed=100 + r)) for r in range(n)]
    return float(np.std(diffs, ddof=1))


def test_removing_episodes_leaves_everyone_else_paired():
    """An admission-cutting lever in two townships: the residents of the third are paired as tightly as
    under a lever that changes a rule for everyone (removing an episode shifts no other's draws).
    (In the covered townships the change itself varies with which admissions are removed.)"""
    cutting = _paired_sd([{"policy": "chronic_capitation", "start": "2022-01-01",
                           "params": {"townships": ["town_a", "town_b"], "admission_reduction": 0.3, "ramp_days": 0,
                                      "referral_within_county": False}}], _outflow_of_town_c)
    rule = _paired_sd([{"policy": "reimbursement", "start": "2022-01-01",
                        "params": {"inpatient": {"county": {"ratio_change": 0.1}}}}], _outflow_of_town_c)
    # both SDs come from 8 pairs: "as tightly" is an F-test (one-sided, 5%), which a broken pairing
    # (town c's draws shifted, SD of unpaired runs, several times larger) fails and chance does not
    assert (cutting / rule) ** 2 < stats.f.ppf(0.95, 7, 7), (cutting, rule)
