"""County medical community levers (sim/policies): mechanisms, validation, shipped experiments.

Small models (scale 0.05, weeks not years) keep this file fast.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from conftest import run_model, small_config
from sim.cli import main as cli_main
from sim.config import ConfigError
from sim.experiment import run_experiment
from sim.policies import REGISTRY, Policy, build_policies

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "configs" / "seed_county.yaml"
EXPERIMENTS = ["medical_community_reform", "primary_care_network", "reimbursement_gap"]
LEVERS = ["reimbursement", "send_down_physicians", "train_up", "family_doctor_contracting", "chronic_capitation",
          "township_run_village_clinics", "branch_campus", "mobile_doctor_stations", "essential_drugs",
          "capacity_investment", "emergency_network", "county_hospital_capability", "referral_management",
          "capitation"]


@pytest.fixture(scope="module")
def cfg():
    return sim.load_config(SEED, {"horizon.start": "2022-01-01", "horizon.end": "2022-02-28",
                                  "horizon.warmup_days": 0})


def model(cfg, specs=(), scale=0.05, seed=1):
    return sim.GradedCareModel(cfg, seed=seed, scale=scale, policies=build_policies(list(specs), cfg),
                               patient_agents=False)


def spec(name, params, start="2022-01-01", end=None):
    return {"policy": name, "start": start, "end": end, "params": params}


def every_lever(start):
    return [
        spec("reimbursement", {"inpatient": {"township": {"ratio_change": 0.05}},
                               "unfiled_penalty": {"out_of_province": 0.2}, "filing_hassle": {"inpatient": 500}}, start),
        spec("send_down_physicians", {"moves": [{"from": "county_people", "to": "township_05", "physicians": 3}]},
             start),
        spec("train_up", {"staff": 47}, start),
        spec("family_doctor_contracting", {"targets": {"65+": {"chronic": 0.9, "other": 0.8}}, "ramp_days": 20},
             start),
        spec("chronic_capitation", {"townships": ["township_02", "township_08"]}, start),
        spec("township_run_village_clinics", {}, start),
        spec("branch_campus", {"township": "township_05", "village": "township_05/v03", "physicians": 5,
                               "beds": 20}, start),
        spec("mobile_doctor_stations", {"interval_days": 7}, start),
        spec("essential_drugs", {}, start),
        spec("capacity_investment", {"facility": "township_09", "beds": 20, "physicians": 5, "ramp_days": 10},
             start),
        spec("emergency_network", {"townships": ["township_10", "township_11"]}, start),
        spec("county_hospital_capability", {"hospital": "county_people", "provincial_specialties": 9,
                                            "municipal_specialties": 5}, start),
        spec("referral_management", {"townships": ["township_03"]}, start),
        spec("capitation", {"townships": ["township_04"], "budget_per_capita": 900, "containment": 0.2,
                            "member_hospitals": ["county_tcm"]}, start),
    ]


def run_to(m, date):
    while m.date < dt.date.fromisoformat(date):
        m.step()
    return m


# ---------------------------------------------------------------- the framework
def test_every_lever_is_registered():
    import sim.policies.levers  # noqa: F401  (registers them; build_policies imports it when a scenario has policies)
    assert sorted(REGISTRY) == sorted(LEVERS)


def test_a_policy_starting_after_the_horizon_changes_nothing(cfg):
    base = model(cfg).run()
    late = model(cfg, every_lever("2030-01-01")).run()
    n_f = base.records["served"].shape[1]
    assert len(late.facilities) == n_f + 1                    # the branch campus exists, closed
    for key, arr in base.records.items():
        assert np.array_equal(arr, late.records[key][:, :n_f]), key
        assert not late.records[key][:, n_f:].any()
    for key, arr in base.daily.items():
        assert np.array_equal(arr, late.daily[key]), key
    assert np.array_equal(base.population.trust, late.population.trust)
    assert base.indicators().equals(late.indicators())


def test_every_lever_runs_and_changes_the_run(cfg):
    base = model(cfg).run()
    on = model(cfg, every_lever("2022-01-15")).run()
    assert not base.indicators().equals(on.indicators())
    assert on.indicators().notna().all().any()


def test_daily_hook_runs_every_active_day_after_apply(cfg):
    calls = []

    class Probe(Policy):
        name = "probe"

        def apply(self, model):
            calls.append(("apply", model.date))

        def daily(self, model):
            calls.append(("daily", model.date))

        def revert(self, model):
            calls.append(("revert", model.date))

    m = model(cfg)
    m.policies = [Probe(dt.date(2022, 1, 10), dt.date(2022, 1, 13), Probe.Params())]
    run_to(m, "2022-01-20")
    assert calls == [("apply", dt.date(2022, 1, 10)), ("daily", dt.date(2022, 1, 10)),
                     ("daily", dt.date(2022, 1, 11)), ("daily", dt.date(2022, 1, 12)),
                     ("revert", dt.date(2022, 1, 13))]


def test_a_policy_that_started_before_the_run_is_applied_on_the_first_day(cfg):
    m = model(cfg, [spec("capacity_investment", {"facility": "township_09", "beds": 40}, "2020-01-01")])
    before = m.facilities.beds[m.facilities.index("township_09")]
    m.step()
    assert m.facilities.beds[m.facilities.index("township_09")] == before + 40


def test_config_shared_between_models_is_not_changed(cfg):
    before = cfg.model_dump()
    m = model(cfg, [spec("reimbursement", {"inpatient": {"county": {"ratio": 0.95}}}),
                    spec("family_doctor_contracting", {"targets": {}, "primary_wtp": {"outpatient": 900}})])
    m.step()
    assert m.config.insurance.schemes["resident"].inpatient["county"].ratio == 0.95
    assert m.config.choice.wtp.contract_primary == {"outpatient": 900, "inpatient": cfg.choice.wtp.contract_primary["inpatient"]}
    assert cfg.model_dump() == before


# ---------------------------------------------------------------- levers, one by one
def test_send_down_moves_slots_and_capability(cfg):
    m = model(cfg, [spec("send_down_physicians", {"moves": [{"from": "county_people", "to": "township_05",
                                                                "physicians": 3}], "ramp_days": 10})])
    hosp, town = m.facilities.index("county_people"), m.facilities.index("township_05")
    agents = {a.name: a for a in m.agents if hasattr(a, "fid")}
    slots0 = {n: agents[n].daily_slots for n in ("county_people", "township_05")}
    cap0 = m.facilities.capability.copy()
    m.step()
    moved = 3 * cfg.tier("county").visits_per_physician_day
    assert agents["township_05"].daily_slots == pytest.approx(slots0["township_05"] + moved)
    assert agents["county_people"].daily_slots == pytest.approx(slots0["county_people"] - moved)
    assert m.facilities.capability[town] == cap0[town]          # ramp starts at zero
    run_to(m, "2022-01-12")
    full = 3 * (cap0[hosp] - cap0[town]) / (20 + 3)             # physician-weighted mean of skill
    assert m.facilities.capability[town] == pytest.approx(cap0[town] + full)
    assert m.facilities.capability[hosp] == cap0[hosp]


def test_send_down_revert_restores_the_facilities(cfg):
    m = model(cfg, [spec("send_down_physicians", {"moves": [{"from": "county_tcm", "to": "township_02",
                                                                "physicians": 2}]}, end="2022-01-05")])
    phys, cap = m.facilities.physicians.copy(), m.facilities.capability.copy()
    m.step()
    assert not np.allclose(m.facilities.physicians, phys)
    run_to(m, "2022-01-06")
    assert np.allclose(m.facilities.physicians, phys) and np.allclose(m.facilities.capability, cap)


def test_train_up_takes_capacity_away_then_returns_skill(cfg):
    m = model(cfg, [spec("train_up", {"staff": 10, "townships": ["township_03"], "days_away": 5,
                                      "period_days": 10, "skill_gain": 0.5})])
    town = m.facilities.index("township_03")
    phys0, cap0 = m.facilities.physicians[town], m.facilities.capability[town]
    teacher = m.facilities.capability[m.facilities.index("county_people")]
    run_to(m, "2022-01-04")
    assert m.facilities.physicians[town] < phys0
    run_to(m, "2022-01-20")
    assert m.facilities.physicians[town] == phys0
    assert m.facilities.capability[town] == pytest.approx(cap0 + 10 * 0.5 * (teacher - cap0) / phys0)


def test_family_doctor_contracting_reaches_its_target_only_where_asked(cfg):
    m = model(cfg, [spec("family_doctor_contracting", {"targets": {"65+": {"chronic": 0.95, "other": 0.9}},
                                                       "townships": ["township_01", "township_02"],
                                                       "ramp_days": 10})], scale=0.2)
    pop = m.population
    old = pop.age_band == 3
    town = m.county.village_township[pop.village]
    inside = np.isin(town, [0, 1])
    before = pop.contracted.copy()
    m.step()
    mid = pop.contracted[old & inside].mean()
    run_to(m, "2022-01-15")
    assert before[old & inside].mean() < mid < pop.contracted[old & inside].mean()
    assert pop.contracted[old & inside & pop.chronic].mean() == pytest.approx(0.95, abs=0.03)
    assert pop.contracted[old & inside & ~pop.chronic].mean() == pytest.approx(0.9, abs=0.03)
    assert np.array_equal(pop.contracted[~(old & inside)], before[~(old & inside)])
    assert np.array_equal(pop.in_county_referral, pop.contracted & inside)


def test_new_contracts_only_route_the_referrals_the_policy_signs(cfg):
    params = {"targets": {"65+": {"chronic": 0.95, "other": 0.9}}, "ramp_days": 0}
    every = model(cfg, [spec("family_doctor_contracting", params)], scale=0.2)
    new = model(cfg, [spec("family_doctor_contracting", {**params, "referral_contracts": "new"})], scale=0.2)
    before = new.population.contracted.copy()
    every.step()
    new.step()
    assert before.any() and np.array_equal(every.population.contracted, new.population.contracted)
    assert np.array_equal(every.population.in_county_referral, every.population.contracted)
    assert np.array_equal(new.population.in_county_referral, new.population.contracted & ~before)


def test_referral_within_county_removes_the_follow_bonus_outside(cfg):
    m = model(cfg)
    from sim.episodes import Batch
    from sim.choice import beta_of
    b = Batch.new(np.array([0]), np.array([1]), np.array([3]), np.array([0]), 0, np.array([True]),
                  np.zeros((1, 26)), referred_up=np.array([True]), ref_capability=np.array([2.0]))
    alt, _, allowed, u, _ = m.chooser.utilities(b)
    m.population.in_county_referral = np.zeros(len(m.population), dtype=bool)
    m.population.in_county_referral[0] = True
    _, _, _, u2, _ = m.chooser.utilities(b)
    outside = ~m.tier_in_county[m.facilities.tier[alt[0]]]
    bonus = cfg.choice.wtp.referral_follow["inpatient"] * beta_of(m.choice_params, np.array([1]), np.array([3]))[0]
    assert np.allclose((u - u2)[0][outside], bonus) and np.allclose((u - u2)[0][~outside], 0.0)


def test_chronic_capitation_thins_inpatient_episodes_of_covered_chronic_patients(cfg):
    towns = ["township_02", "township_03"]
    m = model(cfg, [spec("chronic_capitation", {"townships": towns, "admission_reduction": 0.5, "ramp_days": 0})])
    m.step()
    pop = m.population
    covered = np.isin(m.county.village_township[pop.village], [1, 2])
    assert np.allclose(pop.inpatient_risk[covered & pop.chronic], 0.5)
    assert np.allclose(pop.inpatient_risk[~(covered & pop.chronic)], 1.0)
    assert np.array_equal(pop.in_county_referral, covered & pop.chronic)
    # all townships, strong effect: fewer new inpatient episodes on the same illness draws
    every = [t.name for t in cfg.townships]
    base = model(cfg, scale=0.2).run()
    on = model(cfg, [spec("chronic_capitation", {"townships": every, "admission_reduction": 0.9, "ramp_days": 0})],
               scale=0.2).run()
    assert on.daily["new"][:, 1].sum() < 0.9 * base.daily["new"][:, 1].sum()
    assert on.daily["new"][:, 0].sum() == base.daily["new"][:, 0].sum()


def test_township_run_village_clinics_align_capability_with_the_centre(cfg):
    m = model(cfg, [spec("township_run_village_clinics", {"townships": ["township_04"], "capability_share": 0.5,
                                                          "price_multiplier": 1.2})])
    fac = m.facilities
    clinics = [i for i, n in enumerate(fac.name) if n.startswith("township_04/")]
    others = [i for i, n in enumerate(fac.name) if n.startswith("township_05/")]
    cap0 = fac.capability.copy()
    m.step()
    centre = cap0[fac.index("township_04")]
    assert np.allclose(fac.capability[clinics], cap0[clinics] + 0.5 * (centre - cap0[clinics]))
    assert np.allclose(fac.price_multiplier[clinics], 1.2)
    assert np.array_equal(fac.capability[others], cap0[others])


def test_branch_campus_shortens_travel_for_the_villages_nearest_it(cfg):
    p = {"township": "township_05", "village": "township_05/v03", "physicians": 4, "beds": 10}
    base = model(cfg)
    m = model(cfg, [spec("branch_campus", p, "2022-01-05")])
    campus = m.facilities.index("township_05/v03/campus")
    village = m.facilities.index("township_05/v03")             # village clinics come first: id = village index
    k = base.county.choice_set.shape[1]
    assert np.array_equal(m.county.choice_set[:, :k], base.county.choice_set)  # nothing re-ranked
    assert m.county.choice_set[village, k] == campus
    assert "township_05/v03/campus" not in m.choice_probabilities(0, "inpatient", 2)

    def nearest_open_township(mm, v):
        alt = mm.county.choice_set[v]
        alt = alt[alt >= 0]
        open_ = alt[(mm.facilities.tier[alt] == 1) & (mm.daily_slots[alt] > 0)]
        return mm.county.travel_hours[v, open_].min()

    before = nearest_open_township(m, village)
    run_to(m, "2022-01-06")
    assert nearest_open_township(m, village) < before
    row = int(np.flatnonzero(m.population.village == village)[0])
    assert m.choice_probabilities(row, "inpatient", 2).get("township_05/v03/campus", 0) > 0
    assert m.facilities.beds[campus] == 10 and m.facilities.physicians[campus] == 4
    far = [v for v in range(len(m.county.village_township)) if m.county.choice_set[v, k] < 0]
    assert far, "villages far from the campus do not see it"


def test_mobile_doctor_stations_build_trust_and_screen(cfg):
    m = model(cfg, [spec("mobile_doctor_stations", {"townships": ["township_06"], "interval_days": 5,
                                                    "attendees_per_visit": 2000, "admission_reduction": 0.2})])
    base = model(cfg)
    pop = m.population
    pop.trust[:] = base.population.trust[:] = 0.5       # so that every attendee's trust moves
    m.step()
    base.step()
    changed = np.flatnonzero((pop.trust != base.population.trust).any(axis=1))   # attendees only
    assert changed.size in (100, 101)                   # 2000 x 0.05, rounded at random
    assert changed.size > 0
    assert set(m.county.village_township[pop.village[changed]]) == {5}
    tiers = [m.tier_names.index("village"), m.tier_names.index("township")]
    assert (pop.trust[changed][:, tiers] >= base.population.trust[changed][:, tiers]).all()
    screened = changed[pop.chronic[changed]]
    assert np.allclose(pop.inpatient_risk[screened], 0.8)


def test_essential_drugs_lower_primary_care_inpatient_cost_only(cfg):
    m = model(cfg, [spec("essential_drugs", {"inpatient_factor": 0.89})])
    cost0 = m.mean_cost_fen.copy()
    m.step()
    town, hosp = m.facilities.index("township_07"), m.facilities.index("county_people")
    assert np.allclose(m.mean_cost_fen[town, 1], 0.89 * cost0[town, 1])
    assert np.allclose(m.mean_cost_fen[town, 0], cost0[town, 0])
    assert np.allclose(m.mean_cost_fen[hosp], cost0[hosp])


def test_capacity_investment_ramps_beds_and_physicians(cfg):
    m = model(cfg, [spec("capacity_investment", {"facility": "county_mch", "beds": 40, "physicians": 10,
                                                 "ramp_days": 10})])
    f = m.facilities.index("county_mch")
    beds0, phys0 = m.facilities.beds[f], m.facilities.physicians[f]
    run_to(m, "2022-01-06")                                      # last step: 2022-01-05, day 4 of 10
    assert m.facilities.beds[f] == pytest.approx(beds0 + 16)
    run_to(m, "2022-01-20")
    assert m.facilities.beds[f] == pytest.approx(beds0 + 40)
    assert m.facilities.physicians[f] == pytest.approx(phys0 + 10)


def test_emergency_network_cuts_travel_for_severe_episodes_in_named_townships(cfg):
    m = model(cfg, [spec("emergency_network", {"townships": ["township_06"], "time_factor": 0.5})])
    u0 = m.chooser.row_static_u.copy()
    m.step()
    V, K = m.county.choice_set.shape
    du = (m.chooser.row_static_u - u0).reshape(V, 2, 2, 4, K)
    inside = m.county.village_township == 5
    county_cols = m.chooser.alt_tier[inside][0] == m.tier_names.index("county")
    assert (du[inside][:, :, :, 3][..., county_cols] > 0).all()  # severity 4, county hospitals: closer
    assert np.allclose(du[inside][:, :, :, :3], 0)               # milder episodes unchanged
    assert np.allclose(du[~inside], 0)                           # other townships unchanged


def test_reimbursement_changes_ratios_and_reverts(cfg):
    m = model(cfg, [spec("reimbursement", {"schemes": ["resident"], "inpatient": {"county": {"ratio_change": 0.1}},
                                           "unfiled_penalty": {"out_of_province": 0.2},
                                           "filing_hassle": {"inpatient": 9000}}, end="2022-01-04")])
    t = m.tier_names.index("county")
    ratio0 = m.benefits.ratio.copy()
    m.step()
    assert m.benefits.ratio[0, 1, t] == pytest.approx(ratio0[0, 1, t] + 0.1)
    assert m.benefits.ratio[1, 1, t] == ratio0[1, 1, t]          # employee scheme untouched
    assert m.benefits.unfiled_penalty[0, m.tier_names.index("out_of_province")] == pytest.approx(0.2)
    assert m.chooser.hassle[1] == 9000
    run_to(m, "2022-01-05")
    assert np.array_equal(m.benefits.ratio, ratio0) and m.chooser.hassle[1] == cfg.referral.filing_hassle["inpatient"]


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("bad, path, words", [
    (spec("send_down_physicians", {"moves": [{"from": "county_people", "to": "township_99", "physicians": 3}]}),
     "policies.0.params.moves.0.to", "township_05"),
    (spec("send_down_physicians", {"moves": [{"from": "nowhere", "to": "township_05", "physicians": 3}]}),
     "policies.0.params.moves.0.from", "county_people"),
    (spec("send_down_physicians", {"moves": [{"from": "county_people", "to": "township_05", "physicians": -3}]}),
     "policies.0.params.moves.0.physicians", "greater than or equal to 1"),
    (spec("capacity_investment", {"facility": "county_people", "beds": -5}), "policies.0.params.beds",
     "greater than or equal to 0"),
    (spec("capacity_investment", {"facility": "county_zoo", "beds": 5}), "policies.0.params.facility",
     "county_people"),
    (spec("branch_campus", {"township": "township_05", "village": "township_06/v01", "physicians": 1, "beds": 1}),
     "policies.0.params.village", "township_05/v01"),
    (spec("chronic_capitation", {"townships": ["township_02", "atlantis"]}), "policies.0.params.townships.1",
     "township_13"),
    (spec("family_doctor_contracting", {"targets": {"90+": {"chronic": 0.5}}}), "policies.0.params.targets.90+",
     "65+"),
    (spec("reimbursement", {"inpatient": {"city": {"ratio": 0.5}}}), "policies.0.params.inpatient.city", "county"),
    (spec("train_up", {"staff": 5, "wrong_key": 1}), "policies.0.params.wrong_key", "skill_gain"),
    (spec("train_up", {"staff": 5000}), "policies.0.params.staff", "230"),
    (spec("mobile_doctor_stations", {"interval_days": 0}), "policies.0.params.interval_days", "greater than"),
    (spec("capacity_investment", {"facility": "county_people", "beds": 5}, "2023-01-01", "2022-12-31"),
     "policies.0.end", "after start"),
    ({"policy": "no_such_lever", "start": "2023-01-01"}, "policies.0.policy", "send_down_physicians"),
    (spec("county_hospital_capability", {"hospital": "county_zoo", "gain": 0.5}), "policies.0.params.hospital",
     "county_people"),
    (spec("county_hospital_capability", {"hospital": "county_people"}), "policies.0.params",
     "key specialties built"),
    (spec("county_hospital_capability", {"hospital": "county_people", "gain": 3.0}), "policies.0.params.gain",
     "less than or equal to 2"),
    (spec("referral_management", {"townships": ["atlantis"]}), "policies.0.params.townships.0", "township_13"),
    (spec("referral_management", {"approval_hassle": {"inpatient": -5}}), "policies.0.params.approval_hassle.inpatient",
     "greater than or equal to 0"),
])
def test_bad_policy_parameters_name_the_key(cfg, bad, path, words):
    with pytest.raises(ConfigError) as err:
        build_policies([bad], cfg)
    assert err.value.path == path
    assert path in str(err.value) and words in str(err.value)


@pytest.mark.parametrize("move, start, end, key, words", [
    ({"from": "county_people", "to": "township_99", "physicians": 3}, "2023-01-01", None,
     "scenarios.1.policies.0.params.moves.0.to", "township_05"),
    ({"from": "county_people", "to": "township_05", "physicians": -3}, "2023-01-01", None,
     "scenarios.1.policies.0.params.moves.0.physicians", "greater than or equal to 1"),
    ({"from": "county_people", "to": "township_05", "physicians": 3}, "2023-01-01", "2022-06-30",
     "scenarios.1.policies.0.end", "after start"),
])
def test_a_bad_policy_in_an_experiment_exits_2_naming_file_and_key(tmp_path, capsys, move, start, end, key, words):
    exp = {"name": "bad", "config": str(SEED), "replications": 1,
           "scenarios": [{"name": "baseline"},
                         {"name": "reform", "policies": [spec("send_down_physicians", {"moves": [move]}, start, end)]}]}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(exp), encoding="utf-8")
    assert cli_main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    message = capsys.readouterr().err
    assert "bad.yaml" in message and key in message and words in message
    assert not (tmp_path / "out").exists()


def test_a_whole_policy_set_is_validated_before_any_is_used(cfg):
    campus = spec("branch_campus", {"township": "township_05", "village": "township_05/v03", "physicians": 1,
                                    "beds": 1})
    with pytest.raises(ConfigError, match="already exists"):
        build_policies([campus, campus], cfg)


# ---------------------------------------------------------------- shipped experiments
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_shipped_experiment_runs_at_small_scale(name, tmp_path):
    source = ROOT / "experiments" / f"{name}.yaml"
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    assert raw["replications"] >= (20 if name == "medical_community_reform" else 1)
    names = [s["name"] for s in raw["scenarios"]]
    assert names[0] == "baseline"
    for s in raw["scenarios"][1:]:
        if s["name"].startswith("lever_"):
            assert all(p["policy"] == s["name"][len("lever_"):] for p in s["policies"]) or name == "reimbursement_gap"
    # capitation bases its budget on the 90 days or more before its start
    raw["horizon"] = {"start": "2022-10-01", "end": "2023-01-31", "warmup_days": 5}
    res = run_experiment(raw, out=tmp_path, workers=1, scale=0.02, replications=1, base_dir=source.parent)
    got = set(res.summary["scenario"])
    assert got == set(names)
    diff = res.summary[(res.summary["period"] == "2023") & (res.summary["scenario"] != "baseline")]
    assert diff["diff_mean"].notna().any()


def test_flagship_has_baseline_reform_and_each_lever_alone():
    raw = yaml.safe_load((ROOT / "experiments" / "medical_community_reform.yaml").read_text(encoding="utf-8"))
    scen = {s["name"]: s for s in raw["scenarios"]}
    reform = {p["policy"] for p in scen["reform"]["policies"]}
    assert {"send_down_physicians", "train_up", "capitation", "family_doctor_contracting",
            "mobile_doctor_stations", "county_hospital_capability", "emergency_network"} <= reform
    specialties = next(p for p in scen["reform"]["policies"] if p["policy"] == "county_hospital_capability")
    assert (specialties["params"]["provincial_specialties"], specialties["params"]["municipal_specialties"]) == (9, 5)
    assert set(scen) == {"baseline", "reform"} | {f"lever_{p}" for p in reform}
    assert all(p["start"] == dt.date(2023, 1, 1) for p in scen["reform"]["policies"])
    moves = next(p for p in scen["reform"]["policies"] if p["policy"] == "send_down_physicians")["params"]["moves"]
    assert sum(m["physicians"] for m in moves) == 11 and len({m["to"] for m in moves}) == 4
    assert raw["horizon"]["start"] == dt.date(2022, 1, 1) and raw["horizon"]["end"] == dt.date(2024, 12, 31)


# ---------------------------------------------------------------- capability and referral management
def _severe_outflow(m) -> float:
    """Out-of-county share of severity-4 general admissions."""
    flows = m.flows.sum(axis=0)[:, 1, 0, 3].sum(axis=(1, 2))            # tier
    return flows[~m.tier_in_county].sum() / flows.sum()


def test_county_hospital_capability_keeps_severe_cases_in_the_county_in_proportion(cfg):
    runs = {}
    for gain in (0.0, 0.4, 0.8):
        specs = [spec("county_hospital_capability", {"hospital": "county_people", "gain": gain, "ramp_days": 0})] \
            if gain else []
        m = model(cfg, specs, scale=0.2)
        m.run()
        runs[gain] = m
    people = runs[0.8].facilities.index("county_people")
    assert runs[0.8].facilities.capability[people] == pytest.approx(runs[0.0].facilities.capability[people] + 0.8)
    out = [_severe_outflow(runs[g]) for g in (0.0, 0.4, 0.8)]
    assert out[0] > out[1] > out[2]


def test_referral_management_lowers_the_outflow_of_covered_residents_only():
    """A year (two months at this scale hold a few hundred covered admissions: too few to see it)."""
    cfg = sim.load_config(SEED, {"horizon.start": "2022-01-01", "horizon.end": "2022-12-31",
                                 "horizon.warmup_days": 30})
    covered = ["township_02", "township_03", "township_04"]
    base = model(cfg, scale=0.2)
    base.run()
    managed = model(cfg, [spec("referral_management", {"townships": covered,
                                                        "approval_hassle": {"inpatient": 20000}})], scale=0.2)
    managed.run()
    towns = [base.county.township_names.index(t) for t in covered]

    def outflow(m, inside: bool) -> float:
        mask = np.isin(m.county.village_township, towns) == inside
        served = m.village_served.sum(axis=0)[mask][:, :, 1].sum(axis=0)
        return served[~m.tier_in_county].sum() / served.sum()

    assert outflow(managed, True) < outflow(base, True) - 0.005
    assert outflow(managed, False) == pytest.approx(outflow(base, False), abs=0.005)


# ---------------------------------------------------------------- capitation as budget-holding
def _small_year():
    return small_config({"horizon.start": "2022-01-01", "horizon.end": "2023-12-31", "horizon.warmup_days": 30})


def _cap_model(params, seed=3):
    cfg = _small_year()
    pol = build_policies([spec("capitation", params, "2023-01-01")], cfg) if params is not None else []
    return run_model(cfg, seed=seed, scale=0.5, policies=pol)


def test_the_community_books_add_up_to_the_fund_it_is_charged():
    m = _cap_model({"townships": ["town_a", "town_b", "town_c"]})
    community = m.communities[0]
    days = np.arange(m.warmup_days, m.n_days)
    charged = community.spent[days].sum()
    assert charged == m.records["fund"][days].sum()                 # everyone covered: every fund payment
    ind = m.indicators()
    for year, books in community.ledger.items():
        assert books["budget"] == pytest.approx(books["spending_in_county"] + books["spending_outside"]
                                                + books["surplus"])
        assert ind.loc[str(year), f"community.{community.name}.surplus"] == pytest.approx(books["surplus"])
    y2023 = community.ledger[2023]
    assert y2023["spending_in_county"] + y2023["spending_outside"] == pytest.approx(
        ind.loc["2023", "fund_spending_per_capita"] * m.config.population.size, rel=1e-9)


def test_a_community_without_budget_pressure_changes_nothing():
    base = _cap_model(None).indicators()
    slack = _cap_model({"townships": ["town_a", "town_b"], "budget_per_capita": 1e7, "containment": 0.5,
                        "member_hospitals": ["county_people"]}).indicators()
    shared = [c for c in base.columns]
    pd.testing.assert_frame_equal(base[shared], slack[shared])
    assert (slack.loc["2023", [c for c in slack.columns if c.endswith(".surplus")]] > 0).all()


def _covered_outflow(m, towns=("town_a", "town_b")):
    idx = [m.county.township_names.index(t) for t in towns]
    served = m.village_served[-1][np.isin(m.county.village_township, idx)][:, :, 1].sum(axis=0)
    return served[~m.tier_in_county].sum() / served.sum()


def test_the_same_capitation_lever_can_lower_or_raise_outflow():
    towns = ["town_a", "town_b"]
    managed = {"townships": towns, "approval_hassle": {"inpatient": 20000}, "member_hospitals": ["county_people"]}
    contained = {"townships": towns, "approval_hassle": {"inpatient": 0}, "containment": 0.6,
                 "member_hospitals": ["county_people", "county_third"], "budget_growth": -0.05}
    base, lower, higher = (_covered_outflow(_cap_model(p)) for p in (None, managed, contained))
    assert lower < base < higher
