"""Policy plug-ins: a lever with validated parameters, a start date and an optional end date.

A policy's life in a run: `check(config)` (cross-references such as facility names, before
anything runs), `prepare(model)` (at model construction, e.g. to add a facility that opens
later with no capacity: nothing else may change), `apply(model)` on its start date (or on the
first simulated day if it started earlier), `daily(model)` on every day it is active, right after
the day's applies (ramps, rotations, periodic visits), and `revert(model)` on its end date (the
day it stops; `daily` is not called that day). A policy whose start lies after the horizon is
prepared but never applied, so the run is bit-identical to one without it.

Policies keep per-run state on the model (`self.state(model)`), never on themselves, so one
policy object may serve several models. Mechanisms and effect sizes: docs/policies.md.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field, ValidationError

from ..config import ConfigError, CountyConfig, Strict, format_validation_error

if TYPE_CHECKING:
    from ..model import GradedCareModel

REGISTRY: dict[str, type["Policy"]] = {}


class Params(Strict):
    """Base of every policy's parameter schema: unknown keys, NaN, ±inf and true/false for numbers are errors."""


class PolicySpec(Strict):
    """How a policy is written in an experiment's scenario."""
    policy: str
    start: dt.date
    end: dt.date | None = None
    label: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


def register(cls: type["Policy"]) -> type["Policy"]:
    REGISTRY[cls.name] = cls
    return cls


class Policy:
    """One lever. Subclasses set `name`, `Params`, and implement `apply` (and `revert` if it can end)."""
    name: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = Params

    def __init__(self, start: dt.date, end: dt.date | None, params: Params, label: str = "") -> None:
        self.start, self.end, self.params, self.label = start, end, params, label or self.name

    def check(self, config: CountyConfig) -> list[tuple[str, str]]:
        """Cross-reference problems as (key path under params, message); empty if fine."""
        return []

    def prepare(self, model: "GradedCareModel") -> None:
        """Called once when the model is built, before residents exist; must not change results."""

    def attach(self, model: "GradedCareModel") -> None:
        """Called once the residents exist (e.g. to start keeping books); must not change results."""

    def detach(self, model: "GradedCareModel") -> None:
        """Drop what `attach` keeps on a model this lever will not run in (a shared model, or its copy for
        another scenario: sim.shared_prefix); by default this lever's state there."""
        model.policy_state.pop(self, None)

    @classmethod
    def acts_before_start(cls) -> bool:
        """Whether the lever changes a model before its start date (`prepare`: a facility added to the
        choice sets). Runs whose levers do not can share the days before the first start with a run
        without them (sim.shared_prefix)."""
        return cls.prepare is not Policy.prepare

    @classmethod
    def keeps_books(cls) -> bool:
        """Whether the lever keeps books from the first day (`attach`, without effect on results): a
        shared model keeps them for it until its run forks (GradedCareModel.keep_books_for)."""
        return cls.attach is not Policy.attach

    def year_end(self, model: "GradedCareModel", year: int) -> None:
        """Called when a calendar year closes while the policy is active (default: nothing)."""

    def new_facilities(self, config: CountyConfig) -> list[str]:
        """Names of facilities this policy adds (checked for clashes across the whole set)."""
        return []

    def touched_facilities(self, config: CountyConfig) -> list[str]:
        """Facilities whose staff, beds or capability this policy changes (reported one by one)."""
        return self.new_facilities(config)

    def state(self, model: "GradedCareModel") -> dict:
        """This policy's mutable state in one model run."""
        return model.policy_state.setdefault(self, {})

    def days_active(self, model: "GradedCareModel") -> int:
        """Days since the policy started (0 on its start date)."""
        return (model.date - self.start).days

    def apply(self, model: "GradedCareModel") -> None:
        raise NotImplementedError

    def daily(self, model: "GradedCareModel") -> None:
        """Called every day the policy is active, after the day's applies (default: nothing)."""

    def revert(self, model: "GradedCareModel") -> None:
        raise NotImplementedError(f"policy '{self.name}' cannot be ended; remove `end`")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(start={self.start}, end={self.end}, params={self.params!r})"


def facility_names(config: CountyConfig) -> list[str]:
    """Names of the township centres and hospitals a policy may refer to."""
    return [t.name for t in config.townships] + [h.name for h in config.facilities.hospitals]


def build_policies(specs: list[dict], config: CountyConfig, file: str | None = None,
                   path: str = "policies") -> list[Policy]:
    """Validate a whole set of policies (names, dates, parameters, references) before any is used."""
    if not specs:
        return []                   # the levers' schemas and numpy code are not imported for a scenario without any
    from . import levers  # noqa: F401  (registers the levers)

    out: list[Policy] = []
    for i, raw in enumerate(specs or []):
        here = f"{path}.{i}"
        try:
            spec = PolicySpec.model_validate(raw)
        except ValidationError as exc:
            raise _schema_error(exc, PolicySpec, file, here) from None
        cls = REGISTRY.get(spec.policy)
        if cls is None:
            raise ConfigError(f"unknown policy '{spec.policy}'; allowed: {', '.join(sorted(REGISTRY))}",
                              file, f"{here}.policy")
        if spec.end is not None and spec.end <= spec.start:
            raise ConfigError(f"must be after start ({spec.start})", file, f"{here}.end")
        try:
            params = cls.Params.model_validate(spec.params)
        except ValidationError as exc:
            raise _schema_error(exc, cls.Params, file, f"{here}.params") from None
        policy = cls(spec.start, spec.end, params, spec.label)
        for sub, msg in policy.check(config):
            raise ConfigError(msg, file, f"{here}.params.{sub}" if sub else f"{here}.params")
        out.append(policy)
    taken = set(facility_names(config))
    for i, policy in enumerate(out):
        for name in policy.new_facilities(config):
            if name in taken:
                raise ConfigError(f"facility '{name}' already exists or is added by another policy of this "
                                  "scenario", file, f"{path}.{i}.params")
            taken.add(name)
    return out


def _schema_error(exc: ValidationError, schema: type[BaseModel], file: str | None, prefix: str) -> ConfigError:
    """A ConfigError whose key path is the first bad key in full (e.g. ...params.moves.0.physicians);
    further problems follow on their own lines, each with its full path."""
    lines = str(format_validation_error(exc, schema, {}, None)).split("\n  ")
    loc = ".".join(map(str, exc.errors()[0]["loc"]))
    path = f"{prefix}.{loc}" if loc else prefix
    first = lines[0].split(": ", 1)[1] if loc and ": " in lines[0] else lines[0]
    rest = [f"{prefix}.{line}" for line in lines[1:]]
    return ConfigError("\n  ".join([first] + rest), file, path)
