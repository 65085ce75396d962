"""A calibration file: targets, free parameters with bounds, the base config, replications, search and
ensemble settings; validated completely before anything runs (bad input: exit 2 naming the key).

Free parameters are addressed as sweep parameters are (a dotted config path, sim/sweep.py), or
are a multiplier of several config values (`scales: [paths]`, e.g. every age band's episode rate).
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from ..config import (ConfigError, SafeName, Strict, config_from_tree, deep_merge, format_validation_error,
                      get_dotted, load_tree, read_yaml)
from ..sweep import ParamSpec, _parameter, apply_values

METHODS = ("differential_evolution", "nelder-mead", "powell")


class TargetSpec(Strict):
    indicator: str | None = Field(None, description="what is measured (default: the target's key)")
    observed: float
    tolerance: float | None = Field(None, gt=0, description="acceptable distance from observed (residual scale)")
    se: float | None = Field(None, gt=0, description="standard error of observed (residual scale; acceptable "
                                                     "within `implausibility` standard errors)")
    weight: float = Field(1.0, ge=0)
    period: str = "all"
    history_match: bool = Field(True, description="count it when judging a parameter set acceptable (false: "
                                                  "fitted, but a known structural miss that would reject every set)")
    source: str = ""

    @model_validator(mode="after")
    def _one_scale(self) -> "TargetSpec":
        if (self.tolerance is None) == (self.se is None):
            raise ValueError("give exactly one of tolerance or se")
        return self


class FreeParamSpec(Strict):
    low: float
    high: float
    start: float | None = Field(None, description="where the search starts (default: the base config's value)")
    scales: list[str] | None = Field(None, min_length=1, description="multiply these config values by the "
                                     "parameter (the key is then a name, not a path)")
    integer: bool | None = None
    source: str = ""


class SearchSpec(Strict):
    method: Literal["differential_evolution", "nelder-mead", "powell"] = "differential_evolution"
    max_evaluations: int = Field(200, ge=1, le=100_000)
    max_minutes: float | None = Field(None, gt=0)
    popsize: int = Field(6, ge=2, le=100, description="differential evolution: candidates per parameter")
    seed: int = Field(0, ge=0)


class EnsembleSpec(Strict):
    samples: int = Field(20, ge=0, le=10_000, description="Latin hypercube points around the best fit")
    around: float = Field(0.2, gt=0, le=1, description="half-width of that box, as a fraction of each bound range")
    implausibility: float = Field(3.0, gt=0, description="targets with se: acceptable within this many se")


class CalibrationSpec(Strict):
    name: SafeName
    description: str = ""
    config: str = Field(description="base county config, relative to this file")
    horizon: dict[str, Any] | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    replications: int = Field(2, ge=1, le=1000)
    seed: int = Field(0, ge=0)
    scale: float = Field(1.0, gt=0.0, le=1.0)
    targets: dict[str, TargetSpec] = Field(min_length=1)
    parameters: dict[str, FreeParamSpec] = Field(min_length=1)
    search: SearchSpec = Field(default_factory=SearchSpec)
    ensemble: EnsembleSpec = Field(default_factory=EnsembleSpec)


@dataclass(frozen=True)
class FreeParameter:
    key: str
    low: float
    high: float
    start: float
    integer: bool
    scales: dict[str, float] = field(default_factory=dict)     # path -> base value (multiplier parameters)
    source: str = ""

    def expand(self, value: float) -> dict[str, float]:
        """The config values this parameter sets at `value` (dotted path -> number)."""
        if self.scales:
            return {p: _cast(base * value, isinstance(base, int)) for p, base in self.scales.items()}
        return {self.key: _cast(value, self.integer)}


@dataclass(frozen=True)
class Target:
    key: str
    indicator: str
    observed: float
    scale: float          # tolerance or se: the residual's unit
    acceptable: float     # |residual| within this is acceptable (1 for a tolerance)
    weight: float
    period: str
    source: str
    kind: str             # "tolerance" or "se"
    history_match: bool = True


@dataclass
class Calibration:
    """A validated calibration file."""
    spec: CalibrationSpec
    file: str | None
    config_file: str
    tree: dict
    origin: dict[str, str]
    parameters: list[FreeParameter]
    targets: list[Target]
    seeds: list[int]

    def expand(self, values: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for p in self.parameters:
            out.update(p.expand(values[p.key]))
        return out

    def measures(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys((t.indicator, t.period) for t in self.targets))

    def fingerprint(self) -> str:
        """Same fingerprint = same simulated numbers for the same parameter values (evaluations reusable):
        the same config, seeds, scale and measures, and the same model code."""
        blob = json.dumps({"tree": self.tree, "seeds": self.seeds, "scale": self.spec.scale,
                           "measures": self.measures(), "scales": [(p.key, p.scales) for p in self.parameters],
                           "model": model_code_fingerprint()},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def model_code_fingerprint() -> str:
    """A hash of the simulation's source (sim/, without figures and dashboard): a stored evaluation
    made by other model code is not reused."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root)
        if rel.parts[0] not in ("figures", "dashboard"):
            h.update(str(rel).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _cast(value: float, integer: bool) -> float | int:
    return int(round(value)) if integer else float(value)


def _central(node: Any) -> Any:
    return node["value"] if isinstance(node, dict) and "uncertain" in node else node


def _free_parameter(key: str, spec: FreeParamSpec, raw: dict, tree: dict, file: str | None) -> FreeParameter:
    where = f"parameters.{key}"
    if key.startswith("policy:"):
        raise ConfigError("a calibration fits config values, not policy parameters (no policy effect is fitted)",
                          file, where)
    scales: dict[str, float] = {}
    if spec.scales:
        if "." in key:
            raise ConfigError("a multiplier (scales:) is named by a plain word, e.g. outpatient_rate_multiplier",
                              file, where)
        for i, path in enumerate(spec.scales):
            try:
                base = _central(get_dotted(tree, path))
            except (KeyError, IndexError, TypeError, ValueError):
                raise ConfigError(f"'{path}' is not a value of the base config", file, f"{where}.scales.{i}") from None
            if isinstance(base, bool) or not isinstance(base, (int, float)):
                raise ConfigError(f"'{path}' is not a number in the base config (got {base!r})", file,
                                  f"{where}.scales.{i}")
            scales[path] = base
    try:
        p = _parameter(key if not spec.scales else f"x.{key}", "uncertainties",
                       ParamSpec(low=spec.low, high=spec.high, integer=spec.integer), raw, "lhs", file)
    except ConfigError as exc:
        raise ConfigError(exc.detail, file, where) from None
    if spec.scales:
        start = 1.0 if spec.start is None else spec.start
    elif spec.start is not None:
        start = spec.start
    else:
        try:
            start = _central(get_dotted(tree, key))
        except (KeyError, IndexError, TypeError, ValueError):
            raise ConfigError(f"'{key}' is not a value of the base config {_hint(tree, key)}", file, where) from None
        if isinstance(start, bool) or not isinstance(start, (int, float)):
            raise ConfigError(f"the base config's value here is not a number (got {start!r})", file, where)
    if not spec.low <= start <= spec.high:
        raise ConfigError(f"the start {start:g} lies outside [{spec.low:g}, {spec.high:g}]", file,
                          f"{where}.start" if spec.start is not None else where)
    return FreeParameter(key, float(p.low), float(p.high), float(start), p.integer, scales, spec.source)


def _hint(tree: dict, key: str) -> str:
    """'(allowed here: ...)' for the first step of a dotted path that does not exist."""
    from ..config import set_dotted
    try:
        set_dotted(copy.deepcopy(tree), key, 0)
    except ConfigError as exc:
        return f"({exc.path}: {exc.detail})"
    return ""


def load_calibration(source: str | Path, scale: float | None = None, replications: int | None = None) -> Calibration:
    """Read and validate a calibration file; ConfigError (exit 2) names the file and key of a problem."""
    from ..experiment import _check_scale, replicate_seeds
    from .measures import known_measures

    file = str(source)
    raw = read_yaml(source)
    try:
        spec = CalibrationSpec.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, CalibrationSpec, {}, file) from None
    if scale is not None:
        if not 0 < scale <= 1:
            raise ConfigError(f"--scale must be in (0, 1], got {scale}", file, "scale")
        spec.scale = scale
    if replications is not None:
        if not 1 <= replications <= 1000:
            raise ConfigError(f"--replications must be between 1 and 1000 (got {replications})", file, "replications")
        spec.replications = replications
    config_path = (Path(source).resolve().parent / spec.config).resolve()
    if not config_path.is_file():
        raise ConfigError(f"county config not found: {config_path}", file, "config")
    tree, origin = load_tree(config_path)
    if spec.horizon:
        tree = deep_merge(tree, {"horizon": spec.horizon}, origin, file)
    if spec.overrides:
        tree = deep_merge(tree, spec.overrides, origin, file)
    cfg = config_from_tree(tree, dict(origin), str(config_path))
    _check_scale(spec.scale, cfg, file)

    known = set(known_measures(cfg))
    targets = []
    for key, t in spec.targets.items():
        name = t.indicator or key
        if name not in known:
            raise ConfigError(f"unknown indicator '{name}'; allowed: the indicators of docs/indicators.md, "
                              f"facility.<name>.<measure>, or {', '.join(_derived())}", file,
                              f"targets.{key}" + (".indicator" if t.indicator else ""))
        if t.period != "all" and not (t.period.isdigit() and cfg.horizon.start.year <= int(t.period)
                                      <= cfg.horizon.end.year):
            raise ConfigError(f"period must be 'all' or a year of the horizon ({cfg.horizon.start.year}-"
                              f"{cfg.horizon.end.year}), got {t.period!r}", file, f"targets.{key}.period")
        kind = "tolerance" if t.tolerance is not None else "se"
        targets.append(Target(key, name, t.observed, t.tolerance or t.se, 1.0 if kind == "tolerance" else
                              spec.ensemble.implausibility, t.weight, t.period, t.source, kind, t.history_match))
    if not any(t.weight > 0 for t in targets):
        raise ConfigError("at least one target needs a weight above 0", file, "targets")
    params = [_free_parameter(k, p, (raw.get("parameters") or {}).get(k) or {}, tree, file)
              for k, p in spec.parameters.items()]
    cal = Calibration(spec, file, str(config_path), tree, origin, params, targets,
                      replicate_seeds(spec.seed, spec.replications))
    _check_ends(cal)
    return cal


def _derived() -> list[str]:
    from .measures import DERIVED
    return list(DERIVED)


def _check_ends(cal: Calibration) -> None:
    """Every parameter at each bound (others at their start), then all low and all high, must give a
    valid config: a failure names the parameter key and the value."""
    start = {p.key: p.start for p in cal.parameters}

    def attempt(values: dict[str, float], where: str, what: str) -> None:
        try:
            tree, _ = apply_values(cal.tree, [], cal.expand(values))
            config_from_tree(tree, dict(cal.origin), cal.config_file)
        except ConfigError as exc:
            raise ConfigError(f"{what}: {exc.path + ': ' if exc.path else ''}{exc.detail}", cal.file, where) from None

    for p in cal.parameters:
        for end in (p.low, p.high):
            attempt({**start, p.key: end}, f"parameters.{p.key}", f"value {end:g} is not allowed")
    attempt({p.key: p.low for p in cal.parameters}, "parameters", "with every parameter at its low bound")
    attempt({p.key: p.high for p in cal.parameters}, "parameters", "with every parameter at its high bound")
