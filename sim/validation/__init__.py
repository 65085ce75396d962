"""`gradsim validate`: how far to trust the model for a county (docs/validation-suite.md).
checks: pure check functions; suite: the runs behind them; report: table and markdown; command: the CLI."""
