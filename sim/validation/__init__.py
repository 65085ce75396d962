"""`gradsim validate`: how far to trust the model for a county (docs/validation-suite.md).
checks: pure check functions; suite: the runs behind them; report: table and markdown."""
from .checks import Check, Paired
from .suite import Settings, run_suite

__all__ = ["Check", "Paired", "Settings", "run_suite"]
