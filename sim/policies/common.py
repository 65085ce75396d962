"""Helpers shared by the levers: name checks, ramps, facility look-ups and per-resident layers.

Layers: several policies may act on the same per-resident quantity (the inpatient risk thinned by
prevention, the in-county referral flag). Each policy sets its own layer; the model sees the
combination (risk: the smallest multiplier, so two management programmes reaching the same
patient are not counted twice; referral flag: any layer). A policy that reverts removes its layer;
with no layer left the model's column is None again and nothing is drawn for it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field

from ..config import CountyConfig
from ..county import village_clinic_name

if TYPE_CHECKING:
    from ..model import GradedCareModel


# ------------------------------------------------------------------ names and checks
def township_names(config: CountyConfig) -> list[str]:
    return [t.name for t in config.townships]


def hospital_names(config: CountyConfig, in_county: bool | None = True) -> list[str]:
    """Hospitals (not township centres); in_county=True: only tiers inside the county."""
    out = []
    for h in config.facilities.hospitals:
        tier = config.tier(h.tier)
        if in_county is None or tier.in_county == in_county:
            out.append(h.name)
    return out


def village_names(config: CountyConfig, township: str | None = None) -> list[str]:
    return [village_clinic_name(t.name, k) for t in config.townships if township in (None, t.name)
            for k in range(1, t.villages + 1)]


def allowed(names: list[str], limit: int = 30) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def check_names(values, known: list[str], path: str, what: str) -> list[tuple[str, str]]:
    """(path.i, message) for every value of a list that is not a known name; for a mapping the
    key itself is the last element of the path (path.key)."""
    problems = []
    keyed = isinstance(values, dict)
    for i, v in enumerate(values or []):
        if v not in known:
            problems.append((f"{path}.{v if keyed else i}", f"unknown {what} '{v}'; allowed: {allowed(known)}"))
    seen = list(values or [])
    dup = sorted({v for v in seen if seen.count(v) > 1})
    if dup:
        problems.append((path, f"repeated {what}: {', '.join(dup)}"))
    return problems


def check_tier_names(values, config: CountyConfig, path: str) -> list[tuple[str, str]]:
    return check_names(values, config.tier_names(), path, "tier")


# ------------------------------------------------------------------ model look-ups
def fid(model: "GradedCareModel", name: str) -> int:
    return model.county.facilities.index(name)


def township_index(model: "GradedCareModel", names: list[str] | None) -> np.ndarray:
    """Township indices of the names (None: all townships)."""
    all_names = model.county.township_names
    if names is None:
        return np.arange(len(all_names))
    return np.array([all_names.index(n) for n in names], dtype=np.int64)


def township_centre_ids(model: "GradedCareModel", townships: np.ndarray) -> np.ndarray:
    """Facility ids of the main township centres (not branch campuses) of the given townships."""
    names = model.county.township_names
    return np.array([fid(model, names[t]) for t in townships], dtype=np.int64)


def residents_of(model: "GradedCareModel", townships: np.ndarray) -> np.ndarray:
    """Boolean mask over residents living in the given townships."""
    in_town = np.zeros(len(model.county.township_names), dtype=bool)
    in_town[townships] = True
    return in_town[model.county.village_township[model.population.village]]


def ramp(days_active: int, ramp_days: int) -> float:
    """Linear ramp from 0 on the start date to 1 after ramp_days (1 at once if ramp_days is 0)."""
    if ramp_days <= 0:
        return 1.0
    return float(min(1.0, max(0.0, days_active / ramp_days)))


def own_config(model: "GradedCareModel") -> None:
    """Give the model its own copy of the config before a policy changes it (configs may be shared)."""
    if not model.policy_state.get("_own_config"):
        model.config = model.config.model_copy(deep=True)
        model.policy_state["_own_config"] = True


def ensure_care_price(model: "GradedCareModel") -> np.ndarray:
    fac = model.facilities
    if fac.care_price_multiplier is None:
        fac.care_price_multiplier = np.ones((len(fac), 2))
    return fac.care_price_multiplier


# ------------------------------------------------------------------ per-resident layers
CareYuan = dict[Literal["outpatient", "inpatient"], Annotated[float, Field(ge=0.0, le=1e6)]]   # yuan per care type


def per_care(values: dict[str, float]) -> np.ndarray:
    """[outpatient, inpatient] from a per-care-type mapping (a missing care type is 0)."""
    return np.array([values.get("outpatient", 0.0), values.get("inpatient", 0.0)])


def set_layer(model: "GradedCareModel", kind: str, owner, values: np.ndarray | None) -> None:
    """Set (or with None remove) one policy's layer of `inpatient_risk` (the smallest multiplier
    counts), `in_county_referral` (any layer), `filing_hassle` ((N, 2) yuan; layers add up) or
    `down_referral` (added down-referral probability; layers add up)."""
    layers = model.policy_state.setdefault(("layers", kind), {})
    if values is None:
        layers.pop(owner, None)
    else:
        layers[owner] = values
    pop = model.population
    if kind == "inpatient_risk":
        pop.inpatient_risk = np.minimum.reduce(list(layers.values())) if layers else None
    elif kind == "in_county_referral":
        pop.in_county_referral = np.logical_or.reduce(list(layers.values())) if layers else None
    elif kind == "filing_hassle":
        pop.extra_hassle = np.add.reduce(list(layers.values())) if layers else None
    elif kind == "down_referral":
        pop.extra_down = np.add.reduce(list(layers.values())) if layers else None
    else:
        raise ValueError(f"unknown layer kind {kind!r}")


def get_layer(model: "GradedCareModel", kind: str, owner) -> np.ndarray | None:
    return model.policy_state.get(("layers", kind), {}).get(owner)
