"""The one configuration mechanism (motionloop/config.py) and the configs that use it."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from motionloop import config as cfg
from motionloop.errors import ConfigError
from motionloop.eval.network import EvaluatorConfig
from motionloop.loop.configio import PRESET_DIR, load_config, to_toml
from motionloop.model.config import TrainConfig
from motionloop.model.diffusion import DiffusionConfig
from motionloop.physics.config import FREE_TRACKER, TrackerConfig
from motionloop.viz.camera import CameraConfig
from motionloop.viz.render import RenderConfig, config_from_dict

Mode = Literal["a", "b"]


@dataclass(frozen=True)
class Inner:
    x: float = 1.0
    mode: Mode = "a"

    def __post_init__(self):
        cfg.check_choices(self)


@dataclass(frozen=True)
class Outer:
    name: str
    count: int = 3
    pair: tuple[int, int] = (1, 2)
    values: tuple[float, ...] = (0.5,)
    maybe: int | None = None
    inner: Inner = field(default_factory=Inner)
    special: Inner = Inner(x=7.0, mode="b")


def test_from_dict_builds_and_coerces():
    o = cfg.from_dict(Outer, {"name": "n", "count": 4, "pair": [3, 4], "values": [1, 2], "inner": {"x": 2}})
    assert o == Outer(name="n", count=4, pair=(3, 4), values=(1.0, 2.0), inner=Inner(x=2.0))
    assert isinstance(o.values[0], float) and isinstance(o.inner.x, float)
    assert cfg.from_dict(Outer, {"name": "n", "maybe": None}).maybe is None
    assert cfg.from_dict(Outer, {"name": "n", "values": 3}).values == (3.0,)  # a single value is a list of one


def test_a_partial_nested_table_overrides_the_fields_default_not_the_class_defaults():
    o = cfg.from_dict(Outer, {"name": "n", "special": {"x": 9}})
    assert o.special == Inner(x=9.0, mode="b")
    assert cfg.from_dict(Outer, {"name": "n", "inner": {"mode": "b"}}).inner == Inner(x=1.0, mode="b")


@pytest.mark.parametrize(
    "d, message",
    [
        ({"name": "n", "cont": 1}, "cont: unknown key; valid keys: name, count, pair"),
        ({}, "missing required key 'name'"),
        ({"name": 1}, "name: expected a string, got 1"),
        ({"name": "n", "count": 1.5}, "count: expected an integer, got 1.5"),
        ({"name": "n", "count": True}, "count: expected an integer, got True"),
        ({"name": "n", "pair": [1, 2, 3]}, r"pair: expected a list of 2 values"),
        ({"name": "n", "values": ["x"]}, r"values\[0\]: expected a number, got 'x'"),
        ({"name": "n", "inner": 3}, "inner: expected a table, got 3"),
        ({"name": "n", "inner": {"mode": "c"}}, "inner.mode: 'c' is not one of 'a', 'b'"),
        ({"name": "n", "inner": {"y": 1}}, "inner.y: unknown key; valid keys of inner: x, mode"),
    ],
)
def test_from_dict_names_the_bad_key_and_the_expected_type(d, message):
    with pytest.raises(ConfigError, match=message):
        cfg.from_dict(Outer, d, "")


def test_check_choices_also_guards_python_construction():
    with pytest.raises(ConfigError, match=r"Inner.mode: 'z' is not one of 'a', 'b'"):
        Inner(mode="z")
    with pytest.raises(ConfigError, match="RenderConfig.backend: 'gl' is not one of 'auto', 'mujoco', 'stick'"):
        RenderConfig(backend="gl")
    with pytest.raises(ConfigError, match="DiffusionConfig.schedule"):
        DiffusionConfig(schedule="linear")


def test_at_least():
    cfg.at_least("k", 3, 3)
    cfg.at_least("k", 2.5, 0, integer=False)
    for bad, integer in ((2, True), (3.0, True), (True, True), (float("nan"), False), (float("inf"), False)):
        with pytest.raises(ConfigError, match="k: must be"):
            cfg.at_least("k", bad, 3, integer=integer)


def test_to_dict_and_toml_round_trip():
    o = Outer(name="n", pair=(5, 6), values=(0.25, float("inf")), special=Inner(x=2.0))
    d = cfg.to_dict(o)
    assert "maybe" not in d and d["pair"] == [5, 6] and d["special"] == {"x": 2.0, "mode": "a"}
    text = cfg.dumps_toml(d)
    assert "[special]" in text and "[inner]" in text  # nested tables, which the old writer could not write
    assert cfg.from_dict(Outer, cfg.loads_toml(text)) == o


@pytest.mark.parametrize(
    "cls, where",
    [(TrainConfig, "TrainConfig"), (EvaluatorConfig, "EvaluatorConfig"), (RenderConfig, "RenderConfig")],
)
def test_every_package_config_goes_through_the_one_builder(cls, where):
    default = cls()
    d = cfg.to_dict(default)
    assert cfg.from_dict(cls, d) == default
    with pytest.raises(ConfigError, match=f"{where}.bogus: unknown key"):
        (cls.from_dict if hasattr(cls, "from_dict") else lambda x: config_from_dict(x))({**d, "bogus": 1})


def test_train_config_nested_diffusion_and_render_config_from_json_lists():
    t = TrainConfig.from_dict({"window": 20, "diffusion": {"num_steps": 50}})
    assert t.window == 20 and t.diffusion == DiffusionConfig(num_steps=50)
    with pytest.raises(ConfigError, match="TrainConfig.diffusion.num_stpes: unknown key"):
        TrainConfig.from_dict({"diffusion": {"num_stpes": 50}})
    r = config_from_dict({"size": [320, 240], "camera": {"height": [0.2, 0.9]}, "frame": None})
    assert r == RenderConfig(size=(320, 240), camera=CameraConfig(height=(0.2, 0.9)))


def test_the_loop_nests_both_trackers_and_reads_the_old_single_knob(tmp_path):
    c = load_config("demo", ["motion.tracker.kp_com=50", "motion.free_tracker.trunk_weight_scale=4"])
    assert c.motion.tracker == TrackerConfig(kp_com=50.0)
    # a partial [motion.free_tracker] keeps FREE_TRACKER's gains, not TrackerConfig's defaults
    assert c.motion.free_tracker.kp_com == FREE_TRACKER.kp_com != TrackerConfig().kp_com
    assert c.motion.free_tracker.trunk_weight_scale == 4.0
    path = tmp_path / "c.toml"
    path.write_text(to_toml(c))
    assert "[motion.tracker]" in path.read_text() and load_config(path) == c
    # run directories written before the tracker was nested: one knob for both trackers
    old = load_config("demo", ["motion.trunk_weight_scale=5"])
    assert old.motion.tracker.trunk_weight_scale == old.motion.free_tracker.trunk_weight_scale == 5.0
    with pytest.raises(ConfigError, match=r"motion.tracker: TrackerConfig.kp: must be >= 0, got -1.0"):
        load_config("demo", ["motion.tracker.kp=-1"])


def test_a_directory_named_like_a_preset_does_not_hide_the_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert load_config("demo") == load_config(PRESET_DIR / "demo.toml")  # the preset, not the directory
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path / "demo")


def test_read_toml_parse_value_and_type_names(tmp_path):
    (tmp_path / "a.toml").write_text('x = 1\n[t]\ny = "z"\n')
    assert cfg.read_toml(tmp_path / "a.toml") == {"x": 1, "t": {"y": "z"}}
    with pytest.raises(ConfigError, match="no such config file"):
        cfg.read_toml(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("x = = 1\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML"):
        cfg.read_toml(tmp_path / "bad.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match=r"bin.toml: not valid TOML"):
        cfg.read_toml(tmp_path / "bin.toml")
    assert cfg.parse_value("200") == 200 and cfg.parse_value("[0, 1]") == [0, 1]
    assert cfg.parse_value("true") is True and cfg.parse_value('"a b"') == "a b"
    assert cfg.parse_value("replace") == "replace"  # a bare word is a string
    assert cfg.type_name(int) == "an integer" and cfg.type_name(Mode) == "one of 'a', 'b'"
    assert cfg.type_name(int | None) == "an integer" and cfg.type_name(tuple[float, ...]) == "a list of a number"
    assert cfg.type_name(Inner) == "a table"
