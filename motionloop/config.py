"""One way to configure: frozen dataclasses built from plain dicts, checked, and written back.

Every configuration of the package (the loop's `LoopConfig`, `TrainConfig` stored in each
checkpoint, the evaluator's `EvaluatorConfig`, `TrackerConfig` and `CorrectionConfig` of the
physics corrector, `RenderConfig`) is a frozen dataclass whose fields carry type hints. This
module turns a plain dict (a TOML document, a checkpoint's stored dict, a JSON spec) into such
a dataclass and back:

- `from_dict(cls, d, where)` checks every value against the field's type hint (int, float,
  str, bool, `Literal[...]` choices, tuples, optional fields, nested dataclasses) and names the
  dotted key and the expected type when one is wrong; an unknown key names the valid ones.
  A nested table given in part overrides the field's *default* (so `[motion.free_tracker]`
  with one key keeps the rest of that default tracker, not the class defaults).
- `choice(where, value, kind)` is the one check of a `Literal` choice; `check_choices(obj)`
  applies it to every `Literal` field of a dataclass (called from `__post_init__`, so
  configs built in Python are checked too).
- `to_dict(obj)` is the plain dict again (tuples as lists, None left out); `dumps_toml` and
  `read_toml` write and read TOML (tomli-w, tomllib).

Range checks (a learning rate > 0, a probability in [0, 1]) stay in each class's
`__post_init__`, beside the documentation of the field.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from pathlib import Path
from typing import Literal, Union, get_args, get_origin

import tomli_w

from motionloop.errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

__all__ = [
    "at_least",
    "check_choices",
    "choice",
    "dumps_toml",
    "from_dict",
    "loads_toml",
    "parse_value",
    "read_toml",
    "to_dict",
]


def choice(where: str, value, kind) -> None:
    """ConfigError unless `value` is one of the `Literal` type `kind`'s choices."""
    valid = get_args(kind)
    if value not in valid:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, valid))}")


@functools.cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _literal_of(tp):
    """The `Literal` inside `tp` (also `Literal[...] | None`), else None."""
    if get_origin(tp) is Literal:
        return tp
    if get_origin(tp) in (Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        if len(inner) == 1 and get_origin(inner[0]) is Literal:
            return inner[0]
    return None


def check_choices(obj, prefix: str | None = None) -> None:
    """`choice` on every `Literal`-typed field of the dataclass instance `obj`."""
    prefix = type(obj).__name__ if prefix is None else prefix
    for name, tp in _hints(type(obj)).items():
        lit = _literal_of(tp)
        value = getattr(obj, name)
        if lit is not None and value is not None:
            choice(f"{prefix}.{name}" if prefix else name, value, lit)


def at_least(where: str, value, low, integer: bool = True) -> None:
    """ConfigError unless `value` is an integer (a finite number if not `integer`) >= `low`."""
    if integer:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low:
        what = "an integer" if integer else "a finite number"
        raise ConfigError(f"{where}: must be {what} >= {low}, got {value!r}")


def type_name(tp) -> str:
    """How an error message names the type hint `tp`."""
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(repr, get_args(tp)))
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {type_name(get_args(tp)[0])}"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(value, tp, where: str, default=dataclasses.MISSING):
    """`value` (from TOML or JSON) as type `tp`, or ConfigError naming `where` and the type."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return None
        inner = [a for a in get_args(tp) if a is not type(None)]
        return _coerce(value, inner[0], where, default)
    if origin is Literal:
        choice(where, value, tp)
        return value
    if origin is tuple:
        args = get_args(tp)
        seq = value if isinstance(value, (list, tuple)) else [value]
        if (len(args) == 2 and args[1] is Ellipsis) or len(args) == 1:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(seq))
        if len(seq) != len(args):
            raise ConfigError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(seq, args)))
    if dataclasses.is_dataclass(tp):
        if dataclasses.is_dataclass(value) and isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return _build(tp, value, where, base=None if default is dataclasses.MISSING else default)
    ok = (
        (tp is bool and isinstance(value, bool))
        or (tp is str and isinstance(value, str))
        or (tp is int and isinstance(value, int) and not isinstance(value, bool))
        or (tp is float and isinstance(value, (int, float)) and not isinstance(value, bool))
    )
    if not ok:
        raise ConfigError(f"{where}: expected {type_name(tp)}, got {value!r}")
    return float(value) if tp is float else value


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _build(cls, d: dict, where: str, base=None):
    fields = dataclasses.fields(cls)
    valid = [f.name for f in fields]
    unknown = sorted(set(d) - set(valid))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"{prefix}{unknown[0]}: unknown key; valid keys{' of ' + where if where else ''}: {', '.join(valid)}"
        )
    hints = _hints(cls)
    kwargs = {}
    for f in fields:
        if f.name in d:
            inner_default = getattr(base, f.name) if base is not None else _default(f)
            if not dataclasses.is_dataclass(inner_default):
                inner_default = dataclasses.MISSING
            key = f"{where}.{f.name}" if where else f.name
            kwargs[f.name] = _coerce(d[f.name], hints[f.name], key, inner_default)
    missing = [f.name for f in fields if f.name not in kwargs and _default(f) is dataclasses.MISSING]
    if base is None and missing:
        raise ConfigError(f"{where or 'config'}: missing required key {missing[0]!r}")
    try:
        return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)
    except ConfigError as e:  # a range check of the class: say where in the document it failed
        if where and not str(e).startswith(where):
            raise ConfigError(f"{where}: {e}") from None
        raise


def from_dict(cls, d: dict, where: str = ""):
    """A `cls` instance from the plain dict `d`, every value type-checked; errors name `where`."""
    if not isinstance(d, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a table, got {d!r}")
    return _build(cls, d, where)


def to_dict(obj) -> dict:
    """The dataclass `obj` as a plain dict: nested dataclasses as dicts, tuples as lists, None
    values left out (TOML has no null; `from_dict` of the result gives `obj` back)."""

    def plain(v):
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v) if getattr(v, f.name) is not None}
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        return v

    return plain(obj)


def read_toml(path: str | Path) -> dict:
    """A TOML file as a dict; ConfigError naming the file if it is missing or not TOML."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


def loads_toml(text: str, source: str = "config") -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML ({e})") from None


def parse_value(text: str):
    """A TOML value (`200`, `[0, 1]`, `true`, `"a b"`); a bare word is taken as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def dumps_toml(d: dict) -> str:
    """A plain dict as a TOML document (nested tables and arrays of tables included)."""
    try:
        return tomli_w.dumps(d)
    except TypeError as e:
        raise ConfigError(f"cannot write to TOML: {e}") from None
