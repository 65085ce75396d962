"""Filing a referral (转诊备案) as a patient decision, for destinations that penalise unfiled care.

A patient heading for such a destination files when the reimbursement it saves outweighs the
non-price hassle of filing (paperwork, approval by the medical community), both in yuan:

    P(file) = logistic(β × (f × (OOP_unfiled − OOP_filed) − H))

with β the utility per yuan of the episode's care type and severity group, f the income factor
of out-of-pocket yuan and H = `referral.filing_hassle[care]`. In the destination choice the
patient values the destination at the expected cost of that decision,
P × (f × OOP_filed + H) + (1 − P) × f × OOP_unfiled, so both a higher penalty and a lower hassle
make filing more likely, and a lower hassle makes the destination more attractive. Sizing of H:
docs/ODD.md §3.3.7 (removing in-province filing hurdles raised cross-region admissions by about
30%, literature.md §7a).
"""
from __future__ import annotations

import numpy as np

from .deferred import special


def filing_probability(beta: np.ndarray, saved_yuan: np.ndarray, hassle_yuan: np.ndarray) -> np.ndarray:
    """Probability of filing, given the income-weighted yuan filing saves and its hassle (broadcasting)."""
    return special.expit(beta * (saved_yuan - hassle_yuan))


def expected_cost(beta: np.ndarray, oop_filed: np.ndarray, oop_unfiled: np.ndarray, hassle_yuan: np.ndarray,
                  decides: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Income-weighted yuan a patient expects to bear at each alternative, and P(file) there.

    Where `decides` is false the episode's filing status is settled (already filed, or nothing to
    file for) and the cost is simply `oop_unfiled` (the caller passes the settled amount there);
    P(file) is then 0.
    """
    p = np.where(decides, filing_probability(beta, oop_unfiled - oop_filed, hassle_yuan), 0.0)
    cost = np.where(decides, p * (oop_filed + hassle_yuan) + (1.0 - p) * oop_unfiled, oop_unfiled)
    return cost, p
