"""`gradsim calibrate --apply`: write a fit into the base config itself, number by number.

The base config is a document analysts read: every value there carries its source in a comment.
So the fitted numbers replace only their own text; ruamel.yaml's round-trip loader says where each
scalar stands (line and column), and every other byte of the file stays as it was. The new file is
checked by the ordinary loader before it replaces the old one.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..config import ConfigError, config_from_tree, get_dotted, load_tree, split_path

_PLAIN_SCALAR = re.compile(r"[^,\]\}\s#]+")
_GAP_BEFORE_COMMENT = re.compile(r"( +)#")


def _positions(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="rt").load(text)


def _scalar_at(doc: Any, path: str) -> tuple[int, int]:
    """(line, column) of the scalar at a dotted path of the round-trip document."""
    head, _, _ = path.rpartition(".")
    parent, key = get_dotted(doc, head) if head else doc, split_path(path)[-1]
    if isinstance(parent, list):
        return tuple(parent.lc.item(key))
    return tuple(parent.lc.value(key))


def leaves(path: str, value: Any) -> list[tuple[str, Any]]:
    """The scalar paths a fitted value writes: the value itself, or `value` and its range's bounds."""
    if isinstance(value, dict):
        return [(f"{path}.value", value["value"]), (f"{path}.uncertain.low", value["uncertain"]["low"]),
                (f"{path}.uncertain.high", value["uncertain"]["high"])]
    return [(path, value)]


def missing_paths(config_file: Path, paths: list[str]) -> list[str]:
    """Fitted paths the base file does not write itself (a default or a parent's value): --apply
    cannot put those in place, so it refuses before anything runs."""
    doc = _positions(Path(config_file).read_text(encoding="utf-8"))
    out = []
    for p in paths:
        try:
            get_dotted(doc, p)
        except (KeyError, IndexError, TypeError):
            out.append(p)
    return out


def _number(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def apply_values(config_file: Path, values: dict[str, Any], provenance: str) -> str:
    """The base config's text with each fitted scalar replaced in place and a provenance comment."""
    text = Path(config_file).read_text(encoding="utf-8")
    doc = _positions(text)
    lines = text.splitlines(keepends=True)
    edits = sorted(((*_scalar_at(doc, leaf), _number(v)) for path, value in values.items()
                    for leaf, v in leaves(path, value)), reverse=True)
    for line, col, new in edits:
        old = _PLAIN_SCALAR.match(lines[line], col)
        rest = lines[line][old.end():]
        gap = _GAP_BEFORE_COMMENT.match(rest)
        if gap:                                   # keep a trailing comment in its column
            room = max(1, len(gap.group(1)) - (len(new) - len(old.group())))
            rest = " " * room + rest[gap.end(1):]
        lines[line] = lines[line][:col] + new + rest
    mark = "# Calibrated by `gradsim calibrate"
    note = f"# {provenance}\n"
    at = next((i for i, ln in enumerate(lines) if ln.startswith(mark)), None)
    if at is not None:
        lines[at] = note
    else:
        head = next((i for i, ln in enumerate(lines) if not ln.startswith("#")), len(lines))
        lines.insert(head, note)
    return "".join(lines)


def write_into_base(config_file: Path, values: dict[str, Any], provenance: str) -> None:
    """Replace the base config by its calibrated text, atomically, after the loader accepted it."""
    config_file = Path(config_file)
    text = apply_values(config_file, values, provenance)
    tmp = config_file.with_name(f".{config_file.name}.calibrated.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tree, origin = load_tree(tmp)
        config_from_tree(tree, origin, str(tmp))
        for path, value in values.items():
            for leaf, v in leaves(path, value):
                if abs(float(get_dotted(tree, leaf)) - float(v)) > 1e-9 * max(1.0, abs(float(v))):
                    raise ConfigError(f"writing {leaf} into the config did not give {v}", str(config_file), leaf)
        os.replace(tmp, config_file)
    finally:
        tmp.unlink(missing_ok=True)
