"""Compiled (numba) loops of the daily step: the same arithmetic as the numpy reference path, fused.

The day's fixed cost was hundreds of small numpy calls on a few thousand episodes; here each is one
loop over episodes x alternatives. Every operation mirrors the reference path's order and dtypes
(float32 trust, integer fen), so results are bit-identical; tests/test_engine_paths.py checks it.
Exponentials stay in numpy (sim.choice), whose SIMD `exp` differs from libm's in the last bit.
Compiled code is cached on disk (cache=True), so worker processes load it instead of compiling.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def utilities(person, care, sev, program, ref_capability, filed, excluded, referred_up, referred_down, emergency,
              village, scheme, income_band, age_band, fund_ytd, trust, contracted,
              extra_hassle, has_extra_hassle, in_county_referral, has_in_county_referral,
              choice_set, alt_tier, alt_safe, alt_primary, alt_in_county, alt_capability,
              row_allowed, row_serves, row_cost, row_fund_nocap, penalised, row_static_u,
              annual_cap, income_factor, beta_table, group, hassle_care, wait_fac,
              w_wait, w_trust, trust_reference, w_contract, w_follow,
              n_programs, n_severity, n_schemes, n_bands):
    """Alternatives, their tiers, allowed mask, utilities and P(file) of a batch (sim.choosing.utilities)."""
    E = person.size
    K = choice_set.shape[1]
    alt = np.empty((E, K), dtype=choice_set.dtype)
    tier = np.empty((E, K), dtype=alt_tier.dtype)
    allowed = np.empty((E, K), dtype=np.bool_)
    u = np.empty((E, K))
    p_file = np.empty((E, K))
    for e in range(E):
        i = person[e]
        v = np.int64(village[i])
        c = np.int64(care[e])
        s = np.int64(sev[e])
        g = np.int64(program[e])
        vcp = (v * 2 + c) * n_programs + g
        row = vcp * n_severity + s - 1
        sch = np.int64(scheme[i])
        cap_left = annual_cap[sch, c] - fund_ytd[i, c]
        if cap_left < 0:
            cap_left = 0
        weight = income_factor[income_band[i]] / 100
        beta = beta_table[c, group[s - 1]]
        hassle = hassle_care[c]
        if has_extra_hassle:
            hassle = hassle + (0.0 if emergency[e] else extra_hassle[i, c])
        base = (row * n_schemes + sch) * 2
        cap_row = v * n_programs + g
        serve_row = v * n_bands + np.int64(age_band[i])
        pen_row = v * n_schemes + sch
        is_filed = filed[e]
        ex = np.int64(excluded[e])
        wt, tt, tc, tf = w_wait[c], w_trust[c], w_contract[c], w_follow[c]
        icr = has_in_county_referral and in_county_referral[i]
        for k in range(K):
            alt[e, k] = choice_set[v, k]
            t = alt_tier[v, k]
            tier[e, k] = t
            meets = alt_capability[cap_row, k] > ref_capability[e]
            ok = row_allowed[vcp, k] and row_serves[serve_row, k] and meets
            if ex != 0 and ((ex >> k) & 1) != 0:
                ok = False
            allowed[e, k] = ok
            cost = row_cost[row, k]
            f0 = row_fund_nocap[base, k]
            f1 = row_fund_nocap[base + 1, k]
            oop_unfiled = (cost - (f0 if f0 < cap_left else cap_left)) * weight
            oop_filed = (cost - (f1 if f1 < cap_left else cap_left)) * weight
            settled = oop_filed if is_filed else oop_unfiled
            if penalised[pen_row, k] and not is_filed:
                p = 1.0 / (1.0 + math.exp(-(beta * ((settled - oop_filed) - hassle))))
                cost_yuan = p * (oop_filed + hassle) + (1.0 - p) * settled
            else:
                p = 0.0
                cost_yuan = settled
            p_file[e, k] = p
            primary = alt_primary[v, k]
            if referred_down[e]:
                follows = primary
            else:
                follows = meets and referred_up[e]
            if icr:
                follows = follows and alt_in_county[v, k]
            tr = trust[i, t] - trust_reference
            cp = 1.0 if (contracted[i] and primary) else 0.0
            fo = 1.0 if follows else 0.0
            yuan = -cost_yuan - wt * wait_fac[alt_safe[v, k]] + tt * np.float64(tr) + tc * cp + tf * fo
            u[e, k] = row_static_u[row, k] + beta * yuan
    return alt, tier, allowed, u, p_file
