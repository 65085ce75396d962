"""County geometry: townships, villages, facilities, travel times and each village's choice set.

Positions are synthetic but reproducible (drawn from `geography.layout_seed`) unless a township
gives `position_km`. Facilities are held as columns (FacilityTable); the Mesa Facility agents
in model.py are views on its rows, so policies change one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import PROGRAMS, CountyConfig


@dataclass
class FacilityTable:
    """One row per facility; arrays are indexed by facility id."""
    name: list[str]
    tier: np.ndarray            # tier index
    township: np.ndarray        # township index, -1 outside townships
    position: np.ndarray        # (F, 2) km, NaN for facilities outside the county
    physicians: np.ndarray      # float, full-population units
    beds: np.ndarray            # float, full-population units; inf = unlimited
    capability: np.ndarray      # highest severity treated without referral up (general programme)
    psychiatric_capability: np.ndarray   # the same for psychiatric admissions
    programs: np.ndarray        # (F, n_programs) bool
    serves_band: np.ndarray     # (F, n_age_bands) bool
    price_multiplier: np.ndarray
    visits_per_physician_day: np.ndarray
    unlimited: np.ndarray       # bool
    fixed_travel: np.ndarray    # hours from every village (facilities outside the county), NaN = from positions
    fixed_wait: np.ndarray      # days of waiting the county does not cause (outside the county)
    nonresident: np.ndarray     # (F, 2) visits and admissions a year of patients from outside the county
    beds_per_physician: np.ndarray   # staffing limit on open beds, inf = none
    care_price_multiplier: np.ndarray | None = None   # (F, 2) per care type, set by policies; None = 1

    def capability_by_program(self) -> np.ndarray:
        """(F, programmes) capability: general, psychiatric."""
        return np.column_stack([self.capability, self.psychiatric_capability])

    def __len__(self) -> int:
        return len(self.name)

    def index(self, name: str) -> int:
        try:
            return self.name.index(name)
        except ValueError:
            raise KeyError(name) from None


@dataclass
class County:
    township_names: list[str]
    township_position: np.ndarray        # (T, 2)
    village_township: np.ndarray         # (V,)
    village_position: np.ndarray         # (V, 2)
    village_weight: np.ndarray           # (V,) population share, sums to 1
    facilities: FacilityTable
    travel_hours: np.ndarray = field(default=None)     # (V, F)
    choice_set: np.ndarray = field(default=None)       # (V, K) facility ids, -1 = padding


def _spread_points(rng: np.random.Generator, n: int, radius: float, min_gap: float) -> np.ndarray:
    """n points in a disc, rejection-sampled to keep a minimum spacing (best effort)."""
    pts: list[np.ndarray] = []
    tries = 0
    while len(pts) < n:
        r = radius * np.sqrt(rng.random())
        a = 2 * np.pi * rng.random()
        p = np.array([r * np.cos(a), r * np.sin(a)])
        tries += 1
        if tries < 20000 and any(np.hypot(*(p - q)) < min_gap for q in pts):
            continue
        pts.append(p)
    return np.array(pts)


def village_clinic_name(township: str, k: int) -> str:
    """The name of village k (1-based) of a township's clinic, as configs and policies write it."""
    return f"{township}/v{k:02d}"


def village_layout(cfg: CountyConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Townships' positions, each village's township, position and share of the population: the
    layout's random draws (`geography.layout_seed`), without the facilities (the scale check needs
    only the shares)."""
    geo = cfg.geography
    rng = np.random.default_rng(geo.layout_seed)
    n_t = len(cfg.townships)

    pos = np.zeros((n_t, 2))
    free = [i for i, t in enumerate(cfg.townships) if t.position_km is None and not t.county_seat]
    drawn = _spread_points(rng, len(free), geo.radius_km, min_gap=geo.radius_km / np.sqrt(n_t + 1))
    for k, i in enumerate(free):
        pos[i] = drawn[k]
    for i, t in enumerate(cfg.townships):
        if t.position_km is not None:
            pos[i] = t.position_km
    seat = next(i for i, t in enumerate(cfg.townships) if t.county_seat)
    if cfg.townships[seat].position_km is None:
        pos[seat] = (0.0, 0.0)

    v_town, v_pos, v_weight = [], [], []
    total_share = sum(t.population_share for t in cfg.townships)
    for i, t in enumerate(cfg.townships):
        r = geo.village_radius_km * np.sqrt(rng.random(t.villages))
        a = 2 * np.pi * rng.random(t.villages)
        v_pos.append(pos[i] + np.column_stack([r * np.cos(a), r * np.sin(a)]))
        w = rng.dirichlet(np.full(t.villages, 8.0))
        v_weight.append(w * t.population_share / total_share)
        v_town.append(np.full(t.villages, i))
    village_township = np.concatenate(v_town)
    village_position = np.concatenate(v_pos)
    village_weight = np.concatenate(v_weight)
    return pos, village_township, village_position, village_weight / village_weight.sum()


def build_county(cfg: CountyConfig) -> County:
    """Lay out townships and villages and list every facility with its attributes."""
    pos, village_township, village_position, village_weight = village_layout(cfg)
    seat = next(i for i, t in enumerate(cfg.townships) if t.county_seat)
    bands = len(cfg.population.age_bands)
    table = FacilityTable(
        name=[], tier=np.zeros(0, dtype=np.int64), township=np.zeros(0, dtype=np.int64), position=np.zeros((0, 2)),
        physicians=np.zeros(0), beds=np.zeros(0), capability=np.zeros(0), psychiatric_capability=np.zeros(0),
        programs=np.zeros((0, len(PROGRAMS)), dtype=bool), serves_band=np.zeros((0, bands), dtype=bool),
        price_multiplier=np.zeros(0), visits_per_physician_day=np.zeros(0), unlimited=np.zeros(0, dtype=bool),
        fixed_travel=np.zeros(0), fixed_wait=np.zeros(0), nonresident=np.zeros((0, 2)),
        beds_per_physician=np.zeros(0))
    county = County(list(t.name for t in cfg.townships), pos, village_township, village_position,
                    village_weight, table)
    fac = cfg.facilities
    for v in range(len(village_township)):
        t = village_township[v]
        k = int(np.sum(village_township[:v] == t)) + 1
        add_facility(county, cfg, village_clinic_name(cfg.townships[t].name, k), "village", t, village_position[v],
                     fac.village_doctors_per_clinic, 0.0, fac.village_capability)
    for i, t in enumerate(cfg.townships):
        add_facility(county, cfg, t.name, "township", i, pos[i], t.physicians, t.beds, fac.township_capability[t.kind])
    for h in fac.hospitals:
        spec = cfg.tier(h.tier)
        where = pos[seat] if spec.in_county else np.array([np.nan, np.nan])
        fid = add_facility(county, cfg, h.name, h.tier, seat if spec.in_county else -1, where, h.physicians, h.beds,
                           h.capability, h.programs, h.serves_age_bands, h.price_multiplier, h.travel_hours)
        table.psychiatric_capability[fid] = h.psychiatric_capability if h.psychiatric_capability is not None \
            else table.capability[fid]
        table.fixed_wait[fid] = h.fixed_wait_days
        if h.beds_per_physician is not None:
            table.beds_per_physician[fid] = h.beds_per_physician
        table.nonresident[fid] = (h.nonresident_visits, h.nonresident_admissions)
    refresh_access(county, cfg)
    return county


def add_facility(county: County, cfg: CountyConfig, name: str, tier: str, township: int, position,
                 physicians: float = 0.0, beds: float = 0.0, capability: float | None = None,
                 programs=("general",), serves: list[str] | None = None, price: float = 1.0,
                 travel: float | None = None) -> int:
    """Append a facility row (and, once the county has travel times, its column); returns its id.

    Used to build the county and by policies (a branch campus). Choice sets are left as they are:
    a policy adds its facility to the villages that should see it as an extra column, so no existing
    alternative is re-ranked (common random numbers).
    """
    fac = county.facilities
    spec = cfg.tier(tier)
    ti = cfg.tier_names().index(tier)
    bands = [b.name for b in cfg.population.age_bands]
    position = np.asarray(position, dtype=float)
    fac.name.append(name)
    fac.tier = np.append(fac.tier, ti)
    fac.township = np.append(fac.township, township)
    fac.position = np.vstack([fac.position, position[None, :]])
    fac.physicians = np.append(fac.physicians, float(physicians))
    fac.beds = np.append(fac.beds, np.inf if spec.unlimited_capacity else float(beds))
    fac.capability = np.append(fac.capability, spec.capability if capability is None else float(capability))
    fac.psychiatric_capability = np.append(fac.psychiatric_capability, fac.capability[-1])
    fac.programs = np.vstack([fac.programs, [[p in programs for p in PROGRAMS]]])
    fac.serves_band = np.vstack([fac.serves_band, [[serves is None or b in serves for b in bands]]])
    fac.price_multiplier = np.append(fac.price_multiplier, float(price))
    fac.visits_per_physician_day = np.append(fac.visits_per_physician_day, spec.visits_per_physician_day)
    fac.unlimited = np.append(fac.unlimited, spec.unlimited_capacity)
    fac.fixed_travel = np.append(fac.fixed_travel, np.nan if travel is None else float(travel))
    fac.fixed_wait = np.append(fac.fixed_wait, 0.0)
    fac.nonresident = np.vstack([fac.nonresident, np.zeros((1, 2))])
    fac.beds_per_physician = np.append(fac.beds_per_physician, spec.beds_per_physician or np.inf)
    if fac.care_price_multiplier is not None:
        fac.care_price_multiplier = np.vstack([fac.care_price_multiplier, np.ones((1, 2))])
    if county.travel_hours is not None:
        column = travel_hours(county, cfg, position[None, :], np.array([ti]), fac.fixed_travel[-1:])
        county.travel_hours = np.column_stack([county.travel_hours, column])
    return len(fac) - 1


def travel_hours(county: County, cfg: CountyConfig, position: np.ndarray, tier: np.ndarray,
                 fixed: np.ndarray) -> np.ndarray:
    """(villages, facilities) hours: road distance at the county's speed, or the facility's (else
    its tier's) fixed time for facilities outside the county."""
    geo = cfg.geography
    dx = county.village_position[:, None, :] - position[None, :, :]
    km = np.hypot(dx[..., 0], dx[..., 1]) * geo.detour_factor
    hours = km / geo.speed_kmh + geo.access_hours
    for ti, spec in enumerate(cfg.tiers):
        if spec.travel_hours is not None:
            hours[:, tier == ti] = spec.travel_hours
    own = np.isfinite(fixed)
    hours[:, own] = fixed[own]
    return hours


def refresh_access(county: County, cfg: CountyConfig) -> None:
    """Recompute travel times and choice sets (after facilities were added or moved)."""
    fac = county.facilities
    hours = travel_hours(county, cfg, fac.position, fac.tier, fac.fixed_travel)
    county.travel_hours = hours

    limits = cfg.facilities.choice_set
    sets = []
    for v in range(len(county.village_township)):
        chosen: list[int] = []
        for ti, spec in enumerate(cfg.tiers):
            ids = np.flatnonzero(fac.tier == ti)
            if ids.size == 0:
                continue
            k = limits.get(spec.name)
            order = ids[np.argsort(hours[v, ids], kind="stable")]
            chosen.extend(order if k is None else order[:k])
        sets.append(chosen)
    width = max(len(s) for s in sets)
    out = np.full((len(sets), width), -1, dtype=np.int64)
    for v, s in enumerate(sets):
        out[v, : len(s)] = s
    county.choice_set = out
