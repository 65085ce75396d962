"""Scenarios that differ only from a date on share the days before it.

Scenarios of one replicate draw the same numbers (common random numbers): with the same config,
a scenario whose levers all start on 1 January 2023 simulates the warm-up and 2022 exactly as the
baseline does. So the runs of one replicate (and sweep sample) whose config is the shared one and
whose levers change nothing before their start (`Policy.acts_before_start`) are done as one task: a
model without levers runs to the first start, each scenario goes on from a copy of it
(`GradedCareModel.fork`), and the model without levers runs on as the baseline if that is one of them.
Levers that keep books from the first day (`Policy.keeps_books`: capitation) have them kept on the
shared model until their fork.
Every run's tables are the ones it gets alone (tests/test_shared_prefix.py); in the flagship all nine
scenarios share the 485 days before the reform.

The parent groups runs by what it can see cheaply (seed, the scenario's config tree, swept config
values, the levers' classes); the worker checks the one thing that decides, the run's config, and
runs a member alone when it differs or a lever starts on the first simulated day.
"""
from __future__ import annotations

import time
from typing import Any, Iterable, Iterator

from .policies.base import REGISTRY

TASKS_PER_WORKER = 4
MAX_GROUP = 16      # runs a task: the shared days are then 1/16 of a run each, and progress still moves


def _shareable(task: dict) -> bool:
    """Whether this run's levers (its raw specs) all leave the model alone before their start."""
    for raw in task["policies"] or []:
        from .policies import levers  # noqa: F401  (registers the levers; planning imported them already)
        cls = REGISTRY.get(raw.get("policy")) if isinstance(raw, dict) else None
        if cls is None or cls.acts_before_start():
            return False
    return True


def _group_key(task: dict) -> tuple:
    """Runs with equal keys start from the same state: same seed and ensemble member, the same config
    tree, the same swept config values (a swept lever parameter does not change the config)."""
    config_values = tuple(sorted((k, repr(v)) for k, v in (task.get("values") or {}).items()
                                 if not k.startswith("policy:")))
    return task["seed"], id(task["tree"]), config_values


def days_spared(plan: Any, workers: int) -> int:
    """Simulated days the plan's groups spare (0 where no run shares): a group simulates its days before
    the levers once, its forks each go on from their first lever's start, its runs without levers go on
    as one. The time estimate subtracts them; the memory check counts a second model where they exist."""
    import datetime as dt
    from pathlib import Path

    from .experiment import iter_tasks
    from .steady import simulated_warmup_days

    horizons = {s.name: s.config.horizon for s in plan.scenarios}
    spared = 0
    for task in plan_work(iter_tasks(plan, Path(".")), workers, plan.share_days):
        shared, own, alone = 0, 0, 0
        for member in task.get("group", ()):
            h = horizons[member["scenario"]]
            first_day = h.start - dt.timedelta(days=simulated_warmup_days(h))
            full = (h.end - first_day).days + 1
            starts = [_start(raw) for raw in member["policies"] or []]
            first = first_day if None in starts else min(starts, default=None)   # unreadable: counted whole
            role = _role(first, first_day)
            if role == "baseline":
                shared = full
            elif role == "alone":
                alone += full
            else:
                offset = min((first - first_day).days, full)
                shared, own = max(shared, offset), own + full - offset
            spared += full
        if "group" in task:
            spared -= shared + own + alone
    return spared


def _role(first: Any, first_day: Any) -> str:
    """What a member of a group does: "baseline" (no lever: the shared model runs on as it), "alone" (a
    lever from the first simulated day or earlier) or "fork" (goes on from a copy at its first start)."""
    if first is None:
        return "baseline"
    return "alone" if first <= first_day else "fork"


def _start(raw: Any) -> Any:
    """A raw lever spec's start date, or None where it cannot be read here (the run then counts whole)."""
    import datetime as dt
    try:
        return dt.date.fromisoformat(str(raw["start"]))
    except (KeyError, TypeError, ValueError):
        return None


def plan_work(tasks: Iterable[dict], workers: int, share: bool = True) -> list[dict]:
    """The tasks to hand to the executor: single runs, and groups {"run_id", "group": [runs]} of runs
    that share their days before the first lever, at most MAX_GROUP runs each. With several workers,
    groups are cut in halves while there are fewer than TASKS_PER_WORKER tasks a worker, so that the
    work spreads evenly (each part runs the shared days again). The parent holds the list (a task is a
    small dict of references to the plan's trees)."""
    singles, groups = [], {}
    for task in tasks:
        if share and _shareable(task):
            groups.setdefault(_group_key(task), []).append(task)
        else:
            singles.append(task)
    parts = [members[i:i + MAX_GROUP] for members in groups.values() for i in range(0, len(members), MAX_GROUP)]
    while workers > 1 and len(parts) + len(singles) < TASKS_PER_WORKER * workers and any(len(m) > 1 for m in parts):
        big = max(parts, key=len)
        parts.remove(big)
        parts += [big[: len(big) // 2], big[len(big) // 2:]]
    parts.sort(key=len, reverse=True)                # the largest first: the last tasks are short ones
    return [m[0] if len(m) == 1 else _group_task(m) for m in parts] + singles


def _group_task(members: list[dict]) -> dict:
    first = members[0]
    return {"run_id": f"shared-{first['run_id']}+{len(members) - 1}", "group": members,
            "fingerprint": first.get("fingerprint", "")}


def statuses(result: Any, tasks: dict[str, dict]) -> list[dict]:
    """One status per run from what the executor returned for a task: a list, or one failure that
    stands for every run of a group (a Dask worker lost for good)."""
    if isinstance(result, list):
        return result
    group = tasks.get(result.get("run_id"), {}).get("group")
    return [{**result, "run_id": m["run_id"]} for m in group] if group else [result]


def run_work(task: dict) -> list[dict]:
    """Run a task (one run or a group) and return the status of each of its runs; a run's failure is
    its own status, so the other runs go on (sim.experiment.run_safely)."""
    from .experiment import run_safely

    if "group" not in task:
        return [run_safely(task)]
    return list(_run_group(task["group"]))


def _run_group(members: list[dict]) -> Iterator[dict]:
    """The group's runs: forks of one model without levers at each scenario's first start, then that
    model on for the runs without levers; a member whose config differs, or whose lever starts on the
    first simulated day, runs alone. A run's seconds are its own plus its share of the shared days."""
    from .experiment import failure_status, run_inputs, run_safely, write_run
    from .model import GradedCareModel

    started = time.time()
    base = None
    alone, forks, baselines = [], [], []
    try:
        inputs = [run_inputs(task) for task in members]
        cfg = inputs[0][0]
        base = GradedCareModel(cfg, seed=members[0]["seed"], scale=members[0]["scale"], policies=[],
                               patient_agents=False)
        for task, (c, policies, parameters) in zip(members, inputs):
            first = min((p.start for p in policies), default=None)
            role = "alone" if c != cfg else _role(first, base.start_date)
            if role == "alone":
                alone.append(task)
            elif role == "baseline":    # several when sweep samples differ only in a lever's parameter
                baselines.append((task, parameters))
            else:
                forks.append((first, task, policies, parameters))
        forks.sort(key=lambda f: f[0])
        base.keep_books_for([p for _, _, policies, _ in forks for p in policies if p.keeps_books()])
    except Exception:            # noqa: BLE001  (then each run alone reports its own fault)
        if base is not None:
            base.release()
        yield from (run_safely(task) for task in members)
        return
    waiting = [f[1] for f in forks] + [b[0] for b in baselines]
    share = (time.time() - started) / max(len(waiting), 1)     # set-up, shared by all
    try:
        for first, task, policies, parameters in forks:
            tick = time.time()
            while base.running and base.date < first:      # a lever may start after the horizon
                base.step()
            share += (time.time() - tick) / len(waiting)
            waiting.remove(task)
            yield _fork(task, base, policies, parameters, first, share)
        if baselines:
            tick = time.time()
            base.run()
            share += (time.time() - tick) / len(baselines)
            for task, parameters in baselines:
                waiting.remove(task)
                yield write_run(task, base, parameters, share)
    except Exception as exc:        # noqa: BLE001  (the shared days failed: so would each run waiting for them)
        yield from [failure_status(task, exc) for task in waiting]
    finally:
        base.release()
    yield from (run_safely(task) for task in alone)


def _fork(task: dict, base: Any, policies: list, parameters: dict, first: Any, share: float) -> dict:
    """Go on from a copy of the shared model under the task's levers and write the run's tables."""
    from .experiment import failure_status, write_run

    tick = time.time()
    try:
        twin = base.fork(policies)
        twin.run()
        status = write_run(task, twin, parameters, time.time() - tick + share)
    except Exception as exc:          # noqa: BLE001  (this run's own fault; the group goes on)
        return failure_status(task, exc)
    return {**status, "shared_days_until": first.isoformat()}
