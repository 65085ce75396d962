"""Illness episodes: counts per (age band, chronic) group and day, then who and how severe.

Daily rate per person = annual rate(age band) x chronic multiplier x seasonal factor / 365.
Residents are grouped so a day costs O(episodes), not O(residents). Draws come from the
`illness` stream only, so a policy never changes who falls ill; prevention policies thin
inpatient episodes with their own `prevention` stream.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .config import CountyConfig
from .population import Population


# Each episode draws its own uniform numbers when it is created, one per later random event, so
# that removing an episode (a prevention lever) shifts no other episode's draws: a choice, a filing
# decision and a referral at the door for each of its first ATTEMPTS choices, then its place in the
# serving order, cost, stay and down-referral; and a second block for the episode a referral or a
# discharge may start from it (a continuation or a follow-up). Beyond these, streams take over.
ATTEMPTS = 3
RN_CHOICE, RN_FILING, RN_DOOR = 0, 1, 2            # + 3 x attempt
RN_ORDER, RN_COST, RN_LOS, RN_DOWN = 9, 10, 11, 12
N_RN = 13                                          # one block; an episode carries two (own, child)


@dataclass
class Episodes:
    """New episodes of one day."""
    person: np.ndarray
    care: np.ndarray        # 0 outpatient, 1 inpatient
    severity: np.ndarray    # 1..S
    program: np.ndarray     # 0 general, 1 psychiatric
    emergency: np.ndarray   # bool: goes to the nearest capable facility first
    rn: np.ndarray          # (n, 2 x N_RN) the episode's own uniform numbers and its child's

    def keep(self, mask: np.ndarray) -> "Episodes":
        return Episodes(self.person[mask], self.care[mask], self.severity[mask], self.program[mask],
                        self.emergency[mask], self.rn[mask])


def seasonal_factor(date: dt.date, amplitude: float, peak_day: int) -> float:
    doy = date.timetuple().tm_yday
    return 1.0 + amplitude * np.cos(2.0 * np.pi * (doy - peak_day) / 365.25)


class IllnessModel:
    def __init__(self, cfg: CountyConfig, pop: Population):
        ill = cfg.illness
        bands = cfg.population.age_bands
        key = pop.age_band.astype(np.int16) * 2 + pop.chronic
        order = np.argsort(key, kind="stable")
        bounds = np.searchsorted(key[order], np.arange(2 * len(bands) + 1))
        self.flat_members = order.astype(np.int32)     # residents by group (draw() hands on int64 ids)
        self.offsets = bounds[:-1]
        self.sizes = np.diff(bounds)
        rates = np.zeros((2 * len(bands), 2))
        for b, band in enumerate(bands):
            for chronic in (0, 1):
                m_out = ill.chronic_multiplier["outpatient"] if chronic else 1.0
                m_in = ill.chronic_multiplier["inpatient"] if chronic else 1.0
                rates[2 * b + chronic] = (band.outpatient_rate * m_out, band.inpatient_rate * m_in)
        self.annual_rates = rates
        self.severity_p = np.array([ill.severity["outpatient"], ill.severity["inpatient"]])
        self.severity_cum = np.cumsum(self.severity_p, axis=1)
        self.psychiatric_share = ill.psychiatric_share
        self.emergency_share = np.array(ill.emergency_share)
        self.season = ill.seasonality

    def season_factor(self, date: dt.date) -> float:
        """Today's incidence relative to the yearly mean."""
        return seasonal_factor(date, self.season.amplitude, self.season.peak_day_of_year)

    def draw(self, date: dt.date, rng: np.random.Generator, inpatient_only: bool = False,
             days: float = 1.0) -> Episodes:
        """Today's episodes. inpatient_only (the warm-up, which only fills beds) skips outpatients;
        days: draw that many days' worth at today's rates (a pool for sim.steady)."""
        f = self.season_factor(date) / 365.0
        if days != 1.0:
            f *= days
        counts = rng.poisson(self.annual_rates * self.sizes[:, None] * f)          # (groups, care)
        if inpatient_only:
            counts[:, 0] = 0
        total = counts.ravel()
        cell = np.repeat(np.arange(total.size), total)
        group, care = cell // 2, (cell % 2).astype(np.int8)
        pick = np.floor(rng.random(cell.size) * self.sizes[group]).astype(np.int64)
        person = self.flat_members[self.offsets[group] + pick].astype(np.int64)
        u = rng.random(person.size)
        severity = np.empty(person.size, dtype=np.int8)
        for c in (0, 1):          # 1 + how many of the care type's cumulative shares lie below u
            mine = care == c
            severity[mine] = 1 + np.searchsorted(self.severity_cum[c, :-1], u[mine], side="left")
        program = ((care == 1) & (rng.random(person.size) < self.psychiatric_share)).astype(np.int8)
        emergency = (care == 1) & (program == 0) & (rng.random(person.size) < self.emergency_share[severity - 1])
        return Episodes(person, care, severity, program, emergency, rng.random((person.size, 2 * N_RN)))


def thin_by_risk(ep: Episodes, risk: np.ndarray | None, rng: np.random.Generator) -> Episodes:
    """Drop inpatient episodes with probability 1 - risk[person] (prevention effects)."""
    if risk is None or ep.person.size == 0:
        return ep
    keep = (ep.care == 0) | (rng.random(ep.person.size) < risk[ep.person])
    return ep.keep(keep)
