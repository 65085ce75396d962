"""Shared fixtures: a small county (tests/fixtures/small_county.yaml) and model builders."""
from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.config import config_from_tree, load_tree

HERE = Path(__file__).resolve().parent
SMALL = HERE / "fixtures" / "small_county.yaml"
ROOT = HERE.parent


def small_config(overrides: dict | None = None, **tree_edits):
    """The small county with dotted overrides (validated like a file)."""
    return sim.load_config(SMALL, overrides)


def edited_config(edit):
    """The small county after `edit(tree)` changes the raw tree in place (for list-wide edits)."""
    tree, origin = load_tree(SMALL)
    edit(tree)
    return config_from_tree(tree, origin, str(SMALL))


def run_model(cfg, seed: int = 7, scale: float = 1.0, policies=None):
    m = sim.GradedCareModel(cfg, seed=seed, scale=scale, policies=policies, patient_agents=False)
    m.run()
    return m


@pytest.fixture(scope="session")
def small_run():
    """One run of the small county, shared by read-only tests."""
    return run_model(small_config())
