"""The dashboard's model: a GradedCareModel built by the command line's own path from an experiment
(the county config or experiment given, plus the levers as one scenario's policies).

The dashboard's experiment is the one `Save as experiment` writes: a `baseline` scenario and a
`dashboard` scenario holding the levers' policies from the first day of the horizon. The model shown
is replicate 0 of that `dashboard` scenario at the dashboard's scale, built by sim.experiment
(plan_experiment, iter_tasks, run_inputs) exactly as `gradsim run` builds it, with uncertain
parameters at their central values. Patient agents are never created.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..config import ConfigError, CountyConfig, load_tree, read_yaml
from ..experiment import Plan, iter_tasks, plan_experiment, run_inputs
from ..labels import check_lang
from ..model import GradedCareModel
from .levers import default_levers, lever_policies

DEFAULT_SCALE = 0.1
SCENARIO = "dashboard"
SOURCE_KEYS = ("horizon", "seed", "overrides")      # what the dashboard keeps of an experiment given


def is_experiment(path: str | Path) -> bool:
    """An experiment YAML (scenarios, or a `config:` reference) rather than a county config."""
    from ..cli import file_kind
    return file_kind(str(path)) == "experiment"


@dataclass(frozen=True)
class Setup:
    """What the dashboard was started with: the county (config or experiment), scale, language and
    the folder experiments are saved in."""
    source: str
    scale: float = DEFAULT_SCALE
    lang: str = "en"
    save_dir: str = "."
    base: dict = field(default_factory=dict, compare=False)     # config (absolute) + horizon, seed, overrides

    @staticmethod
    def from_source(source: str | Path, scale: float = DEFAULT_SCALE, lang: str = "en",
                    save_dir: str | Path = ".") -> "Setup":
        """Read the config or experiment once (errors name the file and key, as `gradsim check`)."""
        check_lang(lang)
        path = Path(source).resolve()
        if is_experiment(path):
            raw = read_yaml(path)
            config = raw.get("config")
            if not isinstance(config, str):
                raise ConfigError("needs `config:`, the county config relative to the experiment", str(source), "config")
            base = {"config": str((path.parent / config).resolve())}
            base.update({k: raw[k] for k in SOURCE_KEYS if raw.get(k) is not None})
        else:
            load_tree(path)
            base = {"config": str(path)}
        setup = Setup(str(source), float(scale), lang, str(save_dir), base)
        setup.plan({})       # everything checked before a browser connects
        return setup

    def experiment(self, levers: dict, name: str = SCENARIO, replications: int = 1) -> dict:
        """The experiment (as a dict with an absolute config path) that the levers stand for."""
        cfg = self.config
        policies = lever_policies(levers, cfg, self.start(cfg))
        return {"name": name, "description": "levers set in the gradsim dashboard", **self.base,
                "replications": replications,
                "scenarios": [{"name": "baseline"}, {"name": SCENARIO, "policies": policies}]}

    def plan(self, levers: dict) -> Plan:
        return plan_experiment(self.experiment(levers), scale=self.scale, uncertainty=False)

    @cached_property
    def config(self) -> CountyConfig:
        """The county as the experiment configures it (horizon and overrides applied)."""
        plan = plan_experiment({"name": SCENARIO, **self.base, "replications": 1}, scale=self.scale,
                               uncertainty=False)
        return plan.scenarios[0].config

    def start(self, cfg: CountyConfig) -> dt.date:
        """First day of the horizon: the levers take effect then (after the warm-up)."""
        return cfg.horizon.start

    def defaults(self) -> dict:
        return default_levers(self.config)


class DashboardModel(GradedCareModel):
    """The county of `setup` under the `levers`, warmed up: step 0 is the horizon's first day.

    Mesa's SolaraViz re-creates the model through this constructor (Reset); `levers` is the
    dashboard's own mapping, so a reset keeps the levers on screen.
    """

    def __init__(self, setup: Setup | None = None, levers: dict | None = None) -> None:
        if setup is None:
            raise ValueError("DashboardModel needs a Setup (sim.dashboard.model.Setup.from_source)")
        self.setup = setup
        self.levers = dict(levers if levers is not None else setup.defaults())
        plan = setup.plan(self.levers)
        task = next(t for t in iter_tasks(plan, Path(setup.save_dir)) if t["scenario"] == SCENARIO)
        cfg, policies, _ = run_inputs(task)
        self.lever_specs = plan.scenarios[-1].policies
        super().__init__(cfg, seed=task["seed"], scale=task["scale"], policies=policies, patient_agents=False)
        for _ in range(self.warmup_days):
            self.step()
        self.steps = 0                     # Mesa's counter: days since the horizon began
        # Mesa's `time` is left as it is: from Mesa 3.5 it drives the event schedule of `step`

    @property
    def days_shown(self) -> int:
        """Simulated days of the horizon so far."""
        return self.day - self.warmup_days
