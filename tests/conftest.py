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


# ------------------------------------------------------------- small results folders of each kind
RATIO = "insurance.schemes.resident.inpatient.township.ratio"
COUNTY_RATIO = "insurance.schemes.resident.inpatient.county.ratio"
TRAVEL = "choice.wtp.travel_per_hour.outpatient.minor"
_SEND_DOWN = {"policy": "send_down_physicians", "start": "2022-03-01",
              "params": {"moves": [{"from": "county_people", "to": "town_b", "physicians": 5}]}}


def _folder_specs() -> dict[str, dict]:
    """Tiny real experiments on the small county: scenarios (10 replicates: prediction intervals),
    a grid, a Sobol design and a capitation run whose community closes two years."""
    base = {"config": str(SMALL), "seed": 5, "scale": 0.3}
    month = {"start": "2022-01-01", "end": "2022-01-31", "warmup_days": 0}
    return {
        "scenarios": {**base, "name": "figs_scenarios", "replications": 10, "scale": 0.4,
                      "horizon": {"start": "2022-01-01", "end": "2022-04-30", "warmup_days": 10},
                      "scenarios": [{"name": "baseline", "description": "today's rules"},
                                    {"name": "down", "description": "five county physicians sent to town_b",
                                     "policies": [_SEND_DOWN]},
                                    {"name": "richer", "description": "county inpatient ratio 95%",
                                     "overrides": {COUNTY_RATIO: 0.95}}]},
        "grid": {**base, "name": "figs_grid", "replications": 1, "uncertainty": False, "scale": 1.0,
                 "horizon": {**month, "end": "2022-02-28"}, "scenarios": [{"name": "baseline"}],
                 "sweep": {"design": "grid", "levers": {RATIO: {"levels": [0.4, 0.7, 1.0]},
                                                        COUNTY_RATIO: {"levels": [0.4, 0.65, 0.9]}}}},
        "sobol": {**base, "name": "figs_sobol", "replications": 1, "uncertainty": False, "scale": 0.6, "horizon": month,
                  "scenarios": [{"name": "baseline"}],
                  "sweep": {"design": "sobol", "samples": 8, "seed": 2,
                            "uncertainties": {TRAVEL: {"low": 100, "high": 400}},
                            "levers": {COUNTY_RATIO: {"low": 0.4, "high": 0.95}}}},
        "capitation": {**base, "name": "figs_capitation", "replications": 2, "uncertainty": False, "scale": 0.2,
                       "horizon": {"start": "2021-12-01", "end": "2023-01-10", "warmup_days": 0},
                       "scenarios": [{"name": "baseline"},
                                     {"name": "capitation", "description": "town_a and town_b budget-holding",
                                      "policies": [{"policy": "capitation", "start": "2021-12-01",
                                                    "params": {"townships": ["town_a", "town_b"],
                                                               "budget_per_capita": 600}}]}]},
    }


@pytest.fixture(scope="session")
def results_folders(tmp_path_factory) -> dict[str, Path]:
    """kind -> a finished results folder (scenarios, grid, sobol, capitation), built once per session."""
    from sim.experiment import run_experiment
    root = tmp_path_factory.mktemp("results")
    return {kind: run_experiment(spec, out=root, workers=2).path for kind, spec in _folder_specs().items()}


FIGURES = {
    "scenarios": ["shares_by_tier", "monthly_indicators", "changes_where", "changes_money", "changes_capacity",
                  "changes_volume", "outflow", "beds_and_waits", "county_map"],
    "capitation": ["shares_by_tier", "monthly_indicators", "changes_where", "changes_money", "changes_capacity",
                   "changes_volume", "outflow", "beds_and_waits", "community_budget", "county_map"],
    "grid": ["grid_heatmap"],
    "sobol": ["sensitivity_ST", "sensitivity_S1"],
}
def grid_target(folder: Path) -> tuple[str, float]:
    """A target inside the grid's surface (midway between its lowest and highest in-county admission
    rate), so the contour exists whatever the calibrated county gives."""
    import pandas as pd
    s = pd.read_csv(folder / "summary.csv")
    v = s[(s.indicator == "in_county_admission_rate") & (s.period.astype(str) == "all")]["mean"]
    return "in_county_admission_rate", float(round((v.min() + v.max()) / 2, 4))


@pytest.fixture(scope="session")
def plotted(results_folders) -> dict[str, Path]:
    """The folders after `gradsim plot` (English, PNG and SVG; the grid with a target)."""
    from sim.report import plot_results
    for kind, folder in results_folders.items():
        plot_results(folder, "en", ("png", "svg"), grid_target(folder) if kind == "grid" else None)
    return results_folders
