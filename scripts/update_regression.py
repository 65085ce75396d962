"""Refresh tests/baseline/regression.json: the indicators of a small seeded run.

Run this only when a change is meant to move the numbers, and say why in the commit message:
    python scripts/update_regression.py
"""
from __future__ import annotations

import json
from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "baseline" / "regression.json"
CONFIG = ROOT / "tests" / "fixtures" / "small_county.yaml"
SEED = 2022


def regression_indicators() -> dict[str, float]:
    """The regression run: the small county, seed 2022, period 'all'."""
    model = sim.GradedCareModel(sim.load_config(CONFIG), seed=SEED, patient_agents=False)
    model.run()
    return {k: float(v) for k, v in model.indicators().loc["all"].items()}


if __name__ == "__main__":
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(json.dumps({"config": str(CONFIG.relative_to(ROOT)), "seed": SEED,
                                  "indicators": regression_indicators()}, indent=2) + "\n")
    print(f"wrote {TARGET}")
