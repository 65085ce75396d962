"""The day's records, a concern of the model's day split out of sim/model.py: tallies per facility
and care type, the public expected wait, and the close of a year. `DayRecords` is a mixin of
GradedCareModel; the record arrays stay on the model.
"""
from __future__ import annotations

import numpy as np

from . import insurance

RECORD_KEYS = ("arrivals", "served", "served_after_displacement", "rejected", "referred_up_at",
               "wait_days", "fund", "oop", "cost", "bed_days", "los_days",
               "nonresident_served")    # patients from outside the county (full scale; sim.background)
WIDE_KEYS = ("wait_days", "fund", "oop", "cost")    # fen and summed waits: int64; the rest are counts
KERNEL_COUNTS = ("served", "served_after_displacement", "fund", "oop", "cost",   # counted in sim.kernels.bill,
                  "arrivals", "referred_up_at", "rejected", "los_days")            # arrive and the round kernels


def new_records(n_days: int, n_facilities: int) -> dict[str, np.ndarray]:
    """Zeroed day x facility x care-type records. Counts are int32 (a facility-day's count stays
    far below 2**31 even at 50x the seed county) to halve the largest arrays of a run; money in
    fen and summed waits can pass 2**31 at large scale, so they stay int64."""
    shape = (n_days, n_facilities, 2)
    return {k: np.zeros(shape, dtype=np.int64 if k in WIDE_KEYS else np.int32) for k in RECORD_KEYS}


class DayRecords:
    """Counts noted during the day, added to the records once at its end."""

    def _tally(self, key: str, f: np.ndarray, care, weights: np.ndarray | None = None) -> None:
        """Note counts (or weights) per facility x care type; added to the records once a day."""
        self._log.setdefault(key, []).append((f * 2 + care, weights))

    def _close_day(self, d: int, season: float) -> None:
        """The day's end after its rounds: its counts into the records, the background's smoothing,
        each facility's expected wait, the day's beds. The fast engine does the numpy steps in one
        compiled call (sim.kernels.close_day) with the same numbers."""
        bg, rec = self.background, self.records
        if self.engine == "numpy":
            self._flush_log(d)
            if bg.active:
                bg.observe(rec["served"][d] + rec["rejected"][d], season, np.array([d >= self.warmup_days, True]),
                           rec["served"][d, :, 1], rec["los_days"][d, :, 1])
            self._update_expected_wait(d)
            rec["bed_days"][d, :, 1] = self.beds.occupied
            self.beds_open[d] = self.bed_capacity
            return
        from .kernels import close_day
        self._flush_tallies(d)
        a, b = bg.smoothing()
        close_day(d, self._day_counts, *(rec[k] for k in KERNEL_COUNTS), rec["wait_days"], self._day_wait,
                  rec["bed_days"], self.beds_open, self.beds.occupied, self.bed_capacity, self.facilities.fixed_wait,
                  self.expected_wait, self._wait_smoothing(), bg.active, d >= self.warmup_days, season, a, b,
                  bg.arrivals, bg.weight, bg.stay_days, bg.stay_admissions)

    def _flush_log(self, d: int) -> None:
        """Add the day's tallies to the records: the compiled serving's counts (integers, so the same
        as logged) and waits (summed in the same order, rounded once), then the logged ones."""
        for key, counts in zip(KERNEL_COUNTS, self._day_counts):
            self.records[key][d] += counts
        self.records["wait_days"][d] += np.rint(self._day_wait).astype(np.int64)
        self._flush_tallies(d)

    def _flush_tallies(self, d: int) -> None:
        """Add the day's logged tallies (the reference path's) to the records."""
        n = 2 * len(self.facilities)
        for key, parts in self._log.items():
            idx = np.concatenate([i for i, _ in parts])
            weights = None if parts[0][1] is None else np.concatenate([w for _, w in parts])
            counts = np.bincount(idx, weights=weights, minlength=n)
            self.records[key][d] += (np.rint(counts) if weights is not None else counts).astype(np.int64).reshape(-1, 2)

    def _update_expected_wait(self, d: int) -> None:
        """Smooth each facility's observed wait (a displacement counts as a day); no arrivals = no wait.

        The recorded waits include the fixed wait the county does not cause, which the choice adds
        by itself, so it is taken out here: the expectation holds only the wait capacity causes."""
        rec = self.records
        served = rec["served"][d].sum(axis=1)
        queued = np.maximum(rec["wait_days"][d].sum(axis=1) - self.facilities.fixed_wait * served, 0.0)
        waited = queued + rec["rejected"][d].sum(axis=1)
        seen = served + rec["rejected"][d].sum(axis=1)
        observed = np.divide(waited, seen, out=np.zeros(len(seen)), where=seen > 0)
        self.expected_wait += self._wait_smoothing() * (observed - self.expected_wait)

    def _wait_smoothing(self) -> float:
        """The day's weight of a new observation in the expected wait (exponential memory)."""
        return 1.0 - np.exp(-1.0 / self.config.choice.wait_memory_days)

    def _close_year(self, year: int) -> None:
        """Record the year's catastrophic-spending share; reset annual insurance accounts; let active
        policies close their year (a medical community's books)."""
        for policy in self.active_policies:
            policy.year_end(self, year)
        pop = self.population
        income = np.array([b.annual_income for b in self.config.population.income_bands]) * insurance.FEN
        limit = self.config.insurance.catastrophic_threshold * income        # per income band: no per-resident copy
        over = sum(np.count_nonzero((pop.income_band == b) & (pop.oop_ytd > limit[b])) for b in range(limit.size))
        self.catastrophic[year] = float(over / len(pop))
        pop.fund_ytd[:] = 0
        pop.oop_ytd[:] = 0
