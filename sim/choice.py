"""Facility choice in willingness-to-pay space, and the (nested) logit draw, vectorised over episodes.

Every attribute is valued in yuan (a willingness to pay, WTP, of a resident of mean income) and
the sum is multiplied by one utility-per-yuan coefficient β[care, group] per care type and
severity group (minor / severe), the scale of the logit:

    V_ij = β[c, g] × (  C[c, tier_j]                         tier constant (fitted)
                      + K[c, g] × cap_j                       capability
                      − S[c] × max(0, s_i − cap_j)            a facility that cannot treat
                      − T[c, g] × hours_ij                    travel
                      − W[c] × wait_j                         expected wait
                      + R[c] × (trust_i,tier_j − trust₀)      trust
                      + F[c] × contracted_i × primary_j       family-doctor tie
                      + L[c] × follows_ij                     referral tie
                      − f_i × OOP_ij )                        out of pocket, f_i = (y_i / ȳ)^(−η)

so each weight reads as a WTP comparable with its source (docs/ODD.md §3.3.3 has the table).
Where a destination penalises an unfiled referral, OOP_ij is replaced by the expected cost of the
filing decision (sim.filing). The draw inverts the cumulative probabilities with one uniform
number per episode, so an alternative with probability zero changes nothing (common random
numbers). With nests, the probabilities are nested logit; a nest parameter of 1 is the
multinomial logit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import CARE_TYPES, SEVERITY_GROUPS, SEVERITY_LEVELS, CountyConfig


@dataclass
class ChoiceParams:
    beta: np.ndarray             # [care, group] utility per yuan (> 0)
    group: np.ndarray            # [severity index 0..S-1] -> group index
    income_factor: np.ndarray    # [income band] multiplier of out-of-pocket yuan
    constant: np.ndarray         # [care, tier] yuan
    capability: np.ndarray       # [care, group] yuan per capability unit
    shortfall: np.ndarray        # [care] yuan per level below the severity
    travel: np.ndarray           # [care, group] yuan per hour
    wait: np.ndarray             # [care] yuan per day
    trust: np.ndarray            # [care] yuan per unit of trust
    trust_reference: float
    contract_primary: np.ndarray  # [care] yuan
    referral_follow: np.ndarray  # [care] yuan
    nest: np.ndarray             # [tier] nest index
    nest_mu: np.ndarray          # [nest] nest parameter in (0, 1]

    @property
    def nested(self) -> bool:
        return bool((self.nest_mu < 1.0).any())


def _per(care_table: dict, groups: bool) -> np.ndarray:
    if groups:
        return np.array([[care_table[c][g] for g in SEVERITY_GROUPS] for c in CARE_TYPES], dtype=float)
    return np.array([care_table[c] for c in CARE_TYPES], dtype=float)


def choice_params(cfg: CountyConfig) -> ChoiceParams:
    c, w = cfg.choice, cfg.choice.wtp
    tiers = cfg.tier_names()
    constant = np.zeros((2, len(tiers)))
    for ci, care in enumerate(CARE_TYPES):
        for tier, v in w.constant.get(care, {}).items():
            constant[ci, tiers.index(tier)] = v
    incomes = np.array([b.annual_income for b in cfg.population.income_bands])
    shares = np.array([b.share for b in cfg.population.income_bands])
    reference = float(np.sum(incomes * shares))
    nest_names = list(dict.fromkeys(t.nest or t.name for t in cfg.tiers))
    return ChoiceParams(
        beta=-_per(c.cost_per_yuan, True),
        group=(np.arange(1, SEVERITY_LEVELS + 1) >= c.severe_from).astype(np.int64),
        income_factor=(incomes / reference) ** (-c.income_elasticity),
        constant=constant, capability=_per(w.capability, True), shortfall=_per(w.shortfall, False),
        travel=_per(w.travel_per_hour, True), wait=_per(w.wait_per_day, False), trust=_per(w.trust, False),
        trust_reference=float(np.mean(list(cfg.trust.initial.values()))),
        contract_primary=_per(w.contract_primary, False), referral_follow=_per(w.referral_follow, False),
        nest=np.array([nest_names.index(t.nest or t.name) for t in cfg.tiers]),
        nest_mu=np.array([c.nest_parameter.get(n, 1.0) for n in nest_names]))


def beta_of(p: ChoiceParams, care: np.ndarray, severity: np.ndarray) -> np.ndarray:
    """Utility per yuan for each episode's care type and severity group."""
    return p.beta[care, p.group[severity - 1]]


def static_utility(p: ChoiceParams, care: np.ndarray, severity: np.ndarray, tier: np.ndarray,
                   capability: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """The terms that do not change within a day, in utility units (broadcasting)."""
    g = p.group[severity - 1]
    yuan = (p.constant[care, tier] + p.capability[care, g] * capability
            - p.shortfall[care] * np.maximum(0.0, severity - capability) - p.travel[care, g] * hours)
    return p.beta[care, g] * yuan


def dynamic_utility(p: ChoiceParams, care: np.ndarray, beta: np.ndarray, oop_weighted_yuan: np.ndarray,
                    expected_wait: np.ndarray, trust: np.ndarray, contracted_primary: np.ndarray,
                    follows_referral: np.ndarray) -> np.ndarray:
    """The terms that depend on the day and the person, in utility units. `oop_weighted_yuan` is
    out of pocket times the income factor (or the expected filing cost, sim.filing)."""
    c = care[:, None]
    yuan = (-oop_weighted_yuan - p.wait[c] * expected_wait + p.trust[c] * (trust - p.trust_reference)
            + p.contract_primary[c] * contracted_primary + p.referral_follow[c] * follows_referral)
    return beta[:, None] * yuan


def implied_wtp_table(cfg: CountyConfig) -> list[dict]:
    """One row per attribute x care type x group: the configured WTP and what it is for the
    poorest and richest income bands (WTP / income factor), for docs/ODD.md."""
    p = choice_params(cfg)
    rows = []
    attrs = [("travel per hour", "travel_per_hour", p.travel, True), ("capability unit", "capability", p.capability, True),
             ("wait per day", "wait_per_day", p.wait, False),
             ("capability shortfall per level", "shortfall", p.shortfall, False),
             ("trust unit", "trust", p.trust, False), ("family-doctor tie", "contract_primary", p.contract_primary, False),
             ("referral tie", "referral_follow", p.referral_follow, False)]
    for name, field, table, grouped in attrs:
        for ci, care in enumerate(CARE_TYPES):
            for gi, group in enumerate(SEVERITY_GROUPS if grouped else ("all",)):
                wtp = float(table[ci, gi] if grouped else table[ci])
                key = f"choice.wtp.{field}.{care}" + (f".{group}" if grouped else "")
                rows.append({"attribute": name, "key": key, "care": care, "group": group, "wtp_yuan": wtp,
                             "poorest": wtp / p.income_factor.max(), "richest": wtp / p.income_factor.min(),
                             "utility": wtp * float(p.beta[ci, gi if grouped else 0])})
    return rows


# ------------------------------------------------------------------------------------------ draws
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


def _mnl_weights(utility: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    x = np.where(allowed, utility, -np.inf)
    top = x.max(axis=1, keepdims=True)
    np.subtract(x, np.where(np.isfinite(top), top, 0.0), out=x)
    np.exp(x, out=x)
    return x


def nested_weights(utility: np.ndarray, allowed: np.ndarray, nest: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Unnormalised nested-logit probabilities (E, K): log w_j = V_j/μ_m + (μ_m − 1) log Σ_{k∈m} exp(V_k/μ_m).

    `nest` is (E, K) nest index per alternative, `mu` the nest parameters. With every μ = 1 this is
    exp(V_j): the multinomial logit.
    """
    scaled = np.where(allowed, utility / mu[nest], -np.inf)
    logw = np.full(scaled.shape, -np.inf)
    for n in range(mu.size):
        member = (nest == n) & allowed
        if not member.any():
            continue
        x = np.where(member, scaled, -np.inf)
        top = x.max(axis=1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        total = np.exp(x - top).sum(axis=1, keepdims=True)
        log_iv = np.log(np.where(total > 0, total, 1.0)) + top
        logw = np.where(member, scaled + (mu[n] - 1.0) * log_iv, logw)
    top = logw.max(axis=1, keepdims=True)
    return np.where(allowed, np.exp(logw - np.where(np.isfinite(top), top, 0.0)), 0.0)


def choice_weights(p: ChoiceParams, utility: np.ndarray, allowed: np.ndarray, tier: np.ndarray) -> np.ndarray:
    """Unnormalised choice probabilities: nested logit if any nest parameter is below 1."""
    if p.nested:
        return nested_weights(utility, allowed, p.nest[tier], p.nest_mu)
    return _mnl_weights(utility, allowed)


def probabilities(utility: np.ndarray, allowed: np.ndarray, p: ChoiceParams | None = None,
                  tier: np.ndarray | None = None) -> np.ndarray:
    """Choice probabilities per row (rows with no allowed alternative are all zero)."""
    w = choice_weights(p, utility, allowed, tier) if p is not None else _mnl_weights(utility, allowed)
    total = w.sum(axis=1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)
