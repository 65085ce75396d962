"""The dashboard's levers: which controls exist for a county, and the policies (as an experiment
writes them) that a set of lever values stands for.

Every lever is one of the registered policies of sim/policies with its documented defaults
(docs/policies.md); the dashboard adds no mechanism of its own. Where a policy needs a place
(which hospital, which township, which village) the rule below picks it from the config, and
docs/dashboard.md says which.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from ..config import CountyConfig
from ..county import build_county, village_clinic_name

RATIO_TIERS = ("township", "county", "in_province", "out_of_province")
MAX_RATIO_POINTS = 30
CAMPUS_PHYSICIANS, CAMPUS_BEDS = 3, 10       # primary_care_network.yaml's campus (assumption there)


@dataclass(frozen=True)
class Lever:
    """One control: its key (the label in sim/labels.py), kind, range and the value that changes nothing."""
    key: str
    kind: str                # "int", "float" or "bool"
    default: float | bool
    low: float = 0
    high: float = 1
    step: float = 1


def lead_hospital(cfg: CountyConfig) -> str:
    """The in-county hospital (not a township centre) with the most physicians."""
    hospitals = [h for h in cfg.facilities.hospitals if cfg.tier(h.tier).in_county
                 and not cfg.tier(h.tier).primary_care]
    if not hospitals:
        raise ValueError("the county has no hospital above the township centres")
    return max(hospitals, key=lambda h: float(h.physicians)).name


def receiving_townships(cfg: CountyConfig) -> list[str]:
    """Township centres that receive physicians sent down: the central ones away from the county seat
    (the flagship's reading of §B's "key centres"); all but the seat's if no township is central."""
    away = [t for t in cfg.townships if not t.county_seat]
    central = [t.name for t in away if t.kind == "central"]
    return central or [t.name for t in away] or [t.name for t in cfg.townships]


def campus_site(cfg: CountyConfig) -> tuple[str, str]:
    """(township, village) of the branch campus: the village farthest from its own township centre
    (§C: campuses go to villages far from the centre)."""
    county = build_county(cfg)
    gap = np.linalg.norm(county.village_position - county.township_position[county.village_township], axis=1)
    v = int(np.argmax(gap))
    t = int(county.village_township[v])
    k = int(np.sum(county.village_township[:v] == t)) + 1
    return cfg.townships[t].name, village_clinic_name(cfg.townships[t].name, k)


def _ratios(cfg: CountyConfig, tier: str) -> list[float]:
    return [s.inpatient[tier].ratio for s in cfg.insurance.schemes.values() if tier in s.inpatient]


def _outside_tiers(cfg: CountyConfig) -> list[str]:
    return [t.name for t in cfg.tiers if not t.in_county]


def _current_penalty(cfg: CountyConfig) -> int:
    values = [s.unfiled_penalty.get(t, 0.0) for s in cfg.insurance.schemes.values() for t in _outside_tiers(cfg)]
    return round(max(values, default=0.0) * 100)


def levers_for(cfg: CountyConfig) -> list[Lever]:
    """The controls this county offers, with ranges every insurance scheme allows."""
    out = []
    for tier in RATIO_TIERS:
        ratios = _ratios(cfg, tier)
        if ratios:
            low = -min(MAX_RATIO_POINTS, math.floor(min(ratios) * 100 + 1e-9))
            high = min(MAX_RATIO_POINTS, math.floor((1 - max(ratios)) * 100 + 1e-9))
            out.append(Lever(f"ratio_{tier}", "int", 0, low, high, 1))
    if _outside_tiers(cfg):
        out.append(Lever("unfiled_penalty", "int", _current_penalty(cfg), 0, 50, 1))
    out.append(Lever("physicians_sent_down", "int", 0, 0, 30, 1))
    out.append(Lever("contract_rate", "int", 0, 0, 95, 5))
    out.append(Lever("capitation", "bool", False))
    out.append(Lever("capability_gain", "float", 0.0, 0.0, 1.0, 0.05))
    out.append(Lever("branch_campus", "bool", False))
    return out


def default_levers(cfg: CountyConfig) -> dict[str, float | bool]:
    """Lever values that change nothing (today's rules)."""
    return {lever.key: lever.default for lever in levers_for(cfg)}


def lever_policies(values: dict, cfg: CountyConfig, start: dt.date) -> list[dict]:
    """The policies (experiment YAML form) a set of lever values stands for, starting on `start`;
    levers at their default give none. Unknown keys are an error."""
    levers = {lever.key: lever for lever in levers_for(cfg)}
    unknown = sorted(set(values) - set(levers))
    if unknown:
        raise ValueError(f"unknown lever(s) {', '.join(unknown)}; allowed: {', '.join(levers)}")
    v = {k: values.get(k, lever.default) for k, lever in levers.items()}
    out: list[dict] = []

    def add(policy: str, params: dict) -> None:
        out.append({"policy": policy, "start": start, "params": params})

    changes = {tier: {"ratio_change": round(v[f"ratio_{tier}"] / 100, 4)} for tier in RATIO_TIERS
               if f"ratio_{tier}" in v and v[f"ratio_{tier}"]}
    if changes:
        add("reimbursement", {"inpatient": changes})
    if "unfiled_penalty" in v and v["unfiled_penalty"] != levers["unfiled_penalty"].default:
        add("reimbursement", {"unfiled_penalty": {t: round(v["unfiled_penalty"] / 100, 4) for t in _outside_tiers(cfg)}})
    n = int(v["physicians_sent_down"])
    if n > 0:
        towns = receiving_townships(cfg)
        share = [n // len(towns) + (i < n % len(towns)) for i in range(len(towns))]
        add("send_down_physicians", {"moves": [{"from": lead_hospital(cfg), "to": t, "physicians": k}
                                               for t, k in zip(towns, share) if k > 0]})
    if v["contract_rate"] > 0:
        r = round(v["contract_rate"] / 100, 4)
        bands = [b.name for b in cfg.population.age_bands]
        add("family_doctor_contracting", {"targets": {b: ({"chronic": r, "other": r} if b == bands[-1] else {"chronic": r})
                                                      for b in bands}})
    if v["capitation"]:
        add("chronic_capitation", {"townships": [t.name for t in cfg.townships]})
    if v["capability_gain"] > 0:
        add("county_hospital_capability", {"hospital": lead_hospital(cfg), "gain": round(float(v["capability_gain"]), 4)})
    if v["branch_campus"]:
        township, village = campus_site(cfg)
        add("branch_campus", {"township": township, "village": village, "physicians": CAMPUS_PHYSICIANS,
                              "beds": CAMPUS_BEDS})
    return out
