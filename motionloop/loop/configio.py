"""Loop configs from TOML files or shipped presets, `key=value` overrides, and back to TOML.

`load_config("demo")` reads the preset motionloop/configs/demo.toml; a path reads that file.
Overrides are dotted keys (`motion.finetune_steps=200`, `seeds=[0, 1]`, `arms.iterative.lambdas=[0.5]`,
arms by name or index) whose values are TOML values (bare words are strings). Every value is
type-checked against the dataclass field: a wrong key names the valid ones, a wrong type
names the expected one.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Literal, Union, get_args, get_origin

from motionloop.errors import ConfigError, UnknownNameError
from motionloop.loop.config import LoopConfig, _choice

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

PRESET_DIR = Path(__file__).resolve().parent.parent / "configs"
SECTIONS = ("gaussian", "kde", "motion")


def preset_names() -> list[str]:
    """Names of the shipped presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


def resolve_source(config: str | Path) -> Path:
    """The TOML file of a preset name or a path."""
    path = Path(config)
    if path.suffix == ".toml" or path.exists() or len(path.parts) > 1:
        return path
    if str(config) not in preset_names():
        raise UnknownNameError("config preset (or give a .toml file)", str(config), preset_names())
    return PRESET_DIR / f"{config}.toml"


def load_config(config: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LoopConfig:
    """A validated LoopConfig from a preset name or TOML file, with `key=value` overrides applied."""
    path = resolve_source(config)
    raw = _read_toml(path)
    for item in overrides:
        apply_override(raw, item)
    return from_dict(raw, str(path))


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word: `workflow=replace`


def apply_override(raw: dict, item: str) -> None:
    """Set one `dotted.key=value` in the raw config dict (in place)."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. motion.finetune_steps=200")
    parts = key.split(".")
    value = _parse_value(text.strip())
    if parts[0] == "arms":
        if len(parts) != 3:
            raise ConfigError(f"--set {key}: expected arms.NAME.FIELD=value (NAME or index)")
        arms = raw.get("arms", [])
        names = [str(a.get("name")) for a in arms]
        sel = parts[1]
        if sel in names:
            idx = names.index(sel)
        elif sel.isdigit() and int(sel) < len(arms):
            idx = int(sel)
        else:
            raise UnknownNameError(f"arm in --set {key}", sel, names)
        arms[idx][parts[2]] = value
        return
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[: i + 1])} is a value, not a section")
        node = child
    node[parts[-1]] = value


def _type_name(tp) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(repr, get_args(tp)))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {_type_name(get_args(tp)[0])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(value, tp, where: str):
    """`value` (from TOML) as type `tp`, or ConfigError naming `where` and the expected type."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return _coerce(value, inner[0], where)  # TOML has no null: an Optional field is just omitted
    if origin is Literal:
        _choice(where, value, tp)
        return value
    if origin is tuple:
        item = get_args(tp)[0]
        seq = value if isinstance(value, list) else [value]
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(seq))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return _build(tp, value, where)
    ok = (
        (tp is bool and isinstance(value, bool))
        or (tp is str and isinstance(value, str))
        or (tp is int and isinstance(value, int) and not isinstance(value, bool))
        or (tp is float and isinstance(value, (int, float)) and not isinstance(value, bool))
    )
    if not ok:
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    return float(value) if tp is float else value


def _build(cls, d: dict, where: str):
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(d) - set(valid))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"{prefix}{unknown[0]}: unknown key; valid keys{' of ' + where if where else ''}: {', '.join(valid)}"
        )
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in d.items()}
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where or 'config'}: missing required key {missing[0]!r}")
    return cls(**kwargs)


def from_dict(raw: dict, source: str = "config") -> LoopConfig:
    """A validated LoopConfig from a plain dict (the TOML document); errors name `source`."""
    try:
        arms = raw.get("arms")
        if isinstance(arms, list):
            raw = {
                **raw,
                "arms": [
                    dict(a, name=a.get("name", f"arm{i}")) if isinstance(a, dict) else a for i, a in enumerate(arms)
                ],
            }
        return _build(LoopConfig, raw, "")
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def to_dict(config: LoopConfig) -> dict:
    """The resolved config as a plain dict: only the task's own section and the arms' own
    correction settings; None values left out."""

    def plain(obj):
        if dataclasses.is_dataclass(obj):
            return {
                f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if getattr(obj, f.name) is not None
            }
        if isinstance(obj, tuple):
            return [plain(v) for v in obj]
        return obj

    d = plain(config)
    for arm in d["arms"]:  # a setting of a correction the arm does not use would only mislead
        if arm["correction"] != "physics":
            arm.pop("strength")
        if arm["correction"] not in ("ideal", "oracle"):
            arm.pop("gamma")
        if arm["correction"] != "ideal":
            arm.pop("ideal_method")
    for section in SECTIONS:
        if section != config.task:
            d.pop(section, None)
    return d


def _toml_value(v) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else "inf" if v > 0 else "-inf")
    if isinstance(v, str):
        return json.dumps(v)  # JSON's escapes are all valid in a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write {v!r} to TOML")


def to_toml(config: LoopConfig) -> str:
    """The resolved config as a TOML document (`load_config` of it gives the same config)."""
    d = to_dict(config)
    lines = [
        f"{k} = {_toml_value(v)}"
        for k, v in d.items()
        if not isinstance(v, (dict, list)) or (isinstance(v, list) and not (v and isinstance(v[0], dict)))
    ]
    for arm in d["arms"]:
        lines += ["", "[[arms]]"] + [f"{k} = {_toml_value(v)}" for k, v in arm.items()]
    section = d.get(config.task)
    if section is not None:
        lines += ["", f"[{config.task}]"] + [f"{k} = {_toml_value(v)}" for k, v in section.items()]
    return "\n".join(lines) + "\n"


def diff(old: LoopConfig, new: LoopConfig) -> list[str]:
    """`key: old -> new` for every setting that differs (dotted keys, arms by name)."""

    def flat(d: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in d.items():
            if k == "arms":
                for arm in v:
                    out.update(flat({f: x for f, x in arm.items() if f != "name"}, f"{prefix}arms.{arm['name']}."))
                out[f"{prefix}arms"] = [a["name"] for a in v]
            elif isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out

    a, b = flat(to_dict(old)), flat(to_dict(new))
    return [
        f"{k}: {a.get(k, '(unset)')!r} -> {b.get(k, '(unset)')!r}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]
