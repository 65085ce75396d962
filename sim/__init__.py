"""gradsim: an agent-based simulator of graded diagnosis and treatment (分级诊疗) in a county."""
from .config import ConfigError, CountyConfig, load_config
from .model import GradedCareModel

__all__ = ["ConfigError", "CountyConfig", "GradedCareModel", "load_config", "run_experiment"]
__version__ = "0.1.0"


def run_experiment(path_or_dict, **options):
    """Run an experiment (scenarios x replications); see sim.experiment.run_experiment."""
    from .experiment import run_experiment as _run
    return _run(path_or_dict, **options)
