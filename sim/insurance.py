"""Reimbursement rules as pure functions: cost -> (fund, out-of-pocket), in integer fen.

Money is carried in fen (1/100 yuan, int64) so that fund + out-of-pocket == cost holds exactly.
The rules: the share of the bill within policy scope (政策范围内), a per-episode deductible (起付线)
on it, a ratio (报销比例) on the covered cost above the deductible, points lost
without a filed referral where the tier requires one, and an annual cap per person (封顶线 for
inpatient care, the 门诊统筹 pool for outpatient care) shared by all episodes of the year.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import CARE_TYPES, CountyConfig

FEN = 100


@dataclass
class BenefitTables:
    """Arrays [scheme, care, tier] of the schedule; rebuilt when a policy changes the schedule."""
    deductible: np.ndarray      # fen
    ratio: np.ndarray           # fraction
    covered: np.ndarray         # [scheme, care, tier] share of the bill within policy scope
    unfiled_penalty: np.ndarray  # [scheme, tier] fraction points
    annual_cap: np.ndarray      # [scheme, care] fen


def benefit_tables(cfg: CountyConfig) -> BenefitTables:
    """Benefit arrays from the config; a tier missing from a schedule reimburses nothing."""
    schemes = list(cfg.insurance.schemes)
    tiers = cfg.tier_names()
    ded = np.zeros((len(schemes), 2, len(tiers)), dtype=np.int64)
    ratio = np.zeros((len(schemes), 2, len(tiers)))
    covered = np.ones((len(schemes), 2, len(tiers)))
    pen = np.zeros((len(schemes), len(tiers)))
    cap = np.zeros((len(schemes), 2), dtype=np.int64)
    for s, name in enumerate(schemes):
        sched = cfg.insurance.schemes[name]
        for c, care in enumerate(CARE_TYPES):
            for tier, b in getattr(sched, care).items():
                t = tiers.index(tier)
                ded[s, c, t] = round(b.deductible * FEN)
                ratio[s, c, t] = b.ratio
                covered[s, c, t] = b.covered_share
        for tier, p in sched.unfiled_penalty.items():
            pen[s, tiers.index(tier)] = p
        cap[s] = (round(sched.outpatient_annual_cap * FEN), round(sched.inpatient_annual_cap * FEN))
    return BenefitTables(ded, ratio, covered, pen, cap)


def effective_ratio(ratio: np.ndarray, penalty: np.ndarray, filed: np.ndarray) -> np.ndarray:
    """The ratio after the referral-filing rule: unfiled episodes lose `penalty` points."""
    return np.minimum(np.maximum(ratio - np.where(filed, 0.0, penalty), 0.0), 1.0)


def reimburse(cost: np.ndarray, deductible: np.ndarray, ratio: np.ndarray,
              cap_remaining: np.ndarray, covered: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Fund and out-of-pocket (fen) for independent episodes; fund + oop == cost exactly."""
    cost = np.asarray(cost, dtype=np.int64)
    eligible = np.maximum(np.floor(cost * covered).astype(np.int64) - deductible, 0)
    fund = np.floor(eligible * ratio).astype(np.int64)
    fund = np.minimum(np.maximum(fund, 0), np.maximum(cap_remaining, 0))
    return fund, cost - fund


def share_annual_cap(person: np.ndarray, fund: np.ndarray, cap_remaining: np.ndarray) -> np.ndarray:
    """Cap fund payments so that one person's episodes in a batch share their remaining cap.

    `cap_remaining` is per episode (the person's remaining cap before this batch). Episodes are
    charged in batch order; later ones get what earlier ones left.
    """
    if fund.size == 0:
        return fund
    order = np.argsort(person, kind="stable")
    p, f = person[order], fund[order]
    csum = np.cumsum(f)
    start = np.r_[True, p[1:] != p[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(p.size), 0))
    before = csum - f - np.where(group_start > 0, csum[group_start - 1], 0)
    allowed = np.maximum(cap_remaining[order] - before, 0)
    out = np.empty_like(fund)
    out[order] = np.minimum(f, allowed)
    return out


def settle(tables: BenefitTables, scheme: np.ndarray, care: np.ndarray, tier: np.ndarray,
           filed: np.ndarray, cost: np.ndarray, person: np.ndarray,
           fund_ytd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Settle a batch of served episodes against each person's year-to-date fund payments.

    fund_ytd is [person, care] fen; returns (fund, oop) in fen. The caller adds fund to fund_ytd.
    """
    n_c, n_t = tables.ratio.shape[1:]
    sct = (scheme * n_c + care) * n_t + tier
    ratio = effective_ratio(tables.ratio.reshape(-1).take(sct), tables.unfiled_penalty.reshape(-1).take(scheme * n_t + tier),
                            filed)
    remaining = tables.annual_cap.reshape(-1).take(scheme * n_c + care) - fund_ytd.reshape(-1).take(person * n_c + care)
    fund, _ = reimburse(cost, tables.deductible.reshape(-1).take(sct), ratio, remaining,
                        tables.covered.reshape(-1).take(sct))
    key = person * 2 + care
    repeated = _repeated(key)
    if repeated.size:
        fund[repeated] = share_annual_cap(key[repeated], fund[repeated], remaining[repeated])
    return fund, cost - fund


def _repeated(key: np.ndarray) -> np.ndarray:
    """Positions of elements whose key occurs more than once, in order (a hash-free count: the keys
    are folded into a small table first, and only colliding entries are sorted)."""
    if key.size < 2:
        return np.zeros(0, dtype=np.int64)
    size = 1 << max(10, int(key.size * 4).bit_length())
    slot = key & (size - 1)
    counts = np.bincount(slot, minlength=size)
    maybe = np.flatnonzero(counts.take(slot) > 1)
    if maybe.size == 0:
        return maybe
    k = key[maybe]
    order = np.argsort(k, kind="stable")
    ks = k[order]
    same = ks[1:] == ks[:-1]
    mark = np.zeros(ks.size, dtype=bool)
    mark[1:] |= same
    mark[:-1] |= same
    return np.sort(maybe[order[mark]])


def expected_oop(tables: BenefitTables, scheme: np.ndarray, care: np.ndarray, tier: np.ndarray,
                 filed: np.ndarray, expected_cost_fen: np.ndarray, cap_remaining: np.ndarray) -> np.ndarray:
    """What a patient expects to pay (fen) at each alternative: the same rules on the mean cost."""
    ratio = effective_ratio(tables.ratio[scheme, care, tier], tables.unfiled_penalty[scheme, tier], filed)
    _, oop = reimburse(expected_cost_fen, tables.deductible[scheme, care, tier], ratio, cap_remaining,
                       tables.covered[scheme, care, tier])
    return oop
