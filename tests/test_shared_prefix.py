"""Runs that share the days before their levers (sim.shared_prefix) give the tables they give alone."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import sim.shared_prefix as shared
from conftest import COUNTY_RATIO, SMALL
from sim.experiment import iter_tasks, plan_experiment, run_experiment
from sim.results import RUN_TABLES

DOWN = {"policy": "send_down_physicians", "params": {"moves": [{"from": "county_people", "to": "town_b",
                                                                "physicians": 5}]}}
CAPITATION = {"policy": "capitation", "start": "2022-02-01",
              "params": {"townships": ["town_a"], "budget_per_capita": 600}}
CAMPUS = {"policy": "branch_campus", "start": "2022-02-01",
          "params": {"township": "town_b", "village": "town_b/v02", "physicians": 2, "beds": 4}}


def _exp(**extra) -> dict:
    spec = {"name": "shared", "config": str(SMALL), "replications": 2, "seed": 3, "scale": 0.5,
            "horizon": {"start": "2022-01-01", "end": "2022-03-31", "warmup_days": 10},
            "scenarios": [{"name": "baseline"},
                          {"name": "down_march", "policies": [{**DOWN, "start": "2022-03-01"}]},
                          {"name": "down_feb", "policies": [{**DOWN, "start": "2022-02-01"}]},
                          {"name": "down_first_day", "policies": [{**DOWN, "start": "2021-12-01"}]},
                          {"name": "down_too_late", "policies": [{**DOWN, "start": "2023-01-01"}]},
                          {"name": "capitation", "policies": [CAPITATION]},
                          {"name": "richer", "overrides": {COUNTY_RATIO: 0.95}}]}
    spec.update(extra)
    return spec


def _alone(monkeypatch) -> None:
    monkeypatch.setattr(shared, "plan_work", lambda tasks, workers, share=True: list(tasks))


def _tables(path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(path / f"{name}.parquet").sort_values(["run_id"], kind="stable")
            .reset_index(drop=True) for name in RUN_TABLES}


def _same_as_alone(spec: dict, tmp_path, monkeypatch, workers: int = 1):
    """Run the experiment sharing and alone; every run table must be identical. Returns the shared
    result and its tables."""
    together = run_experiment(spec, out=tmp_path / "together", workers=workers)
    with monkeypatch.context() as m:
        _alone(m)
        alone = run_experiment(spec, out=tmp_path / "alone", workers=workers)
    a, b = _tables(together.path), _tables(alone.path)
    for name in RUN_TABLES:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    assert (together.path / "summary.csv").read_bytes() == (alone.path / "summary.csv").read_bytes()
    return together, a


@pytest.mark.parametrize("workers", [1, 2])
def test_runs_sharing_the_days_before_their_levers_equal_runs_alone(tmp_path, monkeypatch, workers):
    together, _ = _same_as_alone(_exp(), tmp_path, monkeypatch, workers)

    runs = json.loads((together.path / "manifest.json").read_text())["runs"]
    assert all(r["status"] == "complete" for r in runs.values())
    forked = {k.split("__")[0]: r.get("shared_days_until") for k, r in runs.items()}
    assert forked["down_march"] == "2022-03-01" and forked["down_feb"] == "2022-02-01"
    assert forked["down_too_late"] == "2023-01-01"          # after the horizon: the baseline's days, copied
    assert forked["capitation"] == "2022-02-01"              # its books kept on the shared model until then
    for alone_run in ("baseline", "down_first_day", "richer"):
        assert forked[alone_run] is None, alone_run      # the first simulated day is 2021-12-22


def test_groups_hold_one_replicate_and_only_levers_that_wait_for_their_start():
    plan = plan_experiment(_exp())
    work = shared.plan_work(iter_tasks(plan, Path(".")), workers=1)
    groups = [t for t in work if "group" in t]
    assert len(groups) == 2                               # one per replicate
    for g in groups:
        members = g["group"]
        assert len({m["seed"] for m in members}) == 1
        assert {m["scenario"] for m in members} == {"baseline", "down_march", "down_feb", "down_first_day",
                                                    "down_too_late", "capitation"}
    singles = {t["scenario"] for t in work if "group" not in t}
    assert singles == {"richer"}                          # another config
    ids = [i for t in work for i in ([m["run_id"] for m in t["group"]] if "group" in t else [t["run_id"]])]
    assert sorted(ids) == sorted(plan.run_ids())


def test_small_experiments_cut_groups_so_every_worker_has_work():
    plan = plan_experiment(_exp())               # 14 runs: two groups of 6 and 2 runs alone
    serial = shared.plan_work(iter_tasks(plan, Path(".")), workers=1)
    parallel = shared.plan_work(iter_tasks(plan, Path(".")), workers=2)
    assert [len(t["group"]) for t in serial if "group" in t] == [6, 6] and len(serial) == 4
    assert len(parallel) == shared.TASKS_PER_WORKER * 2
    assert sorted(len(t["group"]) for t in parallel if "group" in t) == [2, 2, 3, 3]
    ids = [m["run_id"] for t in parallel for m in t.get("group", [t])]
    assert sorted(ids) == sorted(plan.run_ids())


def test_large_groups_are_cut_so_progress_moves(monkeypatch):
    monkeypatch.setattr(shared, "MAX_GROUP", 3)
    plan = plan_experiment(_exp(replications=1))            # one group of 6
    work = shared.plan_work(iter_tasks(plan, Path(".")), workers=1)
    assert sorted(len(t["group"]) for t in work if "group" in t) == [3, 3]


def test_progress_moves_by_a_group_s_runs_at_once(tmp_path, capsys):
    """A group's runs finish together: counted one by one, the bar timed the first at the whole group's
    time and announced an hour for a minute's work."""
    spec = _exp(scenarios=_exp()["scenarios"][:3])
    assert [len(t["group"]) for t in shared.plan_work(iter_tasks(plan_experiment(spec), Path(".")), 1)] == [3, 3]
    run_experiment(spec, out=tmp_path, workers=1, progress=True)
    shown = {int(n) for n in re.findall(r"(\d+)/6 ", capsys.readouterr().err)}
    assert 6 in shown and shown <= {0, 3, 6}


def test_a_lost_group_fails_each_of_its_runs_and_a_failing_member_fails_alone(tmp_path, monkeypatch):
    group = {"run_id": "shared-x+1", "group": [{"run_id": "a"}, {"run_id": "b"}]}
    lost = {"run_id": "shared-x+1", "status": "failed", "error": "KilledWorker"}
    assert [s["run_id"] for s in shared.statuses(lost, {group["run_id"]: group})] == ["a", "b"]

    from sim import model as model_module
    fork = model_module.GradedCareModel.fork

    def broken(self, policies):
        if any(p.name == "send_down_physicians" and p.start.month == 2 for p in policies):
            raise RuntimeError("this run's own fault")
        return fork(self, policies)
    monkeypatch.setattr(model_module.GradedCareModel, "fork", broken)
    res = run_experiment(_exp(replications=1), out=tmp_path, workers=1)
    runs = json.loads((res.path / "manifest.json").read_text())["runs"]
    assert runs["down_feb__r000"]["status"] == "failed" and "own fault" in runs["down_feb__r000"]["error"]
    assert {k for k, r in runs.items() if r["status"] == "complete"} == set(runs) - {"down_feb__r000"}


def test_a_fork_refuses_levers_that_act_before_today():
    from conftest import small_config
    from sim.model import GradedCareModel
    from sim.policies import build_policies
    cfg = small_config()
    m = GradedCareModel(cfg, seed=1, scale=0.3, patient_agents=False)
    for _ in range(5):
        m.step()
    early = build_policies([{**DOWN, "start": str(m.date.replace(day=m.date.day - 1))}], cfg)
    with pytest.raises(ValueError, match="cannot fork"):
        m.fork(early)
    with pytest.raises(ValueError, match="acts before"):
        m.fork(build_policies([{**CAMPUS, "start": "2023-01-01"}], cfg))
    with pytest.raises(ValueError, match="did not keep its books"):
        m.fork(build_policies([{**CAPITATION, "start": "2023-01-01"}], cfg))
    with pytest.raises(ValueError, match="from the first day"):
        m.keep_books_for(build_policies([CAPITATION], cfg))


def test_a_branch_campus_runs_alone_a_capitation_lever_shares():
    """A branch campus is a choice-set column from the first day (prepare): its runs cannot share.
    A capitation lever only keeps books from the first day (attach): the shared model keeps them."""
    plan = plan_experiment(_exp(replications=1, scenarios=[{"name": "baseline"},
                                                           {"name": "campus", "policies": [CAMPUS]},
                                                           {"name": "capitation", "policies": [CAPITATION]}]))
    work = shared.plan_work(iter_tasks(plan, Path(".")), workers=1)
    assert [sorted(m["scenario"] for m in t["group"]) for t in work if "group" in t] == [["baseline", "capitation"]]
    assert [t["scenario"] for t in work if "group" not in t] == ["campus"]


def test_capitation_budgeted_on_last_year_s_books_equals_its_run_alone(tmp_path, monkeypatch):
    """The budget from the covered residents' spending before the start, the pressure from the last 30
    days, containment screening admissions: all read books the shared model kept. Two communities on
    one shared model (other townships, chronic scope), each fork takes only its own."""
    def capitation(towns, scope):
        return {"policy": "capitation", "start": "2022-04-12",
                "params": {"townships": towns, "scope": scope, "budget_growth": -0.3, "containment": 0.5,
                           "member_hospitals": ["county_people"]}}
    spec = _exp(replications=2, horizon={"start": "2022-01-01", "end": "2022-05-31", "warmup_days": 10},
                scenarios=[{"name": "baseline"},
                           {"name": "cap_a", "policies": [capitation(["town_a"], "all")]},
                           {"name": "cap_bc", "policies": [capitation(["town_b", "town_c"], "chronic")]},
                           {"name": "down", "policies": [{**DOWN, "start": "2022-03-01"}]}])
    together, a = _same_as_alone(spec, tmp_path, monkeypatch)
    wide = a["indicators"].pivot_table(index=["scenario", "replicate"], columns="indicator", values="value")
    for scenario in ("cap_a", "cap_bc"):                  # the levers acted: not a comparison of baselines
        assert not wide.loc[scenario].equals(wide.loc["baseline"]), scenario
    runs = json.loads((together.path / "manifest.json").read_text())["runs"]
    assert {k for k, r in runs.items() if r.get("shared_days_until")} == {
        f"{s}__r00{r}" for s in ("cap_a", "cap_bc", "down") for r in (0, 1)}


def test_a_fork_takes_its_own_books_and_leaves_the_others():
    from conftest import small_config
    from sim.model import GradedCareModel
    from sim.policies import build_policies
    cfg = small_config()
    a = build_policies([{**CAPITATION, "start": "2022-03-01", "label": "a"}], cfg)
    b = build_policies([{**CAPITATION, "start": "2022-03-01", "label": "b",
                         "params": {"townships": ["town_b"], "budget_per_capita": 500}}], cfg)
    m = GradedCareModel(cfg, seed=1, scale=0.3, patient_agents=False)
    m.keep_books_for(a + b)
    for _ in range(20):
        m.step()
    books = {c.name: c.spent[:20].copy() for c in m.communities}
    assert set(books) == {"a", "b"} and all(v.any() for v in books.values())
    twin = m.fork(a)
    assert [c.name for c in twin.communities] == ["a"] and twin.attached == a
    assert [c.name for c in m.communities] == ["b"] and m.attached == b
    assert (twin.communities[0].spent[:20] == books["a"]).all() and twin.communities[0].model is twin
    assert twin.communities[0] in set(twin.agents) and not any(c.name == "b" for c in twin.agents
                                                               if hasattr(c, "ledger"))


def test_sweep_samples_that_differ_only_in_a_lever_share_one_model_and_equal_runs_alone(tmp_path, monkeypatch):
    moved = "policy:send_down_physicians.moves.0.physicians"
    spec = _exp(scenarios=[{"name": "baseline"}, {"name": "down", "policies": [{**DOWN, "start": "2022-02-01"}]}],
                sweep={"design": "grid", "levers": {moved: {"levels": [2, 5]}}}, replications=1)
    plan = plan_experiment(spec)
    work = shared.plan_work(iter_tasks(plan, Path(".")), workers=1)
    assert [len(t["group"]) for t in work] == [4]          # both samples' baselines and both levers' runs
    _same_as_alone(spec, tmp_path, monkeypatch)


def test_sharing_gives_way_where_two_models_a_worker_do_not_fit(tmp_path, monkeypatch):
    """At a fork a worker holds the shared model and its copy: the memory check counts both, and where
    only one model a worker fits the runs go alone (a warning says so) instead of being refused."""
    from sim import resources
    from sim.experiment import run_planned
    plan = plan_experiment(_exp())
    one = resources.estimate(plan, 2)
    two = dataclasses.replace(one, models=2)
    assert two.memory_needed - one.memory_needed == 2 * one.bytes_per_run

    monkeypatch.setattr(resources, "available_memory", lambda: 10 * two.memory_needed)
    assert not any("do not share" in w for w in resources.check_cost(plan, 2)) and plan.share_days

    monkeypatch.setattr(resources, "available_memory", lambda: (one.memory_needed + two.memory_needed) // 2)
    warnings = resources.check_cost(plan, 2)
    assert not plan.share_days and any("do not share their days" in w for w in warnings)
    runs = json.loads((run_planned(plan, None, out=tmp_path, workers=1).path / "manifest.json").read_text())["runs"]
    assert all(r["status"] == "complete" and "shared_days_until" not in r for r in runs.values())

    monkeypatch.setattr(resources, "available_memory", lambda: one.memory_needed // 2)
    with pytest.raises(resources.NotEnoughMemory):
        resources.check_cost(plan_experiment(_exp()), 2)


FORKS_ONLY = [{"name": "down_march", "policies": [{**DOWN, "start": "2022-03-01"}]},
              {"name": "down_feb", "policies": [{**DOWN, "start": "2022-02-01"}]}]


@pytest.mark.parametrize("workers,scenarios", [(1, None), (2, None), (1, FORKS_ONLY)])
def test_days_spared_are_the_days_the_model_does_not_step(monkeypatch, tmp_path, workers, scenarios):
    """The time estimate subtracts days_spared: the steps a run of the plan takes are the runs' days alone
    minus them (counted here by the model, on one worker; the split of groups for two workers too)."""
    from sim import resources
    from sim.model import GradedCareModel
    if workers == 2:
        monkeypatch.setattr(shared, "TASKS_PER_WORKER", 1)       # groups cut in halves, run here in order
    plan = plan_experiment(_exp(**({"scenarios": scenarios} if scenarios else {})))
    spared = shared.days_spared(plan, workers)
    # per replicate: forks at day 41 (1 Feb) and 69 (1 Mar) of 100 skip those days; the lever after the
    # horizon forks at the end and skips all 100; capitation forks at 41 too; a lever from before the first day runs alone. Without
    # a baseline the shared model runs to the last fork (69): the March run alone would have run 41 more.
    if workers == 1:
        assert spared == (2 * 41 if scenarios else 2 * (41 + 69 + 100 + 41))
    steps = []
    step = GradedCareModel.step
    monkeypatch.setattr(GradedCareModel, "step", lambda self: (steps.append(1), step(self))[1])
    work = shared.plan_work(iter_tasks(plan, tmp_path), workers)
    for task in work:
        assert all(s["status"] == "complete" for s in shared.run_work(task))
    assert len(steps) == resources.simulated_days(plan) - spared

    estimated = resources.estimate(plan, workers)
    monkeypatch.setattr(resources, "LONG_RUN_SECONDS", 0)
    said = " ".join(resources.check_cost(plan, workers))
    shared_seconds = estimated.seconds * len(steps) / resources.simulated_days(plan)
    assert f"expect about {resources.human_seconds(shared_seconds)}" in said


def test_a_sweep_s_time_estimate_counts_its_samples():
    from sim import resources
    spec = _exp(scenarios=[{"name": "baseline"}], replications=1)
    one = resources.estimate(plan_experiment(spec), 1)
    swept = plan_experiment({**spec, "sweep": {"design": "grid", "levers": {COUNTY_RATIO: {"levels": [0.5, 0.7, 0.9]}}}})
    assert resources.simulated_days(swept) == 3 * resources.simulated_days(plan_experiment(spec))
    assert resources.estimate(swept, 1).seconds == pytest.approx(3 * one.seconds)
