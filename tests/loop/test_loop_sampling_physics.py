import pytest

from motionloop.errors import ConfigError
from motionloop.loop.configio import from_dict


def test_sampling_physics_is_checked_and_motion_only(toy_dict):
    d = toy_dict()
    d["arms"] = [{"name": "a", "sampling_physics": 2}]
    with pytest.raises(ConfigError, match="sampling_physics"):
        from_dict(d, "test")
    d["arms"] = [{"name": "a", "sampling_physics": -1}]
    with pytest.raises(ConfigError, match="sampling_physics"):
        from_dict(d, "test")


def test_a_motion_arm_samples_with_projections(monkeypatch):
    from motionloop.loop import load_config
    from motionloop.loop.config import ArmConfig
    from motionloop.loop.engine import make_task

    task = make_task(load_config("demo"))
    seen = {}

    def fake_sample(model, k, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr("motionloop.loop.motion_task.sample", fake_sample)
    task.sample(None, 3, 5, ArmConfig(name="guided", correction="physics", strength=0.5, sampling_physics=2))
    assert seen["physics_steps"] == 2 and seen["physics"].strength == 0.5 and seen["seed"] == 5
    task.sample(None, 3, 5, ArmConfig(name="plain"))
    assert seen["physics_steps"] == 0 and seen["physics"] is None
