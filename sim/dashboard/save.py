"""`Save as experiment`: the dashboard's levers as an experiment YAML that `gradsim run` and
`gradsim check` read (a `baseline` and a `dashboard` scenario on common random numbers).

The file holds exactly the experiment the dashboard runs (sim.dashboard.model.Setup.experiment),
with the county config's path made relative to the file and the usual 10 replications. It is
checked with the command line's loader before it is written, and written atomically.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import yaml

from ..experiment import plan_experiment
from ..results import atomic_write_text
from .model import Setup

REPLICATIONS = 10


def experiment_yaml(setup: Setup, levers: dict, folder: Path, name: str) -> str:
    """The experiment as YAML text, its config path relative to `folder`."""
    exp = setup.experiment(levers, name=name, replications=REPLICATIONS)
    exp["config"] = Path(os.path.relpath(exp["config"], folder.resolve())).as_posix()
    header = (f"# Saved by the gradsim dashboard on {dt.datetime.now():%Y-%m-%d %H:%M}: the levers as the "
              f"'dashboard' scenario against the baseline.\n# Run: gradsim run <this file>   "
              f"(mechanisms and defaults of each policy: docs/policies.md)\n")
    return header + yaml.dump(exp, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False, default_flow_style=None,
                              width=100)


class _PlainDumper(yaml.SafeDumper):
    """Safe YAML without anchors (&id001) for repeated values such as the policies' start date."""

    def ignore_aliases(self, data) -> bool:
        return True


def save_experiment(setup: Setup, levers: dict, folder: str | Path | None = None) -> Path:
    """Write dashboard_<time>.yaml in `folder` (default: the setup's save folder); returns its path.
    The text is validated by plan_experiment first, so a file that exists is one `gradsim run` accepts."""
    folder = Path(folder if folder is not None else setup.save_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"dashboard_{dt.datetime.now():%Y%m%dT%H%M%S}"
    path = folder / f"{name}.yaml"
    k = 1
    while path.exists():
        k += 1
        path = folder / f"{name}_{k}.yaml"
    text = experiment_yaml(setup, levers, folder, path.stem)
    plan_experiment(yaml.safe_load(text), base_dir=folder)
    atomic_write_text(text, path)
    return path
