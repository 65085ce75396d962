"""Sweep designs: which parameter values each sample of an experiment runs with.

An experiment's `sweep:` names a design (grid, lhs, sobol, morris) and its parameters, split as
EMA Workbench does into `uncertainties` (behavioural assumptions) and `levers` (policy choices).
A parameter is addressed as uncertain ranges are (sim/uncertainty.py): a dotted config path
(`insurance.schemes.resident.inpatient.township.ratio`) or `policy:<policy>.<param path>`
(`policy:send_down_physicians.moves.0.physicians`, every policy of that name in a scenario).
Samples come from SALib (Saltelli/Sobol, Morris) and scipy.stats.qmc (Latin hypercube); a grid is
the product of each parameter's levels. Syntax and examples: docs/sweeps.md.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .config import ConfigError, config_from_tree, set_dotted

DESIGNS = ("grid", "lhs", "sobol", "morris")
Number = int | float


class ParamSpec(BaseModel):
    """One swept parameter: bounds (lhs, sobol, morris; or a grid of `n` even levels) or explicit levels."""
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    low: float | None = None
    high: float | None = None
    levels: list[float] | list[str] | None = Field(None, min_length=1,
                                                   description="grid: the values to run (numbers, or names)")
    n: int | None = Field(None, ge=2, le=1000, description="grid: this many evenly spaced levels from low to high")
    integer: bool | None = Field(None, description="whole numbers (default: yes if low/high or levels are written so)")


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    design: Literal["grid", "lhs", "sobol", "morris"]
    samples: int | None = Field(None, ge=1, le=1_000_000,
                                description="lhs: points; sobol: base sample N (runs N x (D + 2)); "
                                            "morris: trajectories (runs N x (D + 1))")
    seed: int | None = Field(None, ge=0, description="seed of the sampler (default: the experiment's seed)")
    second_order: bool = Field(False, description="sobol: also second-order indices (runs N x (2D + 2))")
    morris_levels: int = Field(4, ge=2, le=100, description="morris: levels of each parameter's grid (even)")
    uncertainties: dict[str, ParamSpec] = Field(default_factory=dict)
    levers: dict[str, ParamSpec] = Field(default_factory=dict)


@dataclass(frozen=True)
class Parameter:
    key: str               # the address
    group: str             # uncertainties | levers
    low: Number | None     # None for a grid of names
    high: Number | None
    levels: tuple[Number | str, ...]
    integer: bool

    @property
    def names(self) -> bool:
        return bool(self.levels) and isinstance(self.levels[0], str)

    @property
    def where(self) -> str:
        return f"sweep.{self.group}.{self.key}"


@dataclass
class Sweep:
    """A validated design: its parameters and one dict of values per sample (sample ids start at 1)."""
    design: str
    parameters: list[Parameter]
    samples: list[dict[str, Number]]
    options: dict[str, Any] = field(default_factory=dict)

    def problem(self) -> dict:
        """The SALib problem of this design."""
        return {"num_vars": len(self.parameters), "names": [p.key for p in self.parameters],  # numeric designs only
                "bounds": [[float(p.low), float(p.high)] for p in self.parameters]}

    def as_dict(self) -> dict:
        return {"design": self.design, "options": self.options,
                "parameters": [{"key": p.key, "group": p.group, "low": p.low, "high": p.high,
                                "levels": list(p.levels), "integer": p.integer} for p in self.parameters]}


def _whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _parameter(key: str, group: str, spec: ParamSpec, raw: dict, design: str, file: str | None) -> Parameter:
    where = f"sweep.{group}.{key}"
    if not (key.startswith("policy:") and "." in key) and (not key or key.startswith(("policy:", ".")) or ".." in key):
        raise ConfigError("a parameter is a dotted config path (e.g. insurance.schemes.resident.inpatient.township."
                          "ratio) or policy:<policy>.<param path> (e.g. policy:send_down_physicians.moves.0."
                          "physicians)", file, where)
    written = [raw.get("low"), raw.get("high"), *(raw.get("levels") or [])]
    integer = spec.integer if spec.integer is not None else all(_whole(x) for x in written if x is not None)
    cast = (lambda x: int(round(x))) if integer else float
    if spec.levels is not None:
        if design != "grid":
            raise ConfigError(f"levels are for a grid; a {design} design needs low and high", file, f"{where}.levels")
        if spec.low is not None or spec.high is not None or spec.n is not None:
            raise ConfigError("write either levels or low, high and n", file, where)
        if isinstance(spec.levels[0], str):             # a grid of names (e.g. which township centre)
            return Parameter(key, group, None, None, tuple(dict.fromkeys(spec.levels)), False)
        levels = tuple(dict.fromkeys(cast(x) for x in spec.levels))
        return Parameter(key, group, min(levels), max(levels), levels, integer)
    if spec.low is None or spec.high is None:
        raise ConfigError("needs low and high" + (" (and n), or levels" if design == "grid" else ""), file, where)
    if not spec.low < spec.high:
        raise ConfigError(f"low ({spec.low:g}) must be below high ({spec.high:g})", file, where)
    if design == "grid":
        if spec.n is None:
            raise ConfigError("a grid needs levels, or low, high and n (the number of levels)", file, where)
        levels = tuple(dict.fromkeys(cast(x) for x in np.linspace(spec.low, spec.high, spec.n)))
    elif spec.n is not None:
        raise ConfigError(f"n is for a grid; a {design} design draws its own values", file, f"{where}.n")
    else:
        levels = ()
    return Parameter(key, group, cast(spec.low), cast(spec.high), levels, integer)


def _sample_matrix(spec: SweepSpec, params: list[Parameter], seed: int, file: str | None) -> np.ndarray:
    """Rows of parameter values from the well-kept samplers (columns in `params` order)."""
    d = len(params)
    if spec.design == "grid":
        return np.array(list(itertools.product(*(p.levels for p in params))), dtype=object)
    problem = {"num_vars": d, "names": [p.key for p in params],
               "bounds": [[float(p.low), float(p.high)] for p in params]}
    if spec.samples is None:
        raise ConfigError(f"a {spec.design} design needs samples (how many)", file, "sweep.samples")
    if spec.design == "lhs":
        from scipy.stats import qmc
        unit = qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(spec.samples)
        return qmc.scale(unit, [p.low for p in params], [p.high for p in params])
    if spec.design == "sobol":
        from SALib.sample import sobol
        if spec.samples < 2 or spec.samples & (spec.samples - 1):
            raise ConfigError(f"a sobol design needs a power of 2 as samples (e.g. 64, 128, 256), got {spec.samples}",
                              file, "sweep.samples")
        return sobol.sample(problem, spec.samples, calc_second_order=spec.second_order, seed=seed)
    from SALib.sample import morris
    if spec.morris_levels % 2:
        raise ConfigError(f"morris_levels must be even, got {spec.morris_levels}", file, "sweep.morris_levels")
    return morris.sample(problem, spec.samples, num_levels=spec.morris_levels, seed=seed)


def build_sweep(spec: SweepSpec, raw: dict, seed: int, file: str | None) -> Sweep:
    """Parameters and samples of a design (values only; `check_sweep` validates them against the scenarios)."""
    params = []
    for group in ("uncertainties", "levers"):
        for key, p in getattr(spec, group).items():
            if any(q.key == key for q in params):
                raise ConfigError("declared both as an uncertainty and as a lever", file, f"sweep.{group}.{key}")
            params.append(_parameter(key, group, p, (raw.get(group) or {}).get(key) or {}, spec.design, file))
    if not params:
        raise ConfigError("a sweep needs at least one parameter under uncertainties or levers", file, "sweep")
    matrix = _sample_matrix(spec, params, spec.seed if spec.seed is not None else seed, file)
    samples = [{p.key: (x if p.names else int(round(x)) if p.integer else float(x)) for p, x in zip(params, row)}
               for row in matrix]
    options = {"samples": spec.samples, "seed": spec.seed if spec.seed is not None else seed}
    if spec.design == "sobol":
        options["second_order"] = spec.second_order
    if spec.design == "morris":
        options["morris_levels"] = spec.morris_levels
    return Sweep(spec.design, params, samples, options)


def _policy_key(key: str) -> tuple[str, str]:
    name, _, path = key[len("policy:"):].partition(".")
    return name, path


def apply_values(tree: dict, policies: list[Any], values: dict[str, Number],
                 file: str | None = None) -> tuple[dict, list[Any]]:
    """Copies of a scenario's tree and policies with each swept value at its address.

    A value replaces whatever was there, a range included (a swept parameter is not also drawn).
    `policy:` values go to every policy of that name written with params; none is an error.
    """
    tree, policies = copy.deepcopy(tree), copy.deepcopy(policies or [])
    for key, value in values.items():
        if not key.startswith("policy:"):
            set_dotted(tree, key, value, file)
            continue
        name, path = _policy_key(key)
        for raw in policies:
            if isinstance(raw, dict) and raw.get("policy") == name and isinstance(raw.get("params"), dict):
                set_dotted(raw["params"], path, value, file)
    return tree, policies


def policy_names(policies: list[Any]) -> list[str]:
    return [raw.get("policy") for raw in policies or [] if isinstance(raw, dict) and isinstance(raw.get("params"), dict)]


def check_sweep(sweep: Sweep, scenarios: list[tuple[str, dict, list[Any]]], origin: dict[str, str],
                config_file: str, file: str | None) -> list[str]:
    """Every parameter must exist and every value it takes must be allowed, in every scenario it touches.

    Returns the facilities the scenarios' policies touch at any of the values tried (a swept
    `to:` of a policy touches every centre it names).

    Each parameter is tried at each end (each level of a grid) with the others at their centre,
    then all parameters at their low ends together and at their high ends together; a failure
    names the sweep key and the value (exit 2 before anything runs).
    """
    from .policies import build_policies
    from .uncertainty import split_policies

    in_any = {name for _, _, pols in scenarios for name in policy_names(pols)}
    for p in sweep.parameters:
        if p.key.startswith("policy:") and _policy_key(p.key)[0] not in in_any:
            raise ConfigError(f"no scenario has a policy '{_policy_key(p.key)[0]}' with params to sweep; "
                              f"policies here: {', '.join(sorted(in_any)) or '(none)'}", file, p.where)

    touched: dict[str, None] = {}

    def attempt(values: dict[str, Number], blame: Parameter | None) -> None:
        for name, tree, pols in scenarios:
            try:
                t, ps = apply_values(tree, pols, values)
                cfg = config_from_tree(t, dict(origin), config_file)
                for policy in build_policies(split_policies(ps, file)[0], cfg, file):
                    touched.update(dict.fromkeys(policy.touched_facilities(cfg)))
            except ConfigError as exc:
                what = (f"value {values[blame.key]} is not allowed" if blame is not None
                        else "with every parameter at its " + ("low" if values == lows else "high") + " end")
                inner = exc.detail if blame is not None and exc.path == blame.key else \
                    (f"{exc.path}: {exc.detail}" if exc.path else exc.detail)
                raise ConfigError(f"{what} (scenario '{name}'): {inner}", file,
                                  blame.where if blame is not None else "sweep") from None

    centre = {p.key: (p.levels[0] if p.names else p.levels[len(p.levels) // 2] if p.levels else
                      (int(round((p.low + p.high) / 2)) if p.integer else (p.low + p.high) / 2))
              for p in sweep.parameters}
    for p in sweep.parameters:
        for v in p.levels or (p.low, p.high):
            attempt({**centre, p.key: v}, p)
    lows = {p.key: p.levels[0] if p.names else p.low for p in sweep.parameters}
    highs = {p.key: p.levels[-1] if p.names else p.high for p in sweep.parameters}
    attempt(lows, None)
    attempt(highs, None)
    return list(touched)
