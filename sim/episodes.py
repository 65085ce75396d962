"""Episodes in flight during a day, as a structure of arrays (people as arrays, as in Covasim/Starsim):
what the choice, serving and steady-start code pass between them."""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass
class Batch:
    """Episodes in flight (structure of arrays)."""
    person: np.ndarray
    care: np.ndarray
    severity: np.ndarray
    program: np.ndarray
    onset: np.ndarray
    ref_capability: np.ndarray  # after a referral up: only more capable facilities qualify; -1 = none
    filed: np.ndarray        # holds a filed referral (out-of-province rule)
    referred_up: np.ndarray
    referred_down: np.ndarray
    displaced: np.ndarray    # was displaced at least once
    excluded: np.ndarray     # bitmask over choice-set positions, reset daily
    attempt: np.ndarray      # choices made so far (the first ATTEMPTS use the episode's own numbers)
    emergency: np.ndarray    # goes to the nearest capable facility first
    ref_tier: np.ndarray     # tier of the facility that referred it up; -1 = self-referred
    rn: np.ndarray           # (E, 2 x N_RN) the episode's own uniform numbers and its child's (sim.illness)

    def __len__(self) -> int:
        return self.person.size

    def take(self, idx: np.ndarray) -> "Batch":
        return Batch(*(getattr(self, name).take(idx, axis=0) for name in _BATCH_FIELDS))

    @staticmethod
    def concat(parts: list["Batch"]) -> "Batch":
        return Batch(*(np.concatenate([getattr(p, name) for p in parts]) for name in _BATCH_FIELDS))

    @staticmethod
    def new(person, care, severity, program, onset, filed, rn, referred_up=None, referred_down=None,
            ref_capability=None, emergency=None, ref_tier=None) -> "Batch":
        n = person.size
        z = np.zeros(n, dtype=bool)
        return Batch(person.astype(np.int64), care.astype(np.int8), severity.astype(np.int8),
                     program.astype(np.int8), np.full(n, onset, dtype=np.int64) if np.isscalar(onset) else onset,
                     np.full(n, -1.0) if ref_capability is None else ref_capability.astype(float),
                     filed.astype(bool), z.copy() if referred_up is None else referred_up,
                     z.copy() if referred_down is None else referred_down, z.copy(),
                     np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int8),
                     z.copy() if emergency is None else emergency.astype(bool),
                     np.full(n, -1, dtype=np.int8) if ref_tier is None else ref_tier.astype(np.int8), rn)


_BATCH_FIELDS = tuple(f.name for f in fields(Batch))
