"""Patients the model does not simulate one by one, as aggregate load on the facilities: the
residents a reduced-scale run leaves out, and patients from outside the county.

At scale s < 1 every simulated resident is one real resident, and facilities keep their full
slots and beds. The other (1 - s) of the population arrive as a background stream: per facility
and care type, Poisson arrivals at (1 - s) / s times the smoothed arrivals of the simulated
residents there. Background patients compete for today's slots and free beds in proportion to
demand, hold beds for stays drawn around the facility's recent mean stay, and are otherwise not
recorded: counts still come from the simulated residents, scaled by 1 / s.

Why: with capacity scaled down instead (s x slots for s x residents), a village clinic at
s = 0.02 had 0.56 slots a day, and day-to-day lumpiness turned away patients whom the full county
would serve. Here total demand has the mean and the Poisson variance of the full population, so a
facility is as congested as at full scale. At s = 1 the stream is empty and draws nothing, so a
full-scale run is unchanged by it. Method and checks: docs/ODD.md, "Reduced scale".

Patients from outside the county (`nonresident_visits`, `nonresident_admissions` of a hospital, a
year at full scale) arrive the same way, as Poisson arrivals with the season of illness, at any
scale: they are what fills a county hospital beyond its own residents, and a hospital outside the
county beyond this county's patients.
"""
from __future__ import annotations

import numpy as np

ARRIVAL_MEMORY_DAYS = 56.0   # smoothing of simulated arrivals, season divided out (assumption: two months)
MEMORY_REFERENCE_SCALE = 0.1  # below it the memory grows as 1 / scale, so the estimate stays as precise
STAY_MEMORY_DAYS = 90.0      # smoothing of the mean stay per facility (assumption: a quarter)
MIN_RESIDENTS_PER_VILLAGE = 10.0   # below this a village's choice shares are mostly noise


class BackgroundLoad:
    """Aggregate arrivals and bed use of the residents not simulated, per facility and care type."""

    def __init__(self, n_facilities: int, scale: float, los_sd_log: float, max_los: int,
                 nonresident: np.ndarray) -> None:
        self.nonresident_daily = np.asarray(nonresident, dtype=float) / 365.0      # (F, 2)
        self.active = scale < 1.0 or bool(self.nonresident_daily.any())
        self.ratio = (1.0 - scale) / scale
        self.memory_days = ARRIVAL_MEMORY_DAYS * max(1.0, MEMORY_REFERENCE_SCALE / scale)
        self.los_sd_log, self.max_los = los_sd_log, max_los
        self.arrivals = np.zeros((n_facilities, 2))    # smoothed simulated arrivals a day, biased to 0 at start
        self.weight = np.zeros(2)                      # bias correction of that smoothing, per care type
        self.stay_days = np.zeros(n_facilities)         # smoothed simulated bed-days admitted a day
        self.stay_admissions = np.zeros(n_facilities)   # smoothed simulated admissions a day

    def expected_simulated(self, season: float) -> np.ndarray:
        """(F, 2) simulated arrivals expected today: the bias-corrected moving average of arrivals
        with the season divided out, times today's seasonal factor of illness."""
        w = np.where(self.weight > 0, self.weight, 1.0)
        return self.arrivals / w[None, :] * season

    def draw_demand(self, capacity: np.ndarray, season: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Today's background arrivals of residents not simulated and of patients from outside the
        county, each (2F,) as [outpatient per facility, inpatient per facility]. Facilities with
        unlimited capacity get none: nothing binds there and nothing reads their load."""
        limited = np.isfinite(capacity)
        residents = _poisson(rng, np.where(limited, self.ratio * self.expected_simulated(season).T.ravel(), 0.0))
        outsiders = _poisson(rng, np.where(limited, self.nonresident_daily.T.ravel() * season, 0.0))
        return residents, outsiders

    @staticmethod
    def outsiders_served(served: np.ndarray, residents: np.ndarray, outsiders: np.ndarray,
                         rng: np.random.Generator) -> np.ndarray:
        """How many of the background patients served came from outside the county (a random mix)."""
        mixed = served < residents + outsiders
        out = outsiders.copy()
        if mixed.any():          # an empty draw takes no numbers, and numpy's costs ~35 us a call
            out[mixed] = rng.hypergeometric(outsiders[mixed], residents[mixed], served[mixed])
        return out

    @staticmethod
    def share(key: np.ndarray, capacity: np.ndarray, background: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Split each facility's capacity between simulated arrivals (by `key`) and background ones.

        Where everyone fits, everyone is served. Where they do not, the served places fall on a
        random mix of both: the simulated count among the first floor(capacity) of a random order
        of all arrivals is hypergeometric. Returns (capacity left to ration among the simulated,
        background patients served).
        """
        simulated = np.bincount(key, minlength=capacity.size)
        whole = np.floor(np.where(np.isfinite(capacity), capacity, 0.0) + 1e-9).astype(np.int64)
        binding = np.isfinite(capacity) & (simulated + background > whole)
        mine = simulated.copy()
        if binding.any():        # as in outsiders_served: most days nothing binds
            mine[binding] = rng.hypergeometric(simulated[binding], background[binding], whole[binding])
        return np.where(binding, mine, capacity), np.where(binding, whole - mine, background)

    def stays(self, admitted: np.ndarray, rng: np.random.Generator,
              default_stay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Facility ids and drawn lengths of stay of today's background admissions: around the
        facility's recent mean stay of simulated patients (`default_stay` before there is one)."""
        fac = np.repeat(np.arange(admitted.size), admitted)
        mean = np.divide(self.stay_days, self.stay_admissions, out=np.asarray(default_stay, dtype=float).copy(),
                         where=self.stay_admissions > 1e-9)[fac]
        mu = np.log(np.maximum(mean, 1.0)) - 0.5 * self.los_sd_log ** 2
        los = np.rint(np.exp(mu + self.los_sd_log * rng.standard_normal(fac.size)))
        return fac, np.minimum(np.maximum(los, 1), self.max_los).astype(np.int64)

    def smoothing(self) -> tuple[float, float]:
        """A day's weight of a new observation in the smoothed arrivals and in the smoothed stays."""
        return 1.0 - np.exp(-1.0 / self.memory_days), 1.0 - np.exp(-1.0 / STAY_MEMORY_DAYS)

    def observe(self, arrivals: np.ndarray, season: float, seen_care: np.ndarray, admissions: np.ndarray,
                bed_days_admitted: np.ndarray) -> None:
        """Update the smoothing with today's simulated demand (served + displaced) and stays."""
        a, b = self.smoothing()
        for care in (0, 1):
            if seen_care[care]:
                self.arrivals[:, care] += a * (arrivals[:, care] / season - self.arrivals[:, care])
                self.weight[care] += a * (1.0 - self.weight[care])
        self.stay_days += b * (bed_days_admitted - self.stay_days)
        self.stay_admissions += b * (admissions - self.stay_admissions)


def _poisson(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """rng.poisson(lam) without the call where every mean is 0 (a full-scale run's residents): numpy
    draws nothing for a zero mean, so the stream is the same, and a call costs ~11 us."""
    return rng.poisson(lam) if lam.any() else np.zeros(lam.shape, dtype=np.int64)


def smallest_sensible_scale(population_size: int, village_weight: np.ndarray) -> float:
    """The scale at which the smallest village still has MIN_RESIDENTS_PER_VILLAGE simulated residents."""
    smallest = float(np.min(village_weight)) * population_size
    return min(1.0, MIN_RESIDENTS_PER_VILLAGE / smallest) if smallest > 0 else 1.0
