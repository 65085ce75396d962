"""gradsim new-county: a yearbook table becomes a county config that passes `gradsim check` and runs,
inherits the seed's behaviour, and comes with a calibration file that loads; bad tables exit 2."""
from __future__ import annotations

from pathlib import Path

import yaml

import sim
from sim.calibration import load_calibration
from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "configs" / "example_other_county_yearbook.yaml"


def _new(tmp_path: Path, table: Path = TABLE) -> tuple[int, Path, Path]:
    cfg, cal = tmp_path / "configs" / "county.yaml", tmp_path / "experiments" / "calibrate.yaml"
    code = main(["new-county", str(table), "--config", str(cfg), "--calibration", str(cal),
                 "--seed", str(ROOT / "configs" / "seed_county.yaml")])
    return code, cfg, cal


def test_yearbook_table_gives_a_valid_county_that_runs(tmp_path, capsys):
    code, cfg_path, cal_path = _new(tmp_path)
    assert code == 0
    assert main(["check", str(cfg_path)]) == 0
    cfg, seed = sim.load_config(cfg_path), sim.load_config(ROOT / "configs" / "seed_county.yaml")
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    assert cfg.population.size == sum(t["population"] for t in table["townships"])
    assert [t.name for t in cfg.townships] == [t["name"] for t in table["townships"]]
    assert sum(t.physicians for t in cfg.townships) == sum(t["physicians"] for t in table["townships"])
    assert cfg.choice.wtp == seed.choice.wtp and cfg.population.age_bands == seed.population.age_bands
    county = [h for h in cfg.facilities.hospitals if h.tier == "county"]
    assert [h.beds for h in county] == [h["beds"] for h in table["hospitals"]]
    exp = {"name": "new", "config": str(cfg_path), "replications": 1, "scale": 0.03, "seed": 1,
           "horizon": {"start": "2022-01-01", "end": "2022-01-31", "warmup_days": 10}}
    res = sim.run_experiment(exp, out=tmp_path / "res", workers=1, base_dir=tmp_path)
    ind = res.summary[(res.summary.indicator == "visits_delivered_in_county") & (res.summary.period == "all")]
    assert float(ind["mean"].iloc[0]) > 0
    cal = load_calibration(cal_path)
    assert {t.key for t in cal.targets} >= {"visits_delivered_in_county", "admissions_delivered_in_county",
                                            "out_of_county_admission_rate"}
    assert len(cal.targets) > len(cal.parameters)


def test_a_csv_table_gives_the_same_county(tmp_path):
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    rows = ["section,name,field,value"]
    for key in ("name", "year", "area_km2", "visits", "admissions", "out_of_county_rate"):
        rows.append(f"county,,{key},{table[key]}")
    for section, items in (("township", table["townships"]), ("hospital", table["hospitals"])):
        for item in items:
            rows += [f"{section},{item['name']},{k},{v}" for k, v in item.items() if k != "name"]
    csv_path = tmp_path / "table.csv"
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, cfg_path, _ = _new(tmp_path / "csv", csv_path)
    _, yaml_cfg, _ = _new(tmp_path / "yaml")
    assert code == 0
    a, b = sim.load_config(cfg_path), sim.load_config(yaml_cfg)
    assert a.townships == b.townships and a.facilities.hospitals == b.facilities.hospitals


def test_bad_tables_exit_2_naming_the_key_and_write_nothing(tmp_path, capsys):
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    table["townships"][2]["villages"] = 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    code, cfg, cal = _new(tmp_path, bad)
    assert code == 2 and "townships.2.villages" in capsys.readouterr().err
    assert not cfg.exists() and not cal.exists()
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    table["hospitals"][0]["kind"] = "teaching"
    bad.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    assert _new(tmp_path, bad)[0] == 2 and "hospitals.0.kind" in capsys.readouterr().err


def test_a_table_without_a_name_exits_2_naming_it(tmp_path, capsys):
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    del table["name"]
    bad = tmp_path / "noname.yaml"
    bad.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    assert main(["new-county", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "name:" in err and "Traceback" not in err
