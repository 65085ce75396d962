"""The compiled engine (sim.kernels) and the numpy reference path give the same numbers, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

import sim
from conftest import ROOT, small_config
from sim.config import config_from_tree
from sim.experiment import plan_experiment
from sim.policies.base import build_policies
from sim.uncertainty import resolve_run


def _run(cfg, engine: str, seed: int, scale: float = 1.0, policies=None):
    m = sim.GradedCareModel(cfg, seed=seed, scale=scale, policies=policies, patient_agents=False, engine=engine)
    m.run()
    return m


def _assert_same(a, b) -> None:
    for key in a.records:
        assert np.array_equal(a.records[key], b.records[key]), f"records[{key!r}] differ"
    for key in a.daily:
        assert np.array_equal(a.daily[key], b.daily[key]), f"daily[{key!r}] differ"
    assert np.array_equal(a.population.trust, b.population.trust)
    assert np.array_equal(a.flows, b.flows)
    assert np.array_equal(a.expected_wait, b.expected_wait)
    assert a.catastrophic == b.catastrophic
    ia, ib = a.indicators(), b.indicators()
    assert ia.shape == ib.shape and ia.equals(ib)


@pytest.mark.parametrize("seed", [1, 2022])
def test_fast_and_numpy_engines_agree_on_the_small_county(seed):
    cfg = small_config()
    _assert_same(_run(cfg, "numpy", seed), _run(cfg, "fast", seed))


def test_fast_and_numpy_engines_agree_under_the_reform_package():
    """The reform's levers touch what the kernel reads (hassle of approval, in-county referral,
    capitation, contracts, capability), at reduced scale with background load."""
    raw = yaml.safe_load((ROOT / "experiments" / "medical_community_reform.yaml").read_text(encoding="utf-8"))
    raw["horizon"] = {"start": "2022-10-01", "end": "2023-03-31"}
    plan = plan_experiment(raw, replications=1, scale=0.02, base_dir=ROOT / "experiments", uncertainty=False)
    reform = next(s for s in plan.scenarios if s.name == "reform")
    tree, specs, _ = resolve_run(reform.tree, reform.policies, plan.seeds[0], enabled=False)
    cfg = config_from_tree(tree, {}, None)
    runs = [_run(cfg, engine, plan.seeds[0], plan.scale, build_policies(specs, cfg)) for engine in ("numpy", "fast")]
    assert any(m.population.extra_hassle is not None or m.population.in_county_referral is not None
               or m.communities for m in runs), "the package should exercise the policy inputs of the kernel"
    _assert_same(*runs)



def test_fast_and_numpy_engines_agree_while_a_community_screens_admissions():
    """A containing community's admission screen makes the fast engine run the reference round,
    then its compiled end of day on the round's logged tallies and kernel counts together."""
    cfg = sim.load_config(ROOT / "configs" / "seed_county.yaml",
                          {"horizon.start": "2022-01-01", "horizon.end": "2022-04-30"})
    specs = [{"policy": "capitation", "start": cfg.horizon.start,
              "params": {"townships": ["township_02", "township_03"], "budget_per_capita": 300,
                         "containment": 0.6, "member_hospitals": ["county_people"]}}]
    runs = [_run(cfg, engine, 2, 0.05, build_policies(specs, cfg)) for engine in ("numpy", "fast")]
    assert runs[1].admission_screen is not None and runs[1].records["rejected"].sum() > 0
    _assert_same(*runs)

def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine"):
        sim.GradedCareModel(small_config(), engine="gpu")


def test_the_engine_can_be_chosen_by_the_environment(monkeypatch):
    monkeypatch.setenv("GRADSIM_ENGINE", "numpy")
    assert sim.GradedCareModel(small_config(), patient_agents=False).engine == "numpy"
    monkeypatch.delenv("GRADSIM_ENGINE")
    assert sim.GradedCareModel(small_config(), patient_agents=False).engine == "fast"


def test_without_numba_the_fast_engine_falls_back_to_numpy_with_a_warning(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "numba", None)          # as if numba were not installed
    monkeypatch.delitem(sys.modules, "sim.kernels", raising=False)
    monkeypatch.delattr(sim, "kernels", raising=False)
    with pytest.warns(RuntimeWarning, match="numba is not available"):
        m = sim.GradedCareModel(small_config(), patient_agents=False, engine="fast")
    assert m.engine == "numpy"
