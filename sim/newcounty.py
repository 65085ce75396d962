"""`gradsim new-county TABLE`: a county config from what a statistics yearbook gives, with the
behavioural parameters inherited from the seed (`extends:`), and a calibration file ready to run.

The table (YAML, or a CSV of `section,name,field,value` rows) holds the county's population,
townships (population, villages, beds, physicians, distance from the county seat or position),
county hospitals (kind, beds, physicians), visits and admissions in the county's institutions
and, if known, the out-of-county admission rate. Syntax and a walk-through: docs/new-county.md.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from .config import ConfigError, SafeName, Strict, format_validation_error, load_tree, read_yaml

# Assumptions copied from the seed's own (configs/seed_county.yaml): capability by kind of hospital.
HOSPITAL_KINDS = {
    "general": {"capability": 3.2},                                          # people's hospital
    "tcm": {"capability": 2.7},
    "mch": {"capability": 2.6, "serves_age_bands": ["0-14", "15-44"]},
    "psychiatric": {"capability": 2.0, "psychiatric_capability": {"value": 3.5, "uncertain": {"low": 3.0, "high": 4.0}},
                    "programs": ["psychiatric"], "beds_per_physician": 12},
}


class TownshipRow(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    population: float = Field(gt=0)
    villages: int = Field(ge=1)
    beds: float = Field(ge=0)
    physicians: float = Field(ge=0)
    distance_km: float | None = Field(None, ge=0, description="road distance from the county seat")
    position_km: tuple[float, float] | None = None
    kind: Literal["central", "general"] | None = Field(None, description="default: central if above the median "
                                                                         "population")
    county_seat: bool = False


class HospitalRow(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = ""
    kind: Literal["general", "tcm", "mch", "psychiatric"] = "general"
    beds: float = Field(ge=0)
    physicians: float = Field(ge=0)


class YearbookTable(Strict):
    name: SafeName
    description: str = ""
    year: int = Field(2022, ge=2000, le=2100)
    population: int | None = Field(None, ge=1000, description="default: the townships' sum")
    radius_km: float | None = Field(None, gt=0)
    area_km2: float | None = Field(None, gt=0)
    townships: list[TownshipRow] = Field(min_length=1)
    hospitals: list[HospitalRow] = Field(min_length=1)
    visits: float = Field(gt=0, description="outpatient visits a year in the county's institutions")
    admissions: float = Field(gt=0, description="admissions a year in the county's institutions")
    out_of_county_rate: float | None = Field(None, ge=0, le=1, description="out-of-county admission rate")
    source: str = ""


def read_table(path: str | Path) -> tuple[dict, str]:
    """The table as a tree: a YAML mapping, or CSV rows `section,name,field,value`."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        return read_yaml(path), str(path)
    tree: dict = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"cannot read the table: {exc}", path) from None
    if not rows or set(rows[0]) != {"section", "name", "field", "value"}:
        raise ConfigError("a CSV table needs the columns section,name,field,value", path)
    lists: dict[str, dict[str, dict]] = {"townships": {}, "hospitals": {}}
    for i, row in enumerate(rows, start=2):
        section, name, key, value = (row[k].strip() for k in ("section", "name", "field", "value"))
        parsed = yaml.safe_load(value) if value else None
        if section == "county":
            tree[key] = parsed
        elif section in ("township", "hospital"):
            lists[section + "s"].setdefault(name, {"name": name})[key] = parsed
        else:
            raise ConfigError(f"line {i}: unknown section '{section}'; allowed: county, township, hospital", path)
    tree.update({k: list(v.values()) for k, v in lists.items() if v})
    return tree, str(path)


def _positions(table: YearbookTable, detour: float) -> list[tuple[float, float] | None]:
    """Straight-line positions from road distances, spread around the seat (angle: assumption)."""
    out = []
    n = len(table.townships)
    for k, t in enumerate(table.townships):
        if t.position_km is not None:
            out.append(tuple(t.position_km))
        elif t.distance_km is not None:
            r, a = t.distance_km / detour, 2 * math.pi * k / n
            out.append((round(r * math.cos(a), 2), round(r * math.sin(a), 2)))
        else:
            out.append(None)
    return out


def county_config(table: YearbookTable, seed_tree: dict, extends: str) -> dict:
    """The config tree (an overlay of the seed) of the table's county."""
    pops = sorted(t.population for t in table.townships)
    median = pops[len(pops) // 2]
    seat = next((i for i, t in enumerate(table.townships) if t.county_seat or t.distance_km == 0), 0)
    positions = _positions(table, seed_tree["geography"].get("detour_factor", 1.3))
    radius = table.radius_km or (math.sqrt(table.area_km2 / math.pi) if table.area_km2 else None)
    if radius is None:
        far = [math.hypot(*p) for p in positions if p is not None]
        radius = max(far) * 1.1 if far else seed_tree["geography"]["radius_km"]
    towns = []
    for i, (t, pos) in enumerate(zip(table.townships, positions)):
        row = {"name": t.name, "kind": t.kind or ("central" if t.population >= median else "general"),
               "population_share": round(t.population / 1000.0, 3), "villages": t.villages,
               "physicians": t.physicians, "beds": t.beds}
        if i == seat:
            row["county_seat"] = True
        elif pos is not None:
            row["position_km"] = list(pos)
        towns.append(row)
    outside = [h for h in seed_tree["facilities"]["hospitals"] if h["tier"] != "county"]
    hospitals = [{"name": h.name, **({"label": h.label} if h.label else {}), "tier": "county",
                  "physicians": h.physicians, "beds": h.beds, **HOSPITAL_KINDS[h.kind]} for h in table.hospitals]
    return {"extends": extends, "name": table.name,
            "description": table.description or f"{table.name}: from a yearbook table ({table.year}); "
                                                 "behaviour inherited from the seed county",
            "horizon": {"start": f"{table.year}-01-01", "end": f"{table.year}-12-31"},
            "population.size": table.population or int(sum(t.population for t in table.townships)),
            "geography.radius_km": round(radius, 1),
            "townships": towns, "facilities.hospitals": hospitals + outside}


def calibration_file(table: YearbookTable, config_rel: str) -> dict:
    """A calibration of the new county: its own figures plus the seed's national targets."""
    general = next((i for i, h in enumerate(table.hospitals) if h.kind == "general"), 0)
    targets = {
        "visits_delivered_in_county": {"observed": table.visits, "se": round(0.02 * table.visits),
                                       "source": table.source or "the county's yearbook"},
        "admissions_delivered_in_county": {"observed": table.admissions, "se": round(0.02 * table.admissions),
                                           "source": table.source or "the county's yearbook"},
        "hospitalization_rate": {"observed": 0.19, "se": 0.02, "source": "national 17.5% 2022 [nhc-2022-bulletin]; "
                                 "residents' scheme 20.7% 2023 [nhsa-2023]"},
        "village_share_in_county_visits": {"observed": 0.3333, "se": 0.02,
                                           "source": "rural volumes 2022 [nhc-2022-rural-volumes]"},
        "township_share_in_county_visits": {"observed": 0.3151, "se": 0.02,
                                            "source": "rural volumes 2022 [nhc-2022-rural-volumes]"},
        "bed_occupancy_township": {"observed": 0.47, "se": 0.03, "source": "THC ≈47-49% (literature.md §1c)"},
        "in_county_visit_rate": {"observed": 0.92, "se": 0.02, "source": "national 'over 90%' 2024 (literature.md §7b)"},
    }
    if table.out_of_county_rate is not None:
        targets["out_of_county_admission_rate"] = {"observed": table.out_of_county_rate, "se": 0.02,
                                                   "source": table.source or "the county's yearbook"}
    bands = [f"population.age_bands.{i}" for i in range(4)]
    outflow = {"choice.wtp.constant.inpatient.in_province": {"low": -40000.0, "high": 40000.0}} \
        if table.out_of_county_rate is not None else {}          # only with a figure that pins it
    return {
        "name": f"calibrate_{table.name}",
        "description": f"{table.name}: its yearbook figures and national statistics (gradsim new-county)",
        "config": config_rel, "replications": 2, "seed": 1000, "scale": 0.1,
        "targets": targets,
        "parameters": {
            "outpatient_rate_multiplier": {"low": 0.5, "high": 2.0, "scales": [f"{b}.outpatient_rate" for b in bands]},
            "inpatient_rate_multiplier": {"low": 0.5, "high": 2.0, "scales": [f"{b}.inpatient_rate" for b in bands]},
            "choice.wtp.constant.outpatient.township": {"low": -5000.0, "high": 5000.0},
            "choice.wtp.constant.outpatient.county": {"low": -5000.0, "high": 5000.0},
            "choice.wtp.constant.inpatient.county": {"low": -30000.0, "high": 30000.0},
            **outflow,
            f"facilities.hospitals.{general}.nonresident_admissions": {"low": 0.0, "high": 40000.0, "start": 0.0},
        },
        "search": {"method": "nelder-mead", "max_evaluations": 150},
        "ensemble": {"samples": 30, "around": 0.1},
    }


def new_county(table_path: str | Path, config_out: str | Path, calibration_out: str | Path,
               seed: str | Path = "configs/seed_county.yaml", force: bool = False) -> tuple[Path, Path]:
    """Write the county config and its calibration file; ConfigError (exit 2) for a bad table."""
    from .config import load_config
    from .results import atomic_write_text

    raw, file = read_table(table_path)
    try:
        table = YearbookTable.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, YearbookTable, {}, file) from None
    names = [t.name for t in table.townships] + [h.name for h in table.hospitals]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"names must be unique; repeated: {', '.join(dup)}", file, "townships")
    config_out, calibration_out = Path(config_out), Path(calibration_out)
    for out in (config_out, calibration_out):
        if out.exists() and not force:
            raise ConfigError(f"{out} exists; choose another path or add --force", file)
    seed_tree, _ = load_tree(seed)
    tree = county_config(table, seed_tree, os.path.relpath(Path(seed).resolve(), config_out.resolve().parent))
    head = (f"# Written by `gradsim new-county {table_path}` from a yearbook table ({table.year}). County structure "
            "from the table; every behavioural parameter inherited from the seed (extends). Calibrate with "
            f"`gradsim calibrate {calibration_out}` (docs/new-county.md).\n")
    text = head + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, default_flow_style=None, width=120)
    config_out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(text, config_out)
    try:
        load_config(config_out)
    except ConfigError:
        config_out.unlink()
        raise
    cal = calibration_file(table, os.path.relpath(config_out.resolve(), calibration_out.resolve().parent))
    calibration_out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(f"# Calibration of {table.name}, written by gradsim new-county; targets and bounds: "
                      "docs/new-county.md.\n" + yaml.safe_dump(cal, sort_keys=False, allow_unicode=True),
                      calibration_out)
    return config_out, calibration_out
