"""Residents as columns (numpy arrays): one row per simulated resident.

The daily step works on the columns; the Patient Mesa agent (sim/patient.py) is a view on one
row. This module does not import Mesa, so that estimating a run's memory (sim/resources.py) in
the parent of worker processes does not load it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import CountyConfig
from .county import County


TRUST_ROWS = 1 << 15   # residents whose initial trust is drawn at once (sequential draws: any block, same numbers)


@dataclass
class Population:
    """One row per simulated resident."""
    age_band: np.ndarray       # int8
    chronic: np.ndarray        # bool
    scheme: np.ndarray         # int8, index into cfg.insurance.schemes
    income_band: np.ndarray    # int8
    village: np.ndarray        # int32
    contracted: np.ndarray     # bool, family-doctor contract
    trust: np.ndarray          # (N, tiers) float32 in [0, 1]
    fund_ytd: np.ndarray       # (N, 2) int64 fen paid by the fund this year, [outpatient, inpatient]
    oop_ytd: np.ndarray        # (N,) int64 fen paid out of pocket this year
    inpatient_risk: np.ndarray | None = None   # (N,) multiplier <= 1 set by prevention policies
    in_county_referral: np.ndarray | None = None   # (N,) bool: referrals routed within the county (policies)
    extra_hassle: np.ndarray | None = None         # (N, 2) yuan added to the filing hassle (referral management)
    extra_down: np.ndarray | None = None           # (N,) probability added to down-referral at discharge (capitation)

    def __len__(self) -> int:
        return self.age_band.size


def whole_counts(n: int, weights: np.ndarray) -> np.ndarray:
    """n split in proportion to weights as whole numbers (largest remainder), summing to n."""
    raw = n * np.asarray(weights, dtype=float) / np.sum(weights)
    out = np.floor(raw).astype(np.int64)
    out[np.argsort(-(raw - out), kind="stable")[: n - out.sum()]] += 1
    return out


def synthesize(cfg: CountyConfig, county: County, n: int, rng: np.random.Generator) -> Population:
    """Draw n residents: village, age band and chronic status in exact proportions (so a
    reduced-scale run keeps each village's size and case mix, which its background load
    extrapolates), then scheme, income, contract and trust at random."""
    pop = cfg.population
    bands = pop.age_bands
    prevalence = np.array([b.chronic_prevalence for b in bands])
    age_chronic = np.column_stack([1.0 - prevalence, prevalence]) * np.array([b.share for b in bands])[:, None]
    cells = whole_counts(n, np.multiply.outer(county.village_weight, age_chronic).ravel())
    cell = np.repeat(np.arange(cells.size), cells)
    rng.shuffle(cell)                       # = cell[rng.permutation(n)], which shuffles an int64 arange
    village = (cell // (2 * len(bands))).astype(np.int32)
    age = (cell // 2 % len(bands)).astype(np.int8)
    chronic = (cell % 2).astype(bool)
    del cell
    schemes = list(cfg.insurance.schemes)
    scheme_p = np.array([pop.scheme_shares.get(s, 0.0) for s in schemes])
    scheme = rng.choice(len(schemes), size=n, p=scheme_p / scheme_p.sum()).astype(np.int8)
    income = rng.choice(len(pop.income_bands), size=n, p=[b.share for b in pop.income_bands]).astype(np.int8)
    rate = np.array([[b.contract_rate["other"], b.contract_rate["chronic"]] for b in bands])
    contracted = rng.random(n) < rate[age, chronic.view(np.int8)]
    initial = np.array([cfg.trust.initial[t] for t in cfg.tier_names()], dtype=np.float32)
    trust = np.empty((n, initial.size), dtype=np.float32)
    for lo in range(0, n, TRUST_ROWS):      # a block at a time: a (n, tiers) float64 draw would be the set-up's peak
        block = trust[lo:lo + TRUST_ROWS]
        noise = rng.normal(0.0, cfg.trust.initial_sd, size=block.shape).astype(np.float32)
        np.clip(initial[None, :] + noise, 0.0, 1.0, out=block)
    return Population(age, chronic, scheme, income, village, contracted, trust,
                      np.zeros((n, 2), dtype=np.int64), np.zeros(n, dtype=np.int64))
