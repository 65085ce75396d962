"""Compiled (numba) loops of the daily step: the same arithmetic as the numpy reference path, fused.

The day's fixed cost was hundreds of small numpy calls on a few thousand episodes; here each is one
loop over episodes x alternatives. Every operation mirrors the reference path's order and dtypes
(float32 trust, integer fen), so results are bit-identical; tests/test_engine_paths.py checks it.
The logit weights and the cost and stay draws keep numpy's `exp` (between kernels), whose SIMD
version differs from the C library's in the last bit; the filing logistic uses the C library's, as
scipy's `expit` in the reference path does.
Random numbers a round needs in counts it only learns inside a kernel (past an episode's own numbers)
are drawn inside it from the model's numpy Generators, which numba draws from with numpy's own
algorithms: the same numbers in the same order.
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
              n_programs, n_severity, n_schemes, n_bands, shift):
    """Alternatives, their tiers, allowed mask, utilities and P(file) of a batch (sim.choosing.utilities);
    utilities and P(file) are 0 where an alternative is not allowed (the numpy path leaves them unused there).
    With `shift`, each row comes back as the logit's exponent: minus its maximum over allowed
    alternatives, -inf elsewhere."""
    E = person.size
    K = choice_set.shape[1]
    alt = np.empty((E, K), dtype=choice_set.dtype)
    tier = np.empty((E, K), dtype=alt_tier.dtype)
    allowed = np.empty((E, K), dtype=np.bool_)
    u = np.empty((E, K))
    p_file = np.empty((E, K))
    T = trust.shape[1]
    # the residents' columns, gathered first in tight loops: independent random reads overlap in memory
    g_v = np.empty(E, dtype=np.int64)
    g_sch = np.empty(E, dtype=np.int64)
    g_ib = np.empty(E, dtype=np.int64)
    g_ab = np.empty(E, dtype=np.int64)
    g_fund = np.empty(E, dtype=fund_ytd.dtype)
    g_con = np.empty(E, dtype=np.bool_)
    g_tr = np.empty((E, T), dtype=trust.dtype)
    g_icr = np.zeros(E, dtype=np.bool_)
    g_xh = np.zeros(E)
    for e in range(E):
        i = person[e]
        g_v[e] = village[i]
        g_sch[e] = scheme[i]
        g_ib[e] = income_band[i]
        g_ab[e] = age_band[i]
        g_fund[e] = fund_ytd[i, np.int64(care[e])]
        g_con[e] = contracted[i]
        for t in range(T):
            g_tr[e, t] = trust[i, t]
    if has_in_county_referral:
        for e in range(E):
            g_icr[e] = in_county_referral[person[e]]
    if has_extra_hassle:
        for e in range(E):
            g_xh[e] = extra_hassle[person[e], np.int64(care[e])]
    for e in range(E):
        v = g_v[e]
        c = np.int64(care[e])
        s = np.int64(sev[e])
        g = np.int64(program[e])
        vcp = (v * 2 + c) * n_programs + g
        row = vcp * n_severity + s - 1
        sch = g_sch[e]
        cap_left = annual_cap[sch, c] - g_fund[e]
        if cap_left < 0:
            cap_left = 0
        weight = income_factor[g_ib[e]] / 100
        beta = beta_table[c, group[s - 1]]
        hassle = hassle_care[c]
        if has_extra_hassle:
            hassle = hassle + (0.0 if emergency[e] else g_xh[e])
        base = (row * n_schemes + sch) * 2
        cap_row = v * n_programs + g
        serve_row = v * n_bands + g_ab[e]
        pen_row = v * n_schemes + sch
        is_filed = filed[e]
        ex = np.int64(excluded[e])
        wt, tt, tc, tf = w_wait[c], w_trust[c], w_contract[c], w_follow[c]
        icr = g_icr[e]
        con = g_con[e]
        for k in range(K):
            alt[e, k] = choice_set[v, k]
            t = alt_tier[v, k]
            tier[e, k] = t
            meets = alt_capability[cap_row, k] > ref_capability[e]
            ok = row_allowed[vcp, k] and row_serves[serve_row, k] and meets
            if ex != 0 and ((ex >> k) & 1) != 0:
                ok = False
            allowed[e, k] = ok
            if not ok:                  # never read where not allowed (draw, nearest, P(file) at the pick)
                u[e, k] = 0.0
                p_file[e, k] = 0.0
                continue
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
            tr = g_tr[e, t] - trust_reference
            cp = 1.0 if (con and primary) else 0.0
            fo = 1.0 if follows else 0.0
            yuan = -cost_yuan - wt * wait_fac[alt_safe[v, k]] + tt * np.float64(tr) + tc * cp + tf * fo
            u[e, k] = row_static_u[row, k] + beta * yuan
        if shift:
            _shift_row(u, allowed, e, K)
    return alt, tier, allowed, u, p_file


@njit(cache=True, nogil=True, inline="always")
def _shift_row(u, allowed, e, K):
    """Row e of u minus its maximum over allowed alternatives, -inf elsewhere, in place."""
    top = -np.inf
    for k in range(K):
        if allowed[e, k] and u[e, k] > top:
            top = u[e, k]
    if not np.isfinite(top):
        top = 0.0
    for k in range(K):
        u[e, k] = u[e, k] - top if allowed[e, k] else -np.inf


@njit(cache=True, nogil=True)
def draw(weights, uniform):
    """Index of the chosen alternative per row by inverting cumulative weights; -1 if none (sim.choice.draw)."""
    E, K = weights.shape
    pick = np.empty(E, dtype=np.int64)
    cum = np.empty(K)
    for e in range(E):
        total = 0.0
        for k in range(K):
            total += weights[e, k]
            cum[k] = total
        if total <= 0:
            pick[e] = -1
            continue
        target = min(uniform[e] * total, total * (1.0 - 1e-12))
        n = 0
        for k in range(K):
            if cum[k] <= target:
                n += 1
        pick[e] = n
    return pick


@njit(cache=True, nogil=True)
def draw_own(weights, rn, attempt, column, later, n_attempts):
    """draw with each episode's own number for this attempt (rn[e, column + 3 x attempt]) and, past
    n_attempts, the next of `later` in batch order (sim.choosing.ChoiceStep._uniforms then draw)."""
    E = attempt.size
    uniform = np.empty(E)
    j = 0
    for e in range(E):
        a = np.int64(attempt[e])
        if a < n_attempts:
            uniform[e] = rn[e, column + 3 * a]
        else:
            uniform[e] = later[j]
            j += 1
    return draw(weights, uniform)


@njit(cache=True, nogil=True)
def nearest_capable(idx, pick, person, program, severity, village, alt_capability, alt_hours, allowed, n_programs):
    """Set pick[e] for rows `idx`: the nearest allowed alternative that can treat the severity (the most
    capable allowed one if none can), -1 if nothing is allowed (sim.choosing.ChoiceTables.nearest_capable,
    with numpy's argmin/argmax tie rule: the first)."""
    K = allowed.shape[1]
    for j in range(idx.size):
        e = idx[j]
        v = np.int64(village[person[e]])
        row = v * n_programs + np.int64(program[e])
        s = severity[e]
        near, near_h, best, best_c = 0, np.inf, 0, -np.inf
        any_allowed, any_capable = False, False
        for k in range(K):
            ok = allowed[e, k]
            c = alt_capability[row, k]
            capable = ok and c >= s
            h = alt_hours[v, s - 1, k] if capable else np.inf
            cv = c if ok else -np.inf
            if k == 0 or h < near_h:
                near, near_h = k, h
            if k == 0 or cv > best_c:
                best, best_c = k, cv
            any_allowed = any_allowed or ok
            any_capable = any_capable or capable
        pick[e] = (near if any_capable else best) if any_allowed else -1


@njit(cache=True, nogil=True)
def ration(key, capacity_left, go, severity, rn, col_order, waited):
    """Served mask of arrivals (rows `go` of the batch) at their facility x care `key`: per key, the first
    floor(capacity_left) by severity (highest first), days waited (longest first), then the episode's
    order number rn[e, col_order] (sim.capacity.ration, whose lexsort is stable like these sorts)."""
    n = key.size
    served = np.ones(n, dtype=np.bool_)
    demand = np.zeros(capacity_left.size, dtype=np.int64)
    for i in range(n):
        demand[key[i]] += 1
    full = np.zeros(capacity_left.size, dtype=np.bool_)
    n_contested = 0
    for i in range(n):
        k = key[i]
        if demand[k] > np.floor(capacity_left[k] + 1e-9):
            full[k] = True
            n_contested += 1
    if n_contested == 0:
        return served
    idx = np.empty(n_contested, dtype=np.int64)
    j = 0
    for i in range(n):
        if full[key[i]]:
            idx[j] = i
            j += 1
    arrival = np.empty(n_contested)
    s_lo, s_hi, w_lo, w_hi = np.int64(severity[go[idx[0]]]), np.int64(severity[go[idx[0]]]), waited[idx[0]], waited[idx[0]]
    for j in range(n_contested):
        i = idx[j]
        arrival[j] = rn[go[i], col_order]
        s = np.int64(severity[go[i]])
        s_lo, s_hi = min(s_lo, s), max(s_hi, s)
        w_lo, w_hi = min(w_lo, waited[i]), max(w_hi, waited[i])
    by_arrival = np.argsort(arrival, kind="mergesort")
    rank_key = np.empty(n_contested, dtype=np.int64)
    for j in range(n_contested):
        i = idx[by_arrival[j]]
        rank_key[j] = ((key[i] * (s_hi - s_lo + 1) + (s_hi - np.int64(severity[go[i]]))) * (w_hi - w_lo + 1)
                       + (w_hi - waited[i]))
    order = by_arrival[np.argsort(rank_key, kind="mergesort")]
    first, current = 0, -1
    for r in range(n_contested):
        i = idx[order[r]]
        if key[i] != current:
            current, first = key[i], r
        served[i] = (r - first) < np.floor(capacity_left[key[i]] + 1e-9)
    return served


@njit(cache=True, nogil=True)
def settle(deductible, ratio, covered, penalty, annual_cap, scheme, care, tier, filed, cost, person, fund_ytd,
           oop_ytd):
    """Fund and out-of-pocket fen of served episodes in batch order, charged to the year-to-date
    accounts as they go (sim.insurance.settle followed by the caller's account update)."""
    n = cost.size
    fund = np.empty(n, dtype=np.int64)
    oop = np.empty(n, dtype=np.int64)
    for e in range(n):
        s, c, t, i = np.int64(scheme[e]), np.int64(care[e]), np.int64(tier[e]), person[e]
        r = ratio[s, c, t] - (0.0 if filed[e] else penalty[s, t])
        r = min(max(r, 0.0), 1.0)
        eligible = np.int64(math.floor(cost[e] * covered[s, c, t])) - deductible[s, c, t]
        if eligible < 0:
            eligible = 0
        f = np.int64(math.floor(eligible * r))
        remaining = annual_cap[s, c] - fund_ytd[i, c]
        if remaining < 0:
            remaining = 0
        f = min(max(f, 0), remaining)
        fund[e] = f
        oop[e] = cost[e] - f
        fund_ytd[i, c] += f
        oop_ytd[i] += cost[e] - f
    return fund, oop


@njit(cache=True, nogil=True)
def learn_trust(trust, person, tier, signal, rate):
    """Move trust towards the signal (float32, as sim.serving.Serving._trust: all old values read before any write)."""
    n = person.size
    new = np.empty(n, dtype=np.float32)
    for e in range(n):
        old = trust[person[e], tier[e]]
        new[e] = old + rate * (signal[e] - old)
    for e in range(n):
        trust[person[e], tier[e]] = new[e]


@njit(cache=True, nogil=True)
def serve_books(f, care, tier, person, program, severity, ref_tier, referred_down, filed, slots, beds_free,
                record, village, village_served, flows, tier_hospital):
    """Served episodes take their slot or bed, and (after the warm-up) count in the flow tables by
    village x tier x care and tier x care x programme x severity x path x filed (sim.serving.Serving._record_flows)."""
    for e in range(f.size):
        _book(f[e], care[e], tier[e], village[person[e]], program[e], severity[e], ref_tier[e], referred_down[e],
              filed[e], slots, beds_free, record, village_served, flows, tier_hospital)


@njit(cache=True, nogil=True, inline="always")
def _book(fac, c, t, v, program, severity, r, down, filed, slots, beds_free, record, village_served, flows,
          tier_hospital):
    """One served episode takes its slot or bed and, when recording, counts in the flow tables; the
    path is 0 self-referred, 1 referred up, 2 referred out by a county hospital, 3 referred down."""
    if c == 0:
        slots[fac] -= 1.0
    else:
        beds_free[fac] -= 1.0
    if record:
        village_served[v, t, c] += 1
        if down:
            path = 3
        elif r < 0:
            path = 0
        elif tier_hospital[r]:
            path = 2
        else:
            path = 1
        flows[t, c, program, severity - 1, path, 1 if filed else 0] += 1


@njit(cache=True, nogil=True)
def admit(occupied, calendar, facility, los, day):
    """Beds taken today and their discharge days in the ring calendar (sim.capacity.Beds.admit)."""
    horizon = calendar.shape[0]
    for e in range(facility.size):
        occupied[facility[e]] += 1
        calendar[(day + los[e]) % horizon, facility[e]] += 1


@njit(cache=True, nogil=True)
def arrive(go, pick, alt, p_file, attempt, rn, filing_later, door_later, care, program, severity, filed,
           fac_tier, capability_p, up_slope, n_attempts, col_filing, col_door, arrivals):
    """Episodes that chose (`go`) arrive: facility, filing decision (updates `filed`), tier, capability,
    the referral-up draw and whether an admission is referred up at the door (sim.model._one_round);
    counted in `arrivals` (F, 2) by facility x care."""
    n = go.size
    f = np.empty(n, dtype=np.int64)
    tier = np.empty(n, dtype=np.int64)
    capability = np.empty(n)
    shortfall = np.empty(n)
    ref_draw = np.empty(n)
    door = np.empty(n, dtype=np.bool_)
    j = 0
    for i in range(n):
        e = go[i]
        a = attempt[e]
        fi = alt[e, pick[e]]
        f[i] = fi
        arrivals[fi, np.int64(care[e])] += 1
        if a < n_attempts:
            uf = rn[e, col_filing + 3 * a]
            ud = rn[e, col_door + 3 * a]
        else:
            uf = filing_later[j]
            ud = door_later[j]
            j += 1
        if uf < p_file[e, pick[e]]:
            filed[e] = True
        t = fac_tier[fi]
        tier[i] = t
        cap = capability_p[fi, program[e]]
        capability[i] = cap
        s = max(0.0, severity[e] - cap) * up_slope
        shortfall[i] = s
        ref_draw[i] = ud
        door[i] = care[e] == 1 and ud < s
    return f, tier, capability, shortfall, ref_draw, door


@njit(cache=True, nogil=True)
def costs(mean_cost_fen, f, care, program, severity, noise):
    """Fen billed per served episode: the mean for its facility, care, programme and severity times its
    log-normal noise, rounded, at least 1 (sim.serving.Serving._serve)."""
    n = f.size
    cost = np.empty(n, dtype=np.int64)
    for e in range(n):
        c = np.rint(mean_cost_fen[f[e], care[e], program[e], severity[e] - 1] * noise[e])
        cost[e] = np.int64(max(1.0, c))
    return cost


@njit(cache=True, nogil=True)
def bill(e, f, care, tier, person, program, severity, ref_tier, referred_down, filed, noise, mean_cost_fen,
         scheme, deductible, ratio, covered, penalty, annual_cap, fund_ytd, oop_ytd, slots, beds_free, record,
         village, village_served, flows, tier_hospital, displaced, waited, fixed_wait, day_counts, day_wait,
         trust, served_signal, per_wait_day, rate):
    """Served episodes (rows `e` of the round's batch): cost, settlement and accounts (costs, settle),
    slots, beds and flow tables (serve_books), in one pass; returns (cost, fund, oop) in fen.
    Also counts today's served, served after displacement, fund, out of pocket and cost per facility x
    care into `day_counts` (5, F, 2), and adds the days waited (plus the fixed wait) to `day_wait`
    (F, 2) in batch order, as the model's day log would (sim.records.DayRecords._flush_log). Last, trust moves towards
    the served signal, clipped to [0, 1] (learn_trust, as sim.serving.Serving._serve's call of _trust)."""
    n = e.size
    who = np.empty(n, dtype=np.int64)
    sch = np.empty(n, dtype=np.int64)
    vil = np.empty(n, dtype=np.int64)
    fl = np.empty(n, dtype=np.bool_)
    ytd = np.empty(n, dtype=np.int64)
    for i in range(n):
        who[i] = person[e[i]]
    for i in range(n):          # the residents' columns first: independent reads overlap in memory
        p = who[i]
        sch[i] = scheme[p]
        vil[i] = village[p]
        fl[i] = filed[e[i]]
        ytd[i] = fund_ytd[p, care[i]] + oop_ytd[p]     # unused: warms the accounts' lines for settle
    cost = np.empty(n, dtype=np.int64)
    for i in range(n):
        k = e[i]
        cost[i] = np.int64(max(1.0, np.rint(mean_cost_fen[f[i], care[i], program[k], severity[k] - 1] * noise[i])))
    fund, oop = settle(deductible, ratio, covered, penalty, annual_cap, sch, care, tier, fl, cost, who, fund_ytd,
                       oop_ytd)
    for i in range(n):
        k = e[i]
        fi, ci = f[i], care[i]
        _book(fi, ci, tier[i], vil[i], program[k], severity[k], ref_tier[k], referred_down[k],
              fl[i], slots, beds_free, record, village_served, flows, tier_hospital)
        day_counts[0, fi, ci] += 1
        if displaced[k]:
            day_counts[1, fi, ci] += 1
        day_counts[2, fi, ci] += fund[i]
        day_counts[3, fi, ci] += oop[i]
        day_counts[4, fi, ci] += cost[i]
        day_wait[fi, ci] += waited[i] + fixed_wait[fi]
    signal = np.empty(n, dtype=np.float32)
    for i in range(n):
        signal[i] = np.float32(min(max(served_signal + per_wait_day * waited[i], 0.0), 1.0))
    learn_trust(trust, who, tier, signal, rate)
    return cost, fund, oop


@njit(cache=True, nogil=True)
def _feel(trust, person, rows, tier, signal, rate):
    """learn_trust for episodes `rows` (with tiers `tier`) and one signal for all of them."""
    who = np.empty(rows.size, dtype=np.int64)
    for j in range(rows.size):
        who[j] = person[rows[j]]
    learn_trust(trust, who, tier.astype(np.int64), np.full(rows.size, signal, dtype=np.float32), rate)


@njit(cache=True, nogil=True)
def choose_arrive(weights, rn, attempt, emergency, person, program, severity, care, filed, village, alt_capability,
                  alt_hours, allowed, alt, p_file, fac_tier, capability_p, up_slope, n_programs, n_attempts,
                  col_choice, col_filing, col_door, rechoice, referral, arrivals, referred_up_at, trust, up_signal,
                  rate):
    """A round from the logit weights to the door (sim.model._one_round up to rationing), in one call: the
    draw with the episodes' own numbers (past n_attempts, the `rechoice` stream's), emergencies to the
    nearest capable facility, arrival and filing (the `referral` stream's numbers past n_attempts), and the
    admissions referred up at the door (counted in `referred_up_at`, felt in trust). Streams are numpy
    Generators, which numba draws from with numpy's own algorithms, so the numbers are numpy's.
    Returns the rows that could not choose, the rows referred up at the door with their tier and
    capability, and the rows that stay with facility, tier, care, capability, shortfall, referral-up
    draw and chosen position."""
    E = attempt.size
    n_later = 0
    for e in range(E):
        if attempt[e] >= n_attempts:
            n_later += 1
    later = np.zeros(0)
    if n_later > 0:
        later = rechoice.random(n_later)
    pick = draw_own(weights, rn, attempt, col_choice, later, n_attempts)
    urgent = np.flatnonzero((attempt == 0) & emergency)
    if urgent.size:
        nearest_capable(urgent, pick, person, program, severity, village, alt_capability, alt_hours, allowed,
                        n_programs)
    go = np.flatnonzero(pick >= 0)
    stuck = np.flatnonzero(pick < 0)
    n_later = 0
    for e in go:
        if attempt[e] >= n_attempts:
            n_later += 1
    filing_later, door_later = np.zeros(0), np.zeros(0)
    if n_later > 0:
        filing_later = referral.random(n_later)
        door_later = referral.random(n_later)
    f, tier, capability, shortfall, ref_draw, door = arrive(
        go, pick, alt, p_file, attempt, rn, filing_later, door_later, care, program, severity, filed, fac_tier,
        capability_p, up_slope, n_attempts, col_filing, col_door, arrivals)
    at_door = np.flatnonzero(door)
    for i in at_door:
        referred_up_at[f[i], 1] += 1
    up = go[at_door]
    _feel(trust, person, up, tier[at_door], up_signal, rate)
    rest = np.flatnonzero(~door)
    go = go[rest]
    return (stuck, up, tier[at_door], capability[at_door], go, f[rest], tier[rest], care[go].astype(np.int64),
            capability[rest], shortfall[rest], ref_draw[rest], pick[go])


@njit(cache=True, nogil=True)
def serve_round(key, capacity, go, f, care, tier, waited, shortfall, ref_draw, noise, los, person, program,
                severity, ref_tier, referred_down, filed, displaced, rn, col_order, col_down, mean_cost_fen, scheme,
                deductible, ratio, covered, penalty, annual_cap, fund_ytd, oop_ytd, slots, beds_free, record, village,
                village_served, flows, tier_hospital, fixed_wait, day_counts, day_wait, trust, served_signal,
                per_wait_day, rate, rejected_signal, up_signal, rejected, referred_up_at, los_days, displaced_today,
                occupied, calendar, day, p_down, tier_primary, extra_down, has_extra_down):
    """A round from rationing on (sim.model._one_round), in one call, on the arrivals `go` (rows of the
    batch) with their facility x care `key`: rationing; the displaced counted and felt in trust; the served
    billed, settled, booked and felt in trust (bill); served admissions take a bed for their stay `los`
    (drawn by the caller for every arrival) and may be referred down at discharge; outpatients a facility
    cannot treat are referred up (counted, felt in trust). Returns the served mask over `go`, the served
    rows and their fund fen, the rows referred down at discharge with their stays, and the positions in
    `go` of the outpatients referred up."""
    served = ration(key, capacity, go, severity, rn, col_order, waited)
    away = np.flatnonzero(~served)
    for i in away:
        rejected[f[i], care[i]] += 1
    _feel(trust, person, go[away], tier[away], rejected_signal, rate)
    for i in away:
        if not displaced[go[i]]:
            displaced_today[care[i]] += 1
    s = np.flatnonzero(served)
    e = go[s]
    fund = np.zeros(0, dtype=np.int64)
    if s.size:
        _, fund, _ = bill(e, f[s], care[s], tier[s], person, program, severity, ref_tier, referred_down, filed,
                          noise[s], mean_cost_fen, scheme, deductible, ratio, covered, penalty, annual_cap, fund_ytd,
                          oop_ytd, slots, beds_free, record, village, village_served, flows, tier_hospital, displaced,
                          waited[s], fixed_wait, day_counts, day_wait, trust, served_signal, per_wait_day, rate)
    stay = s[np.flatnonzero(care[s] == 1)]
    admit(occupied, calendar, f[stay], los[stay], day)
    down = np.zeros(stay.size, dtype=np.bool_)
    for j in range(stay.size):
        i = stay[j]
        los_days[f[i]] += los[i]
        t = tier[i]
        p = p_down[t]
        if has_extra_down:
            p = p + (0.0 if tier_primary[t] else extra_down[person[go[i]]])
        down[j] = rn[go[i], col_down] < p
    home = stay[np.flatnonzero(down)]
    out_ref = np.flatnonzero(served & (care == 0) & (ref_draw < shortfall))
    for i in out_ref:
        referred_up_at[f[i], 0] += 1
    _feel(trust, person, go[out_ref], tier[out_ref], up_signal, rate)
    return served, e, fund, go[home], los[home], out_ref


@njit(cache=True, nogil=True, inline="always")
def _add_counts(record, d, counts):
    for f in range(counts.shape[0]):
        for c in range(2):
            record[d, f, c] += counts[f, c]


@njit(cache=True, nogil=True)
def close_day(d, counts, served, served_after, fund, oop, cost, arrivals, referred_up_at, rejected, los_days,
              wait_days, day_wait, bed_days, beds_open, occupied, bed_capacity, fixed_wait, expected_wait, alpha,
              observe, seen_outpatient, season, a, b, bg_arrivals, bg_weight, stay_days, stay_admissions):
    """The end of a day after its rounds, in sim.records.DayRecords._close_day's order: the kernels'
    counts (in KERNEL_COUNTS order) and rounded waits into the day's records; the background's smoothing
    (sim.background.BackgroundLoad.observe, when `observe`); each facility's expected wait
    (DayRecords._update_expected_wait); the day's occupied and open beds. The smoothing rates come
    from the caller, computed by numpy's exp as the reference path does."""
    F = counts.shape[1]
    for k, record in enumerate((served, served_after)):
        _add_counts(record, d, counts[k])
    for k, record in enumerate((fund, oop, cost)):
        _add_counts(record, d, counts[2 + k])
    for k, record in enumerate((arrivals, referred_up_at, rejected, los_days)):
        _add_counts(record, d, counts[5 + k])
    for f in range(F):
        for c in range(2):
            wait_days[d, f, c] += np.int64(np.rint(day_wait[f, c]))
    if observe:
        for c in range(2):
            if c == 1 or seen_outpatient:
                for f in range(F):
                    bg_arrivals[f, c] += a * ((served[d, f, c] + rejected[d, f, c]) / season - bg_arrivals[f, c])
                bg_weight[c] += a * (1.0 - bg_weight[c])
        for f in range(F):
            stay_days[f] += b * (los_days[d, f, 1] - stay_days[f])
        for f in range(F):
            stay_admissions[f] += b * (served[d, f, 1] - stay_admissions[f])
    for f in range(F):
        s = np.int64(served[d, f, 0]) + np.int64(served[d, f, 1])
        r = np.int64(rejected[d, f, 0]) + np.int64(rejected[d, f, 1])
        queued = (wait_days[d, f, 0] + wait_days[d, f, 1]) - fixed_wait[f] * s
        if not queued >= 0.0:
            queued = 0.0
        observed = (queued + r) / (s + r) if s + r > 0 else 0.0
        expected_wait[f] += alpha * (observed - expected_wait[f])
        bed_days[d, f, 1] = occupied[f]
        beds_open[d, f] = bed_capacity[f]
