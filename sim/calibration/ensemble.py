"""The ensemble of acceptable parameter sets (history matching: every evaluated set whose simulated
targets all fall within their tolerances), written as a CSV of config values by dotted path that
`gradsim run` can draw from (experiment key `parameter_ensemble`, docs/calibration.md)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import ConfigError
from ..results import atomic_write_text
from .search import Evaluation
from .spec import Calibration

META = ("evaluation", "objective")


def members(evaluations: list[Evaluation]) -> list[Evaluation]:
    """The acceptable evaluations, best first."""
    return sorted((e for e in evaluations if e.acceptable), key=lambda e: (e.objective, e.order))


def ensemble_table(cal: Calibration, evaluations: list[Evaluation]) -> pd.DataFrame:
    """One row per acceptable set: its id, objective and every config value it sets (dotted paths)."""
    rows = [{"evaluation": e.id, "objective": e.objective, **cal.expand(e.parameters)} for e in members(evaluations)]
    columns = list(META) + list(cal.expand({p.key: p.start for p in cal.parameters}))
    return pd.DataFrame(rows, columns=columns)


def write_ensemble(table: pd.DataFrame, path: Path) -> None:
    atomic_write_text(table.to_csv(index=False), path)


def read_ensemble(path: str | Path, file: str | None = None, where: str = "parameter_ensemble") -> list[dict]:
    """The parameter sets of an ensemble CSV (dotted path -> value); ConfigError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"ensemble file not found: {path} (gradsim calibrate writes ensemble.csv)", file, where)
    try:
        table = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not a readable CSV ({exc})", file, where) from None
    values = table.drop(columns=[c for c in META if c in table.columns])
    if table.empty or values.columns.empty:
        raise ConfigError(f"{path} holds no parameter sets (no set was acceptable; see the calibration's "
                          "report.md)", file, where)
    bad = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c]) or not
           np.isfinite(values[c].to_numpy(dtype=float)).all()]
    if bad:
        raise ConfigError(f"{path}: column '{bad[0]}' must hold finite numbers", file, where)
    return [{k: (int(v) if pd.api.types.is_integer_dtype(values[k]) else float(v)) for k, v in row.items()}
            for row in values.to_dict("records")]
