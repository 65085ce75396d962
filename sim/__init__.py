"""gradsim: an agent-based simulator of graded diagnosis and treatment (分级诊疗) in a county."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import ConfigError, CountyConfig, load_config
    from .model import GradedCareModel

__all__ = ["ConfigError", "CountyConfig", "GradedCareModel", "load_config", "run_experiment"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """The model (Mesa) and the config schema (pydantic) are imported when first used, so `gradsim --help`
    and `check` start fast."""
    if name == "GradedCareModel":
        from .model import GradedCareModel
        return GradedCareModel
    if name in ("ConfigError", "CountyConfig", "load_config"):     # pydantic and yaml: not for --help
        from . import config
        return getattr(config, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def run_experiment(path_or_dict, **options):
    """Run an experiment (scenarios x replications); see sim.experiment.run_experiment."""
    from .experiment import run_experiment as _run
    return _run(path_or_dict, **options)
