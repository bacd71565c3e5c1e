"""Loop configs from TOML files or shipped presets, `key=value` overrides, and back to TOML.

`load_config("demo")` reads the preset motionloop/configs/demo.toml; a path reads that file.
Overrides are dotted keys (`motion.finetune_steps=200`, `seeds=[0, 1]`, `arms.iterative.lambdas=[0.5]`,
arms by name or index) whose values are TOML values (bare words are strings). Every value is
type-checked against the dataclass field: a wrong key names the valid ones, a wrong type
names the expected one.
"""

from __future__ import annotations

from pathlib import Path

from motionloop import config as cfgmod
from motionloop.errors import ConfigError, UnknownNameError
from motionloop.loop.config import LoopConfig
from motionloop.resources import PRESET_DIR

SECTIONS = ("gaussian", "kde", "motion")


def preset_names() -> list[str]:
    """Names of the shipped presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def resolve_source(config: str | Path) -> Path:
    """The TOML file of a preset name or a path."""
    path = Path(config)
    if path.suffix == ".toml" or path.is_file() or len(path.parts) > 1:
        return path
    if str(config) not in preset_names():
        raise UnknownNameError("config preset (or give a .toml file)", str(config), preset_names())
    return PRESET_DIR / f"{config}.toml"


def load_config(config: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> LoopConfig:
    """A validated LoopConfig from a preset name or TOML file, with `key=value` overrides applied."""
    path = resolve_source(config)
    raw = cfgmod.read_toml(path)
    for item in overrides:
        apply_override(raw, item)
    return from_dict(raw, str(path))


def apply_override(raw: dict, item: str) -> None:
    """Set one `dotted.key=value` in the raw config dict (in place)."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. motion.finetune_steps=200")
    parts = key.split(".")
    value = cfgmod.parse_value(text.strip())
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


def _upgrade(raw: dict) -> dict:
    """Older config files: `motion.trunk_weight_scale` (one knob copied into both trackers)
    is now `motion.tracker.trunk_weight_scale` and `motion.free_tracker.trunk_weight_scale`."""
    motion = raw.get("motion")
    if not isinstance(motion, dict) or "trunk_weight_scale" not in motion:
        return raw
    motion = dict(motion)
    scale = motion.pop("trunk_weight_scale")
    for key in ("tracker", "free_tracker"):
        table = motion.get(key, {})
        if isinstance(table, dict):
            motion[key] = {"trunk_weight_scale": scale, **table}
    return {**raw, "motion": motion}


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
        return cfgmod.from_dict(LoopConfig, _upgrade(raw), "")
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def to_dict(config: LoopConfig) -> dict:
    """The resolved config as a plain dict: only the task's own section and the arms' own
    correction settings; None values left out."""

    d = cfgmod.to_dict(config)
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


def to_toml(config: LoopConfig) -> str:
    """The resolved config as a TOML document (`load_config` of it gives the same config)."""
    return cfgmod.dumps_toml(to_dict(config))


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
