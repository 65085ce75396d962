"""Parameter ranges: `{value: 200, uncertain: {low: 100, high: 400}}` anywhere a number is allowed.

Loading a config keeps the central `value`; each replicate of an experiment draws every range
from a generator fixed by the replicate's seed and the parameter's key (its dotted path, or
`policy:<policy>.<param path>`), so a draw is common to all scenarios, differs across replicates
and does not depend on which other parameters carry ranges. Syntax: docs/uncertainty.md.
"""
from __future__ import annotations

import copy
import zlib
from dataclasses import asdict, dataclass
from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from .config import ConfigError, set_dotted

DISTRIBUTIONS = ("uniform", "triangular", "loguniform")
_SALT = zlib.crc32(b"uncertainty")
Number = int | float


class _Uncertain(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    low: float
    high: float
    distribution: Literal["uniform", "triangular", "loguniform"] = "uniform"


class _RangeNode(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    value: float
    uncertain: _Uncertain


@dataclass(frozen=True)
class Range:
    """One uncertain parameter: central value, bounds, distribution; whole numbers if written so."""
    value: Number
    low: Number
    high: Number
    distribution: str = "uniform"
    integer: bool = False

    def ppf(self, u: float) -> Number:
        """The value at cumulative probability u (the same u gives the same quantile in any scenario).

        scipy.stats' quantiles of these three shapes (`uniform`, `triang`, `loguniform`), written as
        scipy writes them (its `_ppf` on a one-element array, times scale plus loc), so the same bits
        without importing scipy.stats (≈ 0.5 s and 34 MB in every worker); tests/test_uncertainty.py
        compares them with scipy.stats."""
        q = np.array([u], dtype=np.float64)
        width = self.high - self.low
        if self.distribution == "triangular":
            c = (self.value - self.low) / width
            x = np.where(q < c, np.sqrt(c * q), 1 - np.sqrt((1 - c) * (1 - q))) * width + self.low
        elif self.distribution == "loguniform":
            a, b = np.float64(self.low), np.float64(self.high)
            ends = {0.0: a, 1.0: b}                  # scipy returns the support's ends there, not exp(log(a))
            x = np.array([ends[u]]) if u in ends else np.exp(np.log(a) + q * (np.log(b) - np.log(a))) * 1.0 + 0.0
        else:
            x = q * width + self.low
        x = float(np.clip(x[0], self.low, self.high))
        return int(round(x)) if self.integer else x

    def as_dict(self) -> dict:
        return asdict(self)


def is_range(node: Any) -> bool:
    return isinstance(node, dict) and "uncertain" in node


def parse_range(node: dict, key: str, file_of: Callable[[str], str | None] = lambda path: None,
                path: str | None = None) -> Range:
    """Validate one range node; ConfigError names the file and key path of the first problem."""
    path = path or key
    try:
        spec = _RangeNode.model_validate(node)
    except ValidationError as exc:
        err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        where = ".".join([path, *map(str, err["loc"])])
        if err["type"] == "extra_forbidden":
            allowed = "value, uncertain" if len(err["loc"]) == 1 else "low, high, distribution"
            msg = f"unknown key '{err['loc'][-1]}' in an uncertain value; allowed here: {allowed}"
        elif err["type"] == "missing":
            msg = "required key is missing (write {value: V, uncertain: {low: L, high: H}})"
        elif err["type"] == "literal_error":
            msg = f"unknown distribution {err.get('input')!r}; allowed: {', '.join(DISTRIBUTIONS)}"
        elif err["type"] == "model_type":
            msg = f"must be a mapping like {{low: L, high: H}} (got {err.get('input')!r})"
        else:
            msg = f"must be a finite number (got {err.get('input')!r})"
        raise ConfigError(msg, file_of(where), where) from None
    u = spec.uncertain
    if not u.low < u.high:
        raise ConfigError(f"low ({u.low:g}) must be below high ({u.high:g}); for a fixed value write the number "
                          "alone", file_of(f"{path}.uncertain"), f"{path}.uncertain")
    if not u.low <= spec.value <= u.high:
        raise ConfigError(f"value {spec.value:g} must lie within the range [{u.low:g}, {u.high:g}]",
                          file_of(f"{path}.value"), f"{path}.value")
    if u.distribution == "loguniform" and u.low <= 0:
        raise ConfigError(f"a loguniform range needs low > 0 (got {u.low:g})", file_of(f"{path}.uncertain.low"),
                          f"{path}.uncertain.low")
    raw = (node["value"], node["uncertain"]["low"], node["uncertain"]["high"])
    integer = all(isinstance(x, int) and not isinstance(x, bool) for x in raw)
    cast = int if integer else float
    return Range(cast(spec.value), cast(u.low), cast(u.high), u.distribution, integer)


def split_ranges(tree: Any, prefix: str = "", file_of: Callable[[str], str | None] = lambda path: None,
                 where: str = "") -> tuple[Any, dict[str, Range]]:
    """A copy of a raw YAML tree with every range node replaced by its value, and the ranges by key.

    prefix starts each key (e.g. `policy:send_down_physicians.`); where starts each error path.
    """
    ranges: dict[str, Range] = {}

    def walk(node: Any, parts: list[str]) -> Any:
        if is_range(node):
            key = prefix + ".".join(parts)
            path = ".".join(x for x in (where, ".".join(parts)) if x)
            ranges[key] = parse_range(node, key, file_of, path)
            return ranges[key].value
        if isinstance(node, dict):
            return {k: walk(v, parts + [str(k)]) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, parts + [str(i)]) for i, v in enumerate(node)]
        return node

    return walk(tree, []), ranges


def _policy_prefix(raw: Any) -> str | None:
    """`policy:<name>.` for a policy written as a mapping with params, else None."""
    if isinstance(raw, dict) and isinstance(raw.get("params"), dict):
        return f"policy:{raw.get('policy')}."
    return None


def split_policies(policies: list[Any], file: str | None = None,
                   where: str = "policies") -> tuple[list[Any], dict[str, Range]]:
    """Policies with central parameter values, and their ranges keyed `policy:<policy>.<param path>`."""
    out, ranges = [], {}
    for i, raw in enumerate(policies or []):
        prefix = _policy_prefix(raw)
        if prefix is None:
            out.append(copy.deepcopy(raw))
            continue
        params, found = split_ranges(raw["params"], prefix, lambda path: file, f"{where}.{i}.params")
        out.append({**copy.deepcopy(raw), "params": params})
        ranges.update(found)
    return out, ranges


def generator(seed: int, key: str) -> np.random.Generator:
    """The generator of one parameter in one replicate: depends on nothing else."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SALT, zlib.crc32(key.encode()))))


def draw(ranges: dict[str, Range], seed: int) -> dict[str, Number]:
    """One value per range for the replicate with this seed."""
    return {key: drawn(seed)(key, r) for key, r in ranges.items()}


def drawn(seed: int) -> Callable[[str, Range], Number]:
    """Picks a parameter's value for the replicate with this seed: the same quantile in every scenario."""
    return lambda key, r: r.ppf(generator(seed, key).random())


def substitute(tree: Any, values: dict[str, Number], prefix: str = "") -> Any:
    """A copy of a central tree with the values at their dotted paths (keys without `prefix` skipped)."""
    out = copy.deepcopy(tree)
    for key, value in values.items():
        if key.startswith(prefix):
            set_dotted(out, key[len(prefix):], value)
    return out


def with_values(tree: dict, policies: list[Any],
                pick: Callable[[str, Range], Number]) -> tuple[dict, list[Any], dict[str, Number]]:
    """The tree and policies with each range node replaced by pick(key, range), and the values picked."""
    central, ranges = split_ranges(tree)
    values = {k: pick(k, r) for k, r in ranges.items()}
    out_tree = substitute(central, values)
    out_policies = []
    for raw in policies or []:
        prefix = _policy_prefix(raw)
        if prefix is None:
            out_policies.append(copy.deepcopy(raw))
            continue
        params, own = split_ranges(raw["params"], prefix)
        mine = {k: pick(k, r) for k, r in own.items()}
        out_policies.append({**copy.deepcopy(raw), "params": substitute(params, mine, prefix)})
        values.update(mine)
    return out_tree, out_policies, values


def ranges_of(tree: dict, policies: list[Any]) -> dict[str, Range]:
    """Every range of a scenario: its config tree's and its policies' parameters."""
    return {**split_ranges(tree)[1], **split_policies(policies)[1]}


def resolve_run(tree: dict, policies: list[Any], seed: int,
                enabled: bool = True) -> tuple[dict, list[Any], dict[str, Number]]:
    """The tree and policies one replicate runs with, and the value used for each uncertain parameter.

    With `enabled` false every parameter keeps its central value.
    """
    return with_values(tree, policies, drawn(seed) if enabled else (lambda key, r: r.value))


def at_end(tree: dict, policies: list[Any], end: Literal["low", "high"]) -> tuple[dict, list[Any]]:
    """The tree and policies with every uncertain parameter at the low (or high) end of its range."""
    return with_values(tree, policies, lambda key, r: getattr(r, end))[:2]
