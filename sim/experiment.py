"""Experiments: scenarios x replications on common random numbers, run serially or in processes.

An experiment YAML names a county config, an optional horizon, replications, a seed and named
scenarios (policies and/or dotted overrides). Every scenario's replicate r gets the same seed, so
scenarios differ only by their policies (common random numbers). Everything is validated before a
results folder exists.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError

from .config import (MAX_WARMUP_DAYS, ConfigError, CountyConfig, SafeName, Strict, config_from_tree, deep_merge,
                     format_validation_error, load_tree, read_yaml)
from .policies import build_policies


MAX_REPLICATIONS = 10000


class ScenarioSpec(Strict):
    name: SafeName
    description: str = ""
    policies: list[dict[str, Any]] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)


class HorizonSpec(Strict):
    start: dt.date
    end: dt.date
    warmup_days: int | None = Field(None, ge=0, le=MAX_WARMUP_DAYS)


class ExperimentSpec(Strict):
    name: SafeName
    description: str = ""
    config: str = Field(description="county config, relative to the experiment file")
    horizon: HorizonSpec | None = None
    replications: int = Field(10, ge=1, le=MAX_REPLICATIONS)
    seed: int = Field(0, ge=0)
    scale: float = Field(1.0, gt=0.0, le=1.0)
    baseline: str | None = Field(None, description="scenario the summary compares with (default: 'baseline' or the first)")
    overrides: dict[str, Any] = Field(default_factory=dict)
    scenarios: list[ScenarioSpec] = Field(default_factory=lambda: [ScenarioSpec(name="baseline")], min_length=1)


@dataclass
class Scenario:
    name: str
    tree: dict
    policies: list[dict]
    config: CountyConfig


@dataclass
class Plan:
    """A validated experiment: what will run, with which seeds."""
    spec: ExperimentSpec
    file: str | None
    base_tree: dict
    scenarios: list[Scenario]
    seeds: list[int]
    scale: float
    baseline: str
    warnings: list[str] = field(default_factory=list)

    @property
    def horizon(self):
        return self.scenarios[0].config.horizon

    def short_periods(self) -> dict[str, int]:
        """Calendar-year periods the horizon covers only in part: {year: simulated days}."""
        h, out = self.horizon, {}
        for year in range(h.start.year, h.end.year + 1):
            first, last = max(h.start, dt.date(year, 1, 1)), min(h.end, dt.date(year, 12, 31))
            days = (last - first).days + 1
            if days < (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days:
                out[str(year)] = days
        return out

    def horizon_note(self) -> str | None:
        """'annualised from N days' when a reported year is simulated only in part (indicators stay per year)."""
        short = self.short_periods()
        if not short:
            return None
        return "; ".join(f"{y} annualised from {d} days" for y, d in short.items())

    @property
    def runs(self) -> list[tuple[str, int]]:
        return [(s.name, r) for s in self.scenarios for r in range(len(self.seeds))]

    def fingerprint(self) -> str:
        blob = json.dumps({"scenarios": [(s.name, s.tree, s.policies) for s in self.scenarios],
                           "seeds": self.seeds, "scale": self.scale}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def replicate_seeds(seed: int, n: int) -> list[int]:
    """One seed per replicate, spawned from the experiment seed; shared by all scenarios."""
    return [int(s.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
            for s in np.random.SeedSequence(seed).spawn(n)]


def plan_experiment(source: str | Path | dict, replications: int | None = None, scale: float | None = None,
                    base_dir: str | Path | None = None) -> Plan:
    """Read and validate an experiment (file or dict) with all its scenarios and policies."""
    if isinstance(source, dict):
        raw, file = copy.deepcopy(source), None
        root = Path(base_dir or ".")
    else:
        file = str(source)
        raw = read_yaml(source)
        root = Path(source).resolve().parent
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, ExperimentSpec, {}, file) from None
    if replications is not None:
        if isinstance(replications, bool) or not 1 <= replications <= MAX_REPLICATIONS:
            raise ConfigError(f"--replications must be between 1 and {MAX_REPLICATIONS:,} (got {replications})",
                              file, "replications")
        spec.replications = replications
    if scale is not None:
        if not 0 < scale <= 1:
            raise ConfigError(f"--scale must be in (0, 1], got {scale}", file, "scale")
        spec.scale = scale
    names = [s.name for s in spec.scenarios]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"scenario names must be unique; repeated: {', '.join(sorted(dup))}", file, "scenarios")
    baseline = spec.baseline or ("baseline" if "baseline" in names else names[0])
    if baseline not in names:
        raise ConfigError(f"unknown scenario '{baseline}'; scenarios: {', '.join(names)}", file, "baseline")

    config_path = (root / spec.config).resolve()
    if not config_path.is_file():
        raise ConfigError(f"county config not found: {config_path}", file, "config")
    tree, origin = load_tree(config_path)
    if spec.horizon is not None:
        h = spec.horizon.model_dump(exclude_none=True)
        tree = deep_merge(tree, {"horizon": h}, origin, file or "experiment")
    if spec.overrides:
        tree = deep_merge(tree, spec.overrides, origin, file or "experiment", "")
    scenarios, warnings = [], []
    for i, s in enumerate(spec.scenarios):
        s_origin = dict(origin)
        s_tree = deep_merge(tree, s.overrides, s_origin, file or "experiment") if s.overrides else tree
        cfg = config_from_tree(s_tree, s_origin, str(config_path))
        policies = build_policies(s.policies, cfg, file, f"scenarios.{i}.policies")
        warnings += policy_warnings(policies, s.name, cfg)
        scenarios.append(Scenario(s.name, s_tree, s.policies, cfg))
    plan = Plan(spec, file, tree, scenarios, replicate_seeds(spec.seed, spec.replications), spec.scale, baseline,
                warnings)
    if plan.horizon_note():
        warnings.append(f"the horizon covers part of a year ({plan.horizon_note()}): counts are per year, "
                        "seasonality and annual caps make such figures rough")
    return plan


def policy_warnings(policies: list, scenario: str, cfg: CountyConfig) -> list[str]:
    """A warning for each policy whose dates never overlap the reported horizon."""
    h, out = cfg.horizon, []
    for p in policies:
        if p.start > h.end or (p.end is not None and p.end <= h.start):
            out.append(f"policy '{p.label}' of scenario '{scenario}' never takes effect between {h.start} and "
                       f"{h.end} (it runs from {p.start}{f' to {p.end}' if p.end else ''})")
    return out


# ---------------------------------------------------------------- running one replicate
def run_one(task: dict) -> dict:
    """Run one (scenario, replicate) and write its tables into the run folder; returns its status."""
    from .model import GradedCareModel
    from .results import atomic_write_parquet

    started = time.time()
    cfg = config_from_tree(task["tree"], {}, task.get("config_file"))
    policies = build_policies(task["policies"], cfg, task.get("experiment_file"))
    model = GradedCareModel(cfg, seed=task["seed"], scale=task["scale"], policies=policies)
    model.run()
    ind = model.indicators()
    long = ind.reset_index().melt(id_vars="period", var_name="indicator", value_name="value")
    meta = {"run_id": task["run_id"], "scenario": task["scenario"], "replicate": task["replicate"], "sample": 0}
    long = long.assign(**meta)[["run_id", "scenario", "replicate", "sample", "period", "indicator", "value"]]
    ts = model.timeseries().assign(**meta)
    model.release()
    folder = Path(task["folder"])
    atomic_write_parquet(ts, folder / f"{task['run_id']}.timeseries.parquet")
    atomic_write_parquet(long, folder / f"{task['run_id']}.indicators.parquet")
    return {"run_id": task["run_id"], "status": "complete", "seconds": round(time.time() - started, 2)}


def make_tasks(plan: Plan, folder: Path) -> list[dict]:
    return [{"run_id": f"{s.name}__r{r:03d}", "scenario": s.name, "replicate": r, "seed": plan.seeds[r],
             "scale": plan.scale, "tree": s.tree, "policies": s.policies, "folder": str(folder),
             "experiment_file": plan.file}
            for s in plan.scenarios for r in range(len(plan.seeds))]


def execute(tasks: list[dict], workers: int, on_done: Callable[[dict], None]) -> None:
    """Run tasks serially (workers == 1) or in local processes started with 'spawn'."""
    if workers <= 1 or len(tasks) <= 1:
        for t in tasks:
            on_done(run_one(t))
        return
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending = {pool.submit(run_one, t) for t in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    on_done(fut.result())
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


@dataclass
class ExperimentResult:
    path: Path
    indicators: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict = field(default_factory=dict)

    def timeseries(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "timeseries.parquet")


def run_experiment(source: str | Path | dict, out: str | Path | None = None, workers: int | None = None,
                   replications: int | None = None, scale: float | None = None, resume: str | Path | bool | None = None,
                   progress: bool = False, base_dir: str | Path | None = None) -> ExperimentResult:
    """Validate, then run every scenario x replicate, and write the results folder.

    out: parent of the experiment's folder (default ./results); resume: True for the newest
    unfinished run of this experiment, or a run folder; workers: local processes (default: all cores).
    """
    from . import results as store

    plan = plan_experiment(source, replications, scale, base_dir)
    root = Path(out or "results") / plan.spec.name
    if resume:
        folder = store.find_resumable(root, plan, None if resume is True else Path(resume))
    else:
        folder = store.new_run_folder(root)
    runs_dir = folder / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    manifest = store.start_manifest(folder, plan)
    tasks = [t for t in make_tasks(plan, runs_dir) if not store.run_complete(runs_dir, t["run_id"])]
    for t in make_tasks(plan, runs_dir):
        if t not in tasks:
            manifest["runs"][t["run_id"]]["status"] = "complete"
    store.write_manifest(folder, manifest)
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(tasks) or 1))
    bar = _progress(len(plan.runs), len(plan.runs) - len(tasks), progress)

    def done(status: dict) -> None:
        manifest["runs"][status["run_id"]].update(status)
        store.write_manifest(folder, manifest)
        bar(status)

    try:
        execute(tasks, n_workers, done)
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        store.write_manifest(folder, manifest)
        raise
    finally:
        bar(None)
    return store.finish(folder, plan, manifest)


def _progress(total: int, already: int, enabled: bool) -> Callable[[dict | None], None]:
    if not enabled:
        return lambda status: None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=already, unit="run", desc="runs", dynamic_ncols=True)

    def update(status: dict | None) -> None:
        if status is None:
            bar.close()
        else:
            bar.set_postfix_str(status["run_id"], refresh=False)
            bar.update(1)
    return update
