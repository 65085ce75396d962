"""The parameter table of a county config: one row per leaf parameter, with its source.

    python -m sim.paramtable configs/seed_county.yaml > docs/parameters.md

Each row gives the dotted key path, the value, the unit, the meaning and the source. Unit and
meaning come from the pydantic Field descriptions of sim/config.py where there are any, and
from the small tables below otherwise. The source is the YAML comment on the key's own line
(for a flow mapping `{...}` or list `[...]`, the comment on its line(s) applies to every key
inside); failing that, the nearest comment block above it in the same block, then the comment
of the enclosing key (or the block above that), and so on up to, not across, the top-level
keys. Such inherited sources are marked with an arrow (↑). The end-of-line comment of an
earlier key is not inherited (it is about that key's value), except through an explicit
`# same`, which is replaced by the source it refers to.

The comment finder reads the raw text line by line and tracks indentation: it understands
block mappings, block lists ("- "), flow collections (also over several lines) and comments,
which is all the county configs use. Anything it does not understand gets an empty source:
the table is never refused because of a comment.
"""
from __future__ import annotations

import datetime as dt
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml

Path_ = tuple  # a key path: str for mapping keys, int for list positions

INHERITED = "↑ "

# ------------------------------------------------------------------------------------------
# Units and meanings. Keys are schema patterns: list items as `[]`, free mapping keys as `*`.
# UNITS covers every field; MEANINGS only the fields that have no pydantic description.
# ------------------------------------------------------------------------------------------
PER_SEVERITY = "list of 4, severity 1..4"

UNITS: dict[str, str] = {
    "name": "text", "description": "text",
    "horizon.start": "date", "horizon.end": "date", "horizon.warmup_days": "days",
    "horizon.start_state": "warmup / steady",
    "geography.radius_km": "km", "geography.speed_kmh": "km/h", "geography.detour_factor": "ratio",
    "geography.access_hours": "hours", "geography.village_radius_km": "km", "geography.layout_seed": "integer",
    "tiers[].name": "text", "tiers[].label": "text", "tiers[].level": "integer",
    "tiers[].in_county": "true/false", "tiers[].out_of_province": "true/false",
    "tiers[].primary_care": "true/false",
    "tiers[].outpatient_cost": f"yuan per visit; {PER_SEVERITY}",
    "tiers[].inpatient_cost": f"yuan per admission; {PER_SEVERITY}",
    "tiers[].los_days": f"days; {PER_SEVERITY}",
    "tiers[].cost_sd_log": "sd of log cost", "tiers[].visits_per_physician_day": "visits per physician-day",
    "tiers[].capability": "severity level (0-5)", "tiers[].travel_hours": "hours",
    "tiers[].unlimited_capacity": "true/false", "tiers[].nest": "nest name",
    "tiers[].beds_per_physician": "beds per physician",
    "townships[].name": "text", "townships[].kind": "central / general", "townships[].county_seat": "true/false",
    "townships[].population_share": "relative weight", "townships[].villages": "count",
    "townships[].physicians": "physicians", "townships[].beds": "beds", "townships[].position_km": "km (x, y)",
    "facilities.village_doctors_per_clinic": "staff per clinic",
    "facilities.village_capability": "severity level (0-5)",
    "facilities.township_capability.*": "severity level (0-5)",
    "facilities.hospitals[].name": "text", "facilities.hospitals[].label": "text",
    "facilities.hospitals[].tier": "tier name", "facilities.hospitals[].physicians": "physicians",
    "facilities.hospitals[].beds": "beds", "facilities.hospitals[].capability": "severity level (0-5)",
    "facilities.hospitals[].programs": "list of programmes",
    "facilities.hospitals[].serves_age_bands": "list of age bands",
    "facilities.hospitals[].price_multiplier": "multiplier",
    "facilities.hospitals[].psychiatric_capability": "severity level (0-5)",
    "facilities.hospitals[].travel_hours": "hours",
    "facilities.hospitals[].nonresident_admissions": "admissions per year",
    "facilities.hospitals[].nonresident_visits": "visits per year",
    "facilities.hospitals[].fixed_wait_days": "days",
    "facilities.hospitals[].beds_per_physician": "beds per physician",
    "facilities.choice_set.*": "facilities (null = all)",
    "population.size": "residents",
    "population.age_bands[].name": "text", "population.age_bands[].share": "fraction",
    "population.age_bands[].chronic_prevalence": "fraction",
    "population.age_bands[].outpatient_rate": "episodes per person-year",
    "population.age_bands[].inpatient_rate": "episodes per person-year",
    "population.age_bands[].contract_rate.*": "fraction",
    "population.income_bands[].name": "text", "population.income_bands[].share": "fraction",
    "population.income_bands[].annual_income": "yuan per person-year",
    "population.scheme_shares.*": "fraction",
    "illness.chronic_multiplier.*": "multiplier", "illness.seasonality.amplitude": "fraction of mean",
    "illness.seasonality.peak_day_of_year": "day of year (1-366)",
    "illness.severity.*": f"fractions; {PER_SEVERITY}", "illness.psychiatric_share": "fraction",
    "illness.emergency_share": f"fractions; {PER_SEVERITY}",
    "care.los_sd_log": "sd of log length of stay",
    "care.max_los_days": "days", "care.psychiatric.los_days": "days",
    "care.psychiatric.cost_per_admission": "yuan per admission",
    "insurance.catastrophic_threshold": "fraction of annual income",
    "insurance.schemes.*.inpatient.*.deductible": "yuan per admission",
    "insurance.schemes.*.inpatient.*.ratio": "fraction",
    "insurance.schemes.*.outpatient.*.deductible": "yuan per visit",
    "insurance.schemes.*.outpatient.*.ratio": "fraction",
    "insurance.schemes.*.inpatient.*.covered_share": "fraction of the bill",
    "insurance.schemes.*.outpatient.*.covered_share": "fraction of the bill",
    "insurance.schemes.*.inpatient_annual_cap": "yuan per person-year",
    "insurance.schemes.*.outpatient_annual_cap": "yuan per person-year",
    "insurance.schemes.*.unfiled_penalty.*": "fraction (ratio points / 100)",
    "choice.cost_per_yuan.*.*": "utility per yuan", "choice.severe_from": "severity level",
    "choice.income_elasticity": "elasticity",
    "choice.wtp.constant.*.*": "yuan", "choice.wtp.travel_per_hour.*.*": "yuan per hour",
    "choice.wtp.wait_per_day.*": "yuan per day", "choice.wtp.capability.*.*": "yuan per capability unit",
    "choice.wtp.shortfall.*": "yuan per severity level short", "choice.wtp.trust.*": "yuan per unit trust",
    "choice.wtp.contract_primary.*": "yuan", "choice.wtp.referral_follow.*": "yuan",
    "choice.nest_parameter.*": "0-1 (1 = multinomial logit)",
    "choice.max_tries_per_day": "rounds", "choice.patience_days.*": "days",
    "choice.wait_memory_days": "days",
    "referral.filing_hassle.*": "yuan", "referral.down_probability.*": "probability",
    "referral.up_slope": "probability per severity level",
    "trust.initial.*": "trust (0-1)", "trust.initial_sd": "trust (0-1)", "trust.learning_rate": "fraction per experience",
    "trust.served": "trust signal (0-1)", "trust.per_wait_day": "trust signal per day waited",
    "trust.rejected": "trust signal (0-1)", "trust.referred_up": "trust signal (0-1)",
}

MEANINGS: dict[str, str] = {
    "name": "name of the county config", "description": "what the config describes",
    "horizon.start": "first recorded day (indicators count from here)",
    "horizon.end": "last recorded day",
    "horizon.warmup_days": "days simulated before horizon.start so that beds start near steady state; not recorded",
    "geography.radius_km": "radius of the (disc-shaped, synthetic) county",
    "geography.speed_kmh": "average travel speed",
    "geography.detour_factor": "road distance / straight-line distance",
    "geography.access_hours": "fixed time added to every in-county trip (getting started, registration)",
    "geography.village_radius_km": "villages lie within this distance of their township seat",
    "geography.layout_seed": "seed of the synthetic positions (same for every replication)",
    "tiers[].label": "display label",
    "tiers[].in_county": "inside the county: counts towards the in-county rates and fund share",
    "tiers[].unlimited_capacity": "no slot or bed limit (the out-of-province destination)",
    "townships[].name": "township (乡镇) name; also the name of its health centre",
    "townships[].kind": "central (中心卫生院) or general (一般卫生院) township health centre",
    "townships[].county_seat": "the county-seat town: county hospitals are located here",
    "townships[].villages": "number of villages, each with one village clinic (村卫生室)",
    "townships[].physicians": "practising (assistant) physicians of the township health centre",
    "townships[].beds": "beds of the township health centre",
    "townships[].position_km": "position of the township seat (otherwise drawn)",
    "facilities.village_doctors_per_clinic": "village doctors (乡村医生) per clinic: sets its daily visit slots",
    "facilities.village_capability": "capability of every village clinic (overrides the tier default)",
    "facilities.township_capability.*": "capability of township health centres by kind (overrides the tier default)",
    "facilities.hospitals[].name": "facility identifier",
    "facilities.hospitals[].label": "display label",
    "facilities.hospitals[].tier": "tier the hospital belongs to",
    "facilities.hospitals[].physicians": "practising physicians: sets daily outpatient slots",
    "facilities.hospitals[].beds": "beds (open beds)",
    "facilities.hospitals[].capability": "highest severity treated without referral up (null = tier default)",
    "facilities.hospitals[].programs": "inpatient programmes offered (general, psychiatric)",
    "facilities.hospitals[].serves_age_bands": "age bands the hospital serves (null = all)",
    "facilities.hospitals[].price_multiplier": "multiplies the tier's mean costs",
    "population.size": "resident population (full scale)",
    "population.age_bands[].name": "age band",
    "population.age_bands[].share": "share of residents in the band",
    "population.age_bands[].chronic_prevalence": "share of the band with a chronic condition",
    "population.income_bands[].name": "income band",
    "population.income_bands[].share": "share of residents in the band",
    "population.income_bands[].annual_income": "per-capita disposable income of the band",
    "population.scheme_shares.*": "share of residents insured by the scheme",
    "illness.chronic_multiplier.*": "episode-rate multiplier for residents with a chronic condition",
    "illness.seasonality.amplitude": "relative amplitude of the cosine seasonal factor",
    "illness.seasonality.peak_day_of_year": "day of year of the seasonal peak",
    "illness.severity.*": "shares of new episodes by severity level",
    "care.los_sd_log": "log-normal dispersion of length of stay",
    "care.max_los_days": "longest possible stay (draws are cut here)",
    "care.psychiatric.los_days": "mean length of stay of a psychiatric admission",
    "care.psychiatric.cost_per_admission": "mean cost of a psychiatric admission",
    "insurance.schemes.*.inpatient.*.ratio": "报销比例 (reimbursement ratio) above the deductible",
    "insurance.schemes.*.outpatient.*.ratio": "报销比例 (reimbursement ratio) above the deductible",
    "choice.severe_from": "severity level from which the severe group's weights apply",
    "choice.income_elasticity": "out-of-pocket yuan weigh (income / mean income) to minus this power",
    "choice.wtp.constant.*.*": "tier constant: willingness to pay for the tier beyond its attributes",
    "choice.nest_parameter.*": "nested logit parameter of the nest (lower = alternatives in it closer substitutes)",
    "choice.max_tries_per_day": "choice rounds per day before an episode waits for tomorrow",
    "choice.patience_days.*": "days an unserved episode keeps trying before it is unmet",
    "choice.wait_memory_days": "time constant of the expected-wait average",
    "referral.filing_hassle.*": "non-price cost of filing a referral (备案): paperwork, approval",
    "referral.down_probability.*": "probability that a discharge from the tier is referred down (下转)",
    "trust.initial.*": "mean initial trust in the tier",
    "trust.initial_sd": "spread of initial trust between residents",
    "trust.learning_rate": "weight of each new experience (exponential smoothing)",
    "trust.served": "experience signal of being served without waiting",
    "trust.per_wait_day": "change of the served signal per day waited",
    "trust.rejected": "experience signal of being turned away (displaced)",
    "trust.referred_up": "experience signal of being referred up",
}

NOTE_LENGTH = 160   # inherited comments longer than this are printed once, as a note
UNIT_SUFFIXES = ("yuan per person-year", "yuan", "days")


# ------------------------------------------------------------------------------------------
# Comments: a line-based map from key path to the comments that may describe it.
# ------------------------------------------------------------------------------------------
@dataclass
class Node:
    path: Path_
    line: int                                    # 1-based line of the key (or list item)
    trailing: str = ""                           # comment(s) on the key's own line(s)
    attached: str = ""                           # comment block directly above the key
    flow: bool = False                           # value is a flow collection
    siblings_before: list = field(default_factory=list)   # earlier nodes of the same block


def _split_comment(line: str) -> tuple[str, str]:
    """(content, comment) of one line; '#' only starts a comment outside quotes, after a space."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def _bracket_depth(text: str) -> int:
    depth, quote = 0, None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


_KEY = re.compile(r"""^(?P<key>"[^"]*"|'[^']*'|[^\s#'"{}\[\],&*!|>%@`][^#]*?)\s*:(?:\s+|$)(?P<rest>.*)$""")


def _key_components(key: str) -> list[str]:
    key = key.strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
        return [key[1:-1]]
    return [k for k in key.split(".") if k] or [key]   # dotted override keys


def comment_map(text: str) -> dict[Path_, Node]:
    """Map every key path (and list item path) found in the YAML text to its Node."""
    lines = text.splitlines()
    nodes: dict[Path_, Node] = {}
    children: dict[Path_, list[Node]] = {}
    counters: dict[Path_, int] = {}
    # stack of open containers: (column, path, kind) with kind "key" or "item"
    stack: list[tuple[int, Path_, str]] = [(-1, (), "root")]
    pending: list[str] = []
    seen_content = False
    i = 0

    def add(path: Path_, lineno: int, trailing: str, parent: Path_) -> Node:
        node = Node(path, lineno, trailing, " ".join(pending))
        node.siblings_before = list(children.get(parent, []))
        children.setdefault(parent, []).append(node)
        nodes[path] = node
        pending.clear()
        return node

    def read_flow(start: int, first: str, first_comment: str) -> tuple[int, str]:
        """Consume a flow collection starting on line `start`; returns (last line, comments)."""
        comments = [first_comment] if first_comment else []
        depth = _bracket_depth(first)
        j = start
        while depth > 0 and j + 1 < len(lines):
            j += 1
            content, comment = _split_comment(lines[j])
            if comment:
                comments.append(comment)
            depth += _bracket_depth(content)
        return j, " ".join(comments)

    while i < len(lines):
        raw = lines[i].replace("\t", "    ")
        stripped = raw.strip()
        if not stripped or stripped in ("---", "..."):
            i += 1
            continue
        col = len(raw) - len(raw.lstrip(" "))
        if stripped.startswith("#"):
            if seen_content:                      # the file's header is a legend, not a source
                pending.append(stripped.lstrip("#").strip())
            i += 1
            continue
        seen_content = True
        content, comment = _split_comment(raw)
        body = content.strip()
        try:
            # list items: "- " possibly repeated ("- - x") and followed by a key or a value
            while body == "-" or body.startswith("- "):
                while stack[-1][0] > col or (stack[-1][0] == col and stack[-1][2] == "item"):
                    stack.pop()
                owner = stack[-1][1]
                idx = counters.get(owner, 0)
                counters[owner] = idx + 1
                path = owner + (idx,)
                node = add(path, i + 1, comment, owner)
                stack.append((col, path, "item"))
                rest = body[1:].lstrip(" ")
                col = col + (len(body) - len(rest))
                body = rest
                if not body:
                    break
                if body[0] in "[{":
                    end, comments = read_flow(i, body, comment)
                    node.trailing, node.flow = comments, True
                    i = end
                    body = ""
                    break
            if not body:
                i += 1
                continue
            m = _KEY.match(body)
            if m is None:                          # a plain scalar or something not understood
                i += 1
                continue
            while stack[-1][0] >= col:
                stack.pop()
            parent = stack[-1][1]
            keys = _key_components(m.group("key"))
            path = parent + tuple(keys)
            node = add(path, i + 1, comment, parent)
            rest = m.group("rest").strip()
            if not rest:
                stack.append((col, path, "key"))
            elif rest[0] in "[{":
                end, comments = read_flow(i, rest, comment)
                node.trailing, node.flow = comments, True
                i = end
            elif rest[0] in "|>":                  # block scalar: skip its more-indented lines
                while i + 1 < len(lines) and (not lines[i + 1].strip()
                                              or len(lines[i + 1]) - len(lines[i + 1].lstrip()) > col):
                    i += 1
        except Exception:                          # never fail on a line we do not understand
            pass
        i += 1
    return nodes


_SAME = {"same", "same as above", "as above", "ditto", "idem", "〃"}


def _node_source(node: Node, nodes: dict[Path_, Node]) -> tuple[str, bool]:
    """(comment, inherited?) for one node, searching up through its enclosing blocks.

    Inherited comments are comment blocks (own, or above an earlier key of the same block)
    and the comments of enclosing keys. The end-of-line comment of an earlier sibling is not
    used: it describes that sibling's value, not the next one (write `# same` to refer to it).
    """
    if node.trailing:
        return node.trailing, False
    current: Node | None = node
    while current is not None:
        if current is not node and current.trailing:
            return current.trailing, True
        if current.attached:
            return current.attached, True
        if len(current.path) > 1:                  # comment blocks above in the same block
            for sib in reversed(current.siblings_before):
                if sib.attached:
                    return sib.attached, True
        current = _parent_node(current.path, nodes)
    return "", False


def _definition(path: Path_, nodes: dict[Path_, Node]) -> str:
    """A comment block above an enclosing key that starts with `<leaf key>:` defines that key."""
    leaf = path[-1]
    if isinstance(leaf, int):
        return ""
    prefix = f"{leaf}:"
    for n in range(len(path) - 1, 0, -1):
        node = nodes.get(path[:n])
        if node is None:
            continue
        for candidate in [node] + list(reversed(node.siblings_before)):
            if candidate.attached.startswith(prefix):
                return candidate.attached
    return ""


def _parent_node(path: Path_, nodes: dict[Path_, Node]) -> Node | None:
    for n in range(len(path) - 1, 0, -1):
        if path[:n] in nodes:
            return nodes[path[:n]]
    return None


def source_for(path: Path_, nodes: dict[Path_, Node]) -> tuple[str, bool]:
    """Source comment of a leaf path: the longest recorded prefix (a flow collection covers its keys)."""
    key = tuple(p if isinstance(p, int) else str(p) for p in path)
    for n in range(len(key), 0, -1):
        node = nodes.get(key[:n])
        if node is not None:
            if n < len(key) and node.flow and node.trailing:
                text, inherited = node.trailing, False
            else:
                text, inherited = _node_source(node, nodes)
            definition = _definition(key, nodes)
            if definition and definition != text:
                text = f"{text}; {definition}" if text else definition
            return text, inherited
    return "", False


# ------------------------------------------------------------------------------------------
# Units and meanings from the schema.
# ------------------------------------------------------------------------------------------
def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def schema_info(path: Path_) -> tuple[str, str]:
    """(schema pattern, pydantic description) for a key path; ('', '') parts when unknown."""
    try:
        from pydantic import BaseModel

        from .config import CountyConfig
    except Exception:
        return "", ""
    node: Any = CountyConfig
    pattern = ""
    description = ""
    for comp in path:
        node = _unwrap(node)
        origin = get_origin(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            info = node.model_fields.get(str(comp))
            if info is None:
                return pattern, ""
            pattern = f"{pattern}.{comp}" if pattern else str(comp)
            description = info.description or ""
            node = info.annotation
        elif origin in (list, tuple) and isinstance(comp, int):
            if origin is tuple:                    # fixed tuples (position_km) are leaves
                return pattern, description
            pattern += "[]"
            node = get_args(node)[0] if get_args(node) else Any
            description = ""
        elif origin is dict:                       # entries share the mapping's description
            pattern += ".*"
            node = get_args(node)[1] if len(get_args(node)) == 2 else Any
        else:
            return pattern, description
    return pattern, description


def unit_and_meaning(path: Path_) -> tuple[str, str]:
    pattern, description = schema_info(path)
    candidates = [pattern]
    while candidates[-1].endswith(".*"):           # a[].b.* falls back to a[].b
        candidates.append(candidates[-1][:-2])
    unit = next((UNITS[c] for c in candidates if c in UNITS), "")
    meaning = description or next((MEANINGS[c] for c in candidates if c in MEANINGS), "")
    for suffix in UNIT_SUFFIXES:
        if meaning.endswith(", " + suffix) and suffix in unit:
            meaning = meaning[: -len(suffix) - 2]
            break
    return unit, meaning


# ------------------------------------------------------------------------------------------
# The table.
# ------------------------------------------------------------------------------------------
def _ranged(value: Any) -> bool:
    """A number written with its range: {value: V, uncertain: {...}} (docs/uncertainty.md)."""
    return isinstance(value, dict) and set(value) == {"value", "uncertain"}


def _is_leaf(value: Any) -> bool:
    if _ranged(value):
        return True
    if isinstance(value, dict):
        return False
    if isinstance(value, list):
        return not any(isinstance(v, (dict, list)) for v in value)
    return True


def _leaves(value: Any, path: Path_ = ()):
    if isinstance(value, dict) and not _ranged(value):
        for k, v in value.items():
            yield from _leaves(v, path + (str(k),))
    elif isinstance(value, list) and not _is_leaf(value):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, value


def display_path(path: Path_, tree: Any) -> str:
    """Dotted path with list items named by their `name` field: tiers[county].los_days."""
    out = ""
    node = tree
    for comp in path:
        if isinstance(comp, int):
            label = str(comp)
            try:
                item = node[comp]
                if isinstance(item, dict) and "name" in item:
                    label = str(item["name"])
                node = item
            except Exception:
                node = None
            out += f"[{label}]"
        else:
            out = f"{out}.{comp}" if out else str(comp)
            try:
                node = node[comp]
            except Exception:
                node = None
    return out


def format_value(value: Any) -> str:
    if _ranged(value):
        r = value["uncertain"]
        kind = r.get("distribution", "uniform")
        return f"{format_value(value['value'])} (range {format_value(r['low'])}–{format_value(r['high'])}, {kind})"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e15 else f"{value:.1f}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _read_tree(config_path: Path) -> tuple[dict, list[tuple[Path, str]]]:
    """The config as one tree (following `extends`) and the texts of its files, base first."""
    texts: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    p: Path | None = config_path.resolve()
    while p is not None and p not in seen and p.is_file():
        seen.add(p)
        text = p.read_text(encoding="utf-8")
        texts.insert(0, (p, text))
        try:
            parent = (yaml.safe_load(text) or {}).get("extends")
        except Exception:
            parent = None
        p = (p.parent / parent).resolve() if isinstance(parent, str) else None
    try:
        from .config import load_tree
        tree, _ = load_tree(config_path)
    except Exception:
        tree = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        if not isinstance(tree, dict):
            tree = {"value": tree}
        tree.pop("extends", None)
    return tree, texts


def parameter_table(config_path: str | Path) -> list[dict]:
    """One dict per leaf parameter: key, path, value, unit, meaning, source, inherited, file, line."""
    config_path = Path(config_path)
    tree, texts = _read_tree(config_path)
    maps = []
    for p, text in reversed(texts):                # most derived file first
        try:
            maps.append((p, comment_map(text)))
        except Exception:
            maps.append((p, {}))
    rows: list[dict] = []
    for path, value in _leaves(tree):
        source, inherited, file, line = "", False, "", None
        for k, (p, nodes) in enumerate(maps):
            key = tuple(c if isinstance(c, int) else str(c) for c in path)
            hit = next((nodes[key[:n]] for n in range(len(key), 0, -1) if key[:n] in nodes), None)
            if hit is None:
                continue
            if k < len(maps) - 1 and hit.path != key and not hit.flow:
                continue                           # this file only opens the block: value from a base file
            try:
                source, inherited = source_for(path, nodes)
            except Exception:
                source, inherited = "", False
            file, line = p.name, hit.line
            break
        if source.strip().lower().rstrip(".") in _SAME:
            prev = next((r for r in reversed(rows) if r["line"] != line and r["file"] == file
                         and r["source"].strip().lower().rstrip(".") not in _SAME), None)
            if prev is not None and prev["source"]:
                source = prev["source"] if prev["source"].startswith("same as above: ") \
                    else f"same as above: {prev['source']}"
        try:
            unit, meaning = unit_and_meaning(path)
        except Exception:
            unit, meaning = "", ""
        rows.append({"key": display_path(path, tree), "path": path, "value": value, "unit": unit,
                     "meaning": meaning, "source": source, "inherited": inherited, "file": file, "line": line})
    return rows


def cited_keys(rows: list[dict]) -> set[str]:
    """Source keys cited as [key] in the comments (marks such as [R] or [S] excluded)."""
    out: set[str] = set()
    for r in rows:
        out.update(re.findall(r"\[([a-z0-9][a-z0-9-]*)\]", r["source"]))
    return out


def known_source_keys(sources_md: str | Path) -> set[str] | None:
    p = Path(sources_md)
    if not p.is_file():
        return None
    keys = set()
    for line in p.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells and re.fullmatch(r"[a-z0-9][a-z0-9-]*", cells[0] or ""):
            keys.add(cells[0])
    return keys


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[dict], title: str | None = None, command: str | None = None,
                    unknown_keys: set[str] | None = None) -> str:
    """The table as a Markdown page: a legend, then one table per top-level section."""
    title = title or "Parameters"
    command = command or "python -m sim.paramtable configs/seed_county.yaml > docs/parameters.md"
    out = [f"# {title}", "",
           f"Generated by `{command}`: do not edit by hand; edit the YAML (value and `# comment`) and",
           "regenerate. One row per leaf parameter; list items are named by their `name`",
           "(`tiers[county].los_days`). The model and its mechanisms are described in docs/ODD.md.", "",
           "**Columns.** *unit* and *meaning* come from the schema (sim/config.py) or, where the schema has",
           "no description, from sim/paramtable.py. *source* is the comment written next to the value in",
           "the YAML; *line* is its line in that file.", "",
           "**Marks in the source column.**", "",
           "- `[key]`: a row of docs/sources.md, which gives the published figure and its reference",
           "  (e.g. `[nhc-2020-thc-cost]`);",
           "- `fact §A` (or §B, ...): a fact of shared/domain/county-facts.md, section A being the",
           "  calibration county;",
           "- `assumption`: no source gives the number; it is a modelling choice to be tested in",
           "  sensitivity analysis;",
           "- `fitted`: set by calibration (`gradsim calibrate experiments/calibrate_seed_county.yaml`) to the county's observed totals;",
           "- `[R]` / `(R)`: recalled from the named source, not verified against a stored copy;",
           f"- `{INHERITED.strip()}` before a source: the key has no comment of its own; the comment shown is the",
           "  nearest comment block above it in the same block, or the comment of the enclosing key",
           "  (long ones are printed once as a note under the section heading). `same as above: ...`",
           "  resolves a `# same` comment. An empty source means that no comment applies: such",
           "  parameters are listed at the end.", ""]
    files = {r["file"] for r in rows if r["file"]}
    sections: dict[str, list[dict]] = {}
    for r in rows:
        top = r["path"][0] if r["path"] else ""
        group = "general" if len(r["path"]) <= 1 else str(top)
        sections.setdefault(group, []).append(r)
    for group, items in sections.items():
        notes: dict[str, int] = {}
        for r in items:
            if r["inherited"] and len(r["source"]) > NOTE_LENGTH and r["source"] not in notes:
                notes[r["source"]] = len(notes) + 1
        out += [f"## {group}", ""]
        for text, n in notes.items():
            out += [f"<a id=\"{group}-note-{n}\"></a>Note {group}-{n} (comment in the YAML): {text}", ""]
        out += ["| key | value | unit | meaning | source | line |", "|---|---|---|---|---|---|"]
        for r in items:
            if r["source"] in notes and r["inherited"]:
                src = f"{INHERITED}note {group}-{notes[r['source']]}"
            else:
                src = (INHERITED if r["inherited"] and r["source"] else "") + r["source"]
            line = "" if r["line"] is None else str(r["line"])
            if line and len(files) > 1:
                line = f"{r['file']}:{line}"
            out.append(f"| `{_cell(r['key'])}` | {_cell(format_value(r['value']))} | {_cell(r['unit'])} | "
                       f"{_cell(r['meaning'])} | {_cell(src)} | {line} |")
        out.append("")
    missing = [r["key"] for r in rows if not r["source"] and r["unit"] != "text" and len(r["path"]) > 1]
    if missing:
        out += ["## Parameters without a source comment", "",
                "No comment on their line or above them in their block: "
                + ", ".join(f"`{k}`" for k in missing) + ".", ""]
    if unknown_keys:
        out += ["## Cited keys missing from docs/sources.md", "",
                "These `[key]` marks appear in the YAML comments but are not rows of docs/sources.md:",
                ", ".join(f"`{k}`" for k in sorted(unknown_keys)) + ".", ""]
    return "\n".join(out)


def wtp_markdown(config_path: str | Path) -> str:
    """The implied willingness-to-pay table of docs/ODD.md §3.3.3: every attribute per care type and
    severity group, in yuan for a resident of mean income and of the poorest and richest income
    bands, its utility at the group's cost coefficient, and its source (the config's comment)."""
    from .choice import implied_wtp_table
    from .config import load_config

    sources = {r["key"]: (r["source"], r["inherited"]) for r in parameter_table(config_path)}
    lines = ["| attribute | care | group | WTP, yuan (mean income) | poorest fifth | richest fifth | utility | source |",
             "|---|---|---|---|---|---|---|---|"]
    for r in implied_wtp_table(load_config(config_path)):
        source, inherited = sources.get(r["key"], ("", False))
        lines.append(f"| {r['attribute']} | {r['care']} | {r['group']} | {r['wtp_yuan']:,.0f} | {r['poorest']:,.0f} | "
                     f"{r['richest']:,.0f} | {r['utility']:.3f} | {_cell((INHERITED if inherited else '') + source)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m sim.paramtable CONFIG.yaml > docs/parameters.md\n"
              "       python -m sim.paramtable --wtp CONFIG.yaml   (the WTP table of docs/ODD.md)", file=sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--wtp":
        sys.stdout.write(wtp_markdown(argv[1]) + "\n")
        return 0
    config = Path(argv[0])
    rows = parameter_table(config)
    unknown = None
    for candidate in (Path("docs/sources.md"), config.resolve().parent.parent / "docs" / "sources.md"):
        known = known_source_keys(candidate)
        if known is not None:
            unknown = cited_keys(rows) - known
            break
    if unknown:
        print(f"warning: cited keys not in docs/sources.md: {', '.join(sorted(unknown))}", file=sys.stderr)
    name = rows[0]["value"] if rows and rows[0]["key"] == "name" else config.stem
    text = render_markdown(rows, title=f"Parameters of `{name}` ({config.as_posix()})",
                           command=f"python -m sim.paramtable {config.as_posix()} > docs/parameters.md",
                           unknown_keys=unknown)
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
