"""Invariants, boundary cases, monotone responses and reproducibility of the daily engine."""
from __future__ import annotations

import numpy as np
import pytest

import sim
from conftest import edited_config, run_model, small_config
from sim.insurance import FEN
from sim.records import WIDE_KEYS


def _total(m, key):
    return m.records[key].sum(axis=0)  # (facilities, care)


# ------------------------------------------------------------------ conservation
def test_every_episode_is_accounted_for(small_run):
    m = small_run
    created = m.daily["new"].sum() + m.daily["followups"].sum() + m.daily["continuations"].sum()
    ended = m.records["served"].sum() + m.daily["unmet"].sum() + len(m.pending)
    assert created > 1000
    assert created == ended


def test_every_arrival_at_a_facility_is_served_displaced_or_referred(small_run):
    m = small_run
    arrivals, served = _total(m, "arrivals"), _total(m, "served")
    rejected, door = _total(m, "rejected"), _total(m, "referred_up_at")
    assert np.array_equal(arrivals[:, 0], served[:, 0] + rejected[:, 0])
    assert np.array_equal(arrivals[:, 1], served[:, 1] + rejected[:, 1] + door[:, 1])
    assert (_total(m, "served_after_displacement") <= served).all()


def test_conservation_holds_under_congestion():
    cfg = small_config({"facilities.village_doctors_per_clinic": 0.05, "choice.patience_days.outpatient": 0,
                        "choice.max_tries_per_day": 1})
    m = run_model(cfg)
    assert m.daily["unmet"].sum() > 0 and m.records["rejected"].sum() > 0
    created = m.daily["new"].sum() + m.daily["followups"].sum() + m.daily["continuations"].sum()
    assert created == m.records["served"].sum() + m.daily["unmet"].sum() + len(m.pending)


# ------------------------------------------------------------------ capacity
def _tight_beds(tree):
    for t in tree["townships"]:
        t["beds"] = 1
    for h in tree["facilities"]["hospitals"]:
        if h["name"] != "out_of_province":
            h["beds"] = 3


def test_beds_never_exceed_capacity_on_any_day():
    m = run_model(edited_config(_tight_beds))
    occupied = m.records["bed_days"][:, :, 1]
    finite = np.isfinite(m.beds_open[0])
    assert (m.records["rejected"][:, :, 1].sum() > 0), "the fixture must make beds bind"
    assert (occupied[:, finite] <= m.beds_open[:, finite] + 1e-9).all()
    assert (occupied[:, finite].max(axis=0) == m.beds_open[0, finite]).any()


def test_zero_township_beds_means_zero_township_admissions():
    def edit(tree):
        for t in tree["townships"]:
            t["beds"] = 0
    m = run_model(edited_config(edit))
    ind = m.indicators().loc["all"]
    assert ind["inpatient_share_township"] == 0
    t = m.tier_names.index("township")
    assert m.records["served"][:, m.facilities.tier == t, 1].sum() == 0
    assert m.records["served"][:, :, 1].sum() > 0


def test_doubling_county_physicians_does_not_raise_county_waits():
    one_try = {"choice.max_tries_per_day": 1}
    scarce = run_model(small_config({**one_try, "facilities.hospitals.0.physicians": 2,
                                     "facilities.hospitals.1.physicians": 1})).indicators().loc["all"]
    double = run_model(small_config({**one_try, "facilities.hospitals.0.physicians": 4,
                                     "facilities.hospitals.1.physicians": 2})).indicators().loc["all"]
    assert scarce["mean_wait_days_county"] > 0, "the fixture must make county slots bind"
    assert double["mean_wait_days_county"] <= scarce["mean_wait_days_county"]


# ------------------------------------------------------------------ money
def test_fund_plus_out_of_pocket_equals_cost_exactly(small_run):
    m = small_run
    assert m.records["cost"].sum() > 0
    assert np.array_equal(m.records["fund"] + m.records["oop"], m.records["cost"])
    assert (m.records["fund"] >= 0).all() and (m.records["oop"] >= 0).all()


def test_full_reimbursement_means_zero_out_of_pocket():
    def edit(tree):
        for sched in tree["insurance"]["schemes"].values():
            for care in ("inpatient", "outpatient"):
                for b in sched[care].values():
                    b.update(deductible=0, ratio=1.0, covered_share=1.0)
            sched["inpatient_annual_cap"] = 1e12
            sched["outpatient_annual_cap"] = 1e12
            sched["unfiled_penalty"] = {}
    m = run_model(edited_config(edit))
    assert m.records["oop"].sum() == 0
    assert m.records["fund"].sum() == m.records["cost"].sum() > 0
    assert m.indicators().loc["all", "effective_reimbursement_ratio"] == 1.0


def test_raising_township_inpatient_reimbursement_does_not_lower_township_share():
    shares = []
    for ratio, ded in ((0.6, 600), (1.0, 0)):
        cfg = small_config({"insurance.schemes.resident.inpatient.township.ratio": ratio,
                            "insurance.schemes.resident.inpatient.township.deductible": ded})
        shares.append(np.mean([run_model(cfg, seed=s).indicators().loc["all", "inpatient_share_township"]
                               for s in (1, 2)]))
    assert shares[1] >= shares[0]


# ------------------------------------------------------------------ indicators
def test_shares_sum_to_one_and_lie_in_unit_interval(small_run):
    ind = small_run.indicators()
    tiers = small_run.tier_names
    for period, row in ind.iterrows():
        assert sum(row[f"outpatient_share_{t}"] for t in tiers) == pytest.approx(1.0)
        assert sum(row[f"inpatient_share_{t}"] for t in tiers) == pytest.approx(1.0)
        for name, value in row.items():
            if "share" in name or name.endswith("_rate") or name.startswith("bed_occupancy"):
                assert 0.0 <= value <= 1.0, (period, name, value)


def test_scaled_run_reports_counts_at_full_population():
    cfg = small_config({"population.size": 20000})
    full = run_model(cfg, scale=1.0).indicators().loc["all"]
    tenth = run_model(cfg, scale=0.25).indicators().loc["all"]
    assert tenth["outpatient_visits"] == pytest.approx(full["outpatient_visits"], rel=0.1)
    assert tenth["admissions"] == pytest.approx(full["admissions"], rel=0.2)


# ------------------------------------------------------------------ reproducibility
def test_same_seed_same_numbers_and_different_seed_different_numbers():
    cfg = small_config()
    a, b, c = run_model(cfg, seed=3), run_model(cfg, seed=3), run_model(cfg, seed=4)
    for key in a.records:
        assert np.array_equal(a.records[key], b.records[key]), key
    assert a.indicators().equals(b.indicators())
    assert not np.array_equal(a.records["served"], c.records["served"])


def test_an_overlay_that_changes_nothing_is_bit_identical():
    cfg = small_config()
    same = small_config({"choice.wtp.trust.outpatient": cfg.choice.wtp.trust["outpatient"],
                         "population.size": cfg.population.size})
    a, b = run_model(cfg, seed=5), run_model(same, seed=5)
    assert a.indicators().equals(b.indicators())


def test_a_policy_changes_choices_but_not_who_falls_ill():
    cfg = small_config()
    richer = small_config({"insurance.schemes.resident.inpatient.county.ratio": 0.95})
    a, b = run_model(cfg, seed=5), run_model(richer, seed=5)
    assert np.array_equal(a.daily["new"], b.daily["new"])
    assert not np.array_equal(a.records["served"], b.records["served"])


# ------------------------------------------------------------------ the order of the day
def test_beds_freed_by_a_discharge_are_usable_the_same_day():
    from sim.capacity import Beds
    beds = Beds(1, max_los=5)
    beds.admit(np.array([0]), np.array([1]), day=0)
    assert beds.occupied[0] == 1
    assert beds.discharge(1)[0] == 1 and beds.occupied[0] == 0


def test_a_policy_applied_today_governs_today_choices():
    from sim.policies.base import Policy

    class CloseCounty(Policy):
        name = "test_close_county"

        def apply(self, model):
            county = model.tier_names.index("county")
            model.facilities.physicians[model.facilities.tier == county] = 0
            model.facilities.beds[model.facilities.tier == county] = 0
            model.refresh_facilities()

    cfg = small_config()
    start = cfg.horizon.start
    m = sim.GradedCareModel(cfg, seed=1, policies=[CloseCounty(start, None, None)], patient_agents=False)
    m.run()
    county = m.tier_names.index("county")
    first = m.warmup_days
    assert m.records["arrivals"][:first, m.facilities.tier == county].sum() > 0
    assert m.records["arrivals"][first:, m.facilities.tier == county].sum() == 0


def test_patient_agents_are_views_on_the_columns():
    cfg = small_config()
    m = sim.GradedCareModel(cfg, seed=1)
    patients = m.agents_by_type[sim.patient.Patient]
    assert len(patients) == len(m.population) == cfg.population.size
    p = next(iter(patients))
    m.population.contracted[p.row] = True
    assert p.contracted is True
    probs = p.choice_probabilities("outpatient", 1)
    assert sum(probs.values()) == pytest.approx(1.0)
    facilities = m.agents_by_type[sim.model.Facility]
    people = next(f for f in facilities if f.name == "county_people")
    before = people.daily_slots
    people.physicians = people.physicians * 2
    assert people.daily_slots == pytest.approx(2 * before)


def test_mesa_datacollector_works_on_patients_and_facilities():
    import mesa
    cfg = small_config({"population.size": 800, "horizon.end": "2022-01-10", "horizon.warmup_days": 0})
    m = sim.GradedCareModel(cfg, seed=1)
    dc = mesa.DataCollector(
        model_reporters={"county_visits": lambda mod: int(mod.records["served"][mod.day - 1, :, 0][
            mod.facilities.tier == mod.tier_names.index("county")].sum())},
        agenttype_reporters={sim.patient.Patient: {"trust_township": lambda a: a.trust["township"]}})
    for _ in range(5):
        m.step()
        dc.collect(m)
    frame = dc.get_model_vars_dataframe()
    assert len(frame) == 5 and frame["county_visits"].sum() > 0
    trust = dc.get_agenttype_vars_dataframe(sim.patient.Patient)
    assert len(trust) == 5 * 800 and trust["trust_township"].between(0, 1).all()


def test_patient_agents_are_built_only_when_read_and_change_nothing():
    cfg = small_config()
    lazy = sim.GradedCareModel(cfg, seed=3)
    import mesa
    assert len(mesa.Model.agents.fget(lazy)) == len(lazy.facilities), "no Patient before anything reads them"
    lazy.run()
    batch = run_model(cfg, seed=3)
    assert lazy.indicators().equals(batch.indicators())
    assert len(lazy.agents_by_type[sim.patient.Patient]) == cfg.population.size
    never = sim.GradedCareModel(cfg, seed=3, patient_agents=False)
    assert sim.patient.Patient not in never.agent_types


def test_a_fixed_wait_is_felt_once_not_again_through_the_expected_wait():
    """Recorded waits include a fixed wait outside the county; the smoothed expectation the choice adds
    it to holds only the wait capacity causes, so a fixed wait of 5 days is perceived as 5, not 10."""
    cfg = small_config({"facilities.hospitals.2.fixed_wait_days": 5.0})
    m = run_model(cfg)
    f = list(m.facilities.name).index("out_of_province")
    served = m.records["served"][:, f].sum()
    assert served > 0
    assert m.records["wait_days"][:, f].sum() == pytest.approx(5.0 * served, rel=0.01)
    assert m.expected_wait[f] < 0.05
    longer = run_model(small_config({"facilities.hospitals.2.fixed_wait_days": 20.0}))
    assert longer.records["served"][:, f].sum() < served


def test_catastrophic_share_counts_residents_strictly_above_their_income_bands_threshold():
    m = sim.GradedCareModel(small_config(), seed=3, patient_agents=False)
    pop, cfg = m.population, m.config
    income = np.array([b.annual_income for b in cfg.population.income_bands]) * FEN
    limit = cfg.insurance.catastrophic_threshold * income[pop.income_band]
    n = len(pop)
    at, above = np.arange(0, n, 3), np.arange(1, n, 3)         # at the threshold (not counted) and one fen above
    pop.oop_ytd[at] = np.floor(limit[at]).astype(np.int64)
    pop.oop_ytd[above] = np.floor(limit[above]).astype(np.int64) + 1
    pop.fund_ytd[:] = 7
    assert len(set(pop.income_band[above].tolist())) > 1
    m._close_year(2022)
    assert m.catastrophic[2022] == above.size / n
    assert not pop.oop_ytd.any() and not pop.fund_ytd.any()


def test_money_and_wait_records_hold_sums_past_the_int32_range():
    m = sim.GradedCareModel(small_config(), seed=3, patient_agents=False)
    for key in WIDE_KEYS:
        m.records[key][0, 0, 0] = 3 * 2**31          # fen of a large county's hospital in one day
        assert m.records[key][0, 0, 0] == 3 * 2**31
    assert all(m.records[k].dtype == np.int32 for k in m.records if k not in WIDE_KEYS)


def test_residents_do_not_depend_on_the_block_size_their_trust_is_drawn_in(monkeypatch):
    from sim import population
    from sim.county import build_county
    cfg = small_config()
    county = build_county(cfg)
    a = population.synthesize(cfg, county, 1000, np.random.default_rng(4))
    monkeypatch.setattr(population, "TRUST_ROWS", 7)
    b = population.synthesize(cfg, county, 1000, np.random.default_rng(4))
    assert a.trust.dtype == np.float32 and 0 < a.trust.std() and (0 <= a.trust).all() and (a.trust <= 1).all()
    for key, col in vars(a).items():
        if isinstance(col, np.ndarray):
            assert np.array_equal(col, getattr(b, key)), key


def test_indicators_over_consecutive_days_match_the_same_days_indexed_one_by_one(small_run):
    from sim.indicators import indicators_over
    days = np.arange(small_run.warmup_days + 10, small_run.warmup_days + 40)
    as_view, as_copy = indicators_over(small_run, days), indicators_over(small_run, days[::-1])
    assert as_view.keys() == as_copy.keys() and as_view["outpatient_visits"] > 0
    for key, value in as_view.items():
        assert value == as_copy[key] or (np.isnan(value) and np.isnan(as_copy[key])), key


# ------------------------------------------------------------------ choice tables after a refresh
def _tables(chooser) -> dict[str, np.ndarray]:
    return {k: v for k, v in vars(chooser).items() if isinstance(v, np.ndarray)}


def _assert_same_as_fresh(m):
    kept, fresh = _tables(m.chooser), _tables(sim.choosing.ChoiceTables(m))
    assert kept.keys() == fresh.keys()
    for k in fresh:
        assert kept[k].dtype == fresh[k].dtype and np.array_equal(kept[k], fresh[k]), k


def test_a_refresh_reuses_the_bills_only_while_their_inputs_stand():
    """Policies refresh the choice tables daily while a ramp moves a capability; the bills and fund
    shares are rebuilt only when prices, tiers or the benefit schedule change, and the tables always
    equal tables built from scratch."""
    m = sim.GradedCareModel(small_config(), seed=1, patient_agents=False)
    fac, county = m.facilities, m.tier_names.index("county")
    bills = m.chooser.row_fund_nocap
    fac.capability[fac.tier == county] += 0.05
    m.refresh_facilities()
    assert m.chooser.row_fund_nocap is bills            # capability only: the bills stand
    _assert_same_as_fresh(m)

    fac.price_multiplier[fac.tier == county] *= 1.5     # changed in place: must be seen
    m.refresh_facilities()
    assert m.chooser.row_fund_nocap is not bills
    assert (m.chooser.row_cost > 0).any()
    _assert_same_as_fresh(m)

    bills = m.chooser.row_fund_nocap
    m.benefits.ratio[:, 1, county] -= 0.2               # a reimbursement gap, in place
    m.chooser.rebuild()
    assert not np.array_equal(m.chooser.row_fund_nocap, bills)
    _assert_same_as_fresh(m)


def test_a_refresh_restates_the_static_utility_only_where_its_inputs_moved():
    """A ramp moves a few facilities' capability daily: the static utility is recomputed at the
    (village, alternative) cells that moved, and equals a table built from scratch bit for bit, also
    after travel hours, a choice parameter changed in place, and a choice set of another shape."""
    m = sim.GradedCareModel(small_config(), seed=1, patient_agents=False)
    fac, ch = m.facilities, m.chooser
    V, K = m.county.choice_set.shape
    one = int(np.flatnonzero(fac.tier == m.tier_names.index("township"))[0])
    before = ch.row_static_u.copy()
    fac.capability[one] += 0.013                         # one township health centre trains up
    m.refresh_facilities()
    _assert_same_as_fresh(m)
    moved = (ch.row_static_u != before).reshape(V, -1, K).any(axis=1)
    assert moved.any() and (moved == (m.county.choice_set == one)).all()
    assert not np.shares_memory(ch.row_static_u, before)

    m.emergency_from_severity = 3                        # severe episodes reach a hospital faster
    m.emergency_hours = m.county.travel_hours * 0.5
    m.refresh_facilities()
    _assert_same_as_fresh(m)

    m.choice_params.travel[:] *= 1.25                    # a choice parameter, in place
    m.refresh_facilities()
    _assert_same_as_fresh(m)

    m.county.choice_set = m.county.choice_set[:, :-1].copy()     # another shape: built whole
    m.refresh_facilities()
    _assert_same_as_fresh(m)
