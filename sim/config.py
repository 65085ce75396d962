"""Typed, validated schema of the county YAML, and loading with `extends` and dotted overrides.

Unknown keys, wrong types and out-of-range values raise ConfigError naming the file, the key
path and what is allowed. Files are read with yaml.safe_load only.
"""
from __future__ import annotations

import copy
import datetime as dt
import functools
from pathlib import Path
import unicodedata
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegInt = Annotated[int, Field(ge=0)]
SEVERITY_LEVELS = 4
MAX_WARMUP_DAYS = 730
MAX_YAML_VALUES = 1_000_000
MAX_MESSAGE_LINES = 20
MAX_VALUE_CHARS = 80
CARE_TYPES = ("outpatient", "inpatient")
PROGRAMS = ("general", "psychiatric")
SEVERITY_GROUPS = ("minor", "severe")
CareType = Literal["outpatient", "inpatient"]
Group = Literal["minor", "severe"]
Yuan = Annotated[float, Field(ge=0.0)]


class ConfigError(Exception):
    """A bad input: names the file, the key path and what is allowed."""

    def __init__(self, message: str, file: str | Path | None = None, path: str | None = None):
        self.file = str(file) if file is not None else None
        self.path = path
        self.detail = message
        where = ": ".join(x for x in (self.file, path) if x)
        super().__init__(f"{where}: {message}" if where else message)


def _admits_bool(tp: Any) -> bool:
    """Whether a field's type lets a YAML true/false through (bool, Any, or a nested model that checks itself)."""
    if tp is bool or tp is Any or (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return True
    return any(_admits_bool(a) for a in get_args(tp))


def _has_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, dict):
        return any(_has_bool(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_bool(v) for v in value)
    return False


class Strict(BaseModel):
    """Base of every schema (county, experiment, policy parameters): unknown keys, NaN, ±inf and
    true/false where a number belongs are errors."""
    model_config = ConfigDict(extra="forbid", validate_assignment=False, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if not _field_admits_bool(cls, info.field_name or "") and _has_bool(value):
            raise ValueError("must be a number or text, not true/false")
        return value


@functools.lru_cache(maxsize=None)
def _field_admits_bool(model: type[BaseModel], name: str) -> bool:
    """_admits_bool of a schema field's type, worked out once per field (validation asks for every value)."""
    field = model.model_fields.get(name)
    return field is None or _admits_bool(field.annotation)


MAX_NAME_BYTES = 100


def folder_safe_name(value: str) -> str:
    """A scenario or experiment name that is safe as a folder or file name in any script (Chinese is fine)."""
    if not value.strip():
        raise ValueError("must not be empty")
    if value in (".", ".."):
        raise ValueError("must not be '.' or '..' (they name folders, not a run)")
    if "/" in value or "\\" in value:
        raise ValueError("must not contain a slash or backslash (the name becomes a folder name)")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise ValueError("must not contain control characters (tabs, line breaks, invisible marks)")
    if len(value.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValueError(f"is too long for a file name: at most {MAX_NAME_BYTES} bytes in UTF-8 "
                         f"(about {MAX_NAME_BYTES // 3} Chinese characters)")
    return value


SafeName = Annotated[str, AfterValidator(folder_safe_name)]


def _per_severity(description: str) -> Any:
    return Field(min_length=SEVERITY_LEVELS, max_length=SEVERITY_LEVELS, description=description)


# ---------------------------------------------------------------- county and facilities
class Tier(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="tier identifier used everywhere else")
    label: str = ""
    level: NonNegInt = Field(description="order for referral up: higher level = higher tier")
    in_county: bool
    out_of_province: bool = Field(False, description="counts towards the out-of-province rates")
    primary_care: bool = Field(False, description="counts towards the primary-care visit share")
    outpatient_cost: list[Positive] = _per_severity("mean cost per outpatient visit by severity, yuan")
    inpatient_cost: list[Positive] | None = Field(None, description="mean cost per admission by severity, yuan")
    los_days: list[Positive] | None = Field(None, description="mean length of stay by severity, days")
    cost_sd_log: NonNeg = Field(0.5, description="log-normal dispersion of cost")
    visits_per_physician_day: Positive = Field(description="outpatient slots per physician per day")
    capability: Annotated[float, Field(ge=0.0, le=SEVERITY_LEVELS + 1)] = Field(
        description="default capability (highest severity treated without referral up)")
    travel_hours: NonNeg | None = Field(None, description="fixed travel time (tiers outside the county)")
    unlimited_capacity: bool = False
    nest: str | None = Field(None, description="nest of the nested logit (choice.nest_parameter); default: the tier")
    beds_per_physician: Positive | None = Field(None, description="staffing limit: open beds at most physicians x this")


class Township(Strict):
    name: str
    kind: Literal["central", "general"]
    county_seat: bool = False
    population_share: Positive = Field(description="relative population weight")
    villages: Annotated[int, Field(ge=1)]
    physicians: NonNeg
    beds: NonNeg
    position_km: tuple[float, float] | None = None


Capability = Annotated[float, Field(ge=0.0, le=SEVERITY_LEVELS + 1)]


class Hospital(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = ""
    tier: str
    physicians: NonNeg
    beds: NonNeg
    capability: Capability | None = None
    psychiatric_capability: Capability | None = Field(
        None, description="capability for psychiatric admissions (default: the general capability)")
    programs: list[Literal["general", "psychiatric"]] = ["general"]
    serves_age_bands: list[str] | None = None
    price_multiplier: Positive = 1.0
    travel_hours: NonNeg | None = Field(None, description="travel time from every village (outside the county; "
                                                          "default: the tier's)")
    beds_per_physician: Positive | None = Field(None, description="staffing limit on open beds (default: the tier's)")
    nonresident_admissions: NonNeg = Field(0.0, description="admissions a year of patients from outside the county")
    nonresident_visits: NonNeg = Field(0.0, description="outpatient visits a year of patients from outside the county")
    fixed_wait_days: NonNeg = Field(0.0, description="wait for care there that the county does not cause "
                                                     "(unlimited capacity outside the county)")


class Geography(Strict):
    radius_km: Positive
    speed_kmh: Positive
    detour_factor: Annotated[float, Field(ge=1.0)] = 1.3
    access_hours: NonNeg = 0.1
    village_radius_km: Positive = 5.0
    layout_seed: NonNegInt = 0


class Facilities(Strict):
    village_doctors_per_clinic: NonNeg
    village_capability: Annotated[float, Field(ge=0.0, le=SEVERITY_LEVELS + 1)] | None = None
    township_capability: dict[Literal["central", "general"], Annotated[float, Field(ge=0.0, le=SEVERITY_LEVELS + 1)]]
    hospitals: list[Hospital]
    choice_set: dict[str, Annotated[int, Field(ge=0)] | None] = Field(
        description="per tier: how many nearest facilities of that tier a village may choose (null = all)")


# ---------------------------------------------------------------- population and illness
class AgeBand(Strict):
    name: str
    share: Fraction
    chronic_prevalence: Fraction
    outpatient_rate: NonNeg = Field(description="outpatient episodes per person-year (non-chronic)")
    inpatient_rate: NonNeg = Field(description="inpatient episodes per person-year (non-chronic)")
    contract_rate: dict[Literal["chronic", "other"], Fraction] = Field(
        description="family-doctor contract rate")


class IncomeBand(Strict):
    name: str
    share: Fraction
    annual_income: Positive


class Population(Strict):
    size: Annotated[int, Field(ge=1)]
    age_bands: list[AgeBand] = Field(min_length=1)
    income_bands: list[IncomeBand] = Field(min_length=1)
    scheme_shares: dict[str, Fraction]


class Seasonality(Strict):
    amplitude: Annotated[float, Field(ge=0.0, lt=1.0)]
    peak_day_of_year: Annotated[int, Field(ge=1, le=366)]


class Illness(Strict):
    chronic_multiplier: dict[Literal["outpatient", "inpatient"], NonNeg]
    seasonality: Seasonality
    severity: dict[Literal["outpatient", "inpatient"], list[Fraction]]
    psychiatric_share: Fraction = Field(description="share of inpatient episodes that are psychiatric")
    emergency_share: list[Fraction] = Field(
        default_factory=lambda: [0.0] * SEVERITY_LEVELS, min_length=SEVERITY_LEVELS, max_length=SEVERITY_LEVELS,
        description="share of general inpatient episodes that are emergencies, by severity (nearest capable facility)")


class ProgramSpec(Strict):
    los_days: Positive
    cost_per_admission: Positive


class Care(Strict):
    los_sd_log: NonNeg
    max_los_days: Annotated[int, Field(ge=1, le=3650)]
    psychiatric: ProgramSpec


# ---------------------------------------------------------------- insurance
class Benefit(Strict):
    deductible: NonNeg = Field(0.0, description="起付线 per episode, yuan")
    ratio: Fraction = Field(description="报销比例 on covered cost above the deductible")
    covered_share: Fraction = Field(1.0, description="share of the bill within policy scope (政策范围内)")


class Schedule(Strict):
    inpatient: dict[str, Benefit]
    outpatient: dict[str, Benefit]
    inpatient_annual_cap: NonNeg = Field(description="封顶线, yuan per person-year")
    outpatient_annual_cap: NonNeg = Field(description="门诊统筹 cap, yuan per person-year")
    unfiled_penalty: dict[str, Fraction] = Field(
        default_factory=dict, description="ratio points lost without a filed referral, per tier")


class Insurance(Strict):
    schemes: dict[str, Schedule]
    catastrophic_threshold: Fraction = Field(description="annual OOP share of income counted catastrophic")


# ---------------------------------------------------------------- behaviour
def _both_groups(description: str) -> Any:
    return Field(description=description)


class Wtp(Strict):
    """Willingness to pay, yuan, of a resident of mean income: every attribute of the utility."""
    constant: dict[CareType, dict[str, float]] = Field(description="tier constants, yuan (fitted)")
    travel_per_hour: dict[CareType, dict[Group, Yuan]] = Field(description="yuan to save an hour of travel")
    wait_per_day: dict[CareType, Yuan] = Field(description="yuan to save a day of expected waiting")
    capability: dict[CareType, dict[Group, Yuan]] = Field(description="yuan per unit of a facility's capability")
    shortfall: dict[CareType, Yuan] = Field(description="yuan to avoid a facility one level below the illness")
    trust: dict[CareType, Yuan] = Field(description="yuan per unit of trust (0-1) above the initial mean")
    contract_primary: dict[CareType, Yuan] = Field(description="yuan: contracted residents' tie to primary care")
    referral_follow: dict[CareType, Yuan] = Field(description="yuan: following a referral to where it points")


class Choice(Strict):
    cost_per_yuan: dict[CareType, dict[Group, Annotated[float, Field(lt=0.0)]]] = Field(
        description="utility per yuan out of pocket (the logit scale), by care type and severity group")
    severe_from: Annotated[int, Field(ge=1, le=SEVERITY_LEVELS + 1)] = Field(
        3, description="severity level from which an episode counts as severe")
    income_elasticity: NonNeg
    wtp: Wtp
    nest_parameter: dict[str, Annotated[float, Field(gt=0.0, le=1.0)]] = Field(
        default_factory=dict, description="nested logit: per nest, 1 = no correlation (multinomial logit)")
    max_tries_per_day: Annotated[int, Field(ge=1, le=20)]
    patience_days: dict[Literal["outpatient", "inpatient"], NonNegInt]
    wait_memory_days: Positive


class Referral(Strict):
    filing_hassle: dict[CareType, Yuan] = Field(
        description="yuan-equivalent of the paperwork and approval of filing a referral (转诊备案)")
    down_probability: dict[str, Fraction]
    up_slope: Positive = Field(1.0, description="referral probability per level of capability shortfall")


class TrustSpec(Strict):
    initial: dict[str, Fraction]
    initial_sd: NonNeg
    learning_rate: Fraction
    served: Fraction
    per_wait_day: Annotated[float, Field(le=0.0)]
    rejected: Fraction
    referred_up: Fraction


class Horizon(Strict):
    start: dt.date
    end: dt.date
    warmup_days: Annotated[int, Field(ge=0, le=MAX_WARMUP_DAYS)] = 60
    start_state: Literal["warmup", "steady"] = Field(
        "warmup", description="warmup: simulate warmup_days before start; steady: draw the stationary state "
                              "(beds, background load) and simulate only a few days (sim.steady)")


class CountyConfig(Strict):
    name: str
    description: str = ""
    horizon: Horizon
    geography: Geography
    tiers: list[Tier] = Field(min_length=1)
    townships: list[Township] = Field(min_length=1)
    facilities: Facilities
    population: Population
    illness: Illness
    care: Care
    insurance: Insurance
    choice: Choice
    referral: Referral
    trust: TrustSpec

    def tier_names(self) -> list[str]:
        return [t.name for t in self.tiers]

    def tier(self, name: str) -> Tier:
        return next(t for t in self.tiers if t.name == name)


# ---------------------------------------------------------------- YAML reading and merging
def shorten(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """repr of a value cut to `limit` characters, so that no message outgrows a screen."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _safe_loader_base() -> type:
    """yaml.SafeLoader's parts, with libyaml's scanner and parser where PyYAML was built with it (the seed
    county reads in 6 ms instead of 34) but always PyYAML's own composer: libyaml's composer recurses
    in C and crashes the interpreter on a deeply nested file, where PyYAML's raises RecursionError,
    which read_yaml reports."""
    try:
        from yaml._yaml import CParser
    except ImportError:
        return yaml.SafeLoader
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    class CParsedSafeLoader(Composer, SafeConstructor, Resolver, CParser):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return CParsedSafeLoader


class _Loader(_safe_loader_base()):
    """yaml.safe_load's loader that leaves an impossible date (2023-02-29, month 13) as text for the
    schema to reject with its key, instead of failing inside PyYAML."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _expanded_size(node: yaml.Node, limit: int) -> int:
    """How many values a composed YAML document holds once every alias is expanded (stops past limit)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConfigError("an alias (*name) refers to its own anchor (&name): the document has no end")
        open_nodes.add(key)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            children = n.value
        elif isinstance(n, yaml.MappingNode):
            children = [x for pair in n.value for x in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > limit:
                break
        open_nodes.discard(key)
        sizes[key] = total
        return total

    return size(node)


def _decode(raw: bytes, path: Path) -> str:
    """UTF-8 text (a byte-order mark is fine); anything else is refused with what to do about it."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError("the file is saved as UTF-16 ('Unicode'); save it as UTF-8", file=path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        try:
            raw.decode("gb18030")
            guess = " It looks like GBK/GB18030, the default of Chinese Windows."
        except UnicodeDecodeError:
            guess = ""
        raise ConfigError(f"the file is not UTF-8 text (line {line}).{guess} Save it as UTF-8 "
                          "(e.g. Notepad: Save as, Encoding: UTF-8; 请另存为 UTF-8 编码)", file=path) from None


def read_yaml(path: str | Path) -> dict:
    """yaml.safe_load a UTF-8 mapping; syntax errors, other encodings and alias bombs become ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("file not found" if not path.exists() else "is a folder, not a YAML file", file=path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror}", file=path) from None
    loader = _Loader(_decode(raw, path))
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, MAX_YAML_VALUES) > MAX_YAML_VALUES:
            raise ConfigError(f"its aliases (*name) expand to more than {MAX_YAML_VALUES:,} values; "
                              "refused (a config needs far fewer)", file=path)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = str(getattr(exc, "problem", None) or exc)
        raise ConfigError(f"malformed YAML: {where}{problem[:200]}", file=path) from None
    except RecursionError:
        raise ConfigError("nested too deeply (more levels of lists or mappings than Python can read)",
                          file=path) from None
    except ConfigError as exc:
        if exc.file is None:
            raise ConfigError(exc.detail, file=path) from None
        raise
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"the top level must be a mapping of keys, got {type(data).__name__}", file=path)
    return data


def split_path(path: str) -> list[str | int]:
    """The keys of a dotted path: "a.0.b" -> ["a", 0, "b"]."""
    return [int(p) if p.isdigit() else p for p in str(path).split(".")]


def set_dotted(tree: dict, dotted: str, value: Any, file: str | Path | None = None) -> None:
    """Set tree[a][b][0][c] = value for dotted 'a.b.0.c'; every step but the last must exist."""
    keys = split_path(dotted)
    node: Any = tree
    for i, key in enumerate(keys[:-1]):
        here = ".".join(map(str, keys[: i + 1]))
        if isinstance(node, list) and isinstance(key, int):
            if key >= len(node):
                raise ConfigError(f"index {key} is out of range (list has {len(node)} items)", file, here)
            node = node[key]
        elif isinstance(node, dict):
            if key not in node:
                allowed = ", ".join(map(str, node)) or "(none)"
                raise ConfigError(f"unknown key '{key}'; allowed here: {allowed}", file, here)
            node = node[key]
        else:
            raise ConfigError("cannot descend into a value that is not a mapping or list", file, here)
    last = keys[-1]
    if isinstance(node, list) and isinstance(last, int):
        if last >= len(node):
            raise ConfigError(f"index {last} is out of range (list has {len(node)} items)", file, dotted)
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ConfigError("cannot set a key inside a value that is not a mapping or list", file, dotted)


def get_dotted(tree: Any, dotted: str) -> Any:
    node = tree
    for key in split_path(dotted):
        node = node[key]
    return node


def deep_merge(base: dict, over: dict, origin: dict[str, str], file: str, prefix: str = "") -> dict:
    """Merge `over` into a copy of `base`; dotted keys are paths; record each leaf's file.

    `origin` keeps keys in the order they were last set, so the newest setter of a path is last."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        key = str(key)
        path = f"{prefix}{key}"
        if "." in key:
            set_dotted(out, key, copy.deepcopy(value), file)
            origin.pop(path, None)
            origin[path] = file
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value, origin, file, f"{path}.")
        else:
            out[key] = copy.deepcopy(value)
            origin.pop(path, None)
            origin[path] = file
    return out


def load_tree(path: str | Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, dict[str, str]]:
    """Read a config YAML, following `extends` (relative to the file); returns tree and provenance."""
    path = Path(path).resolve()
    if path in _seen:
        raise ConfigError("`extends` forms a cycle", file=path, path="extends")
    data = read_yaml(path)
    parent = data.pop("extends", None)
    origin: dict[str, str] = {}
    if parent is None:
        for key in data:
            origin[str(key)] = str(path)
        return data, origin
    if not isinstance(parent, str):
        raise ConfigError("must be the path of another config file", file=path, path="extends")
    parent_path = (path.parent / parent).resolve()
    if not parent_path.is_file():
        raise ConfigError(f"names a file that does not exist: {parent_path}", file=path, path="extends")
    base, origin = load_tree(parent_path, _seen + (path,))
    return deep_merge(base, data, origin, str(path)), origin


def setter_of(path: str, origin: dict[str, str]) -> tuple[str, str] | None:
    """(file, key) of the newest key set at `path`, above it or anywhere under it.

    A check on `population.age_bands` thus names the experiment that changed
    `population.age_bands.0.share`, not the base config that holds the rest of the list."""
    found = None
    for key, file in origin.items():
        if key == path or path.startswith(key + ".") or key.startswith(path + "."):
            found = (file, key)
    return found


def file_for(path: str, origin: dict[str, str], default: str | None) -> str | None:
    """The file that last set `path`, a key above it or a key under it."""
    found = setter_of(path, origin)
    return found[0] if found else default


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str] | None:
    """Field names of the pydantic model that owns the last key of `loc`."""
    node: Any = model
    for key in loc[:-1]:
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(key))
            if field is None:
                return None
            node = field.annotation
        else:
            args = getattr(node, "__args__", ())
            node = args[-1] if args else None
        while getattr(node, "__origin__", None) is Annotated:
            node = node.__origin__
        args = [a for a in getattr(node, "__args__", ()) if a is not type(None)]
        if getattr(node, "__origin__", None) is None and args and not isinstance(node, type):
            node = args[0]
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return None


def format_validation_error(exc: ValidationError, model: type[BaseModel], origin: dict[str, str],
                            default_file: str | None) -> ConfigError:
    """One ConfigError listing each problem as `file: key.path: what is wrong / allowed`."""
    lines = []
    for err in exc.errors()[:12]:
        loc = tuple(err["loc"])
        path = ".".join(map(str, loc)) or "(top level)"
        file = file_for(path, origin, default_file)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            msg = f"unknown key '{loc[-1]}'" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            text = err["msg"].removeprefix("Value error, ")
            msg = f"{text} (got {shorten(err.get('input'))})"
        lines.append(f"{file}: {path}: {msg}" if file else f"{path}: {msg}")
    first = exc.errors()[0]
    first_path = ".".join(map(str, first["loc"]))
    err = ConfigError("\n  ".join(lines), file=None, path=None)
    err.path = first_path
    err.file = file_for(first_path, origin, default_file)
    return err


def validate_county(tree: dict, origin: dict[str, str], default_file: str | None) -> CountyConfig:
    """Schema validation, then the cross-references a schema cannot express."""
    try:
        cfg = CountyConfig.model_validate(tree)
    except ValidationError as exc:
        raise format_validation_error(exc, CountyConfig, origin, default_file) from None
    check_references(cfg, origin, default_file)
    return cfg


def check_references(cfg: CountyConfig, origin: dict[str, str], default_file: str | None) -> None:
    tiers = cfg.tier_names()
    bands = [b.name for b in cfg.population.age_bands]

    def fail(path: str, msg: str) -> None:
        found = setter_of(path, origin)
        if found and found[1].startswith(path + "."):
            msg += f" (after the change of {found[1]})"
        raise ConfigError(msg, found[0] if found else default_file, path)

    def need_tier(path: str, name: str) -> None:
        if name not in tiers:
            fail(path, f"unknown tier '{name}'; allowed: {', '.join(tiers)}")

    for needed in ("village", "township"):
        if needed not in tiers:
            fail("tiers", f"a tier named '{needed}' is required (village clinics and township centres)")
    if len(set(tiers)) != len(tiers):
        fail("tiers", "tier names must be unique")
    for i, t in enumerate(cfg.tiers):
        if t.inpatient_cost is not None and t.los_days is None:
            fail(f"tiers.{i}.los_days", "required when inpatient_cost is given")
        if not t.in_county and t.travel_hours is None:
            fail(f"tiers.{i}.travel_hours", "required for a tier outside the county")
    for i, h in enumerate(cfg.facilities.hospitals):
        need_tier(f"facilities.hospitals.{i}.tier", h.tier)
        for b in h.serves_age_bands or []:
            if b not in bands:
                fail(f"facilities.hospitals.{i}.serves_age_bands", f"unknown age band '{b}'; allowed: {', '.join(bands)}")
    names = [h.name for h in cfg.facilities.hospitals] + [t.name for t in cfg.townships]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        fail("facilities.hospitals", f"facility names must be unique; repeated: {', '.join(sorted(dup))}")
    for key in cfg.facilities.choice_set:
        need_tier(f"facilities.choice_set.{key}", key)
    seats = [t.name for t in cfg.townships if t.county_seat]
    if len(seats) != 1:
        fail("townships", f"exactly one township must have county_seat: true (found {len(seats)})")
    for field_name in Wtp.model_fields:
        table = getattr(cfg.choice.wtp, field_name)
        for care in CARE_TYPES:
            if care not in table:
                fail(f"choice.wtp.{field_name}", f"needs a value for {care} (both outpatient and inpatient)")
            if isinstance(table[care], dict) and field_name != "constant":
                for group in SEVERITY_GROUPS:
                    if group not in table[care]:
                        fail(f"choice.wtp.{field_name}.{care}", f"needs a value for {group} (both minor and severe)")
    for care, table in cfg.choice.wtp.constant.items():
        for key in table:
            need_tier(f"choice.wtp.constant.{care}.{key}", key)
    for care in CARE_TYPES:
        if care not in cfg.choice.cost_per_yuan or set(cfg.choice.cost_per_yuan[care]) != set(SEVERITY_GROUPS):
            fail(f"choice.cost_per_yuan.{care}", "needs minor and severe values for outpatient and inpatient")
        if care not in cfg.referral.filing_hassle:
            fail("referral.filing_hassle", f"needs a value for {care}")
    nests = {t.nest or t.name for t in cfg.tiers}
    for key in cfg.choice.nest_parameter:
        if key not in nests:
            fail(f"choice.nest_parameter.{key}", f"unknown nest '{key}'; nests: {', '.join(sorted(nests))}")
    for i, h in enumerate(cfg.facilities.hospitals):
        spec = cfg.tier(h.tier)
        if h.travel_hours is not None and spec.in_county:
            fail(f"facilities.hospitals.{i}.travel_hours", "only for facilities outside the county (in the county "
                 "travel follows from positions)")
        if (h.nonresident_admissions or h.nonresident_visits or h.fixed_wait_days) and spec.unlimited_capacity \
                and (h.nonresident_admissions or h.nonresident_visits):
            fail(f"facilities.hospitals.{i}", "non-resident load needs finite capacity (the tier has unlimited capacity)")
    for care, probs in cfg.illness.severity.items():
        if len(probs) != SEVERITY_LEVELS or abs(sum(probs) - 1.0) > 1e-6:
            fail(f"illness.severity.{care}", f"{SEVERITY_LEVELS} probabilities summing to 1 (got {probs})")
    for what, items in (("age_bands", cfg.population.age_bands), ("income_bands", cfg.population.income_bands)):
        total = sum(x.share for x in items)
        if abs(total - 1.0) > 1e-6:
            fail(f"population.{what}", f"shares must sum to 1 (they sum to {total:.4f})")
    total = sum(cfg.population.scheme_shares.values())
    if abs(total - 1.0) > 1e-6:
        fail("population.scheme_shares", f"shares must sum to 1 (they sum to {total:.4f})")
    for scheme in cfg.population.scheme_shares:
        if scheme not in cfg.insurance.schemes:
            fail(f"population.scheme_shares.{scheme}",
                 f"no insurance schedule for scheme '{scheme}'; schedules: {', '.join(cfg.insurance.schemes)}")
    for sname, sched in cfg.insurance.schemes.items():
        for care in CARE_TYPES:
            for key in getattr(sched, care):
                need_tier(f"insurance.schemes.{sname}.{care}.{key}", key)
        for key in sched.unfiled_penalty:
            need_tier(f"insurance.schemes.{sname}.unfiled_penalty.{key}", key)
    for key in cfg.referral.down_probability:
        need_tier(f"referral.down_probability.{key}", key)
    for key in cfg.trust.initial:
        need_tier(f"trust.initial.{key}", key)
    for t in tiers:
        if t not in cfg.trust.initial:
            fail("trust.initial", f"missing tier '{t}'; every tier needs an initial trust")
    if cfg.horizon.end < cfg.horizon.start:
        fail("horizon.end", f"must not be before horizon.start ({cfg.horizon.start})")


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> CountyConfig:
    """Read, merge (`extends`, then dotted `overrides`) and validate a county config."""
    tree, origin = load_tree(path)
    return config_from_tree(tree, origin, str(Path(path)), overrides)


def config_from_tree(tree: dict, origin: dict[str, str], file: str | None,
                     overrides: dict[str, Any] | None = None, overrides_file: str | None = None) -> CountyConfig:
    """Merge dotted overrides and validate; uncertain values (sim/uncertainty.py) count at their central value."""
    from .uncertainty import split_ranges

    if overrides:
        tree = deep_merge(tree, overrides, origin, overrides_file or "overrides")
    tree, _ = split_ranges(tree, file_of=lambda path: file_for(path, origin, file))
    return validate_county(tree, origin, file)
