"""Facility choice: systematic utility and the multinomial-logit draw, vectorised over episodes.

Utility of alternative j for episode i (ARCHITECTURE.md §1, step 3):
    ASC[care, tier_j]
  + premium * capability_j * (severity_i - 1) / (S - 1)       preference for capable care when severe
  + shortfall * max(0, severity_i - capability_j)             avoidance of a facility that cannot treat
  + cost[care] * costmult[severity_i] * incomefactor_i * OOP_ij / 100 yuan
  + travel[care] * hours_ij + wait[care] * expected_wait_j
  + trust_w * (trust_i,tier_j - trust_ref)
  + contract_primary * contracted_i * primary_j
  + referral_follow * referred_i * (level_j >= referred_min_level_i)
The draw inverts the cumulative logit probabilities with one uniform number per episode (an exact
MNL draw). One number per episode, whatever the number of alternatives, keeps scenarios on common
random numbers: an alternative with probability zero (a branch campus not yet open) changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import CARE_TYPES, SEVERITY_LEVELS, CountyConfig


@dataclass
class ChoiceParams:
    asc: np.ndarray               # [care, tier]
    cost_per_100_yuan: np.ndarray  # [care]
    cost_severity: np.ndarray     # [severity index 0..S-1]
    income_factor: np.ndarray     # [income band]
    travel: np.ndarray            # [care]
    wait: np.ndarray              # [care]
    shortfall: float
    premium: float
    trust: float
    trust_reference: float
    contract_primary: float
    referral_follow: float


def choice_params(cfg: CountyConfig) -> ChoiceParams:
    c = cfg.choice
    tiers = cfg.tier_names()
    asc = np.zeros((2, len(tiers)))
    for ci, care in enumerate(CARE_TYPES):
        for tier, v in c.asc.get(care, {}).items():
            asc[ci, tiers.index(tier)] = v
    incomes = np.array([b.annual_income for b in cfg.population.income_bands])
    shares = np.array([b.share for b in cfg.population.income_bands])
    reference = float(np.sum(incomes * shares))
    return ChoiceParams(
        asc=asc, cost_per_100_yuan=np.array([c.cost_per_100_yuan[k] for k in CARE_TYPES]),
        cost_severity=np.array(c.cost_severity_multiplier, dtype=float),
        income_factor=(incomes / reference) ** (-c.income_elasticity),
        travel=np.array([c.travel_per_hour[k] for k in CARE_TYPES]),
        wait=np.array([c.wait_per_day[k] for k in CARE_TYPES]),
        shortfall=c.capability_shortfall, premium=c.capability_premium, trust=c.trust,
        trust_reference=float(np.mean(list(cfg.trust.initial.values()))),
        contract_primary=c.contract_primary, referral_follow=c.referral_follow)


def static_utility(p: ChoiceParams, care: np.ndarray, severity: np.ndarray, tier: np.ndarray,
                   capability: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """The terms that do not change within a day: constant, capability, travel (broadcasting)."""
    s = severity.astype(float)
    return (p.asc[care, tier] + p.premium * capability * (s - 1.0) / (SEVERITY_LEVELS - 1)
            + p.shortfall * np.maximum(0.0, s - capability) + p.travel[care] * hours)


def cost_weight(p: ChoiceParams, care: np.ndarray, severity: np.ndarray, income_band: np.ndarray) -> np.ndarray:
    """Utility per yuan of out-of-pocket cost, per episode."""
    return p.cost_per_100_yuan[care] / 100.0 * p.cost_severity[severity - 1] * p.income_factor[income_band]


def dynamic_utility(p: ChoiceParams, care: np.ndarray, cost_w: np.ndarray, oop_yuan: np.ndarray,
                    expected_wait: np.ndarray, trust: np.ndarray, contracted_primary: np.ndarray,
                    follows_referral: np.ndarray) -> np.ndarray:
    """The terms that depend on the day and the person: cost, waiting, trust, contract, referral."""
    return (cost_w[:, None] * oop_yuan + p.wait[care][:, None] * expected_wait
            + p.trust * (trust - p.trust_reference) + p.contract_primary * contracted_primary
            + p.referral_follow * follows_referral)


def systematic_utility(p: ChoiceParams, care: np.ndarray, severity: np.ndarray, income_band: np.ndarray,
                       tier: np.ndarray, capability: np.ndarray, oop_yuan: np.ndarray, hours: np.ndarray,
                       expected_wait: np.ndarray, trust: np.ndarray, contracted: np.ndarray,
                       primary: np.ndarray, referred: np.ndarray, meets_referral: np.ndarray) -> np.ndarray:
    """(E, K) utilities; episode arrays are (E,), alternative arrays (E, K). The whole formula."""
    return (static_utility(p, care[:, None], severity[:, None], tier, capability, hours)
            + dynamic_utility(p, care, cost_weight(p, care, severity, income_band), oop_yuan, expected_wait, trust,
                              contracted[:, None] & primary, referred[:, None] & meets_referral))


def draw(prob: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the chosen alternative per row by inverting the cumulative probabilities; -1 if none.

    The target is kept strictly below the row total, so a zero-probability column (equal
    cumulative sums on both sides) can never be picked.
    """
    cum = np.cumsum(prob, axis=1)
    total = cum[:, -1]
    target = np.minimum(u * total, total * (1.0 - 1e-12))
    pick = (cum <= target[:, None]).sum(axis=1)
    pick[total <= 0] = -1
    return pick


def draw_from_utility(utility: np.ndarray, allowed: np.ndarray, u: np.ndarray) -> np.ndarray:
    """draw(probabilities(utility, allowed), u) in one pass (the daily step's hot path)."""
    x = np.where(allowed, utility, -np.inf)
    top = x.max(axis=1, keepdims=True)
    np.subtract(x, np.where(np.isfinite(top), top, 0.0), out=x)
    np.exp(x, out=x)
    return draw(x, u)


def probabilities(utility: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Logit choice probabilities per row (rows with no allowed alternative are all zero)."""
    u = np.where(allowed, utility, -np.inf)
    top = np.max(u, axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(allowed, np.exp(u - top), 0.0)
    total = e.sum(axis=1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)
