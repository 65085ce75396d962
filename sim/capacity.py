"""Capacity: daily outpatient slots, beds held for a drawn length of stay, and rationing.

Serving order (contract, tested): within each facility, episodes are served by severity
(highest first), then by days already waited (longest first), then in a random arrival order.
Whoever does not fit is displaced to their next choice.
"""
from __future__ import annotations

import numpy as np


def ration(facility: np.ndarray, capacity_left: np.ndarray, severity: np.ndarray,
           waited: np.ndarray, arrival: np.ndarray) -> np.ndarray:
    """Boolean mask of episodes served: per facility the first floor(capacity_left) in serving order."""
    if facility.size == 0:
        return np.zeros(0, dtype=bool)
    demand = np.bincount(facility, minlength=capacity_left.size)
    full = demand > np.floor(capacity_left + 1e-9)
    if not full.any():
        return np.ones(facility.size, dtype=bool)
    contested = full[facility]
    served = np.ones(facility.size, dtype=bool)
    idx = np.flatnonzero(contested)
    served[idx] = _ration_sorted(facility[idx], capacity_left, severity[idx], waited[idx], arrival[idx])
    return served


def _ration_sorted(facility, capacity_left, severity, waited, arrival):
    order = np.lexsort((arrival, -waited, -severity, facility))
    f = facility[order]
    start = np.r_[0, np.flatnonzero(f[1:] != f[:-1]) + 1]
    first = np.repeat(start, np.diff(np.r_[start, f.size]))
    rank = np.arange(f.size) - first
    served = np.empty(facility.size, dtype=bool)
    served[order] = rank < np.floor(capacity_left[f] + 1e-9)
    return served


def draw_los(mean: np.ndarray, sd_log: float, max_days: int, z: np.ndarray) -> np.ndarray:
    """Integer lengths of stay >= 1 from a log-normal with the given means; z: standard normal numbers."""
    mu = np.log(mean) - 0.5 * sd_log ** 2
    los = np.rint(np.exp(mu + sd_log * z))
    return np.minimum(np.maximum(los, 1), max_days).astype(np.int64)


class Beds:
    """Occupied beds per facility and a ring calendar of discharges."""

    def __init__(self, n_facilities: int, max_los: int, compiled: bool = False):
        self.compiled = compiled           # sim.kernels.admit (the same counts in one loop)
        self.horizon = max_los + 1
        self.occupied = np.zeros(n_facilities, dtype=np.int64)
        self.calendar = np.zeros((self.horizon, n_facilities), dtype=np.int64)

    def discharge(self, day: int) -> np.ndarray:
        """Free today's discharges; returns the count per facility."""
        slot = day % self.horizon
        out = self.calendar[slot].copy()
        self.calendar[slot] = 0
        self.occupied -= out
        return out

    def admit(self, facility: np.ndarray, los: np.ndarray, day: int) -> None:
        if self.compiled:
            from .kernels import admit
            admit(self.occupied, self.calendar, facility, los, day)
            return
        np.add.at(self.occupied, facility, 1)
        np.add.at(self.calendar, ((day + los) % self.horizon, facility), 1)
